// The training loop: seeded batches, AdamW with warm-up + cosine (re-warmed after a
// freeze), global-norm clipping, label smoothing, held-out evaluation, throughput and
// memory readings, and the PreLoRA controller at every step boundary. A step only
// enqueues work on the device; losses are read back in one batch every `logEvery`
// steps with `await data()`, never a synchronous read, so the GPU queue never stalls.
import * as tf from '@tensorflow/tfjs';
import type { RunConfig } from './config';
import { Batcher, toBatch, type Batch, type Dataset } from './data/dataset';
import type { EngineEvent, Evaluation, MemoryReading, RunPhase, StepRecord } from './events';
import { CompiledStep } from './compiled/step';
import { stepPath } from './kernel-path';
import { crossEntropy } from './ops/cross-entropy';
import { AdamW, clipByGlobalNorm } from './optimizer';
import { PreLoRAController, type ControllerHost, type PolicyUpdate } from './prelora';
import { learningRate } from './schedule';
import { ViT } from './vit';

export type { EngineEvent, Evaluation, MemoryReading, StepRecord } from './events';

interface Pending {
  step: number;
  epoch: number;
  lr: number;
  /** the loss on the device, or its slot in a compiled step's ring */
  loss: tf.Scalar | number;
}

const EVAL_BATCH = 250;

export class Trainer {
  readonly model: ViT;
  readonly controller: PreLoRAController;
  private optimizer: AdamW;
  private readonly batcher: Batcher;
  private readonly pixels: number;
  private readonly probe: Batch;
  private pending: Pending[] = [];
  private completed = 0;
  private lastFlush = { time: 0, step: 0, phase: 'full' as RunPhase };
  private rewarmFrom: number | null = null;
  /** the recorded step, on the compiled path (made at the first step) */
  private compiled: CompiledStep | null = null;

  constructor(
    readonly config: RunConfig,
    readonly dataset: Dataset,
    private readonly emit: (e: EngineEvent) => void = () => {},
  ) {
    const [h, w, c] = dataset.shape;
    const m = config.model;
    if (h !== m.imageSize || w !== m.imageSize || c !== m.channels) {
      throw new Error(`dataset images are ${h}x${w}x${c} but the model expects ${m.imageSize}x${m.imageSize}x${m.channels}`);
    }
    this.pixels = h * w * c;
    this.model = new ViT(config.model, config.seed);
    this.optimizer = this.makeOptimizer();
    this.batcher = new Batcher(dataset.train, this.pixels, config.optim.batchSize, config.seed,
      config.data.augment ? { shape: dataset.shape, aug: dataset.augment } : null);
    // a fixed batch on which each switch is checked to leave the loss unchanged
    const probeSize = Math.min(config.optim.batchSize, dataset.train.count);
    this.probe = toBatch(dataset.train, Array.from({ length: probeSize }, (_, i) => i), this.pixels);
    this.controller = new PreLoRAController(config.prelora, config.schedule.steps, this.model.modules(), config.seed, this.host());
    this.controller.startStatic();
    this.emitParams();
  }

  /** Weight decay for 2-D weights only (linears, adapters); not biases, norms, class token or positions. */
  private makeOptimizer(): AdamW {
    return new AdamW(this.config.optim, (v) => v.rank === 2);
  }

  private host(): ControllerHost {
    return {
      currentStep: () => this.completed,
      probeLoss: () => this.probeLoss(),
      phaseChanged: (released, froze) => {
        if (this.config.prelora.resetMoments) {
          this.optimizer.dispose();
          this.optimizer = this.makeOptimizer();
        } else {
          this.optimizer.release(released);
        }
        if (froze) this.rewarmFrom = this.completed;
        this.compiled?.invalidate(); // the next step records the new phase
        this.restartClock(); // steps from here on belong to the new phase
        this.emitParams();
      },
      flush: () => this.flush(),
      onWindow: (record) => this.emit({ type: 'window', window: record }),
      onPhaseChange: (change) => this.emit({ type: 'phase', change }),
    };
  }

  get step(): number {
    return this.completed;
  }

  /** The learning rate of the next step: the schedule, times the re-warm-up ramp after a freeze. */
  currentLr(): number {
    const base = learningRate(this.completed, this.config);
    const { rewarmSteps } = this.config.prelora;
    if (this.rewarmFrom === null || rewarmSteps === 0) return base;
    return base * Math.min(1, (this.completed - this.rewarmFrom + 1) / rewarmSteps);
  }

  private tensors(batch: Batch): { x: tf.Tensor4D; y: tf.Tensor1D } {
    const { imageSize: S, channels: C } = this.config.model;
    return { x: tf.tensor4d(batch.images, [batch.size, S, S, C]), y: tf.tensor1d(batch.labels, 'int32') };
  }

  /** One optimiser step, enqueued on the device; nothing is read back. */
  trainStep(): void {
    const lr = this.currentLr();
    if (stepPath() === 'compiled') {
      this.compiledStep(lr);
      return;
    }
    const { x, y } = this.tensors(this.batcher.next());
    const variables = this.model.trainableVariables();
    const smoothing = this.config.optim.labelSmoothing;
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => crossEntropy(this.model.forward(x), y, smoothing), variables);
      this.controller.observe(grads, value);
      const clipped = clipByGlobalNorm(grads, this.config.optim.clipNorm);
      this.optimizer.apply(clipped.grads, variables, lr, clipped.scale);
      return value;
    });
    x.dispose();
    y.dispose();
    this.completed++;
    this.pending.push({ step: this.completed, epoch: this.batcher.epoch, lr, loss });
  }

  /** The same step replayed from a recording of this phase's kernels (compiled/). */
  private compiledStep(lr: number): void {
    if (this.pending.length >= CompiledStep.capacity) {
      throw new Error(`${this.pending.length} steps since the last read-back: set schedule.logEvery below ${CompiledStep.capacity}`);
    }
    const monitor = this.controller.monitor;
    this.compiled ??= new CompiledStep({
      model: this.model, config: this.config, split: this.dataset.train, optimizer: () => this.optimizer,
      watched: [...this.model.modules().values()].map((l) => l.weight),
    });
    const slot = this.compiled.step({ lr, selection: this.batcher.nextSelection(), windowStart: monitor.stepsInWindow === 0 });
    const compiled = this.compiled;
    monitor.observeOnDevice(() => compiled.windowSums());
    this.completed++;
    this.pending.push({ step: this.completed, epoch: this.batcher.epoch, lr, loss: slot });
  }

  /** Kernels one compiled step launches, by name (null off the compiled path or before its first step). */
  compiledKernels(): Record<string, number> | null {
    return this.compiled ? this.compiled.kernelsPerStep : null;
  }

  /** Read back the losses of the steps since the last flush: one stacked `await data()`, or one copy of the loss ring. */
  async flush(): Promise<StepRecord[]> {
    if (this.pending.length === 0) return [];
    const batch = this.pending;
    this.pending = [];
    const tensors = batch.flatMap((p) => (typeof p.loss === 'number' ? [] : [p.loss]));
    const slots = batch.flatMap((p) => (typeof p.loss === 'number' ? [p.loss] : []));
    let values: ArrayLike<number>;
    if (tensors.length) {
      const stacked = tf.stack(tensors);
      values = await stacked.data();
      stacked.dispose();
      for (const t of tensors) t.dispose();
    } else {
      values = (await this.compiled!.readSteps(slots)).map((v) => v.loss);
    }
    const records = batch.map((p, i) => ({ step: p.step, epoch: p.epoch, lr: p.lr, loss: values[i]! }));
    const now = performance.now();
    const steps = this.completed - this.lastFlush.step;
    const seconds = (now - this.lastFlush.time) / 1000;
    const timed = this.lastFlush.time > 0 && seconds > 0;
    this.emit({
      type: 'progress', records, phase: this.lastFlush.phase,
      samplesPerSec: timed ? (steps * this.config.optim.batchSize) / seconds : 0, seconds: timed ? seconds : 0,
    });
    this.emit({ type: 'memory', step: this.completed, phase: this.lastFlush.phase, memory: this.memory() });
    this.lastFlush = { time: now, step: this.completed, phase: this.controller.runPhase() };
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

  /** Loss (no label smoothing) and accuracy on the held-out split, read back once. */
  async evaluate(): Promise<Evaluation> {
    await this.flush(); // so the evaluation's time never counts as training time
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
    // a compiled step's own buffers (activations, gradients, the training set) are not tfjs's
    if (m.numBytesInGPU !== undefined) reading.numBytesInGPU = m.numBytesInGPU + (this.compiled?.bytes ?? 0);
    return reading;
  }

  private emitParams(): void {
    const all = this.model.namedVariables().reduce((n, [, v]) => n + v.size, 0);
    const trainable = this.model.trainableVariables().reduce((n, v) => n + v.size, 0);
    this.emit({ type: 'params', step: this.completed, total: all, trainable, optimizerBytes: this.optimizer.slotBytes(), memory: this.memory() });
  }

  setPolicy(update: PolicyUpdate): void {
    this.controller.setPolicy(update);
  }

  forceSwitch(module: string): void {
    this.controller.forceSwitch(module);
  }

  /**
   * Train `steps` more steps (default: to the end of the schedule), reading back every
   * `logEvery` steps and at the last of them, evaluating every `evalEvery` steps and at
   * the end of the schedule.
   * `yieldBetween` lets a host (the worker) hear commands between steps; it returns
   * false to stop.
   */
  async run(steps = this.config.schedule.steps - this.completed, yieldBetween?: () => Promise<boolean>): Promise<void> {
    const { logEvery, evalEvery } = this.config.schedule;
    const end = this.completed + steps;
    if (this.lastFlush.time === 0) this.restartClock();
    while (this.completed < end) {
      this.trainStep();
      await this.controller.afterStep();
      if (this.completed % logEvery === 0 || this.completed === end) await this.flush();
      // evaluate on schedule and at the end of training, not at every pause or single step
      if (this.completed % evalEvery === 0 || this.completed === this.config.schedule.steps) await this.evaluate();
      if (yieldBetween && !(await yieldBetween())) break;
    }
    await this.flush();
  }

  dispose(): void {
    for (const p of this.pending) if (typeof p.loss !== 'number') p.loss.dispose();
    this.pending = [];
    this.compiled?.dispose();
    this.compiled = null;
    this.controller.dispose();
    this.optimizer.dispose();
    this.model.dispose();
  }
}
