// One reduction over all of a step's gradients, shared by global-norm clipping and the
// PreLoRA monitor: the sum of squares of every gradient into one [G] tensor (a launch
// per group of gradients that fit the device's storage-buffer limit, a workgroup per
// gradient), then the norm and the clip factor in one launch, and the per-module
// gradient norms in one launch. AdamW reads the clip factor on the device: the
// gradients are never rescaled in memory.
import * as tf from '@tensorflow/tfjs';
import { alloc, constantStorage, run, storageBufferLimit, type Ref } from './dispatch';
import { MAIN_ARGS, WID, makeKernel, memoKernel, type Dispatch, type Kernel } from './kernel';
import { reduceSumWgsl } from './wgsl';

const THREADS = 256;
/** Sum of squares of `count` gradients, one workgroup each, into SS[base + i]. */
function sumSquaresKernel(count: number): Kernel {
  const ids = Array.from({ length: count }, (_, i) => i);
  return memoKernel(`grad-norms.sum-squares/${count}`, () => makeKernel({
    name: 'grad-norms.sum-squares', key: `grad-norms.sum-squares/${count}`,
    bindings: [{ name: 'SS', access: 'rw' }, ...ids.map((i) => ({ name: `G${i}`, access: 'read' as const }))],
    params: [{ name: 'base', type: 'u32' }, ...ids.map((i) => ({ name: `n${i}`, type: 'u32' as const }))],
    body: `
${reduceSumWgsl(THREADS)}
fn sq(g: u32, i: u32) -> f32 {
  switch g {
    ${ids.map((i) => `case ${i}u: { let v = G${i}[i]; return v * v; }`).join('\n    ')}
    default: { return 0.0; }
  }
}
@compute @workgroup_size(${THREADS})
fn main(${MAIN_ARGS}) {
  ${WID}
  if (wid >= ${count}u) { return; }
  var sizes = array<u32, ${count}>(${ids.map((i) => `P.n${i}`).join(', ')});
  let n = sizes[wid];
  var s = 0.0;
  for (var i = t; i < n; i += ${THREADS}u) { s += sq(wid, i); }
  let total = reduceSum(t, s);
  if (t == 0u) { SS[P.base + wid] = total; }
}`,
  }));
}

const clipKernel = makeKernel({
  name: 'grad-norms.clip', key: 'grad-norms.clip',
  bindings: [{ name: 'SS', access: 'read' }, { name: 'NORM', access: 'rw' }, { name: 'FACTOR', access: 'rw' }],
  params: [{ name: 'count', type: 'u32' }, { name: 'maxNorm', type: 'f32' }],
  body: `
${reduceSumWgsl(THREADS)}
@compute @workgroup_size(${THREADS})
fn main(${MAIN_ARGS}) {
  var s = 0.0;
  for (var i = t; i < P.count; i += ${THREADS}u) { s += SS[i]; }
  let norm = sqrt(reduceSum(t, s));
  if (t == 0u) {
    NORM[0] = norm;
    // as the composite: min(1, maxNorm / (norm + 1e-6)); no clipping when maxNorm <= 0
    FACTOR[0] = select(1.0, min(1.0, P.maxNorm / (norm + 1e-6)), P.maxNorm > 0.0);
  }
}`,
});

const moduleNormsKernel = makeKernel({
  name: 'grad-norms.modules', key: 'grad-norms.modules',
  bindings: [{ name: 'SS', access: 'read' }, { name: 'IDX', access: 'read', type: 'i32' }, { name: 'OUT', access: 'rw' }],
  params: [{ name: 'count', type: 'u32' }],
  body: `
@compute @workgroup_size(64)
fn main(${MAIN_ARGS}) {
  ${WID}
  let i = wid * 64u + t;
  if (i >= P.count) { return; }
  let at = IDX[i];
  OUT[i] = select(0.0, sqrt(SS[max(at, 0)]), at >= 0);
}`,
});

/** Launches for the sums of squares of `sizes.length` gradients, `perLaunch` at a time. */
export function sumSquaresDispatches<B>(sizes: number[], grads: B[], ss: B, perLaunch: number): Dispatch<B>[] {
  const out: Dispatch<B>[] = [];
  for (let base = 0; base < sizes.length; base += perLaunch) {
    const n = Math.min(perLaunch, sizes.length - base);
    out.push({ kernel: sumSquaresKernel(n), buffers: [ss, ...grads.slice(base, base + n)], params: [base, ...sizes.slice(base, base + n)], workgroups: n });
  }
  return out;
}

export function clipDispatches<B>(count: number, maxNorm: number, b: { ss: B; norm: B; factor: B }): Dispatch<B>[] {
  return [{ kernel: clipKernel, buffers: [b.ss, b.norm, b.factor], params: [count, maxNorm], workgroups: 1 }];
}

export function moduleNormDispatches<B>(count: number, b: { ss: B; index: B; out: B }): Dispatch<B>[] {
  return [{ kernel: moduleNormsKernel, buffers: [b.ss, b.index, b.out], params: [count], workgroups: Math.ceil(count / 64) }];
}

interface Squares {
  names: string[];
  ss: tf.Tensor1D;
}

// The sums of squares of one step's gradients, made once and read by both the monitor
// and clipping: keyed by the gradient map itself (a new map every step).
const squaresOf = new WeakMap<tf.NamedTensorMap, Squares>();

export function gradSquares(grads: tf.NamedTensorMap): Squares {
  let s = squaresOf.get(grads);
  if (s && !s.ss.isDisposed) return s;
  const names = Object.keys(grads);
  const ss = alloc([names.length]) as tf.Tensor1D;
  const tensors = names.map((n) => grads[n]!);
  sumSquaresDispatches<Ref>(tensors.map((t) => t.size), tensors, ss, storageBufferLimit() - 1).forEach(run);
  s = { names, ss };
  squaresOf.set(grads, s);
  return s;
}

/** The global norm and the clip factor still to apply (AdamW applies it); the gradients are returned as they are. */
export function clipFused(grads: tf.NamedTensorMap, maxNorm: number): { grads: tf.NamedTensorMap; norm: tf.Scalar; scale: tf.Scalar } {
  const { names, ss } = gradSquares(grads);
  const norm = alloc([]) as tf.Scalar;
  const scale = alloc([]) as tf.Scalar;
  clipDispatches<Ref>(names.length, maxNorm, { ss, norm, factor: scale }).forEach(run);
  return { grads, norm, scale };
}

/** The L2 norm of the gradient of each named variable (0 where a name is null or has no gradient). */
export function namedGradNorms(grads: tf.NamedTensorMap, names: (string | null)[]): tf.Tensor1D {
  const sq = gradSquares(grads);
  const index = new Int32Array(names.map((n) => (n === null ? -1 : sq.names.indexOf(n))));
  const out = alloc([names.length]) as tf.Tensor1D;
  moduleNormDispatches<Ref>(names.length, { ss: sq.ss, index: constantStorage(index), out }).forEach(run);
  return out;
}
