// The training split on the device: its uint8 pixels (four to a 32-bit word) and labels
// uploaded once, so a step only writes which images it takes and how each is shifted
// (16 bytes per image) and a kernel gathers the batch. A split larger than one storage
// binding allows is sent batch by batch instead (its images' bytes, 3 KiB per CIFAR image).
import type { Selection, Split } from '../data/dataset';
import { Arena, writeArray } from './arena';

/** The eager path's normalisation, (v / 127.5 - 1) rounded to f32, for every byte value. */
export const NORMALISE = Float32Array.from({ length: 256 }, (_, v) => v / 127.5 - 1);

function packBytes(bytes: Uint8Array): Uint32Array {
  const padded = new Uint8Array(Math.ceil(Math.max(4, bytes.length) / 4) * 4);
  padded.set(bytes);
  return new Uint32Array(padded.buffer);
}

export class DeviceData {
  readonly data: GPUBuffer;
  readonly lut: GPUBuffer;
  readonly labels: GPUBuffer;
  readonly select: GPUBuffer;
  /** whole split on the device (true), or each batch's images written with its step */
  readonly resident: boolean;
  private readonly arena: Arena;
  private readonly sel: Int32Array;
  private readonly batchBytes: Uint8Array | null;
  private readonly batchLabels: Int32Array | null;

  constructor(device: GPUDevice, private readonly split: Split, private readonly pixels: number, readonly batch: number) {
    this.arena = new Arena(device);
    const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    this.resident = split.images.length <= limit;
    this.lut = this.arena.constant(NORMALISE, 'normalise');
    if (this.resident) {
      this.data = this.arena.constant(packBytes(split.images), 'training images');
      this.labels = this.arena.constant(Int32Array.from(split.labels), 'training labels');
      this.batchBytes = null;
      this.batchLabels = null;
    } else {
      this.data = this.arena.floats(Math.ceil((batch * pixels) / 4), 'batch images');
      this.labels = this.arena.floats(batch, 'batch labels');
      this.batchBytes = new Uint8Array(Math.ceil((batch * pixels) / 4) * 4);
      this.batchLabels = new Int32Array(batch);
    }
    this.select = this.arena.floats(4 * batch, 'batch selection');
    this.sel = new Int32Array(4 * batch);
  }

  get bytes(): number {
    return this.arena.bytes;
  }

  /** Queue the writes of one step's selection (and, batch by batch, its images). */
  write(queue: GPUQueue, s: Selection): void {
    if (s.indices.length !== this.batch) throw new Error(`a batch of ${s.indices.length} images for a plan of ${this.batch}`);
    for (let b = 0; b < this.batch; b++) {
      const i = s.indices[b]!;
      this.sel[4 * b] = this.resident ? i : b;
      this.sel[4 * b + 1] = s.shifts ? s.shifts[3 * b]! : 0;
      this.sel[4 * b + 2] = s.shifts ? s.shifts[3 * b + 1]! : 0;
      this.sel[4 * b + 3] = s.shifts ? s.shifts[3 * b + 2]! : 0;
      if (!this.resident) {
        this.batchBytes!.set(this.split.images.subarray(i * this.pixels, (i + 1) * this.pixels), b * this.pixels);
        this.batchLabels![b] = this.split.labels[i]!;
      }
    }
    if (!this.resident) {
      writeArray(queue, this.data, this.batchBytes!);
      writeArray(queue, this.labels, this.batchLabels!);
    }
    writeArray(queue, this.select, this.sel);
  }

  destroy(): void {
    this.arena.destroy();
  }
}
