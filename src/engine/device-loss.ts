// A lost WebGPU device (a driver reset, the GPU process gone, `device.destroy()`): every
// tensor and buffer on it is gone, submits do nothing and read-backs fail. The engine
// notices it through `device.lost`, stops taking steps and reports it as an event; the
// host then makes a new device (`forgetLostDevice`, then its backend start again) and the
// run goes on from its last checkpoint, which lives on the host, not on the device.
import * as tf from '@tensorflow/tfjs';

/** Watch the active backend's device, if it is WebGPU: the returned function says why it was lost, or null. */
export function watchDevice(): () => string | null {
  if (tf.getBackend() !== 'webgpu') return () => null;
  const device = (tf.backend() as unknown as { device: GPUDevice }).device;
  let why: string | null = null;
  void device.lost.then((info) => {
    why = `the GPU device was lost (${info.reason}${info.message ? `: ${info.message}` : ''})`;
  });
  return () => why;
}

/** A device is lost: why, or null when it is not; waits one task, as `device.lost` settles after the failure it causes. */
export async function settleLoss(lost: () => string | null): Promise<string | null> {
  if (!lost()) await new Promise((resolve) => setTimeout(resolve, 0));
  return lost();
}

/**
 * Drop the WebGPU backend of a lost device (its tensors with it: dispose what holds them
 * first), so that the next backend start registers `webgpu` again and makes a new device.
 */
export function forgetLostDevice(): void {
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
}
