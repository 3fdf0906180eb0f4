// AdamW over an explicit variable list, with global-norm gradient clipping. Slots
// (first and second moments) are created lazily per variable; `dispose` releases them,
// which is how a phase change rebuilds the optimiser and frees frozen weights' slots.
import * as tf from '@tensorflow/tfjs';
import type { OptimConfig } from './config';
import { kernelPath } from './kernel-path';
import { adamwRow, adamwUpdate, type AdamWHyper } from './ops/adamw';
import { adamwFused, type AdamWRow } from './ops/webgpu/adamw';
import { clipFused } from './ops/webgpu/grad-norms';
import { variableFrom } from './variable';

/** The moments: [m, v] on the composite path, [m and v interleaved] for the fused kernel. */
interface Slots {
  moments: tf.Variable[];
}

export class AdamW {
  private readonly slots = new Map<tf.Variable, Slots>();
  private updates = 0;
  /** the clip factor when there is none, made once */
  private one: tf.Tensor | null = null;

  /** @param decays which variables get weight decay (matrices, not biases or norms) */
  constructor(
    private readonly cfg: OptimConfig,
    private readonly decays: (v: tf.Variable) => boolean,
  ) {}

  /** Number of updates applied so far (AdamW's t). */
  get step(): number {
    return this.updates;
  }

  /**
   * One update of every variable that has a gradient. `gradScale` (a device scalar, the
   * fused path's clip factor) multiplies the gradients inside the update.
   */
  apply(grads: tf.NamedTensorMap, variables: tf.Variable[], lr: number, gradScale?: tf.Tensor): void {
    this.updates++;
    const fused = kernelPath() === 'fused';
    const todo: Parameters<typeof adamwFused>[0] = [];
    for (const v of variables) {
      const g = grads[v.name];
      if (!g) continue;
      const h = this.hyper(v, lr);
      const moments = this.slotsOf(v, fused).moments;
      if (fused) todo.push({ variable: v, moments: moments[0]!, grad: g, row: adamwRow(h) });
      else tf.tidy(() => adamwUpdate(v, gradScale ? tf.mul(g, gradScale) : g, moments[0]!, moments[1]!, h));
    }
    if (fused) adamwFused(todo, this.cfg, gradScale, this.one ??= tf.keep(tf.fill([1], 1)));
  }

  private hyper(v: tf.Variable, lr: number): AdamWHyper {
    return {
      lr, beta1: this.cfg.beta1, beta2: this.cfg.beta2, epsilon: this.cfg.epsilon,
      weightDecay: this.decays(v) ? this.cfg.weightDecay : 0, step: this.updates,
    };
  }

  /** The fused kernel's moments of a variable (m and v interleaved), made on first use: a recorded step binds them. */
  fusedMoments(v: tf.Variable): tf.Variable {
    return this.slotsOf(v, true).moments[0]!;
  }

  /** Counts one update and gives each variable's row of the fused kernel's table (a recorded step writes it to the device). */
  nextRows(variables: tf.Variable[], lr: number): AdamWRow[] {
    this.updates++;
    return variables.map((v) => adamwRow(this.hyper(v, lr)));
  }

  private slotsOf(v: tf.Variable, fused: boolean): Slots {
    let s = this.slots.get(v);
    if (!s) {
      // filled on the device: no upload of zeros
      const zeros = (n: number) => variableFrom(tf.fill([n], 0), false);
      s = { moments: fused ? [zeros(2 * v.size)] : [variableFrom(tf.zerosLike(v), false), variableFrom(tf.zerosLike(v), false)] };
      this.slots.set(v, s);
    }
    return s;
  }

  /** Drop the moments of variables that stopped training (frozen bases). */
  release(variables: tf.Variable[]): void {
    for (const v of variables) {
      const s = this.slots.get(v);
      if (!s) continue;
      for (const t of s.moments) t.dispose();
      this.slots.delete(v);
    }
  }

  /** Bytes held by the moments. */
  slotBytes(): number {
    let n = 0;
    for (const s of this.slots.values()) for (const t of s.moments) n += 4 * t.size;
    return n;
  }

  dispose(): void {
    for (const s of this.slots.values()) for (const t of s.moments) t.dispose();
    this.slots.clear();
    this.one?.dispose();
    this.one = null;
  }
}

export interface Clipped {
  grads: tf.NamedTensorMap;
  /** the global norm before clipping */
  norm: tf.Scalar;
  /** fused path: the factor the gradients are still to be multiplied by (AdamW does it on the device) */
  scale?: tf.Scalar;
}

/**
 * Scale all gradients by min(1, maxNorm / ||g||) where ||g|| is the global L2 norm,
 * on the device (no read-back). Returns the new gradients and the norm before clipping;
 * on the fused path the gradients as they are and the factor, from one reduction.
 */
export function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): Clipped {
  if (kernelPath() === 'fused') return clipFused(grads, maxNorm);
  const names = Object.keys(grads);
  // stack + sum, not addN: tfjs-webgpu's AddN binds every input at once and fails
  // silently (returns garbage) past the device's 8 storage buffers per shader stage
  const norm = tf.sqrt(tf.sum(tf.stack(names.map((n) => tf.sum(tf.square(grads[n]!)))))) as tf.Scalar;
  if (maxNorm <= 0) return { grads, norm };
  const factor = tf.minimum(1, tf.div(maxNorm, tf.add(norm, 1e-6)));
  const out: tf.NamedTensorMap = {};
  for (const n of names) out[n] = tf.mul(grads[n]!, factor);
  return { grads: out, norm };
}
