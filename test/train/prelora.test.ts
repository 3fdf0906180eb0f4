// PreLoRA end to end on real tfjs (wasm): modules switch with ranks from the rank set,
// the loss is unchanged by a switch, frozen bases stay bit-identical, trainable
// parameters and memory fall (and the page's memory chart shows it); full never
// switches; static LoRA trains only adapters and the always-trainable parts; forced switches and live thresholds work; a window
// that cannot switch anything is recorded a step later.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { makeConfig, type DeepPartial, type RunConfig } from '../../src/engine/config';
import { syntheticDataset } from '../../src/engine/data/synthetic';
import type { EngineEvent } from '../../src/engine/events';
import { learningRate } from '../../src/engine/schedule';
import { countParams } from '../../src/engine/size';
import { summarize } from '../../src/engine/summary';
import { Trainer } from '../../src/engine/trainer';
import { useStore } from '../../src/ui/store';
import { useBackend } from '../helpers/tf';

function setup(overrides: DeepPartial<RunConfig>, imageSize = 16) {
  const cfg = makeConfig('nano', {
    ...overrides,
    model: { imageSize },
    data: { trainSize: 320, testSize: 64 },
    optim: { batchSize: 16, ...overrides.optim },
    schedule: { steps: 100, warmupSteps: 5, evalEvery: 1000, logEvery: 10, ...overrides.schedule },
  });
  const data = syntheticDataset({ trainSize: 320, testSize: 64, imageSize, channels: 3, numClasses: 10, difficulty: 0.3, seed: 1 });
  const events: EngineEvent[] = [];
  const trainer = new Trainer(cfg, data, (e) => events.push(e));
  return { cfg, trainer, events };
}

const phases = (events: EngineEvent[]) => events.flatMap((e) => (e.type === 'phase' ? [e.change] : []));
const params = (events: EngineEvent[]) => events.flatMap((e) => (e.type === 'params' ? [e] : []));
const windowSteps = (events: EngineEvent[]) => events.flatMap((e) => (e.type === 'window' ? [e.window.step] : []));
/** PreLoRA with windows of 10 whose thresholds nothing meets: only a switch by hand switches */
const UNSETTLED_WINDOWS_OF_10: DeepPartial<RunConfig> = { prelora: { mode: 'prelora', windowSteps: 10, weightThreshold: 1e-9, lossThreshold: 1e-9 } };

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
    // per-module rule: only the adapters re-warm after the freeze; the model's lr is the schedule's
    const lrOf = (step: number) => events.flatMap((e) => (e.type === 'progress' ? e.records : [])).find((r) => r.step === step)!.lr;
    for (const step of [31, 35, 41]) expect(lrOf(step)).toBe(learningRate(step - 1, cfg));

    const summary = summarize(events, { backend: 'wasm', kernels: 'composite', mode: 'prelora', rule: 'module', seed: cfg.seed, batchSize: 16, model: cfg.model, wallSeconds: 1 });
    expect(summary.memory.loraPhaseBytes!).toBeLessThan(summary.memory.fullPhaseBytes!);
    // the page's tensor-memory chart draws those read-backs: it drew the change points,
    // taken before any moment existed and just after a switch reset them (LoRA above full)
    useStore.setState({ runs: [], activeId: null });
    const view = useStore.getState().addRun(cfg);
    useStore.getState().applyEngineEvents(view.id, events);
    const drawn = useStore.getState().runs[0]!.memory;
    expect(drawn.filter((m) => m.step <= 20).at(-1)!.bytes).toBe(summary.memory.fullPhaseBytes);
    expect(drawn.at(-1)!.bytes).toBe(summary.memory.loraPhaseBytes);
    expect(summary.phases.full!.steps).toBe(20);
    expect(summary.phases.lora!.steps).toBe(70);
    expect(summary.tensorsGrowth).toBe(0);
    trainer.dispose();
  }, 300_000); // 100 nano steps: 138-148 s on the shared 2-core VM at load ~14

  it('full never switches, though its windows are measured', async () => {
    await useBackend('wasm');
    const { trainer, events } = setup({ prelora: { mode: 'full', windowSteps: 10, weightThreshold: 1e6, lossThreshold: 1e6, patience: 2 } });
    await trainer.run(40);
    expect(phases(events)).toEqual([]);
    expect(events.filter((e) => e.type === 'window')).toHaveLength(4);
    expect(new Set(params(events).map((e) => e.trainable)).size).toBe(1);
    trainer.dispose();
  }, 60_000);

  it('a window that cannot switch anything is recorded at the next step boundary; one that can is decided at its own step', async () => {
    await useBackend('wasm');
    // patience 2: the first window has no pair of changes yet; the second has, and passes thresholds this high
    const { trainer, events } = setup({ prelora: { mode: 'prelora', rule: 'module', windowSteps: 5, jointSteps: 5, patience: 2, minFullSteps: 0, weightThreshold: 1e6, lossThreshold: 1e6 } });
    for (let i = 0; i < 5; i++) await trainer.step();
    expect(windowSteps(events)).toEqual([]); // closed at step 5: its numbers on their way
    await trainer.step();
    expect(windowSteps(events)).toEqual([5]); // recorded at step 6's boundary
    for (let i = 6; i < 10; i++) await trainer.step();
    expect(windowSteps(events)).toEqual([5, 10]); // this one could switch: read back and decided at step 10
    expect(new Set(phases(events).map((c) => `${c.to}@${c.step}`))).toEqual(new Set(['joint@10']));
    trainer.dispose();
  }, 60_000);

  it('a trainer whose construction throws late (static LoRA\'s first phase events) keeps no tensor of its model or adapters', async () => {
    await useBackend('wasm');
    const { cfg, trainer } = setup({ prelora: { mode: 'lora', rank: 4 } });
    trainer.dispose();
    const before = tf.memory().numTensors;
    const data = syntheticDataset({ trainSize: 320, testSize: 64, imageSize: 16, channels: 3, numClasses: 10, difficulty: 0.3, seed: 1 });
    const refusing = (e: EngineEvent) => { if (e.type === 'phase') throw new Error('the host refused the event'); };
    expect(() => new Trainer(cfg, data, refusing)).toThrow('the host refused the event');
    expect(tf.memory().numTensors).toBe(before);
  });

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
    // one parameter event at the start (it came twice: a repeated row in params.csv), and the
    // summary's total is the base model's, as a PreLoRA run's of this model (it held the adapters)
    expect(params(events).map((p) => p.step)).toEqual([0]);
    const summary = summarize(events, { backend: 'wasm', kernels: 'composite', mode: 'lora', rule: 'global', seed: 1, batchSize: 16, model: trainer.model.config, wallSeconds: 1 });
    expect(summary.params.total).toBe(countParams(trainer.model.config));
    expect(summary.params.total).toBeLessThan(params(events)[0]!.total); // the adapters are variables, not the base
    trainer.dispose();
  }, 60_000);

  it('a switch forced at a window\'s last step is ranked on the window before, and says so', async () => {
    await useBackend('wasm');
    const { trainer, events } = setup(UNSETTLED_WINDOWS_OF_10);
    await trainer.run(29);
    trainer.forceSwitch('blocks.0.fc1');
    await trainer.run(1); // step 30: the switch, then the window of step 30 closes
    const [change] = phases(events);
    expect(change).toMatchObject({ module: 'blocks.0.fc1', step: 30, decidedBy: 'forced', rankedBy: { window: 20 } });
    expect(windowSteps(events).at(-1)).toBe(30);
    trainer.dispose();
  }, 60_000);

  it('a window changed live runs its new length from the last window\'s end', async () => {
    // cut at multiples of the step, a change from 10 to 25 at step 22 closed a window of 5 steps at 25
    await useBackend('wasm');
    const { trainer, events } = setup(UNSETTLED_WINDOWS_OF_10);
    await trainer.run(22);
    trainer.setPolicy({ windowSteps: 25 });
    await trainer.run(28); // to step 50
    expect(windowSteps(events)).toEqual([10, 20, 45]);
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

  it('a forced switch takes a targeted module only: the config\'s checks count adapters in prelora.targets', async () => {
    await useBackend('wasm');
    const { trainer, events } = setup({ prelora: { mode: 'prelora', targets: ['query', 'value'], weightThreshold: 1e-9, lossThreshold: 1e-9 } });
    await trainer.run(2);
    expect(() => trainer.forceSwitch('blocks.1.fc1')).toThrow(
      'blocks.1.fc1 is not in prelora.targets (query, value), so it trains fully to the end: add fc1 to prelora.targets to switch it');
    trainer.forceSwitch('blocks.1.query');
    await trainer.run(1);
    expect(phases(events).map((c) => [c.module, c.to])).toEqual([['blocks.1.query', 'joint']]);
    expect(trainer.modules.get('blocks.1.fc1')!.phase).toBe('full');
    trainer.dispose();
  }, 60_000);

  it.each(['full', 'lora'] as const)('a forced switch is refused in the %s baseline: it keeps its one shape', async (mode) => {
    // the full baseline took a forced switch: full -> joint at step 3, LoRA at 28
    await useBackend('wasm');
    const { trainer, events } = setup({ prelora: { mode } });
    await trainer.run(2);
    const before = phases(events).length;
    expect(() => trainer.forceSwitch('blocks.0.fc1')).toThrow(
      `blocks.0.fc1 cannot switch in a ${mode === 'full' ? 'full-training' : 'static LoRA'} run (prelora.mode=${mode}), the baseline PreLoRA is compared with: start a run with prelora.mode=prelora to switch modules`);
    await trainer.run(3);
    expect(phases(events)).toHaveLength(before);
    trainer.dispose();
  }, 60_000);

  it('under the global rule the whole model re-warms after the freeze, as the paper', async () => {
    await useBackend('wasm');
    const { cfg, trainer, events } = setup({ prelora: { mode: 'prelora', rule: 'global', jointSteps: 0, weightThreshold: 1e-9, rewarmSteps: 10 } });
    await trainer.run(20);
    trainer.forceSwitch('blocks.0.fc1');
    await trainer.run(21); // switch and freeze after step 21
    const lrOf = (step: number) => events.flatMap((e) => (e.type === 'progress' ? e.records : [])).find((r) => r.step === step)!.lr;
    expect(lrOf(21)).toBe(learningRate(20, cfg));
    expect(lrOf(22)).toBeCloseTo(learningRate(21, cfg) / 10, 12);
    expect(lrOf(26)).toBeCloseTo((learningRate(25, cfg) * 5) / 10, 12);
    expect(lrOf(32)).toBeCloseTo(learningRate(31, cfg), 12);
    trainer.dispose();
  }, 60_000);

  // Issue 11, item 4: a switch or freeze of some modules reset every moment and re-warmed
  // every parameter, so the per-module rule measured the schedule, not the module.
  it('per-module rule: a module switching and freezing leaves every other parameter training exactly as before; the global rule resets all', async () => {
    await useBackend('wasm');
    const rewarmSteps = 4;
    const run = async (rule: 'global' | 'module', force: boolean) => {
      // no clipping: the global norm would couple every gradient to the switched module's
      const { cfg, trainer } = setup({
        optim: { clipNorm: 0 }, prelora: { mode: 'prelora', rule, jointSteps: 0, weightThreshold: 1e-9, rewarmSteps },
      });
      await trainer.run(6);
      if (force) trainer.forceSwitch('blocks.0.fc1');
      await trainer.run(2); // switch and freeze after step 7; step 8 trains the adapter
      const others = trainer.model.namedVariables().filter(([name]) => !name.includes('layer.0.intermediate.dense'));
      const values = await Promise.all(others.map(async ([name, v]) => [name, Buffer.from((await v.data()).buffer)] as const));
      const B = trainer.model.modules().get('blocks.0.fc1')!.adapter?.B;
      const maxB = B ? Math.max(...Array.from(await B.data(), Math.abs)) : null;
      trainer.dispose();
      return { values, maxB, lr: learningRate(7, cfg) };
    };
    const plain = await run('module', false);
    const scoped = await run('module', true);
    expect(scoped.values.length).toBe(plain.values.length);
    scoped.values.forEach(([name, bytes], i) => expect(bytes.equals(plain.values[i]![1]), name).toBe(true));
    // the adapter's first update: fresh moments make it lr x factor per element (|g| >> eps), factor 1/4
    expect(scoped.maxB! / (scoped.lr / rewarmSteps)).toBeCloseTo(1, 3);
    const global = await run('global', true);
    expect(global.values.filter(([, bytes], i) => !bytes.equals(plain.values[i]![1])).length).toBeGreaterThan(0);
    expect(global.maxB! / (global.lr / rewarmSteps)).toBeCloseTo(1, 3);
  }, 120_000);

  it.each([
    ['global', true, 'resets AdamW: every moment starts again from zero'],
    ['global', false, 'keeps AdamW: only the frozen base loses its moments'],
    ['module', true, 'resets only the module\'s adapter (no moments until its next update); the frozen base loses its moments'],
  ] as const)('at a freeze under the %s rule with resetMoments=%s the trainer %s', async (rule, resetMoments, _what) => {
    await useBackend('wasm');
    const { trainer, events } = setup({ prelora: { mode: 'prelora', rule, jointSteps: 0, weightThreshold: 1e-9, resetMoments } });
    await trainer.run(5);
    const before = params(events).at(-1)!;
    expect(before.optimizerBytes).toBe(0); // no change yet: the first params event, before any step
    trainer.forceSwitch('blocks.0.fc1');
    await trainer.run(1);
    const after = params(events).at(-1)!;
    const lin = trainer.model.modules().get('blocks.0.fc1')!;
    if (rule === 'global' && resetMoments) expect(after.optimizerBytes).toBe(0);
    else {
      const all = trainer.model.namedVariables().reduce((n, [, v]) => n + v.size, 0);
      const adapters = lin.adapter!.A.size + lin.adapter!.B.size;
      // moments (2 x 4 bytes) of everything that trained before, less the frozen base
      expect(after.optimizerBytes).toBe(8 * (all - adapters - lin.weight.size - lin.bias.size));
    }
    trainer.dispose();
  }, 60_000);
});
