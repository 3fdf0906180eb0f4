// Work the WebGPU device refused: a validation error that no error scope caught (a
// binding over a device limit, a pipeline that did not compile). The device drops that
// command buffer and goes on, so a run would report the losses of steps that never ran
// (0.000: finite, so no divergence either). The engine watches for the first such error
// and stops the run at its next read-back with the device's words (trainer.ts).
import * as tf from '@tensorflow/tfjs';

export interface DeviceErrorWatch {
  /** the first refusal's message (its first line), or null while there was none */
  first(): string | null;
  /** stop watching (the run is done with the device) */
  stop(): void;
}

/** Watch the active backend's device, if it is WebGPU, for errors nothing else caught. */
export function watchDeviceErrors(): DeviceErrorWatch {
  if (tf.getBackend() !== 'webgpu') return { first: () => null, stop: () => undefined };
  const device = (tf.backend() as unknown as { device: GPUDevice }).device;
  let first: string | null = null;
  const listener = (ev: Event) => {
    first ??= (ev as GPUUncapturedErrorEvent).error.message.split('\n')[0]!.slice(0, 300);
  };
  device.addEventListener('uncapturederror', listener);
  return { first: () => first, stop: () => device.removeEventListener('uncapturederror', listener) };
}
