// The dataset contract: uint8 pixels and labels in compact typed arrays, and a seeded
// batcher that reshuffles every epoch. Pixels become normalised floats only per batch.
import { deriveSeed, mulberry32, permutation } from '../random';

export interface Split {
  /** count * height * width * channels, row-major, channel last */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface Dataset {
  name: string;
  classes: string[];
  /** [height, width, channels] */
  shape: [number, number, number];
  train: Split;
  test: Split;
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

/** Seeded batches over a split: a new permutation per epoch, full batches only. */
export class Batcher {
  private order: Int32Array;
  private cursor = 0;
  epoch = 0;

  constructor(
    private readonly split: Split,
    private readonly pixelsPerImage: number,
    readonly batchSize: number,
    private readonly seed: number,
  ) {
    this.order = this.shuffle();
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
    return toBatch(this.split, idx, this.pixelsPerImage);
  }
}
