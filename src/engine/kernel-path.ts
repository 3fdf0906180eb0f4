// Which of the two speeds of the same step runs: the composite path (tfjs ops and
// autograd: the reference, and the only path on wasm, cpu and webgl) or the fused path
// (our WGSL kernels, on WebGPU). The backend choice owns it: `webgpu` runs fused,
// `webgpu-composite` runs tfjs's own kernels on the same device (for parity tests and
// an honest comparison). The ops read it at each call; nothing else sets it.
import * as tf from '@tensorflow/tfjs';
import type { KernelPath } from './backend';

export type { KernelPath };

let fusedOnWebGPU = true;

/** Set when a backend is activated (backend-activate.ts); tests flip it to compare the paths. */
export function setFusedKernels(on: boolean): void {
  fusedOnWebGPU = on;
}

export function kernelPath(): KernelPath {
  return fusedOnWebGPU && tf.getBackend() === 'webgpu' ? 'fused' : 'composite';
}
