// A compiled training step: the step recorded once per phase (record.ts) and replayed
// each step in one command encoder and one submit, with pipelines and bind groups made
// at recording. Per step the host writes the optimiser's table (learning rate and bias
// corrections), the batch's selection and the window flag, then encodes ~260
// setPipeline/setBindGroup/dispatch triples. Losses land in a GPU ring and are read back
// once per log interval; the monitor's window sums stay on the device until its window
// ends. A plan is recorded again whenever what it binds changed: a phase change (an
// adapter added, a base frozen, moments reset) or a variable given new data.
import type * as tf from '@tensorflow/tfjs';
import { RUN_LIMITS, type RunConfig } from '../config';
import type { Selection, Split } from '../data/dataset';
import type { AdamW } from '../optimizer';
import { adamwTable } from '../ops/webgpu/adamw';
import { countDispatches, type LaunchTime } from '../ops/webgpu/counts';
import {
  compileError, copyOf, isExclusive, prepare, storageBufferLimit, submitPending, tensorBuffer, tensorFromBuffer, webgpu, type Prepared,
} from '../ops/webgpu/dispatch';
import type { ViT } from '../vit';
import { Arena, writeArray } from './arena';
import { DeviceData } from './device-data';
import { recordStep, type RecordedStep } from './record';

export interface CompiledHost {
  model: ViT;
  config: RunConfig;
  split: Split;
  /** the optimiser of the current phase (a phase change may make a new one) */
  optimizer(): AdamW;
  /** the weights whose gradient norms the monitor sums, in its order */
  watched: tf.Variable[];
}

export interface StepArgs {
  /** the schedule's learning rate (AdamW applies each variable's re-warm factor) */
  lr: number;
  selection: Selection;
  /** the monitor's window starts at this step: its sums restart */
  windowStart: boolean;
}

/** Set by timeNextCompiledStep / timeNextCompiledLaunches: the next replay writes timestamps, read back to `done`. */
let timing: { perKernel: boolean; done: (ns: BigUint64Array | null, names: string[], labels: (string | null)[]) => void } | null = null;
/** Queue submits of the last compiled step: its own, plus one when tfjs had work pending. */
let submitsLastStep = 0;

/** Arms the next replay's timestamps; `cancel` after the work: if it took no compiled step, null. */
function armTimer<T>(perKernel: boolean, convert: (ns: BigUint64Array, names: string[], labels: (string | null)[]) => T): { ms: Promise<T | null>; cancel: () => void } {
  if (!webgpu().device.features.has('timestamp-query')) return { ms: Promise.resolve(null), cancel: () => {} };
  let resolve: (v: T | null) => void = () => {};
  const ms = new Promise<T | null>((r) => { resolve = r; });
  const request = { perKernel, done: (ns: BigUint64Array | null, names: string[], labels: (string | null)[]) => resolve(ns ? convert(ns, names, labels) : null) };
  timing = request;
  return { ms, cancel: () => { if (timing === request) { timing = null; resolve(null); } } };
}

/** The device time in ms of the next compiled step's pass (timestamp queries; null on a device without them). */
export const timeNextCompiledStep = () => armTimer(false, (ns) => Number(ns[1]! - ns[0]!) / 1e6);

/**
 * The device time in ms of each launch of the next compiled step, in order (timestamps
 * around every dispatch, each in its own pass). The step itself is a real one; only its
 * encoding differs, and pass boundaries add a little time, so the sum exceeds an untimed
 * step's.
 */
export const timeNextCompiledLaunches = () => armTimer(true, (ns, names, labels): LaunchTime[] =>
  names.map((kind, i) => ({ kind, module: labels[i] ?? null, ms: Number(ns[2 * i + 1]! - ns[2 * i]!) / 1e6 })));

/** Queue submits the last compiled step made. */
export function lastCompiledSubmits(): number {
  return submitsLastStep;
}

/** Steps whose loss and gradient norm are kept on the device between read-backs: the longest log interval a config may set. */
const RING = RUN_LIMITS.logEvery;

export class CompiledStep {
  private recorded: RecordedStep | null = null;
  private prepared: Prepared[] = [];
  private tally: Record<string, number> = {};
  private trainable: tf.Variable[] = [];
  private data: DeviceData | null = null;
  private readonly persistent: Arena;
  private readonly ring: GPUBuffer;
  private readonly stepWord = new Uint32Array(4);
  private readonly buffers: { step: GPUBuffer; gradSum: GPUBuffer; lossSum: GPUBuffer };
  private written = 0;
  /** sums of a window begun before this step existed (a resumed run), added at the next replay */
  private carried: [tf.Tensor, tf.Tensor] | null = null;
  /** the step begun ahead of a decision (begin), until it is committed or withdrawn */
  private begun: { args: StepArgs; carried: readonly [GPUBuffer, GPUBuffer] | null } | null = null;
  /** how many times the step was recorded (once per phase) */
  recordings = 0;
  /** why the device was lost, once it was */
  private lost: string | null = null;

  constructor(private readonly host: CompiledHost) {
    const device = webgpu().device;
    void device.lost.then((info) => { this.lost = `${info.reason}: ${info.message}`; });
    this.persistent = new Arena(device);
    const M = host.watched.length;
    this.buffers = {
      step: this.persistent.floats(4, 'step'),
      gradSum: this.persistent.floats(M, 'window gradient norms'),
      lossSum: this.persistent.floats(1, 'window loss'),
    };
    this.ring = this.persistent.floats(2 * RING, 'loss and gradient norm ring');
  }

  /** Steps a ring holds before they must be read back. */
  static readonly capacity = RING;

  /** Bytes of the step's own device buffers that tfjs does not see: the recording's activations, gradients and scratch. */
  get bytes(): number {
    return (this.recorded?.arena.bytes ?? 0) + this.persistent.bytes;
  }

  /** Bytes of the training split (or batch) on the device. */
  get dataBytes(): number {
    return this.data?.bytes ?? 0;
  }

  /** Kernels one replay launches, by name. */
  get kernelsPerStep(): Record<string, number> {
    return { ...this.tally };
  }

  /**
   * Go on with a window begun without this step (a run resumed from a checkpoint mid-window):
   * its sums so far seed the device's, copied in at the next replay. The tensors must live
   * until then (the monitor holds them until the window closes).
   */
  continueWindow(sums: [tf.Tensor, tf.Tensor]): void {
    this.carried = sums;
  }

  /** Forget the recording: the next step records again (a phase changed). */
  invalidate(): void {
    this.begun = null; // a step begun on the old recording cannot be committed
    this.recorded?.arena.destroy();
    this.recorded = null;
    this.prepared = [];
  }

  private stale(trainable: tf.Variable[]): boolean {
    const r = this.recorded;
    if (!r) return true;
    if (trainable.length !== this.trainable.length || trainable.some((v, i) => v !== this.trainable[i])) return true;
    return r.bound.some(([t, id]) => t.isDisposed || t.dataId !== id);
  }

  private record(trainable: tf.Variable[]): void {
    this.invalidate();
    const { model, config } = this.host;
    const optimizer = this.host.optimizer();
    const device = webgpu().device;
    this.data ??= new DeviceData(device, this.host.split, model.dims.patchDim * model.dims.patches, config.optim.batchSize);
    this.recorded = recordStep(device, {
      model, batch: config.optim.batchSize, smoothing: config.optim.labelSmoothing, clipNorm: config.optim.clipNorm,
      adam: config.optim, trainable, moments: (v) => optimizer.fusedMoments(v), watched: this.host.watched,
      data: this.data, persistent: this.buffers, storageBuffers: storageBufferLimit(),
    });
    this.prepared = this.recorded.dispatches.map(prepare);
    for (const d of this.recorded.dispatches) {
      const error = compileError(d.kernel);
      if (error) throw new Error(`kernel ${d.kernel.key} does not compile: ${error}`);
    }
    this.tally = {};
    for (const p of this.prepared) this.tally[p.name] = (this.tally[p.name] ?? 0) + 1;
    this.trainable = trainable;
    this.recordings++;
  }

  /** One training step: returns the ring slot its loss and gradient norm land in. */
  step(a: StepArgs): number {
    if (this.begun) throw new Error('a step begun ahead of a decision is neither committed nor withdrawn');
    const b = webgpu();
    const { r, carried } = this.prepareStep(a);
    this.writeTable(a.lr);
    const encoder = b.device.createCommandEncoder();
    if (carried) this.copyCarried(encoder, carried);
    const request = timing;
    timing = null;
    const n = this.prepared.length;
    const timer = request ? new Timer(b.device, request.perKernel ? 2 * n : 2) : null;
    if (timer && request!.perKernel) {
      // every dispatch in its own pass, with timestamps at both ends
      this.prepared.forEach((p, i) => {
        const pass = encoder.beginComputePass({ timestampWrites: { querySet: timer.set, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } });
        pass.setPipeline(p.pipeline);
        pass.setBindGroup(0, p.bindGroup);
        pass.dispatchWorkgroups(p.x, p.y, 1);
        pass.end();
      });
    } else {
      this.encodePass(encoder, 0, n, timer ? { timestampWrites: { querySet: timer.set, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {});
    }
    timer?.resolveInto(encoder);
    const slot = this.finish(encoder, r);
    if (timer) {
      const names = this.prepared.map((p) => p.name);
      const labels = r.dispatches.map((d) => d.label ?? null);
      void timer.read().then((ns) => request!.done(ns, names, labels));
    }
    return slot;
  }

  /**
   * The step queued ahead of a decision still to come (a window's statistics on their way
   * back): its launches up to the commit point (the forward and the loss), which write
   * only the recording's scratch, submitted now so the device works while the host
   * waits. `commit` queues the rest (the backward, the window sums and AdamW) once the
   * decision keeps the phase; `withdraw` drops it when the decision switches a module,
   * and the run is as it was before it. Not timed: a timed step is never begun ahead.
   */
  begin(a: StepArgs): void {
    if (this.begun) throw new Error('a step begun ahead of a decision is neither committed nor withdrawn');
    if (timing) throw new Error('a timed step is taken whole, never begun ahead of a decision');
    // it follows a window's end: a window carried from a checkpoint has no sums to give it,
    // which a withdrawal would otherwise have to put back
    if (!a.windowStart) throw new Error('a step is begun ahead of a decision only at the start of a window');
    const b = webgpu();
    const { r, carried } = this.prepareStep(a);
    const encoder = b.device.createCommandEncoder();
    this.encodePass(encoder, 0, r.commitAt, {});
    b.queue.submit([encoder.finish()]);
    this.begun = { args: a, carried };
  }

  /** The begun step's remaining launches queued (one more submit): returns its ring slot. */
  commit(): number {
    if (!this.begun) throw new Error('no step begun ahead to commit');
    this.checkDevice(); // the decision was awaited since it began
    const { args: a, carried } = this.begun;
    this.begun = null;
    const b = webgpu();
    const r = this.recorded!;
    this.writeTable(a.lr);
    const encoder = b.device.createCommandEncoder();
    if (carried) this.copyCarried(encoder, carried);
    this.encodePass(encoder, r.commitAt, this.prepared.length, {});
    submitsLastStep++;
    return this.finish(encoder, r);
  }

  /** Drop the begun step: nothing it ran outlives it (record.ts checks that of every recording). */
  withdraw(): void {
    if (!this.begun) throw new Error('no step begun ahead to withdraw');
    this.begun = null;
  }

  /** Whether a step is begun ahead and waiting for its commit or withdrawal. */
  get pendingCommit(): boolean {
    return this.begun !== null;
  }

  /**
   * Checks the device, records the phase when stale, takes a carried window's sums, flushes
   * tfjs's queue and writes the step word and the batch.
   */
  private prepareStep(a: StepArgs): { r: RecordedStep; carried: readonly [GPUBuffer, GPUBuffer] | null } {
    this.checkDevice();
    const b = webgpu();
    const trainable = this.host.model.trainableVariables();
    for (const v of trainable) {
      // a weight sharing its data (tf.clone) gets its own copy first: only it may change
      if (!isExclusive(v)) {
        const copy = copyOf(v);
        v.assign(copy);
        copy.dispose();
      }
    }
    if (this.stale(trainable)) this.record(trainable);
    const carried = this.takeCarried(a);
    // tfjs's pending work (new moments, copies, the probe, those uploads) runs first
    submitsLastStep = submitPending() ? 2 : 1;
    this.stepWord[0] = a.windowStart ? 1 : 0;
    writeArray(b.queue, this.buffers.step, this.stepWord);
    this.data!.write(b.queue, a.selection);
    return { r: this.recorded!, carried };
  }

  private checkDevice(): void {
    if (this.lost) {
      throw new Error(`the GPU device was lost (${this.lost}); the run stops at its last read-back: reload the page or start the run again`);
    }
  }

  /** A carried window's sums (tfjs uploads them if they are still on the host), taken once. */
  private takeCarried(a: StepArgs): readonly [GPUBuffer, GPUBuffer] | null {
    const carried = this.carried && !a.windowStart ? [tensorBuffer(this.carried[0]), tensorBuffer(this.carried[1])] as const : null;
    this.carried = null;
    return carried;
  }

  /** The carried sums copied in, ahead of the launches that add to them. */
  private copyCarried(encoder: GPUCommandEncoder, carried: readonly [GPUBuffer, GPUBuffer]): void {
    encoder.copyBufferToBuffer(carried[0], 0, this.buffers.gradSum, 0, 4 * this.host.watched.length);
    encoder.copyBufferToBuffer(carried[1], 0, this.buffers.lossSum, 0, 4);
  }

  /** The optimiser's table for this step (its update count advances here, once a step commits). */
  private writeTable(lr: number): void {
    const rows = this.host.optimizer().nextRows(this.trainable, lr);
    writeArray(webgpu().queue, this.recorded!.table, adamwTable(rows));
  }

  /** Launches `from` .. `to` - 1 of the recording in one compute pass. */
  private encodePass(encoder: GPUCommandEncoder, from: number, to: number, desc: GPUComputePassDescriptor): void {
    const pass = encoder.beginComputePass(desc);
    for (const p of this.prepared.slice(from, to)) {
      pass.setPipeline(p.pipeline);
      pass.setBindGroup(0, p.bindGroup);
      pass.dispatchWorkgroups(p.x, p.y, 1);
    }
    pass.end();
  }

  /** The step's loss and norm copied to its ring slot, the encoder submitted: returns the slot. */
  private finish(encoder: GPUCommandEncoder, r: RecordedStep): number {
    const slot = this.written % RING;
    encoder.copyBufferToBuffer(r.loss, 0, this.ring, 8 * slot, 4);
    encoder.copyBufferToBuffer(r.norm, 0, this.ring, 8 * slot + 4, 4);
    webgpu().queue.submit([encoder.finish()]);
    countDispatches(this.tally);
    this.written++;
    return slot;
  }

  /**
   * The loss and the global gradient norm (before clipping) of the steps in these ring
   * slots, read back in one copy, asynchronously (the queue is not stalled).
   */
  async readSteps(slots: number[]): Promise<{ loss: number; gradNorm: number }[]> {
    if (slots.length === 0) return [];
    if (slots.length > RING) throw new Error(`${slots.length} steps pending: read them back at least every ${RING} steps (schedule.logEvery)`);
    const b = webgpu();
    const bytes = 8 * RING;
    const staging = b.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = b.device.createCommandEncoder();
    encoder.copyBufferToBuffer(this.ring, 0, staging, 0, bytes);
    b.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const all = new Float32Array(staging.getMappedRange().slice(0));
    staging.unmap();
    staging.destroy();
    return slots.map((s) => ({ loss: all[2 * s]!, gradNorm: all[2 * s + 1]! }));
  }

  /** The monitor's window sums as new tensors (copies): the gradient norms [modules] and the loss (a scalar). */
  windowSums(): [tf.Tensor, tf.Tensor] {
    return [tensorFromBuffer(this.buffers.gradSum, [this.host.watched.length]), tensorFromBuffer(this.buffers.lossSum, [])];
  }

  dispose(): void {
    this.invalidate();
    this.data?.destroy();
    this.data = null;
    this.persistent.destroy();
  }
}

/** Timestamp queries and the buffers that bring them back. */
class Timer {
  readonly set: GPUQuerySet;
  private readonly resolved: GPUBuffer;
  private readonly staging: GPUBuffer;

  constructor(device: GPUDevice, private readonly count: number) {
    this.set = device.createQuerySet({ type: 'timestamp', count });
    this.resolved = device.createBuffer({ size: 8 * count, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    this.staging = device.createBuffer({ size: 8 * count, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  }

  resolveInto(encoder: GPUCommandEncoder): void {
    encoder.resolveQuerySet(this.set, 0, this.count, this.resolved, 0);
    encoder.copyBufferToBuffer(this.resolved, 0, this.staging, 0, 8 * this.count);
  }

  /** The timestamps in ns once the queue reached them (null if mapping failed); frees everything. */
  async read(): Promise<BigUint64Array | null> {
    try {
      await this.staging.mapAsync(GPUMapMode.READ);
      const ns = new BigUint64Array(this.staging.getMappedRange().slice(0));
      this.staging.unmap();
      return ns;
    } catch {
      return null;
    } finally {
      for (const b of [this.staging, this.resolved]) b.destroy();
      this.set.destroy();
    }
  }
}
