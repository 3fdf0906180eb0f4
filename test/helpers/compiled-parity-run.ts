// The same seeded PreLoRA run of a micro ViT on WebGPU twice: the recorded step replayed
// (compiled), then the fused ops run op by op through tfjs's tape (fused). Four modules
// are switched by hand at step 12 (a full phase, a joint phase, a frozen LoRA phase).
// Run as a script in a child process (Dawn's driver is chosen by environment):
//   node --import tsx compiled-parity-run.ts STEPS [plain]   (plain: no augmentation)
// prints one JSON line with each path's losses, weights, recordings and kernels per step.
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../../src/engine/backend-node';
import { setKernels } from '../../src/engine/kernel-path';
import { Trainer } from '../../src/engine/trainer';
import { reply } from './dawn';
import { microRun, trainWithSwitch } from './path-parity-run';

export interface CompiledRun {
  losses: number[];
  weights: Record<string, number[]>;
  frozen: string[];
  /** the monitor's window records' losses and gradient norms: the device-side sums */
  windows: { loss: number; gradNorms: number[] }[];
  /** compiled only: recordings made, and kernels per step by name in the last phase */
  recordings: number;
  kernels: Record<string, number> | null;
  tensors: number;
}

/** Each weight's largest difference between two runs, relative to its largest magnitude in `ref` (at least 1e-6). */
export function weightErrors(ref: CompiledRun, other: CompiledRun): Record<string, number> {
  return Object.fromEntries(Object.entries(ref.weights).map(([name, w]) => {
    const scale = Math.max(...w.map(Math.abs), 1e-6);
    return [name, Math.max(...w.map((x, i) => Math.abs(x - other.weights[name]![i]!))) / scale];
  }));
}

export async function parityRun(kernels: 'compiled' | 'fused', steps: number, augment: boolean | undefined): Promise<CompiledRun> {
  setKernels(kernels);
  const { cfg, data } = microRun(steps, augment);
  const losses: number[] = [];
  const windows: CompiledRun['windows'] = [];
  const t = new Trainer(cfg, data, (e) => {
    if (e.type === 'progress') losses.push(...e.records.map((r) => r.loss));
    if (e.type === 'window') windows.push({ loss: e.window.loss, gradNorms: Object.values(e.window.modules).map((m) => m.gradNorm) });
  });
  const { weights, frozen } = await trainWithSwitch(t, steps);
  const recordings = (t as unknown as { compiled: { recordings: number } | null }).compiled?.recordings ?? 0;
  const kernelsByName = t.compiledKernels();
  t.dispose();
  return { losses, weights, frozen, windows, recordings, kernels: kernelsByName, tensors: tf.memory().numTensors };
}

if (process.argv[1]?.endsWith('compiled-parity-run.ts')) {
  const info = await initNodeBackend('webgpu');
  if (info.name !== 'webgpu') throw new Error(`wanted webgpu, got ${info.name}`);
  const steps = Number(process.argv[2] ?? 40);
  const augment = process.argv[3] === 'plain' ? false : undefined;
  const compiled = await parityRun('compiled', steps, augment);
  const fused = await parityRun('fused', steps, augment);
  reply({ compiled, fused });
}
