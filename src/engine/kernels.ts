// Counting what a piece of work launches on the backend: tfjs's profiler records
// every kernel it runs (on WebGPU each is one or more dispatches). The count is the
// figure to drive down on a GPU, where each launch costs ~100 us of host time.
import * as tf from '@tensorflow/tfjs';

export interface KernelCount {
  total: number;
  byName: Record<string, number>;
  /** peak `tf.memory().numBytes` during the work */
  peakBytes: number;
}

export async function countKernels(work: () => void | Promise<void>): Promise<KernelCount> {
  const info = await tf.profile(async () => { await work(); });
  const byName: Record<string, number> = {};
  for (const k of info.kernels) byName[k.name] = (byName[k.name] ?? 0) + 1;
  return { total: info.kernels.length, byName, peakBytes: info.peakBytes };
}
