// The eager executor: runs a dispatch (kernel.ts) on tfjs's own WebGPU device, over the
// GPU buffers of tfjs tensors, encoded into tfjs's command encoder and compute pass so
// it is ordered with tfjs's pending kernels, and submitted on tfjs's schedule. Outputs
// are tfjs tensors (tfjs tracks and frees them); a buffer we bind is marked as owned
// by the queue so tfjs defers its release until the commands using it are submitted,
// as it does for its own kernels. Under tf.time each dispatch gets its own timed pass,
// as tfjs's do, so the device time of a step includes ours.
// What tfjs caches per dispatch is only the pipeline; here the uniforms are cached too
// (their values are shapes and constants, the same every step), so a dispatch costs a
// bind group and the encoding.
import * as tf from '@tensorflow/tfjs';
import { countDispatch } from './counts';
import { packParams, type Dispatch, type Kernel } from './kernel';

interface TensorData {
  resource?: unknown;
  /** the values on the CPU, where tfjs keeps them (before an upload, after a read) */
  values?: unknown;
  refCount: number;
}

/** The parts of tfjs-backend-webgpu 4.22's WebGPUBackend used here (most are private in its types). */
interface Backend {
  device: GPUDevice;
  queue: GPUQueue;
  tensorMap: { get(dataId: object): TensorData | undefined };
  bufferManager: { acquireBuffer(size: number, usage: number): GPUBuffer };
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  commandQueueOwnedIds: WeakSet<object>;
  dispatchCountInPass: number;
  activeTimers?: { name: string; query: Promise<number> }[] | null;
  supportTimestampQuery: boolean;
  querySet: GPUQuerySet | null;
  querySetCount: number;
  uniformPendingDisposal: GPUBuffer[];
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  getQueryTime(): Promise<number>;
  uploadToGPU(dataId: object): void;
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  refCount(dataId: object): number;
}

export type Ref = tf.TensorInfo | GPUBuffer;

interface Compiled {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

interface DeviceCache {
  pipelines: Map<string, Compiled>;
  /** uniform and constant buffers by content: written once, never changed */
  constants: Map<string, GPUBuffer>;
}

const caches = new WeakMap<GPUDevice, DeviceCache>();
const failed = new Map<string, string>();

export function webgpu(): Backend {
  if (tf.getBackend() !== 'webgpu') throw new Error(`fused kernels need the webgpu backend (active: ${tf.getBackend()})`);
  return tf.backend() as unknown as Backend;
}

function cacheOf(device: GPUDevice): DeviceCache {
  let c = caches.get(device);
  if (!c) {
    c = { pipelines: new Map(), constants: new Map() };
    caches.set(device, c);
  }
  return c;
}

const visibility = () => GPUShaderStage.COMPUTE;

function compile(device: GPUDevice, kernel: Kernel): Compiled {
  const cache = cacheOf(device).pipelines;
  let c = cache.get(kernel.key);
  if (c) return c;
  const type = { read: 'read-only-storage', rw: 'storage', uniform: 'uniform' } as const;
  const entries: GPUBindGroupLayoutEntry[] = kernel.bindings.map((b, i) => ({
    binding: i, visibility: visibility(), buffer: { type: type[b.access] },
  }));
  if (kernel.params.length) entries.push({ binding: entries.length, visibility: visibility(), buffer: { type: 'uniform' } });
  device.pushErrorScope('validation');
  const layout = device.createBindGroupLayout({ entries });
  const module = device.createShaderModule({ code: kernel.wgsl, label: kernel.key });
  const pipeline = device.createComputePipeline({
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    compute: { module, entryPoint: 'main' },
    label: kernel.key,
  });
  // a kernel that does not compile fails its next launch with the compiler's words, not with zeros
  void device.popErrorScope().then((e) => { if (e) failed.set(kernel.key, e.message); });
  c = { pipeline, layout };
  cache.set(kernel.key, c);
  return c;
}

/** A buffer holding `bytes` for good, shared by every dispatch that needs the same bytes. */
function constantBuffer(b: Pick<Backend, 'device'>, key: string, makeBytes: () => ArrayBuffer, usage: number): GPUBuffer {
  const cache = cacheOf(b.device).constants;
  let buf = cache.get(key);
  if (!buf) {
    const bytes = makeBytes();
    buf = b.device.createBuffer({ size: bytes.byteLength, usage, mappedAtCreation: true });
    new Uint8Array(buf.getMappedRange()).set(new Uint8Array(bytes));
    buf.unmap();
    cache.set(key, buf);
  }
  return buf;
}

/** Read-only data that does not change between steps (index tables): uploaded once, by content. */
export function constantStorage(data: Int32Array | Float32Array): GPUBuffer {
  const b = webgpu();
  const key = `${data instanceof Int32Array ? 'i' : 'f'}:${Array.prototype.join.call(data, ',')}`;
  return constantBuffer(b, key, () => data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer,
    GPUBufferUsage.STORAGE);
}

/**
 * A uniform buffer for this step only (the optimiser's per-parameter table): one write,
 * into a pooled buffer that tfjs releases after its next submit, as it does its own uniforms.
 */
export function stepUniform(data: Float32Array): GPUBuffer {
  const b = webgpu();
  const size = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
  const buf = b.bufferManager.acquireBuffer(size, GPUBufferUsage.COPY_DST | GPUBufferUsage.UNIFORM);
  b.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
  b.uniformPendingDisposal.push(buf);
  return buf;
}

function isBuffer(r: Ref): r is GPUBuffer {
  return !('dataId' in r);
}

function bufferOf(b: Backend, r: Ref): GPUBuffer {
  if (isBuffer(r)) return r;
  b.uploadToGPU(r.dataId);
  const res = b.tensorMap.get(r.dataId)?.resource;
  if (!(res instanceof GPUBuffer)) throw new Error('a fused kernel needs its tensors in GPU buffers');
  b.commandQueueOwnedIds.add(r.dataId);
  return res;
}

/** Folds a flat workgroup count into x and y within the device's per-dimension limit. */
function fold(device: GPUDevice, n: number): [number, number] {
  const max = device.limits.maxComputeWorkgroupsPerDimension;
  if (n <= max) return [n, 1];
  const y = Math.ceil(n / max);
  return [Math.ceil(n / y), y];
}

/** A dispatch made ready to replay: its pipeline, its bind group over fixed buffers, its workgroups. */
export interface Prepared {
  name: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  x: number;
  y: number;
}

/** Pipeline, params uniform and bind group of a dispatch over buffers that outlive it (a recorded step plan). */
export function prepare(d: Dispatch<GPUBuffer>): Prepared {
  const b = webgpu();
  const { pipeline, layout, entries } = bind(b, d);
  const [x, y] = fold(b.device, d.workgroups);
  return { name: d.kernel.name, pipeline, bindGroup: b.device.createBindGroup({ layout, entries, label: d.kernel.key }), x, y };
}

/** The pipeline of a dispatch's kernel and its bind group's entries: the buffers, then the params' uniform. */
function bind(b: Backend, d: Dispatch<Ref>): Compiled & { entries: GPUBindGroupEntry[] } {
  const { kernel } = d;
  if (d.buffers.length !== kernel.bindings.length) {
    throw new Error(`${kernel.key}: ${d.buffers.length} buffers for ${kernel.bindings.length} bindings`);
  }
  const compiled = compile(b.device, kernel);
  const entries: GPUBindGroupEntry[] = d.buffers.map((r, i) => ({ binding: i, resource: { buffer: bufferOf(b, r) } }));
  if (kernel.params.length) {
    const key = `${kernel.key}|${d.params.join(',')}`;
    entries.push({ binding: entries.length, resource: { buffer: constantBuffer(b, key, () => packParams(kernel, d.params), GPUBufferUsage.UNIFORM) } });
  }
  return { ...compiled, entries };
}

/** The keys of our kernels' pipelines made so far on the active device, in the order they were made. */
export function pipelineKeys(): string[] {
  return [...cacheOf(webgpu().device).pipelines.keys()];
}

/** The compiler's complaint about a kernel that did not compile, once the device has said (null if none). */
export function compileError(kernel: Kernel): string | null {
  return failed.get(kernel.key) ?? null;
}

/** The GPU buffer of a tensor (a variable: its weights), uploaded first if it still lives on the CPU. */
export function tensorBuffer(t: tf.TensorInfo): GPUBuffer {
  return bufferOf(webgpu(), t);
}

/** Submits what tfjs has encoded so far, so that work submitted next runs after it; whether there was any. */
export function submitPending(): boolean {
  const b = webgpu();
  if (!b.commandEncoder) return false;
  b.endComputePassEncoder();
  b.submitQueue();
  return true;
}

/** A new tensor holding a copy of the shape's floats from the start of a buffer tfjs does not own (encoded on tfjs's queue). */
export function tensorFromBuffer(src: GPUBuffer, shape: number[]): tf.Tensor {
  const out = alloc(shape);
  copyInto(out, src);
  return out;
}

export function run(d: Dispatch<Ref>): void {
  const b = webgpu();
  const { kernel } = d;
  const { pipeline, layout, entries } = bind(b, d);
  const error = failed.get(kernel.key);
  if (error) throw new Error(`kernel ${kernel.key} does not compile: ${error}`);
  const bindGroup = b.device.createBindGroup({ layout, entries });
  const [x, y] = fold(b.device, d.workgroups);
  const timed = b.activeTimers != null && b.supportTimestampQuery;
  b.ensureCommandEncoderReady();
  if (timed) {
    // as tfjs times its own kernels: a pass of its own with timestamps at both ends
    b.endComputePassEncoder();
    b.querySet ??= b.device.createQuerySet({ type: 'timestamp', count: b.querySetCount });
    b.computePassEncoder = b.commandEncoder!.beginComputePass({
      timestampWrites: { querySet: b.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
    });
  } else {
    b.computePassEncoder ??= b.commandEncoder!.beginComputePass();
  }
  const pass = b.computePassEncoder!;
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(x, y, 1);
  b.dispatchCountInPass++;
  countDispatch(kernel.name);
  if (timed) {
    b.endComputePassEncoder();
    b.activeTimers!.push({ name: kernel.name, query: b.getQueryTime() });
  } else if (b.dispatchCountInPass >= (tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number)) {
    b.endComputePassEncoder();
    b.submitQueue();
  }
}

/** A new float32 (or int32) tensor on the GPU whose contents the next kernel writes. */
export function alloc(shape: number[], dtype: 'float32' | 'int32' = 'float32'): tf.Tensor {
  const b = webgpu();
  const info = b.makeTensorInfo(shape, dtype);
  b.uploadToGPU(info.dataId);
  return tf.engine().makeTensorFromTensorInfo(info, b as unknown as tf.KernelBackend);
}

/** A real copy on the device (tf.clone shares the data, which an in-place kernel would then change too). */
export function copyOf(t: tf.Tensor): tf.Tensor {
  const out = alloc(t.shape, t.dtype as 'float32' | 'int32');
  copyInto(out, t);
  return out;
}

/**
 * Copies `dst.size` elements of `src` (a tensor of that size, or the start of a buffer
 * tfjs does not own) into `dst` on the device, ordered with tfjs's work. `dst` must share
 * its data with no other tensor; a copy of its values tfjs kept on the CPU (from a read)
 * is dropped, so the next read sees the new ones.
 */
export function copyInto(dst: tf.Tensor, src: tf.Tensor | GPUBuffer): void {
  if (src instanceof tf.Tensor && dst.size !== src.size) throw new Error(`copyInto: ${src.size} elements into ${dst.size}`);
  if (!isExclusive(dst)) throw new Error('copyInto: the destination shares its data with another tensor: copy into a tensor of its own (copyOf)');
  const b = webgpu();
  const from = bufferOf(b, src);
  const to = bufferOf(b, dst);
  const cached = b.tensorMap.get(dst.dataId);
  if (cached) cached.values = null;
  b.ensureCommandEncoderReady();
  b.endComputePassEncoder();
  b.commandEncoder!.copyBufferToBuffer(from, 0, to, 0, 4 * dst.size);
}

/** Whether a kernel may write `t` in place: no other tensor shares its data. */
export function isExclusive(t: tf.Tensor): boolean {
  return webgpu().refCount(t.dataId) === 1;
}

/** The device's storage buffers per shader stage: how many tensors one kernel may bind. */
export function storageBufferLimit(): number {
  return webgpu().device.limits.maxStorageBuffersPerShaderStage;
}

/**
 * Saves what a backward pass reads, and returns how to get it back. Variables are not
 * saved (a tidy never disposes them), which spares tfjs a clone (an Identity kernel)
 * per weight per step; anything else may be an intermediate a tidy would dispose.
 */
export function saveForBackward(save: tf.GradSaveFunc, tensors: tf.Tensor[]): (saved: tf.Tensor[]) => tf.Tensor[] {
  save(tensors.filter((t) => !(t instanceof tf.Variable)));
  return (saved) => {
    let i = 0;
    return tensors.map((t) => (t instanceof tf.Variable ? t : saved[i++]!));
  };
}
