// AdamW over an explicit variable list, with global-norm gradient clipping. Each
// variable keeps its own state: first and second moments (created lazily), its own
// step count t for the bias corrections (as PyTorch's AdamW: a variable that joins late,
// e.g. a new LoRA adapter, starts at t = 1), and a learning-rate re-warm ramp. Reset,
// re-warm and release act on the variables named, so a phase change of one module need
// not touch the others; `apply` is the one place that works out each variable's
// (lr, t, weight decay) and runs the update.
import * as tf from '@tensorflow/tfjs';
import type { OptimConfig } from './config';
import { adamwUpdate } from './ops/adamw';
import { variableFrom } from './variable';

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

interface ParamState {
  /** null until the variable's first update after creation or a reset */
  moments: { m: tf.Variable; v: tf.Variable } | null;
  /** updates of this variable since its state began (AdamW's t) */
  t: number;
  rewarm: Ramp | null;
}

/** The ramp's factor at update `u` (1-based): 1/steps at the first update after it began, 1 from `steps` on. */
const rampFactor = (r: Ramp | null, u: number) => (r ? Math.min(1, (u - r.from) / r.steps) : 1);

export class AdamW {
  private readonly params = new Map<tf.Variable, ParamState>();
  private updates = 0;
  /** a re-warm of the whole model (every variable, present and future) */
  private modelRewarm: Ramp | null = null;

  /** @param decays which variables get weight decay (matrices, not biases or norms) */
  constructor(
    private readonly cfg: OptimConfig,
    private readonly decays: (v: tf.Variable) => boolean,
  ) {}

  /** Number of `apply` calls so far (the clock of the re-warm ramps). */
  get step(): number {
    return this.updates;
  }

  /**
   * One update of every variable that has a gradient, at `lr` (the schedule's) times its
   * re-warm factor: min(model ramp, its own ramp), each min(1, (u - from) / steps) at
   * update u. Its own t counts only its updates since it was created or reset.
   */
  apply(grads: tf.NamedTensorMap, variables: tf.Variable[], lr: number): void {
    this.updates++;
    const modelFactor = rampFactor(this.modelRewarm, this.updates);
    for (const v of variables) {
      const g = grads[v.name];
      if (!g) continue;
      const p = this.state(v);
      p.moments ??= { m: variableFrom(tf.zerosLike(v), false), v: variableFrom(tf.zerosLike(v), false) };
      p.t++;
      adamwUpdate(v, g, p.moments.m, p.moments.v, {
        lr: lr * Math.min(modelFactor, rampFactor(p.rewarm, this.updates)),
        beta1: this.cfg.beta1, beta2: this.cfg.beta2, epsilon: this.cfg.epsilon,
        weightDecay: this.decays(v) ? this.cfg.weightDecay : 0, step: p.t,
      });
    }
  }

  private state(v: tf.Variable): ParamState {
    let p = this.params.get(v);
    if (!p) {
      p = { moments: null, t: 0, rewarm: null };
      this.params.set(v, p);
    }
    return p;
  }

  /** Moments and step count start again from zero for these variables (`all`: every one). */
  reset(variables: tf.Variable[] | 'all'): void {
    for (const v of variables === 'all' ? [...this.params.keys()] : variables) {
      const p = this.params.get(v);
      if (!p) continue;
      this.disposeMoments(p);
      p.t = 0;
    }
  }

  /** Ramp the learning rate of these variables (`all`: the whole model) linearly over the next `steps` updates. */
  rewarm(variables: tf.Variable[] | 'all', steps: number): void {
    if (steps <= 0) return;
    const ramp = { from: this.updates, steps };
    if (variables === 'all') this.modelRewarm = ramp;
    else for (const v of variables) this.state(v).rewarm = ramp;
  }

  /** The re-warm factor the next update applies to `v`'s learning rate; without `v`, the model-wide one. */
  lrFactor(v?: tf.Variable): number {
    const u = this.updates + 1;
    const own = v ? rampFactor(this.params.get(v)?.rewarm ?? null, u) : 1;
    return Math.min(rampFactor(this.modelRewarm, u), own);
  }

  /** Drop all state of variables that stopped training (frozen bases). */
  release(variables: tf.Variable[]): void {
    for (const v of variables) {
      const p = this.params.get(v);
      if (!p) continue;
      this.disposeMoments(p);
      this.params.delete(v);
    }
  }

  private disposeMoments(p: ParamState): void {
    p.moments?.m.dispose();
    p.moments?.v.dispose();
    p.moments = null;
  }

  /** Bytes held by the moments. */
  slotBytes(): number {
    let n = 0;
    for (const { moments } of this.params.values()) if (moments) n += 4 * (moments.m.size + moments.v.size);
    return n;
  }

  /** Its state, each variable under `name(v)` (default: the tfjs name). */
  exportState(name: (v: tf.Variable) => string = (v) => v.name): AdamWState {
    const params: Record<string, ParamExport> = {};
    for (const [v, p] of this.params) params[name(v)] = { t: p.t, rewarm: p.rewarm && { ...p.rewarm }, m: p.moments?.m ?? null, v: p.moments?.v ?? null };
    return { updates: this.updates, modelRewarm: this.modelRewarm && { ...this.modelRewarm }, params };
  }

  /** Take a saved state (copies of its tensors), replacing its own; `lookup` finds each named variable. */
  importState(state: AdamWState, lookup: (name: string) => tf.Variable | undefined): void {
    const params: [tf.Variable, ParamState][] = Object.entries(state.params).map(([name, p]) => {
      const v = lookup(name);
      if (!v) throw new Error(`the optimiser state names "${name}", which this model does not have`);
      const moment = (t: tf.Tensor) => variableFrom(tf.tidy(() => tf.reshape(t, v.shape)), false);
      const moments = p.m && p.v ? { m: moment(p.m), v: moment(p.v) } : null;
      return [v, { moments, t: p.t, rewarm: p.rewarm && { ...p.rewarm } }];
    });
    this.dispose();
    for (const [v, p] of params) this.params.set(v, p);
    this.updates = state.updates;
    this.modelRewarm = state.modelRewarm && { ...state.modelRewarm };
  }

  dispose(): void {
    for (const p of this.params.values()) this.disposeMoments(p);
    this.params.clear();
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
