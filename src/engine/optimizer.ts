// AdamW over an explicit variable list, with global-norm gradient clipping. Slots
// (first and second moments) are created lazily per variable; `dispose` releases them,
// which is how a phase change rebuilds the optimiser and frees frozen weights' slots.
import * as tf from '@tensorflow/tfjs';
import type { OptimConfig } from './config';
import { adamwUpdate } from './ops/adamw';
import { variableFrom } from './variable';

interface Slots {
  m: tf.Variable;
  v: tf.Variable;
}

/** A linear learning-rate ramp that started after update `from` and lasts `steps` updates. */
export interface Ramp {
  from: number;
  steps: number;
}

/** One variable's state as a checkpoint keeps it: its t, its re-warm ramp, its moments (null before its first update). */
export interface ParamExport {
  t: number;
  rewarm: Ramp | null;
  m: tf.Tensor | null;
  v: tf.Tensor | null;
}

/** The whole optimiser's state, per variable name; the tensors are its own (read them before the next update). */
export interface AdamWState {
  updates: number;
  modelRewarm: Ramp | null;
  params: Record<string, ParamExport>;
}

export class AdamW {
  private readonly slots = new Map<tf.Variable, Slots>();
  private updates = 0;

  /** @param decays which variables get weight decay (matrices, not biases or norms) */
  constructor(
    private readonly cfg: OptimConfig,
    private readonly decays: (v: tf.Variable) => boolean,
  ) {}

  /** Number of updates applied so far (AdamW's t). */
  get step(): number {
    return this.updates;
  }

  apply(grads: tf.NamedTensorMap, variables: tf.Variable[], lr: number): void {
    this.updates++;
    for (const v of variables) {
      const g = grads[v.name];
      if (!g) continue;
      let s = this.slots.get(v);
      if (!s) {
        s = { m: variableFrom(tf.zerosLike(v), false), v: variableFrom(tf.zerosLike(v), false) };
        this.slots.set(v, s);
      }
      adamwUpdate(v, g, s.m, s.v, {
        lr, beta1: this.cfg.beta1, beta2: this.cfg.beta2, epsilon: this.cfg.epsilon,
        weightDecay: this.decays(v) ? this.cfg.weightDecay : 0, step: this.updates,
      });
    }
  }

  /** Drop the moments of variables that stopped training (frozen bases). */
  release(variables: tf.Variable[]): void {
    for (const v of variables) {
      const s = this.slots.get(v);
      if (!s) continue;
      s.m.dispose();
      s.v.dispose();
      this.slots.delete(v);
    }
  }

  /** Bytes held by the moments. */
  slotBytes(): number {
    let n = 0;
    for (const s of this.slots.values()) n += 4 * (s.m.size + s.v.size);
    return n;
  }

  /** Its state, each variable under `name(v)` (default: the tfjs name). */
  exportState(name: (v: tf.Variable) => string = (v) => v.name): AdamWState {
    const params: Record<string, ParamExport> = {};
    for (const [v, s] of this.slots) params[name(v)] = { t: this.updates, rewarm: null, m: s.m, v: s.v };
    return { updates: this.updates, modelRewarm: null, params };
  }

  /** Take a saved state (copies of its tensors), replacing its own; `lookup` finds each named variable. */
  importState(state: AdamWState, lookup: (name: string) => tf.Variable | undefined): void {
    const slots: [tf.Variable, Slots][] = Object.entries(state.params).map(([name, p]) => {
      const v = lookup(name);
      if (!v) throw new Error(`the optimiser state names "${name}", which this model does not have`);
      const moment = (t: tf.Tensor | null) => variableFrom(tf.tidy(() => (t ? tf.reshape(t, v.shape) : tf.zerosLike(v))), false);
      return [v, { m: moment(p.m), v: moment(p.v) }];
    });
    this.dispose();
    for (const [v, s] of slots) this.slots.set(v, s);
    this.updates = state.updates;
  }

  dispose(): void {
    for (const s of this.slots.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.slots.clear();
  }
}

/**
 * Scale all gradients by min(1, maxNorm / ||g||) where ||g|| is the global L2 norm,
 * on the device (no read-back). Returns the new gradients and the norm before clipping.
 */
export function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): { grads: tf.NamedTensorMap; norm: tf.Scalar } {
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
