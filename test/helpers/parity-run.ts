// 20 seeded training steps of a small ViT on one backend, returning every step's loss
// and a checksum of the final weights. Imported by the parity test for cpu and wasm;
// run as a script (`node --import tsx parity-run.ts webgpu`) in a child process for
// WebGPU, whose Vulkan driver must be chosen by environment before Node starts.
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../../src/engine/backend-node';
import type { BackendName } from '../../src/engine/backend';
import { makeConfig } from '../../src/engine/config';
import { syntheticDataset } from '../../src/engine/data/synthetic';
import { Trainer } from '../../src/engine/trainer';

export interface ParityResult {
  backend: string;
  kernels: string;
  losses: number[];
  weightSum: number;
}

export async function parityRun(backend: BackendName, steps = 20): Promise<ParityResult> {
  const info = await initNodeBackend(backend);
  const cfg = makeConfig('nano', {
    model: { imageSize: 16, width: 32, depth: 2, heads: 2 },
    data: { trainSize: 256, testSize: 32 },
    optim: { batchSize: 16, lr: 3e-3 },
    schedule: { steps, warmupSteps: 5, evalEvery: 1000, logEvery: 5 },
    seed: 11,
  });
  const data = syntheticDataset({ trainSize: 256, testSize: 32, imageSize: 16, channels: 3, numClasses: 10, difficulty: 0.3, seed: 11 });
  const losses: number[] = [];
  const trainer = new Trainer(cfg, data, (e) => {
    if (e.type === 'progress') losses.push(...e.records.map((r) => r.loss));
  });
  await trainer.run(steps);
  const weightSum = (await tf.sum(tf.stack(trainer.model.namedVariables().map(([, v]) => tf.sum(tf.abs(v))))).data())[0]!;
  trainer.dispose();
  return { backend: info.name, kernels: info.kernels, losses, weightSum };
}

if (process.argv[1]?.endsWith('parity-run.ts')) {
  const result = await parityRun((process.argv[2] ?? 'wasm') as BackendName);
  console.log(JSON.stringify(result));
  process.exit(0);
}
