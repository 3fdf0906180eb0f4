// Counting what a piece of work launches on the backend: tfjs's profiler records
// every kernel it runs (on WebGPU each is one or more dispatches), and the fused path
// counts its own kernels (which tfjs never sees). The count is the figure to drive
// down on a GPU, where each tfjs launch costs ~76-128 us of host time.
import * as tf from '@tensorflow/tfjs';
import { timeNextCompiledLaunches, timeNextCompiledStep } from './compiled/step';
import { stepPath } from './kernel-path';
import { dispatchCounts, type LaunchTime } from './ops/webgpu/counts';

export interface KernelCount {
  total: number;
  /** tfjs kernels by their name (`MatMul`, `Add`, ...), ours by op kind (`linear.forward`, ...) */
  byName: Record<string, number>;
  /** peak `tf.memory().numBytes` during the work */
  peakBytes: number;
}

export async function countKernels(work: () => void | Promise<void>): Promise<KernelCount> {
  const before = dispatchCounts();
  const held = tf.memory().numBytes;
  const info = await tf.profile(async () => { await work(); });
  const byName: Record<string, number> = {};
  const backend = tf.getBackend();
  // a tf.customGrad op is profiled as a scope too, though it launches nothing itself
  for (const k of info.kernels) if (tf.getKernel(k.name, backend)) byName[k.name] = (byName[k.name] ?? 0) + 1;
  for (const [name, n] of Object.entries(dispatchCounts())) {
    const ran = n - (before[name] ?? 0);
    if (ran) byName[name] = (byName[name] ?? 0) + ran;
  }
  const total = Object.values(byName).reduce((a, b) => a + b, 0);
  // tf.profile's peak is -Infinity when no tfjs kernel ran (a compiled step runs none of
  // them): the tensors held throughout are then the peak tfjs sees
  return { total, byName, peakBytes: Math.max(held, info.peakBytes) };
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
  // the compiled step times its own pass: tfjs's timer does not see it
  if (stepPath() === 'compiled') return timeCompiled(timeNextCompiledStep(), work);
  if (!canTimeOnDevice()) {
    work();
    return null;
  }
  const info = await tf.time(work);
  return typeof info.kernelMs === 'number' ? info.kernelMs : null;
}

/**
 * The device time in ms of each launch of `work`, in order, with its kernel's kind and
 * the module it works on: on the compiled step only (its dispatches are ours to time one
 * by one); null elsewhere.
 */
export async function deviceMsByLaunch(work: () => void): Promise<LaunchTime[] | null> {
  if (stepPath() === 'compiled') return timeCompiled(timeNextCompiledLaunches(), work);
  work();
  return null;
}

/** Launches' device ms summed by kernel kind. */
export function msByKind(launches: LaunchTime[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of launches) out[l.kind] = (out[l.kind] ?? 0) + l.ms;
  return out;
}

/** Runs `work` with the compiled step's timer armed; if the work took no compiled step, null. */
function timeCompiled<T>(timer: { ms: Promise<T | null>; cancel: () => void }, work: () => void): Promise<T | null> {
  work();
  timer.cancel();
  return timer.ms;
}
