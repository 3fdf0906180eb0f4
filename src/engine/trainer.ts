// The training loop: seeded batches, AdamW with warm-up + cosine (re-warmed after a
// freeze), global-norm clipping, label smoothing, held-out evaluation, throughput and
// memory readings, and the PreLoRA controller at every step boundary. A step only
// enqueues work on the device; losses are read back in one batch every `logEvery`
// steps with `await data()`, never a synchronous read, so the GPU queue never stalls.
// Hosts (the CLI, the worker, the benchmark) drive it through `step()` or `run()`.
import * as tf from '@tensorflow/tfjs';
import { validateConfig, type ConfigError, type PreLoRAConfig, type RunConfig } from './config';
import { Batcher, toBatch, type Batch, type Dataset } from './data/dataset';
import { describeDivergence, finiteWindow, firstNonFinite } from './divergence';
import type { Divergence, EngineEvent, Evaluation, MemoryReading, RunPhase, StepRecord } from './events';
import { resolveUpdate, type PolicyUpdate } from './live';
import { crossEntropy } from './ops/cross-entropy';
import { AdamW, clipByGlobalNorm } from './optimizer';
import { PreLoRAController, type ControllerHost, type ModuleState } from './prelora';
import type { WindowRecord } from './policy';
import { learningRate } from './schedule';
import { ViT } from './vit';

export type { EngineEvent, Evaluation, MemoryReading, StepRecord } from './events';

interface Pending {
  step: number;
  epoch: number;
  lr: number;
  loss: tf.Scalar;
  /** global gradient norm before clipping: read back with the loss, to catch divergence */
  gradNorm: tf.Scalar;
}

/** Thrown through the controller when a read-back it asked for finds the run diverged. */
class RunDiverged extends Error {}

const EVAL_BATCH = 250;

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
  /** set by the read-back that finds a non-finite loss or gradient; the run stops */
  private diverged: Divergence | null = null;
  /** a window's statistics were not finite: read back now to find the step */
  private suspect = false;

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
    this.model = new ViT(config.model, config.seed);
    try {
      prepareModel?.(this.model);
    } catch (err) {
      this.model.dispose();
      throw err;
    }
    this.optimizer = new AdamW(config.optim, (v) => v.rank === 2); // decay for 2-D weights only (linears, adapters)
    this.batcher = new Batcher(dataset.train, this.pixels, config.optim.batchSize, config.seed,
      config.data.augment ? { shape: dataset.shape, aug: dataset.augment } : null);
    // a fixed batch on which each switch is checked to leave the loss unchanged
    const probeSize = Math.min(config.optim.batchSize, dataset.train.count);
    this.probe = toBatch(dataset.train, Array.from({ length: probeSize }, (_, i) => i), this.pixels);
    this.controller = new PreLoRAController(config.prelora, config.schedule.steps, this.model.modules(), config.seed, this.host());
    this.controller.startStatic();
    this.emitParams();
  }

  private host(): ControllerHost {
    return {
      currentStep: () => this.completed,
      probeLoss: () => this.probeLoss(),
      phaseChanged: ({ released, changed, froze }) => {
        const { resetMoments, rewarmSteps } = this.config.prelora;
        this.optimizer.release(released);
        if (resetMoments) this.optimizer.reset(changed);
        if (froze) this.optimizer.rewarm(changed, rewarmSteps);
        this.restartClock(); // steps from here on belong to the new phase
        this.emitParams();
      },
      flush: async () => {
        const records = await this.flush();
        if (this.diverged) throw new RunDiverged(); // no switch or freeze on a diverged run
        return records;
      },
      onWindow: (record) => {
        if (finiteWindow(record)) this.emit({ type: 'window', window: record });
        else this.suspect = true;
      },
      onPhaseChange: (change) => this.emit({ type: 'phase', change }),
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

  /** Every window's statistics so far, oldest first. */
  get history(): readonly WindowRecord[] {
    return this.controller.history;
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
    let measured: T | undefined;
    if (this.diverged) return measured; // a diverged run takes no more steps
    if (measure) measured = await measure(() => this.trainStep());
    else this.trainStep();
    try {
      await this.controller.afterStep();
    } catch (err) {
      if (err instanceof RunDiverged) return measured; // the read-back it asked for found non-finite numbers
      throw err;
    }
    if (this.suspect || this.completed % this.config.schedule.logEvery === 0) await this.flush();
    if (this.diverged) return measured;
    // evaluate on schedule and at the end of training, not at every pause or single step
    if (this.completed % this.config.schedule.evalEvery === 0 || this.completed === this.config.schedule.steps) await this.evaluate();
    return measured;
  }

  /** One optimiser step, enqueued on the device; nothing is read back. */
  trainStep(): void {
    const lr = this.currentLr();
    const scheduled = learningRate(this.completed, this.config); // AdamW applies each variable's re-warm factor
    const { x, y } = this.tensors(this.batcher.next());
    const variables = this.model.trainableVariables();
    const smoothing = this.config.optim.labelSmoothing;
    const [loss, gradNorm] = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => crossEntropy(this.model.forward(x), y, smoothing), variables);
      this.controller.observe(grads, value);
      const clipped = clipByGlobalNorm(grads, this.config.optim.clipNorm);
      this.optimizer.apply(clipped.grads, variables, scheduled);
      return [value, clipped.norm];
    }) as [tf.Scalar, tf.Scalar];
    x.dispose();
    y.dispose();
    this.completed++;
    this.pending.push({ step: this.completed, epoch: this.batcher.epoch, lr, loss, gradNorm });
  }

  /**
   * Read back the losses and gradient norms of the steps since the last flush: one
   * stacked `await data()`. The first non-finite step marks the run diverged; the
   * records stop before it.
   */
  async flush(): Promise<StepRecord[]> {
    this.suspect = false;
    if (this.pending.length === 0) return [];
    const batch = this.pending;
    this.pending = [];
    const n = batch.length;
    const stacked = tf.stack([...batch.map((p) => p.loss), ...batch.map((p) => p.gradNorm)]);
    const values = await stacked.data();
    stacked.dispose();
    for (const p of batch) tf.dispose([p.loss, p.gradNorm]);
    const bad = this.diverged ? -1 : firstNonFinite(values.subarray(0, n), values.subarray(n));
    const kept = this.diverged ? 0 : bad < 0 ? n : bad;
    const records = batch.slice(0, kept).map((p, i) => ({ step: p.step, epoch: p.epoch, lr: p.lr, loss: values[i]! }));
    if (bad >= 0) this.diverged = describeDivergence(batch[bad]!.step, values[bad]!, values[n + bad]!, this.config);
    const now = performance.now();
    const steps = this.completed - this.lastFlush.step;
    const seconds = (now - this.lastFlush.time) / 1000;
    const timed = this.lastFlush.time > 0 && seconds > 0;
    if (records.length) {
      this.emit({
        type: 'progress', records, phase: this.lastFlush.phase,
        samplesPerSec: timed ? (steps * this.config.optim.batchSize) / seconds : 0, seconds: timed ? seconds : 0,
      });
    }
    this.emit({ type: 'memory', step: this.completed, phase: this.lastFlush.phase, memory: this.memory() });
    this.lastFlush = { time: now, step: this.completed, phase: this.controller.runPhase() };
    if (bad >= 0) this.emit({ type: 'diverged', divergence: this.diverged! });
    return records;
  }

  private restartClock(): void {
    this.lastFlush = { time: performance.now(), step: this.completed, phase: this.controller.runPhase() };
  }

  private async probeLoss(): Promise<number> {
    const { x, y } = this.tensors(this.probe);
    const loss = tf.tidy(() => crossEntropy(this.model.forward(x), y, this.config.optim.labelSmoothing));
    const value = (await loss.data())[0]!;
    tf.dispose([x, y, loss]);
    this.restartClock(); // probing is not training time
    return value;
  }

  /** Loss (no label smoothing) and accuracy on the held-out split, read back once; null once diverged. */
  async evaluate(): Promise<Evaluation | null> {
    await this.flush(); // so the evaluation's time never counts as training time
    if (this.diverged) return null; // its weights are not finite: the last evaluation stands
    const split = this.dataset.test;
    let totals = tf.zeros([2]); // [correct, summed loss]
    for (let start = 0; start < split.count; start += EVAL_BATCH) {
      const idx = Array.from({ length: Math.min(EVAL_BATCH, split.count - start) }, (_, i) => start + i);
      const { x, y } = this.tensors(toBatch(split, idx, this.pixels));
      const next = tf.tidy(() => {
        const logits = this.model.forward(x);
        const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'float32'));
        const lossSum = tf.mul(crossEntropy(logits, y, 0), idx.length);
        return tf.add(totals, tf.stack([correct, lossSum]));
      });
      tf.dispose([totals, x, y]);
      totals = next;
    }
    const [correct, lossSum] = await totals.data();
    totals.dispose();
    const evaluation = { step: this.completed, loss: lossSum! / split.count, accuracy: correct! / split.count, count: split.count };
    this.restartClock();
    this.emit({ type: 'evaluation', evaluation });
    return evaluation;
  }

  memory(): MemoryReading {
    const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
    const reading: MemoryReading = { numTensors: m.numTensors, numBytes: m.numBytes };
    if (m.numBytesInGPU !== undefined) reading.numBytesInGPU = m.numBytesInGPU;
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
   * brings `jointSteps` along), or the problems, in which case nothing changed.
   */
  setPolicy(update: PolicyUpdate): { applied: PolicyUpdate; errors: [] } | { applied: null; errors: ConfigError[] } {
    const applied = resolveUpdate(update);
    const errors = validateConfig({ ...this.config, prelora: { ...this.controller.settings, ...applied } });
    if (errors.length) return { applied: null, errors };
    this.controller.setPolicy(applied);
    return { applied, errors: [] };
  }

  /** Switch one module at the next step boundary (or at `applyForced`), whatever the policy says. */
  forceSwitch(module: string): void {
    this.controller.forceSwitch(module);
  }

  /** Apply forced switches now; only between steps (a paused run). */
  applyForced(): Promise<void> {
    return this.controller.applyForced();
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
    if (this.lastFlush.time === 0) this.restartClock();
    while (this.completed < end && !this.diverged) {
      await this.step();
      if (yieldBetween && !(await yieldBetween())) break;
    }
    await this.flush();
  }

  dispose(): void {
    for (const p of this.pending) tf.dispose([p.loss, p.gradNorm]);
    this.pending = [];
    this.controller.dispose();
    this.optimizer.dispose();
    this.model.dispose();
  }
}
