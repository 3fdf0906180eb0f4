// Replay: the per-window statistics of real runs (the engine's `window` events, kept in
// test/fixtures/replay-nano.json), fed through the replay (the pure stepper the
// controller runs), give exactly the switch steps and ranks the engine made in those
// runs, for the global and the per-module rule. The engine has no hidden input to its
// decisions: the windows it reports are all of it.
//
// Recorded on wasm with (RULE global, then module; the thresholds nano had then):
//   npm run train -- --preset nano --dataset synthetic --mode prelora --rule RULE --steps 300 --seed 1
//     --backend wasm --set prelora.weightThreshold=3 --set prelora.rewarmSteps=100 --out run.json
// and kept: the run's prelora settings and steps, its windows (`window` events, whole)
// and its switches (`phase` events from full to joint).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { makeConfig, type PreLoRAConfig } from '../../src/engine/config';
import type { RecordedRun } from '../../src/engine/explore/recorded';
import { replay as replayRun, runSettings } from '../../src/engine/explore/replay';
import type { WindowRecord } from '../../src/engine/policy';
import { boundaryNote } from '../../src/cli/explore-table';
import { exactText } from '../../src/ui/what-if/ExactNote';

interface Recorded {
  command: string;
  steps: number;
  prelora: PreLoRAConfig;
  windows: WindowRecord[];
  switches: { module: string; step: number; rank: number }[];
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/replay-nano.json', import.meta.url), 'utf8')) as Record<'global' | 'module', Recorded>;

/** The recorded run as the replay takes it (nano at 32 px, batch 32, as recorded). */
function replay(rec: Recorded): Recorded['switches'] {
  const { model, optim } = makeConfig('nano');
  const run: RecordedRun = {
    moduleIds: Object.keys(rec.windows[0]!.modules), windows: rec.windows, totalSteps: rec.steps,
    prelora: rec.prelora, model, batchSize: optim.batchSize, real: [],
  };
  return replayRun(run, runSettings(run)).switches.map(({ module, step, rank }) => ({ module, step, rank }));
}

const order = (xs: Recorded['switches']) => [...xs].sort((a, b) => a.step - b.step || a.module.localeCompare(b.module));

describe.each(['global', 'module'] as const)('replay of a recorded nano run, %s rule', (rule) => {
  const rec = fixture[rule];

  it('is a real run of that rule in which every module switched (the per-module rule at different steps)', () => {
    expect(rec.prelora.rule).toBe(rule);
    expect(rec.switches).toHaveLength(24);
    expect(rec.windows.length).toBe(rec.steps / rec.prelora.windowSteps);
    expect(new Set(rec.switches.map((x) => x.step)).size > 1).toBe(rule === 'module');
  });

  it('the pure policy on the recorded windows gives exactly the engine\'s switches and ranks', () => {
    expect(order(replay(rec))).toEqual(order(rec.switches));
  });

  it('and a change to the statistics changes the verdict (the replay is not vacuous)', () => {
    const first = Math.min(...rec.switches.map((x) => x.step));
    const hotter = structuredClone(rec);
    for (const w of hotter.windows) for (const m of Object.values(w.modules)) if (m['update%'] !== null) m['update%'] *= 10;
    expect(Math.min(...replay(hotter).map((x) => x.step), Infinity)).toBeGreaterThan(first);
  });
});

describe('a replay of a long run', () => {
  /** The module-rule run's windows repeated to `n`, at steps that go on, each window read counted. */
  function long(n: number) {
    const rec = fixture.module;
    const { model, optim } = makeConfig('nano');
    const w = rec.prelora.windowSteps;
    const windows = Array.from({ length: n }, (_, i) => ({ ...rec.windows[i % rec.windows.length]!, step: (i + 1) * w }));
    const reads = { n: 0 };
    // a window read by index (a copy of the history reads each one): the work a replay does
    const counted = new Proxy(windows, {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) reads.n++;
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const run: RecordedRun = { moduleIds: Object.keys(windows[0]!.modules), windows: counted, totalSteps: n * w, prelora: rec.prelora, model, batchSize: optim.batchSize, real: [] };
    const plain = { ...run, windows };
    return { run, plain, reads };
  }

  it('reads each window a bounded number of times, so its time grows with the windows, not their square, and predicts the same', () => {
    // each window's decision took a copy of every window before it: 20,000 windows took 1.4 s, 60,000 took 23 s
    const counts = [500, 1000].map((n) => {
      const { run, plain, reads } = long(n);
      const never = { ...runSettings(run), weightThreshold: 1e-9 }; // nothing switches: every window is decided on
      expect(replayRun(run, never)).toEqual(replayRun(plain, never));
      expect(replayRun(run, runSettings(run))).toEqual(replayRun(plain, runSettings(plain)));
      return reads.n;
    });
    expect(counts[1]!).toBeLessThan(2.2 * counts[0]!);
  });
});

describe('where a replay stops being exact, said the same way by the page and the CLI', () => {
  it('names a live change of the window as the end, at the last window before it', () => {
    const { model, optim } = makeConfig('nano');
    const w = fixture.module.windows[0]!;
    // windows of 25 to step 50, then of 10
    const windows = [[25, 25], [50, 25], [60, 10], [70, 10]].map(([step, windowSteps]) => ({ ...w, step: step!, windowSteps }));
    const run: RecordedRun = { moduleIds: Object.keys(w.modules), windows, totalSteps: 100, prelora: fixture.module.prelora, model, batchSize: optim.batchSize, real: [] };
    const r = replayRun(run, { ...runSettings(run), weightThreshold: 1e-9 });
    expect([r.exactUntil, r.exactBy]).toEqual([50, 'window']);
    expect(boundaryNote(run)).toMatch(/^exact up to step 50, the last window before the window's length was changed live: a fresh run cuts its windows at multiples of one length/);
    expect(exactText(r.exactUntil, r.exactBy, 'prelora')).toMatch(/^Exact up to step 50, the last window before the window's length was changed live: .*\. So later predictions \(~, hatched\) are estimates\./);
    // one length throughout: exact for the whole run
    const even = { ...run, windows: windows.map((x, i) => ({ ...x, step: 25 * (i + 1), windowSteps: 25 })) };
    expect(replayRun(even, runSettings(even)).exactBy).toBeNull();
  });
});
