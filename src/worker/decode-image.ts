// Image decoding in the worker: createImageBitmap, then an OffscreenCanvas for RGBA.
import type { DecodedImage } from '../engine/data/folder';
import { MAX_IMAGE_PIXELS } from '../engine/data/limits';

export async function decodeImage(bytes: Uint8Array): Promise<DecodedImage> {
  const bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>]));
  // a second bound (folder.ts decodes only images whose header declares a size within it): no full-size RGBA copy past it
  if (bitmap.width * bitmap.height > MAX_IMAGE_PIXELS) {
    bitmap.close();
    throw new Error(`${bitmap.width}x${bitmap.height} is more than ${MAX_IMAGE_PIXELS / 2 ** 20} megapixels`);
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2d canvas in this worker');
  ctx.drawImage(bitmap, 0, 0);
  const { data, width, height } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
  bitmap.close();
  return { width, height, data };
}
