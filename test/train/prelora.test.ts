// PreLoRA end to end on real tfjs (wasm): modules switch with ranks from the rank set,
// the loss is unchanged by a switch, frozen bases stay bit-identical, trainable
// parameters and memory fall; full never switches; static LoRA trains only adapters
// and the always-trainable parts; forced switches and live thresholds work.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { makeConfig, type DeepPartial, type RunConfig } from '../../src/engine/config';
import { syntheticDataset } from '../../src/engine/data/synthetic';
import type { EngineEvent } from '../../src/engine/events';
import { learningRate } from '../../src/engine/schedule';
import { summarize } from '../../src/engine/summary';
import { Trainer } from '../../src/engine/trainer';
import { useBackend } from '../helpers/tf';

function setup(overrides: DeepPartial<RunConfig>, imageSize = 16) {
  const cfg = makeConfig('nano', {
    ...overrides,
    model: { imageSize },
    data: { trainSize: 320, testSize: 64 },
    optim: { batchSize: 16 },
    schedule: { steps: 100, warmupSteps: 5, evalEvery: 1000, logEvery: 10, ...overrides.schedule },
  });
  const data = syntheticDataset({ trainSize: 320, testSize: 64, imageSize, channels: 3, numClasses: 10, difficulty: 0.3, seed: 1 });
  const events: EngineEvent[] = [];
  const trainer = new Trainer(cfg, data, (e) => events.push(e));
  return { cfg, trainer, events };
}

const phases = (events: EngineEvent[]) => events.flatMap((e) => (e.type === 'phase' ? [e.change] : []));
const params = (events: EngineEvent[]) => events.flatMap((e) => (e.type === 'params' ? [e] : []));

describe('PreLoRA on nano (wasm)', () => {
  it('switches every module, keeps the loss across the switch, freezes bases bit for bit, and saves parameters and memory', async () => {
    await useBackend('wasm');
    const { cfg, trainer, events } = setup({
      prelora: {
        mode: 'prelora', rule: 'module', windowSteps: 10, jointSteps: 10, patience: 2, minFullSteps: 20,
        weightThreshold: 1e3, lossThreshold: 1e3, minRank: 4, maxRank: 8, rewarmSteps: 10,
      },
    }, 32);
    // clone each base at its freeze, from the event, to compare at the end
    const frozenAt = new Map<string, tf.Tensor>();
    const modules = trainer.model.modules();
    const listen = (e: EngineEvent) => {
      if (e.type === 'phase' && e.change.to === 'lora') frozenAt.set(e.change.module, tf.keep(tf.clone(modules.get(e.change.module)!.weight)));
    };
    const original = events.push.bind(events);
    events.push = (...es: EngineEvent[]) => { es.forEach(listen); return original(...es); };
    await trainer.run(100);

    const changes = phases(events);
    const toJoint = changes.filter((c) => c.to === 'joint');
    expect(toJoint.map((c) => c.module).sort()).toEqual([...modules.keys()].sort());
    for (const c of toJoint) {
      expect(c.step).toBe(20);
      expect([4, 8]).toContain(c.rank);
      expect(Math.abs(c.lossAfter! - c.lossBefore!)).toBeLessThanOrEqual(1e-6 * c.lossBefore!);
      expect(modules.get(c.module)!.adapter!.rank).toBe(c.rank);
    }
    expect(changes.filter((c) => c.to === 'lora').map((c) => c.step)).toEqual(new Array(modules.size).fill(30));
    for (const [id, snap] of frozenAt) {
      const now = await modules.get(id)!.weight.data();
      expect(Buffer.from(now.buffer).equals(Buffer.from((await snap.data()).buffer)), id).toBe(true);
      snap.dispose();
    }
    const p = params(events);
    expect(p.at(-1)!.trainable).toBeLessThan(p[0]!.trainable / 2);
    // the learning rate re-warms linearly over 10 steps after the freeze at step 30
    const lrOf = (step: number) => events.flatMap((e) => (e.type === 'progress' ? e.records : [])).find((r) => r.step === step)!.lr;
    expect(lrOf(31)).toBeCloseTo(learningRate(30, cfg) / 10, 12);
    expect(lrOf(35)).toBeCloseTo((learningRate(34, cfg) * 5) / 10, 12);
    expect(lrOf(41)).toBeCloseTo(learningRate(40, cfg), 12);

    const summary = summarize(events, { backend: 'wasm', kernels: 'composite', mode: 'prelora', rule: 'module', seed: cfg.seed, batchSize: 16, windowSteps: 10, wallSeconds: 1 });
    expect(summary.memory.loraPhaseBytes!).toBeLessThan(summary.memory.fullPhaseBytes!);
    expect(summary.phases.full!.steps).toBe(20);
    expect(summary.phases.lora!.steps).toBe(70);
    expect(summary.tensorsGrowth).toBe(0);
    trainer.dispose();
  }, 120_000);

  it('full never switches, though its windows are measured', async () => {
    await useBackend('wasm');
    const { trainer, events } = setup({ prelora: { mode: 'full', windowSteps: 10, weightThreshold: 1e6, lossThreshold: 1e6, patience: 2 } });
    await trainer.run(40);
    expect(phases(events)).toEqual([]);
    expect(events.filter((e) => e.type === 'window')).toHaveLength(4);
    expect(new Set(params(events).map((e) => e.trainable)).size).toBe(1);
    trainer.dispose();
  }, 60_000);

  it('static LoRA trains only adapters, norms, embeddings and the head; the bases never move', async () => {
    await useBackend('wasm');
    const { trainer, events } = setup({ prelora: { mode: 'lora', rank: 4 } });
    const names = new Map(trainer.model.namedVariables().map(([n, v]) => [v, n]));
    const trainable = trainer.model.trainableVariables().map((v) => names.get(v)!);
    for (const n of trainable) {
      expect(n, n).toMatch(/lora_[AB]$|layernorm|cls_token|position_embeddings|patch_embeddings|^classifier/);
    }
    expect(trainable.filter((n) => n.endsWith('lora_A'))).toHaveLength(24);
    const fc1 = trainer.model.modules().get('blocks.2.fc1')!;
    const before = Float32Array.from(await fc1.weight.data());
    await trainer.run(10);
    expect(Buffer.from((await fc1.weight.data()).buffer).equals(Buffer.from(before.buffer))).toBe(true);
    expect(phases(events).every((c) => c.step === 0 && c.to === 'lora' && c.rank === 4)).toBe(true);
    trainer.dispose();
  }, 60_000);

  it('a forced switch takes one module by name; a threshold raised mid-run switches the rest at the next window', async () => {
    await useBackend('wasm');
    const { trainer, events } = setup({
      prelora: { mode: 'prelora', rule: 'global', windowSteps: 10, jointSteps: 0, patience: 2, weightThreshold: 1e-9, lossThreshold: 1e-9 },
    });
    await trainer.run(20);
    expect(phases(events)).toEqual([]); // nothing settles at 1e-9
    trainer.forceSwitch('blocks.1.value');
    expect(() => trainer.forceSwitch('blocks.9.value')).toThrow('no module "blocks.9.value"');
    await trainer.run(1);
    expect(phases(events).map((c) => [c.module, c.to, c.decidedBy, c.step])).toEqual([
      ['blocks.1.value', 'joint', 'forced', 21], ['blocks.1.value', 'lora', 'joint-done', 21],
    ]);
    trainer.setPolicy({ weightThreshold: 1e6, lossThreshold: 1e6 });
    await trainer.run(9); // step 30: the next window
    const later = phases(events).slice(2).filter((c) => c.to === 'joint');
    expect(later).toHaveLength(23);
    expect(later.every((c) => c.step === 30 && typeof c.decidedBy === 'object')).toBe(true);
    trainer.dispose();
  }, 60_000);

  it.each([
    [true, 'rebuilds AdamW: every moment starts again from zero'],
    [false, 'keeps AdamW: only the frozen base loses its moments'],
  ])('at a freeze with resetMoments=%s the trainer %s', async (resetMoments) => {
    await useBackend('wasm');
    const { trainer, events } = setup({ prelora: { mode: 'prelora', jointSteps: 0, weightThreshold: 1e-9, resetMoments } });
    await trainer.run(5);
    const before = params(events).at(-1)!;
    expect(before.optimizerBytes).toBe(0); // no change yet: the first params event, before any step
    trainer.forceSwitch('blocks.0.fc1');
    await trainer.run(1);
    const after = params(events).at(-1)!;
    const lin = trainer.model.modules().get('blocks.0.fc1')!;
    if (resetMoments) expect(after.optimizerBytes).toBe(0);
    else {
      const all = trainer.model.namedVariables().reduce((n, [, v]) => n + v.size, 0);
      const adapters = lin.adapter!.A.size + lin.adapter!.B.size;
      // moments (2 x 4 bytes) of everything that trained before, less the frozen base
      expect(after.optimizerBytes).toBe(8 * (all - adapters - lin.weight.size - lin.bias.size));
    }
    trainer.dispose();
  }, 60_000);
});
