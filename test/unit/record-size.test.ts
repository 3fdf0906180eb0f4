// The record's bound in the config check: a run whose events and window history would
// outgrow its checkpoint is refused before it starts, on the field whose change alone
// brings it under, and the values it names are exact (one less, or more, is refused).
// What a real run records against the bound: test/train/record-size.test.ts.
import { describe, expect, it } from 'vitest';
import { makeConfig, PRESETS, validateConfig, type DeepPartial, type RunConfig } from '../../src/engine/config';
import { RECORD_LIMIT, recordBytes, recordShape } from '../../src/engine/record-size';

const nano = (o: DeepPartial<RunConfig>) => makeConfig('nano', o);
const recordErrors = (cfg: RunConfig, ranWith?: RunConfig['prelora']) =>
  validateConfig(cfg, ranWith ? { ranWith } : {}).filter((e) => e.message.includes('more than a checkpoint\'s header holds'));

describe('a run\'s record', () => {
  it.each(Object.keys(PRESETS) as (keyof typeof PRESETS)[])('%s at its defaults fits, and at ten times its steps', (name) => {
    const c = PRESETS[name];
    expect(recordBytes(recordShape(c)).bytes).toBeLessThan(RECORD_LIMIT / 50);
    expect(recordErrors(makeConfig(name))).toEqual([]);
    expect(recordErrors(makeConfig(name, { schedule: { steps: 10 * c.schedule.steps } }))).toEqual([]);
  });

  it('a million nano steps: refused on schedule.steps (no window holds every step\'s loss), and the most it names is exact', () => {
    const [error, ...more] = recordErrors(nano({ schedule: { steps: 1_000_000 } }));
    expect(more).toEqual([]);
    expect(error!.path).toBe('schedule.steps');
    expect(error!.message).toMatch(/^a run of 1000000 steps, a window every 25, a read-back every 10 and a save every 100, records up to 5\d\d MiB in its checkpoint \(40000 windows of 24 modules, each kept twice, and every step's loss\), more than a checkpoint's header holds \(95 MiB\): use schedule.steps of (\d+) or fewer$/);
    const most = Number(/of (\d+) or fewer/.exec(error!.message)![1]);
    expect(recordErrors(nano({ schedule: { steps: most } }))).toEqual([]);
    expect(recordErrors(nano({ schedule: { steps: most + 1 } }))).toHaveLength(1);
  });

  it('a window every step of a long run: refused on prelora.windowSteps, naming the window and the steps that fit', () => {
    const [error] = recordErrors(nano({ schedule: { steps: 200_000 }, prelora: { windowSteps: 1 } }));
    expect(error!.path).toBe('prelora.windowSteps');
    expect(error!.fixedBy).toEqual(['schedule.steps']); // the page names it at the steps field too
    const [, window, steps] = /use a prelora.windowSteps of (\d+) or more or schedule.steps of (\d+) or fewer$/.exec(error!.message)!.map(Number);
    expect(recordErrors(nano({ schedule: { steps: 200_000 }, prelora: { windowSteps: window } }))).toEqual([]);
    expect(recordErrors(nano({ schedule: { steps: 200_000 }, prelora: { windowSteps: window! - 1 } }))).toHaveLength(1);
    expect(recordErrors(nano({ schedule: { steps: steps }, prelora: { windowSteps: 1 } }))).toEqual([]);
    expect(recordErrors(nano({ schedule: { steps: steps! + 1 }, prelora: { windowSteps: 1 } }))).toHaveLength(1);
  });

  it('a read-back every step can be the change that fits, named after the window', () => {
    const [error] = recordErrors(nano({ schedule: { steps: 120_000, logEvery: 1 } }));
    expect(error!.path).toBe('prelora.windowSteps');
    const logEvery = Number(/a schedule.logEvery of (\d+) or more/.exec(error!.message)![1]);
    expect(recordErrors(nano({ schedule: { steps: 120_000, logEvery } }))).toEqual([]);
    expect(recordErrors(nano({ schedule: { steps: 120_000, logEvery: logEvery - 1 } }))).toHaveLength(1);
  });

  it('the window a run ran with is as it ran (a saved run\'s resume: saved-runs.test.ts); a window newly set is held to the bound', () => {
    const long = nano({ schedule: { steps: 200_000 }, prelora: { windowSteps: 1 } });
    expect(recordErrors(long, long.prelora)).toEqual([]);
    expect(recordErrors(long, { ...long.prelora, windowSteps: 25 })).toHaveLength(1);
  });

  it('a patience sizes only the values a decision can list (patience - 1, no more than the windows), counted, not built', () => {
    const bytes = (patience: number) => recordBytes(recordShape(nano({ schedule: { steps: 100_000 }, prelora: { windowSteps: 100, patience } }))).bytes;
    expect(bytes(50)).toBeGreaterThan(bytes(3));
    // 1,000 windows: a decision lists 1,000 values at most (patiences of as many digits compared)
    expect(bytes(5000)).toBe(bytes(1001));
    expect(bytes(1001)).toBeGreaterThan(bytes(1000));
    // counted, not built: built, a patience of 10^6 over 1,000,000 steps took 1.4 s to check (measured)
    expect(bytes(2e9)).toBe(bytes(1e9 + 1));
    expect(recordErrors(nano({ schedule: { steps: 100_000 }, prelora: { windowSteps: 100, patience: 50_000 } }))).toEqual([]);
  });

  it('saves between read-backs are read-backs: a save every step is refused where none is not, and rarer saves are named', () => {
    const [error] = recordErrors(nano({ schedule: { steps: 120_000, checkpointEvery: 1 } }));
    expect(error!.message).toMatch(/^a run of 120000 steps, a window every 25, a read-back every 10 and a save every 1, records up to/);
    const every = Number(/a schedule.checkpointEvery of (\d+) or more/.exec(error!.message)![1]);
    expect(recordErrors(nano({ schedule: { steps: 120_000, checkpointEvery: every } }))).toEqual([]);
    expect(recordErrors(nano({ schedule: { steps: 120_000, checkpointEvery: every - 1 } }))).toHaveLength(1);
    expect(recordErrors(nano({ schedule: { steps: 120_000, checkpointEvery: 0 } }))).toEqual([]);
  });

  it('a model of a billion layers is sized, not built: refused on model.depth at once', () => {
    const [error] = recordErrors(nano({ model: { depth: 1e9 } }));
    expect(error!.path).toBe('model.depth');
    expect(error!.message).toMatch(/6000000000 modules.*: use a lower model.depth$/);
  });
});
