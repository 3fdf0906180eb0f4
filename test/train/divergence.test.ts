// A run that diverges, for real (wasm): it stops at the read-back that sees the first
// non-finite step, names it, keeps only finite records, charts no NaN window, makes
// no evaluation of broken weights and leaks no tensor. The pure parts, table-tested.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { makeConfig, type DeepPartial, type RunConfig } from '../../src/engine/config';
import { syntheticDataset } from '../../src/engine/data/synthetic';
import { divergenceFixes, finiteWindow, firstNonFinite } from '../../src/engine/divergence';
import type { EngineEvent } from '../../src/engine/events';
import { exportRun } from '../../src/engine/io/export';
import type { WindowRecord } from '../../src/engine/policy';
import { summarize } from '../../src/engine/summary';
import { Trainer } from '../../src/engine/trainer';
import { useBackend } from '../helpers/tf';

describe('divergence, pure', () => {
  it.each([
    [[1, 2, 3], [1, 1, 1], -1],
    [[1, Number.NaN, 3], [1, 1, 1], 1],
    [[1, 2, 3], [1, 1, Number.POSITIVE_INFINITY], 2],
    [[Number.NEGATIVE_INFINITY], [Number.NaN], 0],
  ])('firstNonFinite(%j, %j) = %i', (losses, norms, at) => {
    expect(firstNonFinite(losses, norms)).toBe(at);
  });

  it('finiteWindow looks at the loss and every module statistic; null changes are fine', () => {
    const w = (loss: number, gradNorm: number): WindowRecord => ({
      step: 10, loss, 'lossChange%': null,
      modules: { 'blocks.0.query': { norm: 1, 'normChange%': null, 'update%': 2, gradNorm, 'gradChange%': null } },
    });
    expect(finiteWindow(w(1, 1))).toBe(true);
    expect(finiteWindow(w(Number.NaN, 1))).toBe(false);
    expect(finiteWindow(w(1, Number.POSITIVE_INFINITY))).toBe(false);
  });

  it.each<[string, DeepPartial<RunConfig>, string[]]>([
    ['defaults', {}, ['optim.lr=0.0001 (now 0.001)']],
    ['no clipping, beta2 0', { optim: { lr: 10, clipNorm: 0, beta2: 0 } },
      ['optim.lr=1 (now 10)', 'optim.clipNorm=1 (now 0: no clipping)', 'optim.beta2=0.999 (now 0)']],
    ['loose clipping, no warm-up', { optim: { clipNorm: 100 }, schedule: { warmupSteps: 0 } },
      ['optim.lr=0.0001 (now 0.001)', 'optim.clipNorm=1 (now 100)', 'schedule.warmupSteps=20 (now 0: no warm-up)']],
  ])('fixes for %s', (_, overrides, fixes) => {
    expect(divergenceFixes(makeConfig('nano', overrides))).toEqual(fixes);
  });
});

/** the recipe on micro: NaN from step 11 */
function divergingRun(schedule: DeepPartial<RunConfig['schedule']>, prelora: DeepPartial<RunConfig['prelora']> = {}) {
  const cfg = makeConfig('micro', { optim: { lr: 10, clipNorm: 0, beta2: 0 }, schedule: { steps: 60, warmupSteps: 20, ...schedule }, prelora });
  const data = syntheticDataset({ trainSize: 1000, testSize: 200, imageSize: 16, channels: 3, numClasses: 10, difficulty: 0.5, seed: cfg.seed });
  const events: EngineEvent[] = [];
  return { cfg, events, trainer: new Trainer(cfg, data, (e) => events.push(e)) };
}

describe('a diverging run (wasm)', () => {
  it('stops at the first read-back after step 11, keeps steps 1-10, evaluates nothing broken, leaks nothing', async () => {
    await useBackend('wasm');
    const before = tf.memory().numTensors;
    const { cfg, events, trainer } = divergingRun({ logEvery: 10, evalEvery: 5 }, { mode: 'full', windowSteps: 25 });
    await trainer.run();
    expect(trainer.stepsDone).toBe(15); // the evaluation due at 15 reads the losses back first, and finds it
    expect(trainer.divergence).toMatchObject({ step: 11 });
    expect(trainer.divergence!.message).toMatch(/^training diverged at step 11: the loss is NaN .* Start again with optim\.lr=1 \(now 10\)/);
    const records = events.flatMap((e) => (e.type === 'progress' ? e.records : []));
    expect(records.map((r) => r.step)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(records.every((r) => Number.isFinite(r.loss))).toBe(true);
    expect(events.filter((e) => e.type === 'diverged')).toHaveLength(1);
    const evaluations = events.flatMap((e) => (e.type === 'evaluation' ? [e.evaluation.step] : []));
    expect(evaluations).toEqual([5, 10]); // not 15 or 20
    expect(await trainer.evaluate()).toBeNull();
    await trainer.run(); // a diverged run does not go on
    expect(trainer.stepsDone).toBe(15);
    const summary = summarize(events, { backend: 'wasm', kernels: 'composite', mode: 'full', rule: 'global', seed: 1, batchSize: cfg.optim.batchSize, model: cfg.model, wallSeconds: 1 });
    expect(summary).toMatchObject({ steps: 10, diverged: { step: 11 } });
    expect(summary.accuracy.test).toBeGreaterThan(0);
    trainer.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);

  it('finds it a step after the read-back interval it is in, and a checkpoint taken then is refused', async () => {
    await useBackend('wasm');
    const before = tf.memory().numTensors;
    // no evaluation before the end: the read-back of steps 11-20, started at step 20, ends at step 21
    const { events, trainer } = divergingRun({ logEvery: 10, evalEvery: 1000 }, { mode: 'full', windowSteps: 25 });
    for (let i = 0; i < 20; i++) await trainer.step();
    expect(trainer.divergence).toBeNull(); // its numbers are still on their way
    await expect(trainer.exportState()).rejects.toThrow(/^the run diverged at step 11: its weights are not finite, so it has no checkpoint/);
    await trainer.run();
    expect(trainer.stepsDone).toBe(20); // nothing after the read-back that found it
    const records = events.flatMap((e) => (e.type === 'progress' ? e.records : []));
    expect(records.map((r) => r.step)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(events.filter((e) => e.type === 'diverged')).toHaveLength(1);
    trainer.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);

  it('an export taken before the read-back that finds it is refused too', async () => {
    await useBackend('wasm');
    const before = tf.memory().numTensors;
    const { trainer } = divergingRun({ logEvery: 10, evalEvery: 1000 }, { mode: 'full', windowSteps: 25 });
    for (let i = 0; i < 20; i++) await trainer.step();
    expect(trainer.divergence).toBeNull(); // its numbers are still on their way
    await expect(exportRun(trainer, [], { naming: 'transformers5', backend: 'wasm' }))
      .rejects.toThrow(/^the run diverged at step 11: its weights are not finite, so it has no export/);
    trainer.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);

  it('stops at the step whose read-back finds it: no read-back started there, no event after it', async () => {
    await useBackend('wasm');
    const before = tf.memory().numTensors;
    // every step starts its read-back and the next one ends it: step 12 ends step 11's
    const { events, trainer } = divergingRun({ logEvery: 1, evalEvery: 1000 }, { mode: 'full', windowSteps: 25 });
    for (let i = 0; i < 60 && !trainer.divergence; i++) await trainer.step();
    expect(trainer.divergence).toMatchObject({ step: 11 });
    expect(trainer.stepsDone).toBe(12);
    await new Promise((r) => setTimeout(r, 0)); // a read-back started anyway would land here
    const at = events.findIndex((e) => e.type === 'diverged');
    expect(events.slice(at + 1).map((e) => e.type)).toEqual([]);
    expect(await trainer.step()).toBeUndefined(); // and it takes no more steps
    expect(trainer.stepsDone).toBe(12);
    trainer.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);

  it.each(['global', 'module'] as const)('%s rule: a non-finite window that could switch a module is read back at once, not charted, and no module switches on it', async (rule) => {
    await useBackend('wasm');
    // per module, six modules whose statistics were finite switched on it, their probe losses NaN
    const { events, trainer } = divergingRun({ logEvery: 1000, evalEvery: 1000 }, { mode: 'prelora', rule, windowSteps: 5, weightThreshold: 1e6, lossThreshold: 1e6, patience: 2 });
    await trainer.run();
    expect(trainer.divergence).toMatchObject({ step: 11 });
    expect(trainer.stepsDone).toBe(15); // the window at 15 saw NaN; the loss read-back was due only at 60
    // step 10's update broke the weights (their norms are NaN at the window ending
    // there), so only the window at 5 is charted; the read-back it triggered found
    // steps 1-10 finite, the one at 15 found step 11
    const windows = events.flatMap((e) => (e.type === 'window' ? [e.window] : []));
    expect(windows.map((w) => w.step)).toEqual([5]);
    expect(windows.every(finiteWindow)).toBe(true);
    const switches = events.flatMap((e) => (e.type === 'phase' ? [e.change.step] : []));
    expect(switches).toEqual([]); // NaN statistics pass no threshold
    trainer.dispose();
  }, 120_000);

  it('run() after it: the step queued before it was found is read back into nothing, no event after it', async () => {
    await useBackend('wasm');
    // the CLI's way: run() queues step N+1 before step N's read-back finds it; its final
    // flush read that step back and logged its memory after the divergence
    const { events, trainer } = divergingRun({ logEvery: 3, evalEvery: 7 }, { mode: 'full', windowSteps: 25 });
    await trainer.run();
    expect(trainer.divergence).not.toBeNull();
    const at = events.findIndex((e) => e.type === 'diverged');
    expect(events.slice(at + 1).map((e) => e.type)).toEqual([]);
    trainer.dispose();
  }, 120_000);

  it('a non-finite window that cannot switch anything is found a step later, when it is recorded', async () => {
    await useBackend('wasm');
    // mode full decides nothing: every window is recorded at the next step boundary
    const { events, trainer } = divergingRun({ logEvery: 1000, evalEvery: 1000 }, { mode: 'full', windowSteps: 5 });
    await trainer.run();
    expect(trainer.divergence).toMatchObject({ step: 11 });
    // the window at 10 (broken norms) is recorded at step 11's boundary, and the read-back it triggers finds step 11
    expect(trainer.stepsDone).toBe(11);
    expect(events.flatMap((e) => (e.type === 'window' ? [e.window.step] : []))).toEqual([5]);
    trainer.dispose();
  }, 120_000);
});
