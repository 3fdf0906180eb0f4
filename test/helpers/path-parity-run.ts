// The same seeded 50-step PreLoRA run of a micro ViT on WebGPU twice: fused kernels,
// then tfjs's own (composite). Four modules are switched by hand at step 12 (so the
// run has a full phase, a joint phase and a frozen LoRA phase; the policy itself never
// switches: its threshold is 0). Run as a script in a child process (Dawn's driver is
// chosen by environment): prints one JSON line with each path's losses and weights.
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../../src/engine/backend-node';
import { makeConfig, type RunConfig } from '../../src/engine/config';
import type { Dataset } from '../../src/engine/data/dataset';
import { syntheticDataset } from '../../src/engine/data/synthetic';
import { dispatchCounts } from '../../src/engine/ops/webgpu/counts';
import { setFusedKernels } from '../../src/engine/kernel-path';
import { Trainer } from '../../src/engine/trainer';
import { reply } from './dawn';

export const SWITCHED = ['blocks.0.query', 'blocks.0.fc1', 'blocks.1.value', 'blocks.1.fc2'];

export interface PathRun {
  losses: number[];
  /** every parameter's values at the end, by name (adapters included) */
  weights: Record<string, number[]>;
  /** kernels of our own that ran */
  fusedKernels: number;
  /** modules in the LoRA phase at the end */
  frozen: string[];
}

/**
 * The micro run both parity scripts train: PreLoRA whose policy never switches by itself
 * (threshold 0). Batch 4 (68 rows: a full and a partial row tile): SwiftShader's time
 * grows with the workgroups a step launches, and at batch 8 a compiled step took 3.0 s
 * here against 2.0 s at 4 (the fused eager one 2.9 / 2.0, tfjs's composite 4.2 / 3.3).
 */
export function microRun(steps: number, augment?: boolean, model?: Partial<RunConfig['model']>): { cfg: RunConfig; data: Dataset } {
  const cfg = makeConfig('micro', {
    ...(model ? { model } : {}),
    optim: { batchSize: 4 },
    data: { trainSize: 128, testSize: 16, ...(augment === undefined ? {} : { augment }) },
    schedule: { steps, warmupSteps: 5, evalEvery: 1000, logEvery: 10 },
    seed: 5,
  });
  cfg.prelora = { ...cfg.prelora, mode: 'prelora', weightThreshold: 0, windowSteps: 10, jointSteps: 10, rewarmSteps: 5, minRank: 2, maxRank: 4 };
  const data = syntheticDataset({ trainSize: 128, testSize: 16, imageSize: cfg.model.imageSize, channels: 3, numClasses: 10, difficulty: 0.3, seed: 5 });
  return { cfg, data };
}

/** 12 steps, the hand switch of SWITCHED, the rest; then every weight and the frozen modules. */
export async function trainWithSwitch(t: Trainer, steps: number): Promise<{ weights: Record<string, number[]>; frozen: string[] }> {
  await t.run(12);
  for (const m of SWITCHED) t.forceSwitch(m);
  await t.run(steps - 12);
  const weights: Record<string, number[]> = {};
  for (const [name, v] of t.model.namedVariables()) weights[name] = Array.from(await v.data());
  const frozen = [...t.modules].filter(([, s]) => s.phase === 'lora').map(([id]) => id);
  return { weights, frozen };
}

async function run(fused: boolean, steps: number): Promise<PathRun> {
  setFusedKernels(fused);
  const before = Object.values(dispatchCounts()).reduce((a, b) => a + b, 0);
  const { cfg, data } = microRun(steps);
  const losses: number[] = [];
  const t = new Trainer(cfg, data, (e) => { if (e.type === 'progress') losses.push(...e.records.map((r) => r.loss)); });
  const { weights, frozen } = await trainWithSwitch(t, steps);
  t.dispose();
  const after = Object.values(dispatchCounts()).reduce((a, b) => a + b, 0);
  return { losses, weights, fusedKernels: after - before, frozen };
}

if (process.argv[1]?.endsWith('path-parity-run.ts')) {
  const info = await initNodeBackend('webgpu');
  if (info.name !== 'webgpu') throw new Error(`wanted webgpu, got ${info.name}`);
  const steps = Number(process.argv[2] ?? 50);
  const fused = await run(true, steps);
  const composite = await run(false, steps);
  reply({ fused, composite, tensors: tf.memory().numTensors });
}
