// Exact resume (real tfjs, wasm): N steps straight against k steps, a checkpoint
// written to bytes and read back, a fresh trainer restored from it, and N - k steps
// more. Saved mid-LoRA (bases frozen, the learning rate re-warming) or mid-joint, a
// window half done (or one closed whose record is still on its way), an epoch half read,
// augmentation on: the resumed run's losses, windows,
// evaluations and final weights are the uninterrupted run's, bit for bit.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { decodeCheckpoint, encodeCheckpoint, TENSOR } from '../../src/engine/checkpoint/format';
import { makeConfig, type DeepPartial, type RunConfig } from '../../src/engine/config';
import { syntheticDataset } from '../../src/engine/data/synthetic';
import type { EngineEvent } from '../../src/engine/events';
import { Trainer } from '../../src/engine/trainer';
import { useBackend } from '../helpers/tf';

const N = 60;

function setup(prelora: DeepPartial<RunConfig['prelora']>) {
  const config = makeConfig('micro', {
    data: { trainSize: 168, testSize: 48, augment: true },
    schedule: { steps: N, warmupSteps: 5, evalEvery: 25, logEvery: 7 },
    prelora: {
      mode: 'prelora', windowSteps: 10, jointSteps: 10, patience: 2, minFullSteps: 20,
      weightThreshold: 1e3, lossThreshold: 1e3, minRank: 2, maxRank: 4, rewarmSteps: 10, ...prelora,
    },
  });
  // crops and flips draw from the batcher's generator: its state must come back too
  const data = { ...syntheticDataset({ trainSize: 168, testSize: 48, imageSize: 16, channels: 3, numClasses: 10, difficulty: 0.3, seed: 1 }), augment: { crop: 2, flip: true } };
  return { config, data };
}

const losses = (events: EngineEvent[]) => events.flatMap((e) => (e.type === 'progress' ? e.records.map((r) => [r.step, r.loss]) : []));
const windows = (events: EngineEvent[]) => events.flatMap((e) => (e.type === 'window' ? [e.window] : []));
const evaluations = (events: EngineEvent[]) => events.flatMap((e) => (e.type === 'evaluation' ? [e.evaluation] : []));
const phases = (events: EngineEvent[]) => events.flatMap((e) => (e.type === 'phase' ? [e.change] : []));

async function weights(trainer: Trainer): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [name, v] of trainer.model.namedVariables()) out[name] = [...(await v.data())];
  return out;
}

/** The interrupted run (its events before and after the break, the resumed trainer) is the straight one, bit for bit; both let go. */
async function expectSameRun(all: EngineEvent[], resumed: Trainer, straightEvents: EngineEvent[], straight: Trainer): Promise<void> {
  expect(losses(all)).toEqual(losses(straightEvents));
  expect(losses(straightEvents)).toHaveLength(N);
  expect(windows(all)).toEqual(windows(straightEvents));
  expect(evaluations(all)).toEqual(evaluations(straightEvents));
  expect(phases(all)).toEqual(phases(straightEvents));
  expect(await weights(resumed)).toEqual(await weights(straight));
  straight.dispose();
  resumed.dispose();
}

describe('a checkpoint resumes a run exactly (wasm)', () => {
  for (const [rule, k, phase] of [['module', 35, 'lora'], ['global', 27, 'joint']] as const) {
    it(`${rule} rule, saved at step ${k} of ${N} (${phase}): the same losses, windows, evaluations and weights as without the break`, async () => {
      await useBackend('wasm');
      const { config, data } = setup({ rule });
      const tensorsBefore = tf.memory().numTensors;
      const straightEvents: EngineEvent[] = [];
      const straight = new Trainer(config, data, (e) => straightEvents.push(e));
      await straight.run(N);

      const firstEvents: EngineEvent[] = [];
      const first = new Trainer(config, data, (e) => firstEvents.push(e));
      await first.run(k);
      const saved = await first.exportState();
      // saved mid-LoRA (bases frozen, the lr re-warming) or mid-joint (bases and adapters training)
      expect(saved.state.controller.modules.some((m) => m.phase === phase)).toBe(true);
      expect(saved.state.monitor.steps).toBe(k % 10);
      const bytes = encodeCheckpoint({ ...saved, log: { events: firstEvents, policyChanges: [] } });
      first.dispose();

      const checkpoint = decodeCheckpoint(bytes, 'run.ckpt');
      expect(checkpoint.config).toEqual(config);
      expect(checkpoint.log.events).toEqual(firstEvents);
      const restEvents: EngineEvent[] = [];
      const resumed = new Trainer(checkpoint.config, data, (e) => restEvents.push(e));
      resumed.importState(checkpoint);
      expect(resumed.stepsDone).toBe(k);
      await resumed.run(N - k);

      // the first interval after the restore is cold (a new worker compiles its kernels
      // again): the steady samples/s leaves it out, as a phase's first; and so is each
      // that ran a module's new shapes first (a change after step s: from s + 1), in every run
      const cold = (es: EngineEvent[]) => es.flatMap((e) => (e.type === 'progress' ? [e.cold === true] : []));
      const reshaped = (es: EngineEvent[], all: EngineEvent[]) => {
        const changes = all.flatMap((e) => (e.type === 'phase' ? [e.change.step] : []));
        return es.flatMap((e) => (e.type === 'progress' ? [changes.some((s) => s + 1 >= e.records[0]!.step && s + 1 <= e.records.at(-1)!.step)] : []));
      };
      const whole = [...firstEvents, ...restEvents];
      expect(cold(restEvents)).toEqual(reshaped(restEvents, whole).map((r, i) => r || i === 0));
      expect(cold(firstEvents)).toEqual(reshaped(firstEvents, whole));
      expect(cold(straightEvents)).toEqual(reshaped(straightEvents, straightEvents));
      expect(cold(straightEvents)).toContain(true);
      await expectSameRun([...firstEvents, ...restEvents], resumed, straightEvents, straight);
      expect(tf.memory().numTensors).toBe(tensorsBefore); // nothing of the restore stays behind
    }, 240_000);
  }

  it('saved right at a window end whose record is still on its way (it cannot switch: the first window): the same losses, windows, evaluations and weights', async () => {
    await useBackend('wasm');
    const { config, data } = setup({ rule: 'module' });
    const straightEvents: EngineEvent[] = [];
    const straight = new Trainer(config, data, (e) => straightEvents.push(e));
    await straight.run(N);
    const firstEvents: EngineEvent[] = [];
    const first = new Trainer(config, data, (e) => firstEvents.push(e));
    for (let i = 0; i < 10; i++) await first.step(); // step by step: no run's end to settle the window
    expect(windows(firstEvents)).toEqual([]); // closed at step 10, its numbers on their way
    const saved = await first.exportState();
    expect(saved.state.controller.history.map((w) => w.step)).toEqual([10]);
    expect(saved.state.monitor.steps).toBe(0);
    const bytes = encodeCheckpoint({ ...saved, log: { events: firstEvents, policyChanges: [] } });
    first.dispose();
    const restEvents: EngineEvent[] = [];
    const resumed = new Trainer(config, data, (e) => restEvents.push(e));
    resumed.importState(decodeCheckpoint(bytes, 'run.ckpt'));
    await resumed.run(N - 10);
    await expectSameRun([...firstEvents, ...restEvents], resumed, straightEvents, straight);
  }, 240_000);

  it('refuses a checkpoint of another model, naming the tensor, weights, optimiser state or snapshot it does not have (keeping no tensor of it), and a restore into a trainer that has trained', async () => {
    await useBackend('wasm');
    const { config, data } = setup({});
    const t = new Trainer(config, data);
    await t.run(3);
    const saved = await t.exportState();
    expect(() => t.importState(saved)).toThrow('a checkpoint restores into a fresh trainer only');
    t.dispose();
    const other = makeConfig('micro', { ...config, model: { ...config.model, width: 16 } });
    const fresh = new Trainer(other, data);
    expect(() => fresh.importState(saved)).toThrow(/tensor "model\/vit\.embeddings\.cls_token" is \[1, 1, 32\] in the checkpoint but \[1, 1, 16\]/);
    fresh.dispose();
    // what the model does not have, each named; a refused restore keeps no tensor of it
    const spare = { shape: [4], data: new Float32Array(4) };
    const refusals: [typeof saved, RegExp][] = [
      [{ ...saved, tensors: new Map([...saved.tensors, [TENSOR.weight('vit.spare.weight'), spare]]) }, /the checkpoint has weights this run's model does not: model\/vit\.spare\.weight/],
      [{ ...saved, state: { ...saved.state, optimizer: { ...saved.state.optimizer, params: { ...saved.state.optimizer.params, 'vit.spare.weight': { t: 1, rewarm: null, moments: false } } } } },
        /the checkpoint's optimiser state names "vit\.spare\.weight", which this run's model does not have/],
      [{ ...saved, tensors: new Map([...saved.tensors, [TENSOR.snapshot('vit.spare'), spare]]) }, /the checkpoint has a snapshot of module "vit\.spare", which this run's model does not have/],
    ];
    for (const [bad, message] of refusals) {
      const same = new Trainer(config, data);
      const before = tf.memory().numTensors;
      expect(() => same.importState(bad)).toThrow(message);
      expect(tf.memory().numTensors).toBe(before);
      same.dispose();
    }
  }, 120_000);

  it('keeps each switch\'s joint length: a live window change after it moves neither its freeze nor, restored, the resumed run\'s; its re-warm follows the window', async () => {
    // it took the live jointSteps: switched at 20 with 10, then a window of 20 at step 22, it froze at 40
    await useBackend('wasm');
    const { config, data } = setup({ rule: 'module' });
    const events: EngineEvent[] = [];
    const t = new Trainer(config, data, (e) => events.push(e));
    await t.run(22);
    const joined = phases(events).filter((c) => c.to === 'joint');
    expect(joined.length).toBeGreaterThan(0);
    expect(joined.every((c) => c.step === 20)).toBe(true);
    expect(t.setPolicy({ windowSteps: 20 }).applied).toEqual({ windowSteps: 20, jointSteps: 20, rewarmSteps: 20 });
    const saved = await t.exportState();
    const resumed = new Trainer(config, data, (e) => events.push(e));
    resumed.importState(saved);
    for (const trainer of [t, resumed]) {
      const before = phases(events).length;
      await trainer.run(10); // to step 32
      const frozen = phases(events).slice(before).filter((c) => c.to === 'lora');
      expect(frozen.map((c) => [c.module, c.step])).toEqual(joined.map((c) => [c.module, 30]));
      // and the re-warm after the freeze follows the window, 10 -> 20 (it kept the config's 10)
      const ramps = Object.values((await trainer.exportState()).state.optimizer.params).flatMap((p) => (p.rewarm ? [p.rewarm] : []));
      expect(ramps.length).toBeGreaterThan(0);
      expect(ramps.every((r) => r.from === 30 && r.steps === 20)).toBe(true);
      trainer.dispose();
    }
    // each trainer names its backend on its first interval: a resume on another one times its intervals apart
    expect(events.flatMap((e) => (e.type === 'progress' && e.backend ? [e.backend] : []))).toEqual(['wasm/composite', 'wasm/composite']);
  }, 120_000);

  it('drops a pending switch by hand outside prelora.targets (an older checkpoint\'s), of no module or in a baseline, and keeps one inside', async () => {
    await useBackend('wasm');
    const { config, data } = setup({ targets: ['query', 'value'] });
    const t = new Trainer(config, data);
    await t.run(3);
    const saved = await t.exportState();
    t.dispose();
    const forced = ['blocks.0.fc1', 'blocks.9.value', 'blocks.1.query'];
    const resumed = new Trainer(config, data);
    resumed.importState({ ...saved, state: { ...saved.state, controller: { ...saved.state.controller, forced } } });
    expect((await resumed.exportState()).state.controller.forced).toEqual(['blocks.1.query']);
    // and the one kept switches at the next step, ranked as any switch by hand
    await resumed.step();
    expect(resumed.modules.get('blocks.1.query')!.phase).toBe('joint');
    expect(resumed.modules.get('blocks.0.fc1')!.phase).toBe('full');
    resumed.dispose();

    // a baseline's pending switch (an older page's, saved before baselines refused them) is dropped too
    const full = { ...config, prelora: { ...config.prelora, mode: 'full' as const } };
    const base = new Trainer(full, data);
    await base.run(3);
    const fullSaved = await base.exportState();
    base.dispose();
    const fullResumed = new Trainer(full, data);
    fullResumed.importState({ ...fullSaved, state: { ...fullSaved.state, controller: { ...fullSaved.state.controller, forced: ['blocks.1.query'] } } });
    expect((await fullResumed.exportState()).state.controller.forced).toEqual([]);
    await fullResumed.step();
    expect(fullResumed.modules.get('blocks.1.query')!.phase).toBe('full');
    fullResumed.dispose();
  }, 120_000);
});
