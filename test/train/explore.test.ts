// The what-if replay against real training on micro (wasm): replaying a full-training
// run with other settings gives exactly what a fresh run with those settings does up to
// its first switch; replaying a PreLoRA run with its own settings gives all of its
// switches, and the predicted shares are the ones its summary and parameter counts
// report, as are the real ones after a live change. Then the sweep: its ranges, its
// errors, and a threshold that orders switches.
import { beforeAll, describe, expect, it } from 'vitest';
import { makeConfig, type PreLoRAConfig, type RunConfig } from '../../src/engine/config';
import { syntheticDataset } from '../../src/engine/data/synthetic';
import type { EngineEvent } from '../../src/engine/events';
import { exactness, recordedRun, type RecordedRun } from '../../src/engine/explore/recorded';
import { realShares, replay, runSettings } from '../../src/engine/explore/replay';
import { parseSweep, sweep } from '../../src/engine/explore/sweep';
import { summarize } from '../../src/engine/summary';
import { Trainer } from '../../src/engine/trainer';
import { useBackend } from '../helpers/tf';

const STEPS = 200;

async function train(prelora: Partial<PreLoRAConfig>): Promise<{ config: RunConfig; events: EngineEvent[]; run: RecordedRun }> {
  const config = makeConfig('micro', { prelora, schedule: { steps: STEPS, warmupSteps: 10 } });
  const d = config.data;
  const data = syntheticDataset({ trainSize: d.trainSize, testSize: d.testSize, imageSize: 16, channels: 3, numClasses: 10, difficulty: d.difficulty, seed: config.seed });
  const events: EngineEvent[] = [];
  const trainer = new Trainer(config, data, (e) => events.push(e));
  await trainer.run();
  trainer.dispose();
  return { config, events, run: recordedRun(config, events) };
}

const realSwitches = (run: RecordedRun) => run.real.map(({ module, step, rank }) => ({ module, step, rank })).sort(byStep);
const byStep = (a: { step: number; module: string }, b: { step: number; module: string }) => a.step - b.step || a.module.localeCompare(b.module);
const plain = (xs: { module: string; step: number; rank: number }[]) => xs.map(({ module, step, rank }) => ({ module, step, rank })).sort(byStep);

describe('replay against fresh runs on micro (wasm)', () => {
  let full: Awaited<ReturnType<typeof train>>;
  beforeAll(async () => {
    await useBackend('wasm');
    full = await train({ mode: 'full' });
  }, 120_000);

  it('a full-training run has no switch: all of it is exact', () => {
    expect(full.run.real).toEqual([]);
    expect(exactness(full.run)).toEqual({ until: null, by: null });
    expect(full.run.windows.map((w) => w.step)).toEqual([25, 50, 75, 100, 125, 150, 175, 200]);
  });

  it.each([
    ['module', { rule: 'module', weightThreshold: 1.3, patience: 2 }],
    ['global', { rule: 'global', weightThreshold: 1.4, patience: 3 }],
  ] as const)('%s rule: other settings on the full run give what a fresh run with them does, up to its first switch', async (_, settings) => {
    const fresh = await train({ mode: 'prelora', ...settings });
    const real = realSwitches(fresh.run);
    expect(real.length).toBeGreaterThan(0);
    const first = real[0]!.step;
    const predicted = replay(full.run, { ...runSettings(full.run), ...settings });
    const upTo = <T extends { step: number }>(xs: T[]) => xs.filter((x) => x.step <= first);
    expect(plain(upTo(predicted.switches))).toEqual(upTo(real));
    expect(predicted.switches.every((s) => s.exact)).toBe(true);

    // the fresh run replayed with its own settings: every switch, and the shares its summary reports
    const own = replay(fresh.run, runSettings(fresh.run));
    expect(plain(own.switches)).toEqual(real);
    expect(own.exactUntil).toBe(first);
    expect(own.switches.map((s) => s.exact)).toEqual(own.switches.map((s) => s.step <= first));
    const summary = summarize(fresh.events, {
      backend: 'wasm', kernels: 'composite', mode: 'prelora', rule: settings.rule, seed: 1, model: fresh.config.model,
      batchSize: fresh.config.optim.batchSize, wallSeconds: 1,
    });
    expect(own.shares.flopsSaved).toBeCloseTo(summary.flops.saved, 12);
    expect(own.shares.trainableEnd * summary.params.trainableStart).toBeCloseTo(summary.params.trainableEnd, 6);
    expect(own.shares.loraSteps).toBeCloseTo(summary.phases.lora.share, 12);
  }, 120_000);

  it('the real column is the run as it went: its freezes as recorded, after a live change of the window (and so of jointSteps)', async () => {
    const config = makeConfig('micro', {
      schedule: { steps: 120, warmupSteps: 10 },
      prelora: { mode: 'prelora', rule: 'module', windowSteps: 10, jointSteps: 25, weightThreshold: 50, lossThreshold: 100 },
    });
    const d = config.data;
    const data = syntheticDataset({ trainSize: d.trainSize, testSize: d.testSize, imageSize: 16, channels: 3, numClasses: 10, difficulty: d.difficulty, seed: config.seed });
    const events: EngineEvent[] = [];
    const trainer = new Trainer(config, data, (e) => events.push(e));
    await trainer.run(60);
    expect(trainer.setPolicy({ windowSteps: 20 }).applied).toEqual({ windowSteps: 20, jointSteps: 20, rewarmSteps: 50 }); // micro's 25 after windows of 10, doubled
    await trainer.run();
    trainer.dispose();
    const frozen = events.flatMap((e) => (e.type === 'phase' && e.change.to === 'lora' ? [e.change.step] : []));
    expect(frozen.length).toBeGreaterThan(0);
    expect(Math.max(...frozen)).toBeLessThanOrEqual(60); // frozen before the change, jointSteps 25 after their switch
    const run = recordedRun({ ...config, prelora: { ...config.prelora, windowSteps: 20, jointSteps: 20 } }, events);
    const real = realShares(run)!;
    const summary = summarize(events, {
      backend: 'wasm', kernels: 'composite', mode: 'prelora', rule: 'module', seed: 1, model: config.model,
      batchSize: config.optim.batchSize, wallSeconds: 1,
    });
    // it put each freeze at its switch + the current jointSteps (20): steps all in LoRA and
    // FLOPs saved off the summary's
    expect(real.loraSteps).toBeCloseTo(summary.phases.lora.share, 12);
    expect(real.flopsSaved).toBeCloseTo(summary.flops.saved, 12);
    expect(real.trainableEnd * summary.params.trainableStart).toBeCloseTo(summary.params.trainableEnd, 6);
  }, 120_000);

  it('after a live change of the window, the replay\'s last-window rule reads the length each window closed under, and it is exact only up to the change', async () => {
    // windows of 25 to step 50, then of 10: the windows at 100 and 110 may switch (10 more
    // steps fit in the run's 120), which the starting 25 forbade; with minFullSteps 100
    // and thresholds everything passes, every module switches at 100, and the replay
    // taking the starting 25 predicted none
    const config = makeConfig('micro', {
      schedule: { steps: 120, warmupSteps: 10 },
      prelora: { mode: 'prelora', rule: 'module', windowSteps: 25, patience: 2, minFullSteps: 100, weightThreshold: 1e6, lossThreshold: 1e6 },
    });
    const d = config.data;
    const data = syntheticDataset({ trainSize: d.trainSize, testSize: d.testSize, imageSize: 16, channels: 3, numClasses: 10, difficulty: d.difficulty, seed: config.seed });
    const events: EngineEvent[] = [];
    const trainer = new Trainer(config, data, (e) => events.push(e));
    await trainer.run(50);
    expect(trainer.setPolicy({ windowSteps: 10 }).errors).toEqual([]);
    await trainer.run();
    trainer.dispose();
    const real = plain(events.flatMap((e) => (e.type === 'phase' && e.change.from === 'full' ? [{ ...e.change, rank: e.change.rank! }] : [])));
    expect(real.length).toBeGreaterThan(0);
    expect(new Set(real.map((s) => s.step))).toEqual(new Set([100]));
    // the CLI's log holds the starting settings, the page's store the live ones: the same
    // replay; and from a log or checkpoint written before windows kept their length (each
    // takes the span since the one before: with the live 10, the first window read as off
    // its multiples and the exact part ended at step 0)
    const unrecorded = events.map((e) => (e.type === 'window' ? { ...e, window: { ...e.window, windowSteps: undefined } } : e));
    for (const [windowSteps, log] of [[25, events], [10, events], [25, unrecorded], [10, unrecorded]] as const) {
      const run = recordedRun({ ...config, prelora: { ...config.prelora, windowSteps } }, log);
      expect(run.windows.map((w) => w.step)).toEqual([25, 50, 60, 70, 80, 90, 100, 110, 120]);
      const own = replay(run, runSettings(run));
      expect(plain(own.switches)).toEqual(real);
      // a fresh run cuts its windows at multiples of one length: past step 50 none would
      // have closed where these did
      expect(own.exactUntil).toBe(50);
      expect(own.exactBy).toBe('window');
      expect(own.switches.every((s) => !s.exact)).toBe(true);
    }
  }, 120_000);

  it('a sweep of the weight threshold: a higher threshold never switches a module later', () => {
    const { axis } = parseSweep('prelora.weightThreshold=0.5:3:0.5');
    expect(axis!.values).toEqual([0.5, 1, 1.5, 2, 2.5, 3]);
    const base = { ...runSettings(full.run), rule: 'module' as const, patience: 2 };
    const { result, errors } = sweep(full.config, full.run, base, axis!);
    expect(errors).toEqual([]);
    const stepOf = (i: number, id: string) => result!.cells[i]!.byModule[id]?.step ?? Infinity;
    for (const id of full.run.moduleIds) {
      for (let i = 1; i < axis!.values.length; i++) expect(stepOf(i, id)).toBeLessThanOrEqual(stepOf(i - 1, id));
    }
    const switched = result!.cells.map((c) => c.switches.length);
    expect(switched[0]).toBeLessThan(switched.at(-1)!);
    // micro's adapters (ranks to 16 on 32-wide weights) cost more matmul FLOPs than the frozen bases save
    expect(result!.cells.at(-1)!.shares.flopsSaved).toBeLessThan(result!.cells[0]!.shares.flopsSaved);
  });
});

describe('sweep ranges and their errors', () => {
  it.each([
    ['prelora.patience=2,3,5', { key: 'patience', values: [2, 3, 5] }],
    ['lossThreshold=1:2:0.25', { key: 'lossThreshold', values: [1, 1.25, 1.5, 1.75, 2] }],
    ['prelora.weightThreshold=0.1:0.3:0.1', { key: 'weightThreshold', values: [0.1, 0.2, 0.3] }],
  ])('%s', (spec, axis) => {
    expect(parseSweep(spec)).toEqual({ axis, error: null });
  });

  it.each([
    ['weightThreshold', /key=from:to:step/],
    ['prelora.rank=1:4:1', /cannot sweep "prelora.rank": use one of prelora.weightThreshold/],
    ['prelora.weightThreshold=1:10', /not from:to:step/],
    ['prelora.weightThreshold=10:1:1', /from <= to and a step > 0/],
    ['prelora.weightThreshold=1:1000:0.001', /at most 200/],
    ['prelora.patience=2,x', /not a list of numbers/],
    // decimals, as every typed number: Number() read 0x10 as 16, 1e400 as Infinity
    ['prelora.patience=2,0x10', /^--sweep patience: "2,0x10" is not a list of numbers \("0x10" is not a decimal number\), e\.g\. /],
    ['prelora.weightThreshold=0x1:4:1', /^--sweep weightThreshold: "0x1:4:1" is not from:to:step \("0x1" is not a decimal number\), e\.g\. /],
    ['prelora.weightThreshold=1:Infinity:1', /^--sweep weightThreshold: "1:Infinity:1" is not from:to:step \("Infinity" is not a decimal number\)/],
  ])('%s is refused, saying what to write', (spec, message) => {
    const { axis, error } = parseSweep(spec);
    expect(axis).toBeNull();
    expect(error!.path).toBe('--sweep');
    expect(error!.message).toMatch(message);
  });

  it('a value the live settings would refuse gets their message', () => {
    const config = makeConfig('micro');
    const run = recordedRun(config, []);
    const { result, errors } = sweep(config, run, runSettings(run), { key: 'patience', values: [1, 2] });
    expect(result).toBeNull();
    expect(errors).toEqual([{ path: 'prelora.patience', message: 'prelora.patience must be a whole number >= 2 (got 1)' }]);
  });
});
