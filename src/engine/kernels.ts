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

/** Whether the active backend times kernels on the device itself (WebGPU with timestamp queries). */
export function canTimeOnDevice(): boolean {
  return tf.getBackend() === 'webgpu' && (tf.backend() as { supportTimestampQuery?: boolean }).supportTimestampQuery === true;
}

/**
 * The device's own time for the kernels of `work`, in ms, or null where the backend
 * cannot tell it apart from host time (cpu and wasm time kernels with the host clock).
 * Timing splits every dispatch into its own pass, so the host time of this call is not
 * representative: take host time from an untimed run.
 */
export async function deviceMs(work: () => void): Promise<number | null> {
  if (!canTimeOnDevice()) {
    work();
    return null;
  }
  const info = await tf.time(work);
  return typeof info.kernelMs === 'number' ? info.kernelMs : null;
}
