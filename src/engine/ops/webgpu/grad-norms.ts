// One reduction over all of a step's gradients, shared by global-norm clipping and the
// PreLoRA monitor: partial sums of squares of every gradient into one tensor (a launch
// per group of gradients that fit the device's storage-buffer limit, a workgroup per
// CHUNK elements), then the norm and the clip factor in one launch, and the per-module
// gradient norms in one launch. AdamW reads the clip factor on the device: the
// gradients are never rescaled in memory.
import * as tf from '@tensorflow/tfjs';
import { alloc, constantStorage, run, storageBufferLimit, type Ref } from './dispatch';
import { MAIN_ARGS, WID, makeKernel, memoKernel, type Dispatch, type Kernel } from './kernel';
import { inOrderSumWgsl, reduceSumWgsl } from './wgsl';

const THREADS = 256;
/**
 * Elements of a gradient one workgroup sums (16 per thread): a 147k-element fc1 weight
 * gradient of tiny is 36 workgroups, not one looping over all of it. Tunable.
 */
export const CHUNK = 16 * THREADS;

/**
 * Elements a thread loads before it adds their squares (in order). Picked per element by
 * a switch, one load then one add at a time, a thread's 16 squares were a chain of waits
 * on memory whatever the bytes: each launch 15-16 us in both phases. The gradient picked
 * once and eight loads at once: 10-12 us, a step's 7 launches at tiny b128 0.113 -> 0.077
 * ms full, 0.105 -> 0.074 LoRA; small's 10 0.162 -> 0.116-0.119 (H200, one call, two runs each).
 */
const SUM_LOADS = 8;

/** Partial sums of squares of `count` gradients, a workgroup per CHUNK elements, into SS[base + w]. */
function sumSquaresKernel(count: number): Kernel {
  const ids = Array.from({ length: count }, (_, i) => i);
  return memoKernel(`grad-norms.sum-squares/${count}/${CHUNK}`, () => makeKernel({
    name: 'grad-norms.sum-squares', key: `grad-norms.sum-squares/${count}/${CHUNK}`,
    bindings: [{ name: 'SS', access: 'rw' }, ...ids.map((i) => ({ name: `G${i}`, access: 'read' as const }))],
    // gradient i: n_i elements, its chunks start at workgroup first_i of this launch
    params: [{ name: 'base', type: 'u32' }, { name: 'groups', type: 'u32' },
      ...ids.flatMap((i) => [{ name: `n${i}`, type: 'u32' as const }, { name: `first${i}`, type: 'u32' as const }])],
    body: `
${reduceSumWgsl(THREADS)}
fn sq(v: f32) -> f32 { return v * v; }
@compute @workgroup_size(${THREADS})
fn main(${MAIN_ARGS}) {
  ${WID}
  if (wid >= P.groups) { return; }
  var firsts = array<u32, ${count}>(${ids.map((i) => `P.first${i}`).join(', ')});
  var sizes = array<u32, ${count}>(${ids.map((i) => `P.n${i}`).join(', ')});
  var g = 0u;
  for (var i = 1u; i < ${count}u; i++) { if (wid >= firsts[i]) { g = i; } }
  let lo = (wid - firsts[g]) * ${CHUNK}u;
  let hi = min(sizes[g], lo + ${CHUNK}u);
  var s = 0.0;
  // the gradient picked once, its loads issued SUM_LOADS at a time, added in order
  switch g {
    ${ids.map((i) => `case ${i}u: { ${inOrderSumWgsl('s', 'lo + t', `${THREADS}u`, 'hi', SUM_LOADS, (e) => `sq(G${i}[${e}])`)} }`).join('\n    ')}
    default: {}
  }
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
  // IDX: per output, the first partial sum of its gradient and how many (0: no gradient)
  bindings: [{ name: 'SS', access: 'read' }, { name: 'IDX', access: 'read', type: 'vec2<u32>' }, { name: 'OUT', access: 'rw' }],
  params: [{ name: 'count', type: 'u32' }],
  body: `
@compute @workgroup_size(64)
fn main(${MAIN_ARGS}) {
  ${WID}
  let i = wid * 64u + t;
  if (i >= P.count) { return; }
  let r = IDX[i];
  var s = 0.0;
  for (var k = 0u; k < r.y; k++) { s += SS[r.x + k]; }
  OUT[i] = sqrt(s);
}`,
});

/** Workgroups (partial sums) of a gradient of `size` elements. */
export const chunksOf = (size: number) => Math.max(1, Math.ceil(size / CHUNK));

/** Launches for the partial sums of squares of the gradients, `perLaunch` gradients at a time; SS holds Σ chunksOf. */
export function sumSquaresDispatches<B>(sizes: number[], grads: B[], ss: B, perLaunch: number): Dispatch<B>[] {
  const out: Dispatch<B>[] = [];
  let base = 0;
  for (let at = 0; at < sizes.length; at += perLaunch) {
    const n = Math.min(perLaunch, sizes.length - at);
    const values: number[] = [];
    let groups = 0;
    for (const size of sizes.slice(at, at + n)) {
      values.push(size, groups);
      groups += chunksOf(size);
    }
    out.push({ kernel: sumSquaresKernel(n), buffers: [ss, ...grads.slice(at, at + n)], params: [base, groups, ...values], workgroups: groups });
    base += groups;
  }
  return out;
}

export function clipDispatches<B>(partials: number, maxNorm: number, b: { ss: B; norm: B; factor: B }): Dispatch<B>[] {
  return [{ kernel: clipKernel, buffers: [b.ss, b.norm, b.factor], params: [partials, maxNorm], workgroups: 1 }];
}

/** `index` holds (first partial, partial count) per output as u32 pairs. */
export function moduleNormDispatches<B>(count: number, b: { ss: B; index: B; out: B }): Dispatch<B>[] {
  return [{ kernel: moduleNormsKernel, buffers: [b.ss, b.index, b.out], params: [count], workgroups: Math.ceil(count / 64) }];
}

interface Squares {
  /** per gradient name: its first partial sum in `ss` and how many */
  ranges: Map<string, [number, number]>;
  ss: tf.Tensor1D;
}

// The sums of squares of one step's gradients, made once and read by both the monitor
// and clipping: keyed by the gradient map itself (a new map every step).
const squaresOf = new WeakMap<tf.NamedTensorMap, Squares>();

export function gradSquares(grads: tf.NamedTensorMap): Squares {
  let s = squaresOf.get(grads);
  if (s && !s.ss.isDisposed) return s;
  const names = Object.keys(grads);
  const tensors = names.map((n) => grads[n]!);
  const ranges = new Map<string, [number, number]>();
  let at = 0;
  for (const [i, n] of names.entries()) {
    ranges.set(n, [at, chunksOf(tensors[i]!.size)]);
    at += chunksOf(tensors[i]!.size);
  }
  const ss = alloc([at]) as tf.Tensor1D;
  sumSquaresDispatches<Ref>(tensors.map((t) => t.size), tensors, ss, storageBufferLimit() - 1).forEach(run);
  s = { ranges, ss };
  squaresOf.set(grads, s);
  return s;
}

/** The global norm and the clip factor still to apply (AdamW applies it); the gradients are returned as they are. */
export function clipFused(grads: tf.NamedTensorMap, maxNorm: number): { grads: tf.NamedTensorMap; norm: tf.Scalar; scale: tf.Scalar } {
  const { ss } = gradSquares(grads);
  const norm = alloc([]) as tf.Scalar;
  const scale = alloc([]) as tf.Scalar;
  clipDispatches<Ref>(ss.size, maxNorm, { ss, norm, factor: scale }).forEach(run);
  return { grads, norm, scale };
}

/** The L2 norm of the gradient of each named variable (0 where a name is null or has no gradient). */
export function namedGradNorms(grads: tf.NamedTensorMap, names: (string | null)[]): tf.Tensor1D {
  const sq = gradSquares(grads);
  const index = new Int32Array(names.flatMap((n) => (n !== null && sq.ranges.get(n)) || [0, 0]));
  const out = alloc([names.length]) as tf.Tensor1D;
  moduleNormDispatches<Ref>(names.length, { ss: sq.ss, index: constantStorage(index), out }).forEach(run);
  return out;
}
