// Which of the three speeds of the same step runs: the composite path (tfjs ops and
// autograd: the reference, and the only path on wasm, cpu and webgl), the fused path
// (our WGSL kernels, run op by op through tfjs's tape, on WebGPU) or the compiled path
// (the fused kernels recorded once per phase and replayed each step: compiled/). The
// backend choice owns it: `webgpu` compiles, `webgpu-fused` runs the fused ops
// eagerly, `webgpu-composite` runs tfjs's own kernels on the same device (for parity
// tests and an honest comparison). The ops read it at each call; nothing else sets it.
import * as tf from '@tensorflow/tfjs';
import type { KernelPath } from './backend';

export type { KernelPath };

let choice: KernelPath = 'compiled';

/** Set when a backend is activated (backend-activate.ts); tests set it to compare the paths. */
export function setKernels(k: KernelPath): void {
  choice = k;
}

/** The fused ops (eagerly) or tfjs's own; tests flip it to compare the paths. */
export function setFusedKernels(on: boolean): void {
  choice = on ? 'fused' : 'composite';
}

/** The kernels an op runs: fused WGSL on WebGPU (also around a compiled step: probes, evaluation), else tfjs's. */
export function kernelPath(): Exclude<KernelPath, 'compiled'> {
  return choice !== 'composite' && tf.getBackend() === 'webgpu' ? 'fused' : 'composite';
}

/** Which path a training step takes on the active backend. */
export function stepPath(): KernelPath {
  return tf.getBackend() === 'webgpu' ? choice : 'composite';
}
