// Each read-back interval's time is its own steps' on a backend that runs a step as it
// is enqueued (wasm, the CPU): on a clock that only the steps move, every interval reads
// its steps' time exactly. Its clock ended when the read-back resolved, after the next
// step had run there: each interval took the next one's first step, and the interval
// before a phase change or the run's end, with no next step, lost one (on micro, the
// mixed phase read 12% fast, the full phase 5.6%). An interval whose first steps came
// before the clock started (the bench's) is untimed, not its steps over a part's seconds.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeConfig, type DeepPartial, type RunConfig } from '../../src/engine/config';
import { syntheticDataset } from '../../src/engine/data/synthetic';
import type { EngineEvent } from '../../src/engine/events';
import { Trainer } from '../../src/engine/trainer';
import { useBackend } from '../helpers/tf';

/** A micro trainer on 16 px synthetic images, its events collected. */
async function micro(steps: number, prelora: DeepPartial<RunConfig>['prelora']) {
  await useBackend('wasm');
  const cfg = makeConfig('micro', {
    model: { imageSize: 16 },
    data: { trainSize: 200, testSize: 40 },
    schedule: { steps, warmupSteps: 2, evalEvery: 1000, logEvery: 8 },
    prelora,
  });
  const data = syntheticDataset({ trainSize: 200, testSize: 40, imageSize: 16, channels: 3, numClasses: 10, difficulty: 0.3, seed: 1 });
  const events: EngineEvent[] = [];
  return { cfg, events, trainer: new Trainer(cfg, data, (e) => events.push(e)) };
}

afterEach(() => { vi.restoreAllMocks(); });

describe('a read-back interval\'s time (wasm)', () => {
  it('is its own steps\', across a switch, a freeze and the run\'s end', async () => {
    const { events, trainer } = await micro(60, { mode: 'prelora', rule: 'global', windowSteps: 5, jointSteps: 7, patience: 2, weightThreshold: 1e3, lossThreshold: 1e3 });
    // a clock only the steps move: each step takes exactly 1 ms of it
    let clock = 1000;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    const trainStep = trainer.trainStep.bind(trainer);
    vi.spyOn(trainer, 'trainStep').mockImplementation(() => {
      trainStep();
      clock += 1;
    });
    await trainer.run();
    trainer.dispose();
    const intervals = events.flatMap((e) => (e.type === 'progress' ? [e] : []));
    expect(intervals.map((e) => e.phase)).toEqual(expect.arrayContaining(['full', 'mixed', 'lora']));
    for (const e of intervals) {
      expect(e.seconds, `steps ${e.records[0]!.step}-${e.records.at(-1)!.step} (${e.phase})`).toBeCloseTo(e.records.length / 1000, 9);
    }
  }, 60_000);
});

describe('a read-back interval taken partly before the clock started (wasm)', () => {
  it('is untimed: its seconds are no figure for all its steps', async () => {
    const { cfg, events, trainer } = await micro(24, { mode: 'full', windowSteps: 8 });
    // as the bench takes its first steps (timed one by one), then run()
    for (let i = 0; i < 3; i++) await trainer.step();
    await trainer.run();
    trainer.dispose();
    const intervals = events.flatMap((e) => (e.type === 'progress' ? [e] : []));
    expect(intervals[0]!.records).toHaveLength(8);
    for (const e of intervals) {
      if (e.seconds === 0) expect(e.samplesPerSec).toBe(0);
      else expect(e.samplesPerSec * e.seconds).toBeCloseTo(e.records.length * cfg.optim.batchSize, 6);
    }
  }, 60_000);
});

describe('an interval in which a module changed shape (wasm)', () => {
  it('is cold, as a phase\'s first is: its new kernels compile in it, and the phase\'s samples/s leave it out', async () => {
    // the mixed phase's first interval was left out, and every later switch's or freeze's,
    // each compiling new shapes (a WebGPU pipeline for every new rank), counted as steady
    const { events, trainer } = await micro(64, { mode: 'prelora', rule: 'module', windowSteps: 4, jointSteps: 6, patience: 2, weightThreshold: 1e-9, lossThreshold: 1e-9 });
    await trainer.run(11);
    trainer.forceSwitch('blocks.0.fc1'); // at 12, frozen at 18
    await trainer.run(17);
    trainer.forceSwitch('blocks.1.query'); // at 29, frozen at 35
    await trainer.run();
    trainer.dispose();
    const changes = events.flatMap((e) => (e.type === 'phase' ? [e.change.step] : []));
    expect(changes).toEqual([12, 18, 29, 35]);
    const intervals = events.flatMap((e) => (e.type === 'progress' ? [e] : []));
    const cold = intervals.map((e) => {
      const from = e.records[0]!.step, to = e.records.at(-1)!.step; // steps from..to: a change after step s shapes s + 1 on
      return changes.some((s) => s + 1 >= from && s + 1 <= to);
    });
    expect(intervals.map((e) => e.cold === true)).toEqual(cold);
    expect(cold.filter(Boolean)).toHaveLength(4); // steps 13, 19, 30 and 36 fall in four intervals of 8
    expect(intervals.some((e, i) => e.phase === 'mixed' && !cold[i])).toBe(true);
  }, 60_000);
});
