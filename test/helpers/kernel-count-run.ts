// Kernels per training step of tiny's structure (depth 6, 3 heads, MLP 4x, 65 tokens)
// at a small width and batch, in the full phase and in the static-LoRA phase, on
// WebGPU through Dawn. Run as a script in a child process:
//   node --import tsx kernel-count-run.ts 24x2,48x3,24x2@default [compiled|fused|composite]
// prints one JSON line. A step's count is taken at step 2 (step 1 makes the
// optimiser's moments and compiles the pipelines). On the default device (`@default`,
// to check the fallback to 8 storage buffers) only the full phase is counted.
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../../src/engine/backend-node';
import { makeConfig, type RunConfig } from '../../src/engine/config';
import { syntheticDataset } from '../../src/engine/data/synthetic';
import type { KernelPath } from '../../src/engine/backend';
import { countKernels, deviceMsByLaunch, type KernelCount } from '../../src/engine/kernels';
import type { LaunchTime } from '../../src/engine/ops/webgpu/counts';
import { estimateMemory } from '../../src/engine/size';
import type { DeviceLimits } from '../../src/engine/ops/webgpu/device';
import { Trainer } from '../../src/engine/trainer';
import { FAMILIES } from '../../src/engine/vit';
import { reply } from './dawn';

export interface PhaseCount extends KernelCount {
  /** tensors alive after step 3 minus after step 2: 0 when a step leaves nothing behind */
  tensorGrowth: number;
  /** the step's peak: tfjs's bytes and the compiled step's own buffers */
  measuredBytes: number;
  /** what the config check expects on this kernel path (size.ts) */
  estimatedBytes: number;
  /** device ms of each launch of one more step, in order (compiled step only, else null) */
  deviceMsByLaunch: LaunchTime[] | null;
  /** the model's linears, in the forward's order (patch embedding, each block's, the classifier) */
  linears: string[];
}

export interface CountResult {
  width: number;
  batch: number;
  kernels: string;
  storageBuffers: number;
  full: PhaseCount;
  lora: PhaseCount | null;
}

function tinyShaped(width: number, batch: number, mode: 'full' | 'lora'): RunConfig {
  const cfg = makeConfig('tiny', {
    model: { width },
    optim: { batchSize: batch },
    data: { trainSize: 4 * batch, testSize: batch },
    schedule: { steps: 10, warmupSteps: 2, evalEvery: 1000, logEvery: 1000 },
  });
  cfg.prelora.mode = mode;
  return cfg;
}

async function countPhase(width: number, batch: number, mode: 'full' | 'lora', kernels: KernelPath): Promise<PhaseCount> {
  const cfg = tinyShaped(width, batch, mode);
  const data = syntheticDataset({ trainSize: 4 * batch, testSize: batch, imageSize: 32, channels: 3, numClasses: 10, difficulty: 0.3, seed: 1 });
  const t = new Trainer(cfg, data);
  t.trainStep();
  const count = await countKernels(() => t.trainStep());
  const measuredBytes = count.peakBytes + t.compiledBytes();
  await t.flush();
  const before = tf.memory().numTensors;
  t.trainStep();
  await t.flush();
  const tensorGrowth = tf.memory().numTensors - before;
  // the compiled step alone times its launches one by one: no extra step elsewhere
  const launches = kernels === 'compiled' ? await deviceMsByLaunch(() => t.trainStep()) : null;
  await t.flush();
  const m = t.model;
  const linears = [m.patchEmbed, ...m.blocks.flatMap((b) => FAMILIES.map((f) => b.linears[f])), m.classifier].map((l) => l.name);
  t.dispose();
  return { ...count, tensorGrowth, measuredBytes, estimatedBytes: estimateMemory(cfg, kernels).totalBytes, deviceMsByLaunch: launches, linears };
}

/** The config check's memory estimate over the measured peak, for every phase counted. */
export function estimateRatios(counts: CountResult[]): number[] {
  return counts.flatMap((c) => [c.full, c.lora].filter((p): p is PhaseCount => p !== null)).map((p) => p.estimatedBytes / p.measuredBytes);
}

/** `WIDTHxBATCH[@default]`, comma-separated: each size on a device with the adapter's limits or the default ones. */
export async function countSizes(list: string, choice: 'webgpu' | 'webgpu-fused' | 'webgpu-composite' = 'webgpu'): Promise<CountResult[]> {
  const out: CountResult[] = [];
  for (const spec of list.split(',')) {
    const m = /^(\d+)x(\d+)(?:@(adapter|default))?$/.exec(spec);
    if (!m) throw new Error(`size "${spec}": write WIDTHxBATCH or WIDTHxBATCH@default`);
    const [width, batch, limits] = [Number(m[1]), Number(m[2]), (m[3] ?? 'adapter') as DeviceLimits];
    // a new device each time (the backend is registered again with these limits)
    const info = await initNodeBackend(choice, { deviceLimits: limits });
    const device = (tf.backend() as unknown as { device: GPUDevice }).device;
    out.push({
      width, batch, kernels: info.kernels, storageBuffers: device.limits.maxStorageBuffersPerShaderStage,
      full: await countPhase(width, batch, 'full', info.kernels),
      lora: limits === 'adapter' ? await countPhase(width, batch, 'lora', info.kernels) : null,
    });
  }
  return out;
}

if (process.argv[1]?.endsWith('kernel-count-run.ts')) {
  const path = process.argv[3] ?? 'compiled';
  reply(await countSizes(process.argv[2] ?? '24x2', path === 'compiled' ? 'webgpu' : path === 'fused' ? 'webgpu-fused' : 'webgpu-composite'));
}
