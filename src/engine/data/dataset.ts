// The dataset contract: uint8 pixels and labels in compact typed arrays, and a seeded
// batcher that reshuffles every epoch. Pixels become normalised floats only per batch.
import { deriveSeed, mulberry32, permutation } from '../random';
import { DatasetError } from './errors';

export interface Split {
  /** count * height * width * channels, row-major, channel last */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

/** On-the-fly augmentation of training batches (never of the test split). */
export interface Augment {
  /** random crop after zero padding by this many pixels; 0 = off */
  crop: number;
  /** random horizontal flip (off for digits and text) */
  flip: boolean;
}

export interface Dataset {
  name: string;
  classes: string[];
  /** [height, width, channels] */
  shape: [number, number, number];
  train: Split;
  test: Split;
  /** what suits this data when augmentation is on */
  augment: Augment;
}

/**
 * Refuse a split that cannot train or test: no images (a step would divide by zero,
 * an evaluation give NaN), or only blank ones (a zero-filled file parses as records).
 * `file` names where the split came from.
 */
export function checkSplit(split: Split, file: string, role: 'train' | 'test'): void {
  if (split.count === 0) {
    throw new DatasetError(`${file}: holds 0 images: the ${role === 'train' ? 'training' : 'test'} split needs at least one`);
  }
  if (split.images.every((b) => b === 0)) {
    throw new DatasetError(`${file}: every image is blank (all pixels 0): not image data (a zero-filled file?)`);
  }
}

/** Images per class in a split. */
export function classBalance(split: Split, classes: number): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < split.count; i++) counts[split.labels[i]!]!++;
  return counts;
}

export interface Batch {
  /** [B, H, W, C] in [-1, 1]: (x / 255 - 0.5) / 0.5, as HF's ViT image processor */
  images: Float32Array;
  labels: Int32Array;
  size: number;
}

export function toBatch(split: Split, indices: ArrayLike<number>, pixelsPerImage: number): Batch {
  const n = indices.length;
  const images = new Float32Array(n * pixelsPerImage);
  const labels = new Int32Array(n);
  for (let b = 0; b < n; b++) {
    const i = indices[b]!;
    const src = split.images.subarray(i * pixelsPerImage, (i + 1) * pixelsPerImage);
    const off = b * pixelsPerImage;
    for (let k = 0; k < pixelsPerImage; k++) images[off + k] = src[k]! / 127.5 - 1;
    labels[b] = split.labels[i]!;
  }
  return { images, labels, size: n };
}

/**
 * Shift each image by up to `crop` pixels (zero padding, i.e. black, moves in) and
 * flip it horizontally with probability 1/2, in place, from a seeded generator.
 */
export function augmentBatch(batch: Batch, shape: [number, number, number], aug: Augment, rand: () => number): void {
  if (aug.crop === 0 && !aug.flip) return;
  const [H, W, C] = shape;
  const size = H * W * C;
  const copy = new Float32Array(size);
  for (let b = 0; b < batch.size; b++) {
    const img = batch.images.subarray(b * size, (b + 1) * size);
    copy.set(img);
    const dy = aug.crop ? Math.floor(rand() * (2 * aug.crop + 1)) - aug.crop : 0;
    const dx = aug.crop ? Math.floor(rand() * (2 * aug.crop + 1)) - aug.crop : 0;
    const flip = aug.flip && rand() < 0.5;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const sy = y + dy, sx0 = x + dx;
        const sx = flip ? W - 1 - sx0 : sx0;
        const inside = sy >= 0 && sy < H && sx0 >= 0 && sx0 < W;
        for (let c = 0; c < C; c++) img[(y * W + x) * C + c] = inside ? copy[(sy * W + sx) * C + c]! : -1;
      }
    }
  }
}

/** Seeded batches over a split: a new permutation per epoch, full batches only. */
export class Batcher {
  private order: Int32Array;
  private cursor = 0;
  epoch = 0;

  private readonly augRand: () => number;

  constructor(
    private readonly split: Split,
    private readonly pixelsPerImage: number,
    readonly batchSize: number,
    private readonly seed: number,
    private readonly augment: { shape: [number, number, number]; aug: Augment } | null = null,
  ) {
    this.order = this.shuffle();
    this.augRand = mulberry32(deriveSeed(seed, 'augment'));
  }

  private shuffle(): Int32Array {
    return permutation(this.split.count, mulberry32(deriveSeed(this.seed, `epoch${this.epoch}`)));
  }

  next(): Batch {
    if (this.cursor + this.batchSize > this.split.count) {
      this.epoch++;
      this.order = this.shuffle();
      this.cursor = 0;
    }
    const idx = this.order.subarray(this.cursor, this.cursor + this.batchSize);
    this.cursor += this.batchSize;
    const batch = toBatch(this.split, idx, this.pixelsPerImage);
    if (this.augment) augmentBatch(batch, this.augment.shape, this.augment.aug, this.augRand);
    return batch;
  }
}
