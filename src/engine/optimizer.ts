// AdamW over an explicit variable list, with global-norm gradient clipping. Each
// variable keeps its own state: first and second moments (created lazily), its own
// step count t for the bias corrections (as PyTorch's AdamW: a variable that joins late,
// e.g. a new LoRA adapter, starts at t = 1), and a learning-rate re-warm ramp. Reset,
// re-warm and release act on the variables named, so a phase change of one module need
// not touch the others; `apply` is the one place that works out each variable's
// (lr, t, weight decay) and runs the update: tfjs ops one variable at a time on the
// composite path, the fused kernel (ops/webgpu/adamw.ts) on WebGPU, which takes the same
// numbers as one table row per variable. The whole state can be exported and imported
// (a checkpoint): a restored run continues bit for bit on the same backend.
import * as tf from '@tensorflow/tfjs';
import type { OptimConfig } from './config';
import { kernelPath } from './kernel-path';
import { adamwRow, adamwUpdate, type AdamWHyper } from './ops/adamw';
import { adamwFused, type AdamWRow } from './ops/webgpu/adamw';
import { clipFused } from './ops/webgpu/grad-norms';
import { variableFrom } from './variable';

/** A linear learning-rate ramp that started after update `from` and lasts `steps` updates. */
export interface Ramp {
  from: number;
  steps: number;
}

/** m and v apart (composite), or interleaved in one tensor of twice the size (the fused kernel's layout). */
type Moments = { m: tf.Variable; v: tf.Variable; mv?: never } | { mv: tf.Variable; m?: never; v?: never };

interface ParamState {
  /** null until the variable's first update after creation or a reset */
  moments: Moments | null;
  /** updates of this variable since its state began (AdamW's t) */
  t: number;
  rewarm: Ramp | null;
}

/** One variable's state as exported: m and v shaped as the variable (null before its first update), owned by the caller. */
export interface ParamSnapshot {
  t: number;
  rewarm: Ramp | null;
  m: tf.Tensor | null;
  v: tf.Tensor | null;
}

/** The optimiser's whole state, by variable name. */
export interface AdamWState {
  /** `apply` calls so far: the clock of the re-warm ramps */
  updates: number;
  /** a re-warm of the whole model, if one was asked for */
  modelRewarm: Ramp | null;
  params: Record<string, ParamSnapshot>;
}

/** The ramp's factor at update `u` (1-based): 1/steps at the first update after it began, 1 from `steps` on. */
const rampFactor = (r: Ramp | null, u: number) => (r ? Math.min(1, (u - r.from) / r.steps) : 1);
const copyRamp = (r: Ramp | null): Ramp | null => (r ? { from: r.from, steps: r.steps } : null);

/** m and v side by side, element by element (a copy, exact). */
function interleave(m: tf.Tensor, v: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.reshape(tf.stack([tf.reshape(m, [-1]), tf.reshape(v, [-1])], 1), [-1]));
}

/** m and v apart again, shaped as the variable (copies, exact). */
function deinterleave(mv: tf.Tensor, shape: number[]): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const [m, v] = tf.unstack(tf.reshape(mv, [-1, 2]), 1);
    return [tf.reshape(m!, shape), tf.reshape(v!, shape)];
  });
}

export class AdamW {
  private readonly params = new Map<tf.Variable, ParamState>();
  private updates = 0;
  /** a re-warm of the whole model (every variable, present and future) */
  private modelRewarm: Ramp | null = null;
  /** the clip factor when there is none (fused path), made once */
  private one: tf.Tensor | null = null;

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
   * `gradScale` (a device scalar, the fused path's clip factor) multiplies the gradients
   * inside the update.
   */
  apply(grads: tf.NamedTensorMap, variables: tf.Variable[], lr: number, gradScale?: tf.Tensor): void {
    this.updates++;
    const modelFactor = rampFactor(this.modelRewarm, this.updates);
    const fused = kernelPath() === 'fused';
    const todo: Parameters<typeof adamwFused>[0] = [];
    for (const v of variables) {
      const g = grads[v.name];
      if (!g) continue;
      const p = this.state(v);
      const moments = this.momentsOf(v, p, fused);
      const h = this.nextHyper(v, p, lr, modelFactor);
      if (moments.mv) todo.push({ variable: v, moments: moments.mv, grad: g, row: adamwRow(h) });
      else tf.tidy(() => adamwUpdate(v, gradScale ? tf.mul(g, gradScale) : g, moments.m, moments.v, h));
    }
    if (todo.length) adamwFused(todo, this.cfg, gradScale, this.one ??= tf.keep(tf.fill([1], 1)));
  }

  /** Counts one update of `v` (its t) and gives its numbers for it. */
  private nextHyper(v: tf.Variable, p: ParamState, lr: number, modelFactor: number): AdamWHyper {
    p.t++;
    return {
      lr: lr * Math.min(modelFactor, rampFactor(p.rewarm, this.updates)),
      beta1: this.cfg.beta1, beta2: this.cfg.beta2, epsilon: this.cfg.epsilon,
      weightDecay: this.decays(v) ? this.cfg.weightDecay : 0, step: p.t,
    };
  }

  /** The fused kernel's moments of a variable (m and v interleaved), made on first use: a recorded step binds them. */
  fusedMoments(v: tf.Variable): tf.Variable {
    return this.momentsOf(v, this.state(v), true).mv!;
  }

  /**
   * One update of every variable, as `apply` counts it, without running it: each
   * variable's row of the fused kernel's table (a recorded step writes it to the device).
   */
  nextRows(variables: tf.Variable[], lr: number): AdamWRow[] {
    this.updates++;
    const modelFactor = rampFactor(this.modelRewarm, this.updates);
    return variables.map((v) => {
      const p = this.state(v);
      this.momentsOf(v, p, true);
      return adamwRow(this.nextHyper(v, p, lr, modelFactor));
    });
  }

  private state(v: tf.Variable): ParamState {
    let p = this.params.get(v);
    if (!p) {
      p = { moments: null, t: 0, rewarm: null };
      this.params.set(v, p);
    }
    return p;
  }

  /** The variable's moments in the layout this path updates: made (zeros, filled on the device) or converted once. */
  private momentsOf(v: tf.Variable, p: ParamState, fused: boolean): Moments {
    const keep = (t: tf.Tensor) => variableFrom(t, false);
    const had = p.moments;
    if (fused && !had?.mv) {
      p.moments = { mv: keep(had ? interleave(had.m, had.v) : tf.fill([2 * v.size], 0)) };
    } else if (!fused && !had?.m) {
      const [m, vv] = had ? deinterleave(had.mv, v.shape) : [tf.zerosLike(v), tf.zerosLike(v)];
      p.moments = { m: keep(m), v: keep(vv) };
    }
    if (had && had !== p.moments) disposeMoments(had);
    return p.moments!;
  }

  /** Moments and step count start again from zero for these variables (`all`: every one). */
  reset(variables: tf.Variable[] | 'all'): void {
    for (const v of variables === 'all' ? [...this.params.keys()] : variables) {
      const p = this.params.get(v);
      if (!p) continue;
      disposeMoments(p.moments);
      p.moments = null;
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
      disposeMoments(p.moments);
      this.params.delete(v);
    }
  }

  /** Bytes held by the moments. */
  slotBytes(): number {
    let n = 0;
    for (const { moments } of this.params.values()) {
      if (moments) n += 4 * (moments.mv ? moments.mv.size : moments.m.size + moments.v.size);
    }
    return n;
  }

  /**
   * The whole state, by variable name, for a checkpoint: each variable's t, re-warm ramp
   * and moments (copies shaped as the variable, whatever the path's layout; the caller
   * disposes them), the update count and the model-wide ramp.
   */
  exportState(): AdamWState {
    const params: Record<string, ParamSnapshot> = {};
    for (const [v, p] of this.params) {
      const mo = p.moments;
      const [m, vv] = !mo ? [null, null] : mo.mv ? deinterleave(mo.mv, v.shape) : [tf.clone(mo.m), tf.clone(mo.v)];
      params[v.name] = { t: p.t, rewarm: copyRamp(p.rewarm), m, v: vv };
    }
    return { updates: this.updates, modelRewarm: copyRamp(this.modelRewarm), params };
  }

  /**
   * Replace the whole state with an exported one; `variables` are the model's, matched by
   * name. The tensors are copied (the caller keeps and disposes its own). Throws, changing
   * nothing, when a name is not among the variables or moments do not fit their variable.
   */
  importState(state: AdamWState, variables: Iterable<tf.Variable>): void {
    const byName = new Map([...variables].map((v) => [v.name, v]));
    for (const [name, s] of Object.entries(state.params)) {
      const v = byName.get(name);
      if (!v) throw new Error(`optimiser state for "${name}": the model has no such variable`);
      if ((s.m === null) !== (s.v === null)) throw new Error(`optimiser state for "${name}": m and v are both tensors or both null`);
      for (const t of [s.m, s.v]) {
        if (t && !tf.util.arraysEqual(t.shape, v.shape)) {
          throw new Error(`optimiser state for "${name}": moments of shape [${t.shape.join(', ')}], the variable is [${v.shape.join(', ')}]`);
        }
      }
      if (!Number.isInteger(s.t) || s.t < 0) throw new Error(`optimiser state for "${name}": t is a whole number >= 0 (got ${s.t})`);
    }
    this.clear();
    this.updates = state.updates;
    this.modelRewarm = copyRamp(state.modelRewarm);
    for (const [name, s] of Object.entries(state.params)) {
      const moments = s.m && s.v ? { m: variableFrom(tf.clone(s.m), false), v: variableFrom(tf.clone(s.v), false) } : null;
      this.params.set(byName.get(name)!, { t: s.t, rewarm: copyRamp(s.rewarm), moments });
    }
  }

  private clear(): void {
    for (const p of this.params.values()) disposeMoments(p.moments);
    this.params.clear();
  }

  dispose(): void {
    this.clear();
    this.one?.dispose();
    this.one = null;
  }
}

function disposeMoments(m: Moments | null): void {
  if (!m) return;
  if (m.mv) m.mv.dispose();
  else {
    m.m.dispose();
    m.v.dispose();
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
