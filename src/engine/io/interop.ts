// The interop bundle: a few fixed test images and our engine's logits on them, in one
// safetensors file, so a check on another machine (PyTorch: test/interop/) can feed
// the same inputs to the exported model and compare.
import { toBatch, type Batch, type Split } from '../data/dataset';
import type { HostTensor } from './hf-layout';
import { writeSafetensors } from './safetensors';

/** how many test images the bundle carries */
export const INTEROP_IMAGES = 8;

/** The first test images, normalised as the model sees them ([N, H, W, C]). */
export function interopBatch(test: Split, shape: [number, number, number]): Batch {
  const n = Math.min(INTEROP_IMAGES, test.count);
  return toBatch(test, Array.from({ length: n }, (_, i) => i), shape[0] * shape[1] * shape[2]);
}

/**
 * The bundle: `pixel_values` [N, C, H, W] (what HF's ViT takes, normalised),
 * `images` [N, H, W, C] uint8 (the raw pixels, for the image processor), `labels` [N],
 * `logits` [N, classes] from our engine with its adapters as trained.
 */
export function interopBundle(
  test: Split, shape: [number, number, number], batch: Batch, logits: HostTensor, metadata: Record<string, string>,
): Uint8Array {
  const [H, W, C] = shape;
  const n = batch.size;
  const nchw = new Float32Array(batch.images.length);
  for (let b = 0; b < n; b++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) {
    nchw[((b * C + c) * H + y) * W + x] = batch.images[((b * H + y) * W + x) * C + c]!;
  }
  return writeSafetensors([
    ['pixel_values', { shape: [n, C, H, W], data: nchw }],
    ['images', { shape: [n, H, W, C], data: test.images.slice(0, n * H * W * C) }],
    ['labels', { shape: [n], data: Int32Array.from(batch.labels) }],
    ['logits', { shape: logits.shape, data: logits.data }],
  ], { format: 'pt', ...metadata });
}
