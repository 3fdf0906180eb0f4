// Work the WebGPU device refused: a validation error that no error scope caught (a
// binding over a device limit, a pipeline that did not compile). The device drops that
// command buffer and goes on, so a run would report the losses of steps that never ran
// (0.000: finite, so no divergence either). The engine watches for the first such error
// and stops the run at its next read-back with the device's words (trainer.ts).
import * as tf from '@tensorflow/tfjs';

export interface DeviceErrorWatch {
  /** the first refusal's message (its first line) while this watch held the device, or null */
  first(): string | null;
  /** this watch's trainer works on the device now: what the device refuses from here on is its */
  claim(): void;
  /** stop watching (the run is done with the device) */
  stop(): void;
}

/**
 * The device's errors go to the watch that claimed it last: one worker's device serves a
 * paused run and a benchmark beside it, and the benchmark's refusal is not the paused run's.
 */
let holder: { record(message: string): void } | null = null;
const listening = new WeakSet<GPUDevice>();

/** Watch the active backend's device, if it is WebGPU, for errors nothing else caught; the new watch holds it. */
export function watchDeviceErrors(): DeviceErrorWatch {
  if (tf.getBackend() !== 'webgpu') return { first: () => null, claim: () => undefined, stop: () => undefined };
  const device = (tf.backend() as unknown as { device: GPUDevice }).device;
  if (!listening.has(device)) {
    listening.add(device);
    device.addEventListener('uncapturederror', (ev) => holder?.record((ev as GPUUncapturedErrorEvent).error.message.split('\n')[0]!.slice(0, 300)));
  }
  let first: string | null = null;
  const watch = {
    record: (message: string) => { first ??= message; },
    first: () => first,
    claim: () => { holder = watch; },
    stop: () => { if (holder === watch) holder = null; },
  };
  holder = watch;
  return watch;
}
