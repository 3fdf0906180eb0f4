// The buffers a recorded step owns (activations, gradients, scratch, the per-step
// inputs): made once per recording, destroyed with it, and counted, so the memory a
// phase's plan holds can be reported beside tfjs's own.
/** Read at call time: the WebGPU globals exist only once a device is set up (never on wasm). */
const storageUsage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** Queues a write of a typed array to the start of a buffer. */
export function writeArray(queue: GPUQueue, buf: GPUBuffer, data: Float32Array | Int32Array | Uint32Array | Uint8Array): void {
  queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
}

export class Arena {
  private readonly owned: GPUBuffer[] = [];
  /** the buffers made with `floats`: what a step writes afresh (not the constants, not the table) */
  private readonly scratch = new Set<GPUBuffer>();
  bytes = 0;

  constructor(readonly device: GPUDevice) {}

  /** A buffer of `n` 32-bit values (at least one: WebGPU has no empty bindings). */
  floats(n: number, label: string, usage = storageUsage()): GPUBuffer {
    const buf = this.make(4 * Math.max(1, n), label, usage);
    this.scratch.add(buf);
    return buf;
  }

  /** Whether `buf` is one of this arena's `floats` buffers. */
  isScratch(buf: GPUBuffer): boolean {
    return this.scratch.has(buf);
  }

  /** A uniform buffer written every step (the optimiser's table). */
  uniform(bytes: number, label: string): GPUBuffer {
    return this.make(Math.max(16, Math.ceil(bytes / 16) * 16), label, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  }

  /** A buffer filled once, at creation. */
  constant(data: Float32Array | Int32Array | Uint32Array, label: string): GPUBuffer {
    const size = Math.max(4, Math.ceil(data.byteLength / 4) * 4);
    const buf = this.device.createBuffer({ size, usage: storageUsage(), mappedAtCreation: true, label });
    new Uint8Array(buf.getMappedRange()).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    buf.unmap();
    this.owned.push(buf);
    this.bytes += size;
    return buf;
  }

  private make(size: number, label: string, usage: number): GPUBuffer {
    const buf = this.device.createBuffer({ size, usage, label });
    this.owned.push(buf);
    this.bytes += size;
    return buf;
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
    this.owned.length = 0;
    this.scratch.clear();
    this.bytes = 0;
  }
}
