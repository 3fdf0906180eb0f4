// The training loop: seeded batches, AdamW with warm-up + cosine (re-warmed after a
// freeze), global-norm clipping, label smoothing, held-out evaluation, throughput and
// memory readings, and the PreLoRA controller at every step boundary. A step only
// enqueues work on the device; losses are read back in one batch every `logEvery`
// steps with `await data()`, never a synchronous read, and awaited a step later, so the
// GPU does not wait for it; so are a window's statistics (the controller's
// settleWindow). Where they could switch a module, the compiled path queues the next
// step's forward ahead of the decision and takes it back if the decision switches; the
// other paths read them at the window's end, where the decision needs them.
// Hosts (the CLI, the worker, the benchmark) drive it through `step()` or `run()`.
import * as tf from '@tensorflow/tfjs';
import { TENSOR, type HostArray, type TrainingState } from './checkpoint/format';
import { restoredMisfit } from './checkpoint/fits';
import { readTensors, takeTensor } from './checkpoint/tensors';
import { validateConfig, type ConfigError, type PreLoRAConfig, type RunConfig } from './config';
import { Batcher, toBatch, type Batch, type Dataset, type Selection } from './data/dataset';
import { CompiledStep, type StepArgs } from './compiled/step';
import { watchDeviceErrors, type DeviceErrorWatch } from './device-errors';
import { settleLoss, watchDevice } from './device-loss';
import { runsAsEnqueued } from './backend';
import { describeDivergence, finiteWindow, firstNonFinite } from './divergence';
import type { DeviceLoss, Divergence, EngineEvent, Evaluation, MemoryReading, RunPhase, StepRecord } from './events';
import { resolveUpdate, type PolicyUpdate } from './live';
import { stepPath } from './kernel-path';
import { crossEntropy } from './ops/cross-entropy';
import { AdamW, clipByGlobalNorm } from './optimizer';
import { PreLoRAController, type ControllerHost, type ModuleState } from './prelora';
import type { WindowRecord } from './policy';
import { deviceLimits } from './device-limits';
import { learningRate } from './schedule';
import { ViT } from './vit';

export type { EngineEvent, Evaluation, MemoryReading, StepRecord } from './events';

interface Pending {
  step: number;
  epoch: number;
  lr: number;
  /** the loss and gradient norm on the device, or (a number) the step's slot in a compiled step's ring */
  loss: tf.Scalar | number;
  /** global gradient norm before clipping: read back with the loss, to catch divergence (null: in the ring) */
  gradNorm: tf.Scalar | null;
}

/** A read-back under way: its steps, their numbers to come, and the step, phase, memory and time of the boundary that started it. */
interface Reading { batch: Pending[]; values: Promise<Float32Array>; step: number; phase: RunPhase; memory: MemoryReading; at: number }

/** Thrown through the controller when a read-back it asked for finds the run diverged. */
class RunDiverged extends Error {}

const EVAL_BATCH = 250;

/**
 * After a throw inside tf.variableGrads (out of memory, the device's refusal): the tensors
 * its tape saved for the backward pass, which tfjs keeps out of every tidy and frees only
 * when a backward pass completes, freed (a micro step that threw in its forward left 106
 * tensors behind, past the trainer's dispose, for the worker's next run to carry).
 */
function freeTape(): void {
  const state = tf.engine().state;
  if (state.gradientDepth !== 0 || !state.activeTape) return;
  for (const node of state.activeTape) tf.dispose(node.saved ?? []);
  state.activeTape = [];
}

export class Trainer {
  readonly model: ViT;
  private readonly controller: PreLoRAController;
  private readonly optimizer: AdamW;
  private readonly batcher: Batcher;
  private readonly pixels: number;
  private readonly probe: Batch;
  private pending: Pending[] = [];
  private completed = 0;
  private lastFlush = { time: 0, step: 0, phase: 'full' as RunPhase };
  /** the next interval is the first after a restore (importState): its progress event says so */
  private cold = false;
  /**
   * the steps after which a module changed shape, not yet behind a read-back: the interval
   * that runs the next step is cold too (new shapes compile in it: on WebGPU a pipeline for
   * each new rank), as a phase's first is; the mixed phase counted later switches' as steady
   */
  private reshapedAt: number[] = [];
  /** whether a progress event named the backend this trainer runs on (its first does) */
  private backendSaid = false;
  /** the recorded step, on the compiled path (made at the first step) */
  private compiled: CompiledStep | null = null;
  /** set by the read-back that finds a non-finite loss or gradient; the run stops */
  private diverged: Divergence | null = null;
  /** a window's statistics were not finite: read back now to find the step */
  private suspect = false;
  /** a read-back started at a log boundary and not yet ended (startReading): its report, once its numbers landed */
  private reading: Promise<() => StepRecord[]> | null = null;
  /** a compiled step queued ahead of a window's decision, not yet committed (stepAhead) */
  private ahead: { selection: Selection; lr: number; epoch: number } | null = null;
  /** the batch of a step taken back by a decision that switched: the step is taken again with it */
  private redo: Selection | null = null;
  /** steps queued ahead of a decision: committed, and taken back by a switch */
  readonly aheadSteps = { committed: 0, withdrawn: 0 };
  private disposed = false;
  /** why the WebGPU device was lost, once it was (never off WebGPU) */
  private readonly deviceLost = watchDevice();
  /** work the device refused (made first in the constructor, stopped if the rest of it throws) */
  private readonly deviceErrors: DeviceErrorWatch;
  /** set when a step finds the device lost; the run stops */
  private lost: DeviceLoss | null = null;

  constructor(
    readonly config: RunConfig,
    readonly dataset: Dataset,
    private readonly emit: (e: EngineEvent) => void = () => {},
    /** runs on the fresh model before anything reads it, e.g. to load imported weights */
    prepareModel?: (model: ViT) => void,
  ) {
    const [h, w, c] = dataset.shape;
    const m = config.model;
    if (h !== m.imageSize || w !== m.imageSize || c !== m.channels) {
      throw new Error(`dataset images are ${h}x${w}x${c} but the model expects ${m.imageSize}x${m.imageSize}x${m.channels}`);
    }
    this.pixels = h * w * c;
    // first: the model's uploads and static LoRA's adapters are this run's device work too
    this.deviceErrors = watchDeviceErrors();
    const built: { dispose(): void }[] = []; // let go, newest first, if the rest throws
    try {
      this.model = new ViT(config.model, config.seed);
      built.push(this.model);
      prepareModel?.(this.model);
      this.optimizer = new AdamW(config.optim, (v) => v.rank === 2); // decay for 2-D weights only (linears, adapters)
      built.push(this.optimizer);
      this.batcher = new Batcher(dataset.train, this.pixels, config.optim.batchSize, config.seed,
        config.data.augment ? { shape: dataset.shape, aug: dataset.augment } : null);
      // a fixed batch on which each switch is checked to leave the loss unchanged
      const probeSize = Math.min(config.optim.batchSize, dataset.train.count);
      this.probe = toBatch(dataset.train, Array.from({ length: probeSize }, (_, i) => i), this.pixels);
      this.controller = new PreLoRAController(config.prelora, config.schedule.steps, this.model.modules(), config.seed, this.host());
      built.push(this.controller);
      // static LoRA's start told its counts through phaseChanged: told here too, params.csv repeated a row
      if (!this.controller.startStatic()) this.emitParams();
    } catch (err) {
      for (const b of built.reverse()) b.dispose();
      this.deviceErrors.stop();
      throw err;
    }
  }

  private host(): ControllerHost {
    return {
      currentStep: () => this.completed,
      probeLoss: () => this.probeLoss(),
      phaseChanged: ({ released, changed, froze }) => {
        const { resetMoments } = this.config.prelora;
        const { rewarmSteps } = this.controller.settings; // live: it follows a new window length
        this.optimizer.release(released);
        if (resetMoments) this.optimizer.reset(changed);
        if (froze) this.optimizer.rewarm(changed, rewarmSteps);
        this.compiled?.invalidate(); // the next step records the new phase
        this.restartClock(); // steps from here on belong to the new phase
        this.emitParams();
      },
      flush: async () => {
        const records = await this.flush();
        if (this.diverged) throw new RunDiverged(); // no switch or freeze on a diverged run
        return records;
      },
      decidesLate: () => stepPath() === 'compiled',
      withdrawAhead: () => {
        if (!this.ahead) return;
        this.compiled!.withdraw();
        this.redo = this.ahead.selection;
        this.ahead = null;
        this.aheadSteps.withdrawn++;
      },
      onWindow: (record) => {
        this.checkRefused(record.step); // statistics of launches the device dropped are not reported either
        if (finiteWindow(record)) this.emit({ type: 'window', window: record });
        else this.suspect = true;
      },
      onPhaseChange: (change) => {
        this.reshapedAt.push(change.step);
        this.emit({ type: 'phase', change });
      },
    };
  }

  /** Optimiser steps completed so far. */
  get stepsDone(): number {
    return this.completed;
  }

  /** The PreLoRA settings in force now: the config's, with the live changes made since. */
  get settings(): Readonly<PreLoRAConfig> {
    return this.controller.settings;
  }

  /** Each module's phase, rank and switch step. */
  get modules(): ReadonlyMap<string, Readonly<ModuleState>> {
    return this.controller.states;
  }

  /** The run's phase now: full, mixed (some targeted module left full training), or lora (every targeted module frozen). */
  get runPhase(): RunPhase {
    return this.controller.runPhase();
  }

  /** Every window's statistics so far, oldest first. */
  get history(): readonly WindowRecord[] {
    return this.controller.history;
  }

  /** Why the run stopped, if the WebGPU device was lost under it. */
  get deviceLoss(): DeviceLoss | null {
    return this.lost;
  }

  /** The run stops: its device is gone. Reported once, as an event; what was not read back is dropped with the device. */
  private stopLost(message: string): void {
    this.reading = null; // dropped with the device (its numbers, if they come, are not reported)
    this.dropAhead();
    this.lost = { step: this.lastFlush.step, message };
    for (const p of this.pending) if (typeof p.loss !== 'number') tf.dispose([p.loss, p.gradNorm!]);
    this.pending = [];
    this.emit({ type: 'deviceLost', loss: this.lost });
  }

  /**
   * Stops the run where the device refused some of its work (device-errors.ts): the
   * numbers of the steps read back now may come from launches that never ran, so none is
   * reported. Measured: micro at depth 256, past the optimiser's table (a config check
   * refuses it now), read back losses of 0 for steps whose every launch was dropped.
   */
  private checkRefused(step: number): void {
    const refused = this.deviceErrors.first();
    if (!refused) return;
    const otherPath = stepPath() === 'composite' ? '' : ', or use backend webgpu-composite';
    throw new Error(`the GPU refused part of the work of the steps up to ${step} ("${refused}"), so their numbers cannot be trusted and the run stops: ` +
      `a setting past this device's limits is the usual cause; lower model.width, model.depth or optim.batchSize${otherPath}`);
  }

  /** Why the run stopped, if a step's loss or gradients were not finite. */
  get divergence(): Divergence | null {
    return this.diverged;
  }

  /**
   * The learning rate of the next step for parameters not re-warmed on their own: the
   * schedule's, times the whole-model re-warm after a freeze under the global rule. A
   * module re-warmed alone (per-module rule) trains its adapter at a fraction of it.
   */
  currentLr(): number {
    return learningRate(this.completed, this.config) * this.optimizer.lrFactor();
  }

  private tensors(batch: Batch): { x: tf.Tensor4D; y: tf.Tensor1D } {
    const { imageSize: S, channels: C } = this.config.model;
    return { x: tf.tensor4d(batch.images, [batch.size, S, S, C]), y: tf.tensor1d(batch.labels, 'int32') };
  }

  /**
   * One step, as every host takes it: enqueue it, then the step-boundary work (the
   * PreLoRA controller: joint phases, forced switches, the window's statistics and
   * decision), the read-back every `logEvery` steps and the evaluation when due.
   * `measure`, when given, wraps just the enqueueing (a benchmark counts or times it)
   * and its result is returned.
   */
  async step<T>(measure?: (enqueue: () => void) => Promise<T>): Promise<T | undefined> {
    if (this.diverged || this.lost) return undefined; // a diverged run, or one whose device is gone, takes no more steps
    this.deviceErrors.claim();
    const lost = this.deviceLost();
    if (lost) {
      this.stopLost(lost);
      return undefined;
    }
    return this.onDevice(() => this.stepOnDevice(measure));
  }

  /** Device work whose failure, when the device went, is a loss (the event) and not an error. */
  private async onDevice<T>(work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (err) {
      const why = await settleLoss(this.deviceLost);
      if (!why) throw err;
      this.stopLost(why);
      return undefined;
    }
  }

  private async stepOnDevice<T>(measure?: (enqueue: () => void) => Promise<T>): Promise<T | undefined> {
    let measured: T | undefined;
    // a measured step (the benchmark arms its timing inside `measure`) is taken whole: a
    // decision still to be made is made first, at the window's end, as on the other paths
    if (this.controller.decisionPending && measure) {
      if (!(await this.settleDecisions())) return undefined;
    }
    if (this.controller.decisionPending) {
      // the device runs this step while the window's statistics come back; a decision
      // that switches takes it back (withdrawAhead) and it is taken again in the new phase
      this.stepAhead();
      if (!(await this.settleDecisions())) return undefined;
      if (this.ahead) this.commitAhead();
      else this.trainStep();
    } else if (measure) measured = await measure(() => this.trainStep());
    else this.trainStep();
    // the read-backs started at the last boundary end here, a step behind it: the device
    // runs this step while the host waits for their numbers; the window's first, as at
    // its boundary (its event before the interval's, none after a divergence found here)
    await this.controller.settleWindow();
    await this.endReading();
    if (this.diverged) return measured;
    try {
      await this.controller.afterStep();
    } catch (err) {
      if (err instanceof RunDiverged) return measured; // the read-back it asked for found non-finite numbers
      throw err;
    }
    if (this.suspect) await this.flush();
    else if (this.completed % this.config.schedule.logEvery === 0) this.startReading();
    if (this.diverged) return measured;
    // evaluate on schedule and at the end of training, not at every pause or single step
    if (this.completed % this.config.schedule.evalEvery === 0 || this.completed === this.config.schedule.steps) await this.evaluate();
    return measured;
  }

  /**
   * The window on its way settled, its decision made (a switch takes back the step queued
   * ahead of it): false when that found the run diverged, and it stops.
   */
  private async settleDecisions(): Promise<boolean> {
    try {
      await this.controller.settleWindow();
    } catch (err) {
      this.dropAhead(); // whatever failed, the step queued ahead is not taken
      if (!(err instanceof RunDiverged)) throw err;
    }
    if (!this.diverged) return true;
    this.dropAhead(); // the read-back that ended meanwhile found the run diverged
    return false;
  }

  /** A step queued ahead of a decision and not committed, dropped (the run stops, its device is lost, it is let go, or a read-back failed). */
  private dropAhead(): void {
    if (this.ahead) this.compiled?.withdraw();
    this.ahead = null;
    this.redo = null;
  }

  /**
   * The next compiled step's launches up to its commit point (compiled/step.ts: they
   * change nothing that outlives the step), queued ahead of the decision on the window
   * that just closed. Its batch is taken now (a step taken back is taken again on it);
   * nothing else of the trainer's advances until commitAhead.
   */
  private stepAhead(): void {
    const compiled = this.compiledFor();
    const selection = this.batcher.nextSelection();
    compiled.begin(this.compiledArgs(selection));
    this.ahead = { selection, lr: this.currentLr(), epoch: this.batcher.epoch };
  }

  /** The step queued ahead, kept by the decision: its AdamW and window sums queued, and counted as any step. */
  private commitAhead(): void {
    const { lr, epoch } = this.ahead!;
    this.ahead = null;
    this.countCompiled(this.compiled!.commit(), lr, epoch);
    this.aheadSteps.committed++;
  }

  /** A compiled step's inputs on `selection`: the schedule's learning rate (AdamW applies each variable's re-warm factor), and whether a window starts. */
  private compiledArgs(selection: Selection): StepArgs {
    return { lr: learningRate(this.completed, this.config), selection, windowStart: this.controller.monitor.stepsInWindow === 0 };
  }

  /** A compiled step queued in full, counted: the monitor's step (its sums stay on the device), the step, its ring slot to read back. */
  private countCompiled(slot: number, lr: number, epoch: number): void {
    const compiled = this.compiled!;
    this.controller.monitor.observeOnDevice(() => compiled.windowSums());
    this.completed++;
    this.pending.push({ step: this.completed, epoch, lr, loss: slot, gradNorm: null });
  }

  /** One optimiser step, enqueued on the device; nothing is read back. */
  trainStep(): void {
    const lr = this.currentLr();
    if (stepPath() === 'compiled') {
      this.compiledStep(lr);
      return;
    }
    const scheduled = learningRate(this.completed, this.config); // AdamW applies each variable's re-warm factor
    const { x, y } = this.tensors(this.batcher.next());
    const variables = this.model.trainableVariables();
    const smoothing = this.config.optim.labelSmoothing;
    let loss: tf.Scalar, gradNorm: tf.Scalar;
    try {
      [loss, gradNorm] = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => crossEntropy(this.model.forward(x), y, smoothing), variables);
        this.controller.observe(grads, value);
        const clipped = clipByGlobalNorm(grads, this.config.optim.clipNorm);
        this.optimizer.apply(clipped.grads, variables, scheduled, clipped.scale);
        return [value, clipped.norm];
      }) as [tf.Scalar, tf.Scalar];
    } catch (err) {
      freeTape();
      throw err;
    } finally {
      x.dispose();
      y.dispose();
    }
    this.completed++;
    this.pending.push({ step: this.completed, epoch: this.batcher.epoch, lr, loss, gradNorm });
  }

  /** The same step replayed from a recording of this phase's kernels (compiled/). */
  private compiledStep(lr: number): void {
    const compiled = this.compiledFor();
    // a step taken back by a switch is taken again on the same batch
    const selection = this.redo ?? this.batcher.nextSelection();
    this.redo = null;
    this.countCompiled(compiled.step(this.compiledArgs(selection)), lr, this.batcher.epoch);
  }

  /** The compiled step, made at the first step; refuses a step the ring could not hold until the next read-back. */
  private compiledFor(): CompiledStep {
    if (this.pending.length >= CompiledStep.capacity) {
      throw new Error(`${this.pending.length} steps since the last read-back: set schedule.logEvery below ${CompiledStep.capacity}`);
    }
    if (!this.compiled) {
      const monitor = this.controller.monitor;
      this.compiled = new CompiledStep({
        model: this.model, config: this.config, split: this.dataset.train, optimizer: () => this.optimizer,
        watched: [...this.model.modules().values()].map((l) => l.weight),
      });
      // a run restored mid-window: the window's sums so far go on adding up on the device
      const sums = monitor.windowSums;
      if (sums && monitor.stepsInWindow > 0) this.compiled.continueWindow(sums);
    }
    return this.compiled;
  }

  /** Bytes of the compiled step's own device buffers, the training set aside (0 off the compiled path). */
  compiledBytes(): number {
    return this.compiled?.bytes ?? 0;
  }

  /** Kernels one compiled step launches, by name (null off the compiled path or before its first step). */
  compiledKernels(): Record<string, number> | null {
    return this.compiled ? this.compiled.kernelsPerStep : null;
  }

  /**
   * Read back the losses and gradient norms of the steps since the last flush: one
   * stacked `await data()`, or one copy of a compiled step's ring. The first
   * non-finite step marks the run diverged; the records stop before it.
   */
  /** The pending steps' losses, then their gradient norms, in one read-back. */
  private async readPending(batch: Pending[]): Promise<Float32Array> {
    const slots = batch.flatMap((p) => (typeof p.loss === 'number' ? [p.loss] : []));
    if (slots.length === batch.length) {
      const read = await this.compiled!.readSteps(slots);
      return Float32Array.from([...read.map((r) => r.loss), ...read.map((r) => r.gradNorm)]);
    }
    if (slots.length) throw new Error('steps of two kernel paths pending at once');
    const tensors = batch.map((p) => p.loss as tf.Scalar);
    const stacked = tf.stack([...tensors, ...batch.map((p) => p.gradNorm!)]);
    // disposed even when the read fails (a lost device)
    const values = await stacked.data().finally(() => {
      stacked.dispose();
      for (const p of batch) tf.dispose([p.loss as tf.Scalar, p.gradNorm!]);
    }) as Float32Array;
    return values;
  }

  async flush(): Promise<StepRecord[]> {
    this.deviceErrors.claim();
    // a window closed a step ago: its record first, as at a boundary, and its decision
    // (at its end: no step was queued since), which a diverged run refuses
    try {
      await this.controller.settleWindow();
    } catch (err) {
      if (!(err instanceof RunDiverged)) throw err;
    }
    const earlier = await this.endReading();
    return [...earlier, ...(await this.landed(this.beginRead()))()];
  }

  /**
   * Starts reading back the pending steps (their copy is queued now) and leaves it
   * running: the next step or flush ends it. Awaited at the boundary, the device stood
   * idle while the host waited for the map and came back to queue the next step.
   */
  private startReading(): void {
    const reading = this.landed(this.beginRead());
    reading.catch(() => undefined); // its failure is the awaiting step's
    this.reading = reading;
  }

  /**
   * The read-back startReading left running, ended: its events out now, and its records.
   * Out here, not as its numbers land: its progress follows the window closed at its
   * boundary (settled just before) however soon they came. Sent as they landed, it went
   * out during the worker's wait between steps, ahead of that window; the CLI waits for
   * nothing, and settled the window first.
   */
  private async endReading(): Promise<StepRecord[]> {
    const reading = this.reading;
    this.reading = null;
    return reading ? (await reading)() : [];
  }

  /**
   * The pending steps and their read-back, started, with what the boundary saw: the step,
   * the phase and the memory (null when none is pending).
   */
  private beginRead(): Reading | null {
    this.suspect = false;
    if (this.pending.length === 0) return null;
    const batch = this.pending;
    this.pending = [];
    // the memory as the read-back leaves it: without the steps' losses and norms (two
    // float32 scalars a step off the compiled path), which it frees (the GPU's byte count
    // keeps their few hundred bytes, padded as the backend pads them)
    const memory = this.memory();
    const freed = 2 * batch.filter((p) => typeof p.loss !== 'number').length;
    memory.numTensors -= freed;
    memory.numBytes -= 4 * freed;
    // nor the statistics of a window closed at this boundary, whose read-back holds them
    const window = this.controller.monitor.readInFlight;
    if (window) {
      memory.numTensors -= 1;
      memory.numBytes -= 4 * window.size;
    }
    return { batch, values: this.readPending(batch), step: this.completed, phase: this.controller.runPhase(), memory, at: performance.now() };
  }

  /**
   * A started read-back's numbers, landed: its report (its records, its events out),
   * which the caller makes when its turn comes; the interval's time runs to when the
   * numbers came back.
   */
  private async landed(read: Reading | null): Promise<() => StepRecord[]> {
    if (!read) {
      this.checkRefused(this.completed); // nothing pending: a switch's or an evaluation's work may still have been dropped
      return () => [];
    }
    const values = await read.values;
    const came = performance.now();
    return () => this.report(read, values, came);
  }

  /** A read-back's records and events, from the numbers that `came` back. */
  private report(read: Reading, values: Float32Array, came: number): StepRecord[] {
    const { batch } = read;
    const n = batch.length;
    // a run that lost its device or was let go meanwhile reports nothing more
    if (this.lost || this.disposed) return [];
    this.checkRefused(read.step);
    // steps queued before an earlier read-back found the run diverged report nothing: run()'s
    // last flush read one back, and its memory event came after the divergence's
    if (this.diverged) return [];
    const bad = firstNonFinite(values.subarray(0, n), values.subarray(n));
    const kept = bad < 0 ? n : bad;
    const records = batch.slice(0, kept).map((p, i) => ({ step: p.step, epoch: p.epoch, lr: p.lr, loss: values[i]! }));
    if (bad >= 0) this.diverged = describeDivergence(batch[bad]!.step, values[bad]!, values[n + bad]!, this.config);
    // where a step runs as it is enqueued, its interval ends at the boundary that started
    // this read-back: when the read-back resolved the next step had run, so each interval
    // took that step's time and the one before a phase change or the end lost one (micro on
    // wasm: the mixed phase read 12% fast, the full 5.6%). On a GPU it ends as the numbers
    // come back, the device's work done.
    const now = runsAsEnqueued(tf.getBackend()) ? read.at : came;
    const steps = read.step - this.lastFlush.step;
    const seconds = (now - this.lastFlush.time) / 1000;
    // timed only where the clock ran over all its steps: a bench's first steps, taken before
    // run() started the clock, put 10 steps beside 2 steps' seconds (a tally read 1,860
    // samples/s where 372 ran)
    const timed = this.lastFlush.time > 0 && seconds > 0 && steps === batch.length;
    // a change after step s first runs its shapes at s + 1: cold where that is one of these steps
    const reshaped = this.reshapedAt.some((s) => s >= this.lastFlush.step && s < read.step);
    this.reshapedAt = this.reshapedAt.filter((s) => s >= read.step);
    if (records.length) {
      this.emit({
        type: 'progress', records, phase: this.lastFlush.phase,
        samplesPerSec: timed ? (steps * this.config.optim.batchSize) / seconds : 0, seconds: timed ? seconds : 0,
        ...(this.cold || reshaped ? { cold: true as const } : {}),
        ...(this.backendSaid ? {} : { backend: `${tf.getBackend()}/${stepPath()}` }),
      });
      this.cold = false;
      this.backendSaid = true;
    }
    this.emit({ type: 'memory', step: read.step, phase: this.lastFlush.phase, memory: read.memory });
    this.lastFlush = { time: now, step: read.step, phase: read.phase };
    if (bad >= 0) this.emit({ type: 'diverged', divergence: this.diverged! });
    return records;
  }

  private restartClock(): void {
    this.lastFlush = { time: performance.now(), step: this.completed, phase: this.controller.runPhase() };
  }

  private async probeLoss(): Promise<number> {
    const { x, y } = this.tensors(this.probe);
    let loss: tf.Tensor;
    try {
      loss = tf.tidy(() => crossEntropy(this.model.forward(x), y, this.config.optim.labelSmoothing));
    } catch (err) {
      tf.dispose([x, y]);
      throw err;
    }
    const value = (await loss.data().finally(() => tf.dispose([x, y, loss])))[0]!;
    this.checkRefused(this.completed); // a switch decided on a loss the device never computed would stand
    this.restartClock(); // probing is not training time
    return value;
  }

  /** Loss (no label smoothing) and accuracy on the held-out split, read back once; null once diverged. */
  async evaluate(): Promise<Evaluation | null> {
    this.deviceErrors.claim();
    await this.flush(); // so the evaluation's time never counts as training time
    if (this.diverged) return null; // its weights are not finite: the last evaluation stands
    const split = this.dataset.test;
    let totals = tf.zeros([2]); // [correct, summed loss]
    let read: Awaited<ReturnType<tf.Tensor['data']>>;
    try {
      for (let start = 0; start < split.count; start += EVAL_BATCH) {
        const idx = Array.from({ length: Math.min(EVAL_BATCH, split.count - start) }, (_, i) => start + i);
        const { x, y } = this.tensors(toBatch(split, idx, this.pixels));
        try {
          const next = tf.tidy(() => {
            const logits = this.model.forward(x);
            const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32'));
            const lossSum = tf.mul(crossEntropy(logits, y, 0), idx.length);
            return tf.add(totals, tf.stack([correct, lossSum]));
          });
          totals.dispose();
          totals = next;
        } finally {
          tf.dispose([x, y]);
        }
      }
      read = await totals.data();
    } finally {
      totals.dispose(); // a throw mid-way (the device's refusal, out of memory) leaks no batch
    }
    const [correct, lossSum] = read as Float32Array;
    this.checkRefused(this.completed);
    const evaluation = { step: this.completed, loss: lossSum! / split.count, accuracy: correct! / split.count, count: split.count };
    this.restartClock();
    this.emit({ type: 'evaluation', evaluation });
    return evaluation;
  }

  memory(): MemoryReading {
    const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
    // a compiled step's own buffers (its activations, gradients and scratch, held for
    // the phase) are not tfjs's: counted here as tensors would be; the GPU total also
    // holds the training set uploaded for it
    const own = this.compiledBytes();
    const reading: MemoryReading = { numTensors: m.numTensors, numBytes: m.numBytes + own };
    if (m.numBytesInGPU !== undefined) reading.numBytesInGPU = m.numBytesInGPU + own + (this.compiled?.dataBytes ?? 0);
    return reading;
  }

  private emitParams(): void {
    const all = this.model.namedVariables().reduce((n, [, v]) => n + v.size, 0);
    const trainable = this.model.trainableVariables().reduce((n, v) => n + v.size, 0);
    this.emit({ type: 'params', step: this.completed, total: all, trainable, optimizerBytes: this.optimizer.slotBytes(), memory: this.memory() });
  }

  /**
   * Change live PreLoRA settings: checked against the whole config, they count from
   * the next decision on. Returns the update as it applied (a new window length
   * brings `jointSteps` and `rewarmSteps` along), or the problems, in which case nothing changed.
   */
  setPolicy(update: PolicyUpdate): { applied: PolicyUpdate; errors: [] } | { applied: null; errors: ConfigError[] } {
    const applied = resolveUpdate(update, this.controller.settings);
    const errors = validateConfig({ ...this.config, prelora: { ...this.controller.settings, ...applied } },
      { ...deviceLimits(), ranWith: this.controller.settings });
    if (errors.length) return { applied: null, errors };
    this.controller.setPolicy(applied);
    return { applied, errors: [] };
  }

  /** Switch one module at the next step boundary (or at `applyForced`), whatever the policy says. */
  forceSwitch(module: string): void {
    this.controller.forceSwitch(module);
  }

  /** Apply forced switches now; only between steps (a paused run). */
  async applyForced(): Promise<void> {
    this.deviceErrors.claim();
    await this.onDevice(() => this.controller.applyForced()); // a device lost meanwhile: `deviceLoss` says so, as after a step
  }

  /**
   * Train `steps` more steps (default: to the end of the schedule), reading back every
   * `logEvery` steps and at the last of them, evaluating every `evalEvery` steps and at
   * the end of the schedule.
   * `yieldBetween` lets a host (the worker) hear commands between steps; it returns
   * false to stop.
   */
  async run(steps = this.config.schedule.steps - this.completed, yieldBetween?: () => Promise<boolean>): Promise<void> {
    const end = this.completed + steps;
    // a pause (or a single step's wait for the next) between two runs is not training
    // time: the last run ended with a flush. Steps taken one by one before it and not yet
    // read back, or on their way back (the bench's first ones), keep the clock they
    // started, as their records do
    if (this.lastFlush.time === 0 || (this.pending.length === 0 && !this.reading)) this.restartClock();
    while (this.completed < end && !this.diverged && !this.lost) {
      await this.step();
      if (this.lost || (yieldBetween && !(await yieldBetween()))) break;
    }
    if (!this.lost) await this.onDevice(() => this.flush());
  }

  /**
   * `fn` (a save between steps: its read-back, encoding and storage) run outside the
   * training clock: everything on its way is read back first (settledFor: its steps keep
   * their time), and the clock starts again after `fn`, so the next interval's samples/s
   * and the run's time leave it out.
   */
  async untimed<T>(what: string, fn: () => Promise<T>): Promise<T> {
    await this.settledFor(what);
    try {
      return await fn();
    } finally {
      this.restartClock();
    }
  }

  /**
   * Everything still on its way read back (`flush`), for a `what` taken from the weights
   * (a checkpoint, an export): refused, naming the step, for a run that diverged, or was
   * found so by that read-back, and for one whose device was lost.
   */
  async settledFor(what: string): Promise<void> {
    await this.readFor(what, () => this.flush());
  }

  /**
   * A read of the weights for a `what` (a checkpoint, an export) on this run's device: a
   * device lost under it is the run's loss (its `deviceLost` event, `deviceLoss`) and
   * refuses the `what` by name, not a bare mapping error the host cannot tell apart.
   */
  async readFor<T>(what: string, read: () => Promise<T>): Promise<T> {
    this.refuseFor(what);
    const out = await this.onDevice(read);
    this.refuseFor(what);
    return out as T; // undefined only where the device was lost under the read, which refuseFor has just refused
  }

  private refuseFor(what: string): void {
    if (this.diverged) throw new Error(`the run diverged at step ${this.diverged.step}: its weights are not finite, so it has no ${what}`);
    if (this.lost) throw new Error(`${this.lost.message} after step ${this.lost.step}: its weights went with it, so it has no newer ${what}`);
  }

  /**
   * The whole training state, between two steps: the pending steps are read back first
   * (their progress event as usual), then every tensor (weights, adapters, moments, the
   * monitor's window in progress) in one stacked read-back. A diverged run has none.
   */
  async exportState(): Promise<{ config: RunConfig; state: TrainingState; tensors: Map<string, HostArray> }> {
    await this.settledFor('checkpoint');
    const variables = this.model.namedVariables();
    // the optimiser keys its state by tfjs's variable names; a checkpoint by the model's
    const modelName = new Map(variables.map(([n, v]) => [v.name, n]));
    const exported = this.optimizer.exportState();
    const optim = {
      ...exported,
      params: Object.fromEntries(Object.entries(exported.params).map(([n, p]) => [modelName.get(n) ?? n, p])),
    };
    const monitor = this.controller.monitor.exportState();
    const named: [string, tf.Tensor][] = variables.map(([n, v]) => [TENSOR.weight(n), v]);
    for (const [n, p] of Object.entries(optim.params)) if (p.m && p.v) named.push([TENSOR.moment(n, 'm'), p.m], [TENSOR.moment(n, 'v'), p.v]);
    for (const [id, t] of Object.entries(monitor.snapshots)) named.push([TENSOR.snapshot(id), t]);
    if (monitor.gradSum) named.push([TENSOR.gradSum, monitor.gradSum]);
    if (monitor.lossSum) named.push([TENSOR.lossSum, monitor.lossSum]);
    const tensors = await this.readFor('checkpoint', () => readTensors(named)).finally(() => {
      for (const p of Object.values(optim.params)) tf.dispose([p.m, p.v].filter((t): t is tf.Tensor => t !== null));
    });
    const params = Object.fromEntries(Object.entries(optim.params).map(([n, p]) => [n, { t: p.t, rewarm: p.rewarm, moments: p.m !== null }]));
    const state: TrainingState = {
      step: this.completed, batcher: this.batcher.exportState(), phase: this.lastFlush.phase,
      controller: this.controller.exportState(),
      monitor: { steps: monitor.steps, previous: structuredClone(monitor.previous), gradSteps: [...monitor.gradSteps], releasing: [...monitor.releasing] },
      optimizer: { updates: optim.updates, modelRewarm: optim.modelRewarm, params },
    };
    return { config: structuredClone(this.config), state, tensors };
  }

  /**
   * Continue from a saved state: this trainer must be fresh and made from the same
   * config. Phases and adapters first, then every tensor's values; a tensor missing or
   * of another shape is named. The next step is the one after the checkpoint's, with the
   * same batch, learning rate and moments as the run that saved it.
   */
  importState(c: { state: TrainingState; tensors: ReadonlyMap<string, HostArray> }): void {
    if (this.completed !== 0 || this.pending.length) throw new Error('a checkpoint restores into a fresh trainer only');
    const { state, tensors } = c;
    const temps: tf.Tensor[] = [];
    const take = (name: string, shape: readonly number[]) => {
      const t = takeTensor(tensors, name, shape);
      temps.push(t);
      return t;
    };
    try {
      this.controller.importState(state.controller);
      this.checkRestored();
      const variables = this.model.namedVariables();
      const byName = new Map(variables);
      const values = variables.map(([n, v]) => [v, take(TENSOR.weight(n), v.shape)] as const);
      const extra = [...tensors.keys()].filter((k) => k.startsWith('model/') && !byName.has(k.slice('model/'.length)));
      if (extra.length) throw new Error(`the checkpoint has weights this run's model does not: ${extra.slice(0, 3).join(', ')}`);
      const params = Object.fromEntries(Object.entries(state.optimizer.params).map(([n, p]) => {
        const v = byName.get(n);
        if (!v) throw new Error(`the checkpoint's optimiser state names "${n}", which this run's model does not have`);
        const moment = (which: 'm' | 'v') => (p.moments ? take(TENSOR.moment(n, which), v.shape) : null);
        return [v.name, { t: p.t, rewarm: p.rewarm, m: moment('m'), v: moment('v') }];
      }));
      const snapshots = Object.fromEntries([...tensors.keys()].filter((k) => k.startsWith(TENSOR.snapshot(''))).map((k) => {
        const id = k.slice(TENSOR.snapshot('').length);
        const lin = this.model.modules().get(id);
        if (!lin) throw new Error(`the checkpoint has a snapshot of module "${id}", which this run's model does not have`);
        return [id, take(k, lin.weight.shape)];
      }));
      const sum = (name: string, shape: number[]) => (tensors.has(name) ? take(name, shape) : null);
      const monitor = {
        steps: state.monitor.steps, previous: state.monitor.previous, gradSteps: state.monitor.gradSteps, releasing: state.monitor.releasing, snapshots,
        gradSum: sum(TENSOR.gradSum, [this.model.modules().size]), lossSum: sum(TENSOR.lossSum, []),
      };
      for (const [v, t] of values) v.assign(t);
      this.optimizer.importState({ updates: state.optimizer.updates, modelRewarm: state.optimizer.modelRewarm, params }, byName.values());
      this.controller.monitor.importState(monitor);
      this.batcher.importState(state.batcher);
      this.cold = true;
    } finally {
      tf.dispose(temps);
    }
    this.completed = state.step;
    this.lastFlush = { time: 0, step: this.completed, phase: state.phase };
    this.emitParams();
  }

  /**
   * The restored modules against this device: a refusal names what does not run here. Its
   * settings are checked by whoever restores (the worker, before it lets go of its run,
   * with a branch's change that may be what makes them fit: restoreProblem).
   */
  private checkRestored(): void {
    const misfit = restoredMisfit(this.config.model, this.controller.settings, [...this.controller.states.values()], deviceLimits());
    if (misfit) throw new Error(misfit);
  }

  dispose(): void {
    this.disposed = true;
    this.deviceErrors.stop();
    this.reading = null;
    this.dropAhead();
    for (const p of this.pending) if (typeof p.loss !== 'number') tf.dispose([p.loss, p.gradNorm!]);
    this.pending = [];
    this.compiled?.dispose();
    this.compiled = null;
    this.controller.dispose();
    this.optimizer.dispose();
    this.model.dispose();
  }
}
