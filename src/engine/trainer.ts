// The training loop: seeded batches, AdamW with warm-up + cosine, global-norm clipping,
// label smoothing, held-out evaluation, throughput and memory readings. A step only
// enqueues work on the device; losses are read back in one batch every `logEvery`
// steps with `await data()`, never a synchronous read, so the GPU queue never stalls.
import * as tf from '@tensorflow/tfjs';
import type { RunConfig } from './config';
import { Batcher, toBatch, type Batch, type Dataset } from './data/dataset';
import { crossEntropy } from './ops/cross-entropy';
import { AdamW, clipByGlobalNorm } from './optimizer';
import { learningRate } from './schedule';
import { ViT } from './vit';

export interface StepRecord {
  /** 1-based count of completed steps */
  step: number;
  epoch: number;
  loss: number;
  lr: number;
}

export interface MemoryReading {
  numTensors: number;
  numBytes: number;
  /** WebGPU/WebGL only: bytes the backend holds on the GPU, pooled buffers included */
  numBytesInGPU?: number;
}

export interface Evaluation {
  step: number;
  loss: number;
  accuracy: number;
  count: number;
}

export type EngineEvent =
  | { type: 'progress'; records: StepRecord[]; samplesPerSec: number }
  | { type: 'evaluation'; evaluation: Evaluation }
  | { type: 'memory'; step: number; memory: MemoryReading };

interface Pending {
  step: number;
  epoch: number;
  lr: number;
  loss: tf.Scalar;
}

const EVAL_BATCH = 250;

export class Trainer {
  readonly model: ViT;
  private optimizer: AdamW;
  private readonly batcher: Batcher;
  private readonly pixels: number;
  private pending: Pending[] = [];
  private completed = 0;
  private lastFlush = { time: 0, step: 0 };

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
    this.batcher = new Batcher(dataset.train, this.pixels, config.optim.batchSize, config.seed);
  }

  /** Weight decay for 2-D weights only (linears, adapters); not biases, norms, class token or positions. */
  private makeOptimizer(): AdamW {
    return new AdamW(this.config.optim, (v) => v.rank === 2);
  }

  get step(): number {
    return this.completed;
  }

  get epoch(): number {
    return this.batcher.epoch;
  }

  private tensors(batch: Batch): { x: tf.Tensor4D; y: tf.Tensor1D } {
    const { imageSize: S, channels: C } = this.config.model;
    return { x: tf.tensor4d(batch.images, [batch.size, S, S, C]), y: tf.tensor1d(batch.labels, 'int32') };
  }

  /** One optimiser step, enqueued on the device; nothing is read back. */
  trainStep(): void {
    const lr = learningRate(this.completed, this.config);
    const { x, y } = this.tensors(this.batcher.next());
    const variables = this.model.trainableVariables();
    const smoothing = this.config.optim.labelSmoothing;
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => crossEntropy(this.model.forward(x), y, smoothing), variables);
      const clipped = clipByGlobalNorm(grads, this.config.optim.clipNorm);
      this.optimizer.apply(clipped.grads, variables, lr);
      return value;
    });
    x.dispose();
    y.dispose();
    this.completed++;
    this.pending.push({ step: this.completed, epoch: this.batcher.epoch, lr, loss });
  }

  /** Read back the losses of the steps since the last flush: one stacked `await data()`. */
  async flush(): Promise<StepRecord[]> {
    if (this.pending.length === 0) return [];
    const batch = this.pending;
    this.pending = [];
    const stacked = tf.stack(batch.map((p) => p.loss));
    const values = await stacked.data();
    stacked.dispose();
    for (const p of batch) p.loss.dispose();
    const records = batch.map((p, i) => ({ step: p.step, epoch: p.epoch, lr: p.lr, loss: values[i]! }));
    const now = performance.now();
    const steps = this.completed - this.lastFlush.step;
    const seconds = (now - this.lastFlush.time) / 1000;
    const samplesPerSec = this.lastFlush.time > 0 && seconds > 0 ? (steps * this.config.optim.batchSize) / seconds : 0;
    this.lastFlush = { time: now, step: this.completed };
    this.emit({ type: 'progress', records, samplesPerSec });
    return records;
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
      totals.dispose();
      x.dispose();
      y.dispose();
      totals = next;
    }
    const [correct, lossSum] = await totals.data();
    totals.dispose();
    const evaluation = { step: this.completed, loss: lossSum! / split.count, accuracy: correct! / split.count, count: split.count };
    this.lastFlush = { time: performance.now(), step: this.completed };
    this.emit({ type: 'evaluation', evaluation });
    return evaluation;
  }

  memory(): MemoryReading {
    const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number };
    const reading: MemoryReading = { numTensors: m.numTensors, numBytes: m.numBytes };
    if (m.numBytesInGPU !== undefined) reading.numBytesInGPU = m.numBytesInGPU;
    return reading;
  }

  /**
   * Train `steps` more steps (default: to the end of the schedule), reading back every
   * `logEvery` steps and evaluating every `evalEvery` steps and at the end.
   * `yieldBetween` lets a host (the worker) hear commands between steps; it returns
   * false to stop.
   */
  async run(steps = this.config.schedule.steps - this.completed, yieldBetween?: () => Promise<boolean>): Promise<void> {
    const { logEvery, evalEvery } = this.config.schedule;
    const end = this.completed + steps;
    if (this.lastFlush.time === 0) this.lastFlush = { time: performance.now(), step: this.completed };
    while (this.completed < end) {
      this.trainStep();
      const last = this.completed === end;
      if (this.completed % logEvery === 0 || last) {
        await this.flush();
        this.emit({ type: 'memory', step: this.completed, memory: this.memory() });
      }
      if (this.completed % evalEvery === 0 || last) await this.evaluate();
      if (yieldBetween && !(await yieldBetween())) break;
    }
    await this.flush();
  }

  dispose(): void {
    for (const p of this.pending) p.loss.dispose();
    this.pending = [];
    this.optimizer.dispose();
    this.model.dispose();
  }
}
