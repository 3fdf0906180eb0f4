// Fused LayerNorm over the last axis of [rows, D]: forward in one launch (a few rows a
// workgroup, saving mean and 1/std per row), backward in two: dx per row (recomputing
// x-hat from the saved statistics, a few rows at once) with each workgroup's partial
// sums of dgamma and dbeta over its rows, then the sum of those partials in order.
import * as tf from '@tensorflow/tfjs';
import { alloc, run, saveForBackward, type Ref } from './dispatch';
import { MAIN_ARGS, WID, makeKernel, memoKernel, type Dispatch, type Kernel } from './kernel';
import { sharedSumDispatches, sharedSumsPerLaunch, type SharedSum } from './shared-sums';
import { reduceSumWgsl } from './wgsl';

/**
 * Threads per row, and the workgroups the backward spreads its rows over (tunable). A
 * workgroup sums its rows one after another, a reduction per row: at 256 workgroups
 * (33 rows each at batch 128) the H200 held two 64-thread groups per SM and the
 * backward waited on latency. At 2,048 (`--layernorm-groups`, against 256, 1,024 and
 * 2,080 in one call) a full step at batch 128 took 9.76-9.83 ms of device time on tiny
 * (was 10.29-10.35) and 36.4-36.5 on small (was 37.8-37.9); 1,024 and 2,080 were within
 * 0.7% of it.
 * `forwardRows` / `backwardRows`: rows a workgroup (the forward) or a pass of the
 * backward's loop takes at once, their loads issued together and their sums reduced
 * in one tree of vectors (a row's floats are the same at any setting: each row is
 * summed in the same order). One row at a time, a workgroup's two warps waited on a
 * row's loads, then on a reduction's eight barriers. H200, launches timed one by one,
 * ms a step: the backward on two rows, against one, 0.320 -> 0.286 at tiny b128,
 * 0.682 -> 0.612 on small, 0.176 -> 0.162 at tiny b32 (one call); the forward on one,
 * two and four rows 0.204 / 0.173 / 0.179 at tiny b128, 0.305 / 0.265 / 0.287 on small,
 * 0.140 / 0.133 / 0.138 at tiny b32 (one row in one call, two and four in a later one).
 */
export const LAYERNORM: { threads: number; backwardWorkgroups: number; forwardRows: ForwardRows; backwardRows: BackwardRows } =
  { threads: 64, backwardWorkgroups: 2048, forwardRows: 2, backwardRows: 2 };

/** Rows at once the kernels can take: the forward's sums of a row are a vector's component (up to vec4), the backward's two of a row a pair. */
const LAYERNORM_FORWARD_ROWS = [1, 2, 4] as const;
const LAYERNORM_BACKWARD_ROWS = [1, 2] as const;
type ForwardRows = (typeof LAYERNORM_FORWARD_ROWS)[number];
type BackwardRows = (typeof LAYERNORM_BACKWARD_ROWS)[number];

/** The backward's workgroups a tuning run may set (`npm run bench -- --layernorm-groups 1024`), checked; an error names what to change. */
export function parseLayerNormGroups(text: string): number | string {
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n < 1 || n > 65535) return `--layernorm-groups: workgroups, a whole number from 1 to 65535 (got "${text.slice(0, 40)}")`;
  return n;
}

/** Rows at once a tuning run may set, written `F/B` (forward / backward), checked; an error names what to change. */
export function parseLayerNormRows(text: string): { forwardRows: ForwardRows; backwardRows: BackwardRows } | string {
  const m = /^(\d)\/(\d)$/.exec(text);
  const f = LAYERNORM_FORWARD_ROWS.find((r) => m && r === Number(m[1]));
  const b = LAYERNORM_BACKWARD_ROWS.find((r) => m && r === Number(m[2]));
  if (f === undefined || b === undefined) {
    return `--layernorm-rows: write F/B, the forward's rows at once ${LAYERNORM_FORWARD_ROWS.join(', ')} and the backward's ${LAYERNORM_BACKWARD_ROWS.join(' or ')}, e.g. 4/2 (got "${text.slice(0, 40)}")`;
  }
  return { forwardRows: f, backwardRows: b };
}

function columnsPerThread(D: number): number {
  return Math.ceil(D / LAYERNORM.threads);
}

/** The WGSL type of `n` sums at once, and how its j-th is named. */
const sumsType = (n: number) => (n === 1 ? 'f32' : `vec${n}<f32>`);
const component = (n: number, j: number) => (n === 1 ? '' : `.${'xyzw'[j]}`);
const each = (n: number, f: (j: number) => string, indent = '    ') => Array.from({ length: n }, (_, j) => f(j)).join(`\n${indent}`);

function forwardKernel(D: number, R: ForwardRows): Kernel {
  const cpt = columnsPerThread(D);
  const T = sumsType(R);
  const key = `layernorm.forward/c${cpt}/t${LAYERNORM.threads}${R > 1 ? `/r${R}` : ''}`;
  // rows past the last (the last workgroup's) recompute the last row and store nothing
  return memoKernel(key, () => makeKernel({
    name: 'layernorm.forward', key,
    bindings: [{ name: 'X', access: 'read' }, { name: 'G', access: 'read' }, { name: 'BT', access: 'read' },
      { name: 'Y', access: 'rw' }, { name: 'S', access: 'rw' }],
    params: [{ name: 'rows', type: 'u32' }, { name: 'D', type: 'u32' }, { name: 'eps', type: 'f32' }],
    body: `
const WG = ${LAYERNORM.threads}u; const CPT = ${cpt}u;
${reduceSumWgsl(LAYERNORM.threads, 'reduceSum', T)}
@compute @workgroup_size(${LAYERNORM.threads})
fn main(${MAIN_ARGS}) {
  ${WID}
  if (wid * ${R}u >= P.rows) { return; }
  ${each(R, (j) => `let row${j} = min(wid * ${R}u + ${j}u, P.rows - 1u);
    let ok${j} = wid * ${R}u + ${j}u < P.rows;
    var xs${j}: array<f32, CPT>;`)}
  var s = ${T}(0.0);
  for (var i = 0u; i < CPT; i++) {
    let c = t + i * WG;
    if (c < P.D) {
    ${each(R, (j) => `xs${j}[i] = X[row${j} * P.D + c];`)}
    ${each(R, (j) => `s${component(R, j)} += xs${j}[i];`)}
    }
  }
  let mean = reduceSum(t, s) / f32(P.D);
  var q = ${T}(0.0);
  for (var i = 0u; i < CPT; i++) {
    if (t + i * WG < P.D) {
    ${each(R, (j) => `let d${j} = xs${j}[i] - mean${component(R, j)}; q${component(R, j)} += d${j} * d${j};`)}
    }
  }
  let rstd = inverseSqrt(reduceSum(t, q) / f32(P.D) + P.eps);
  for (var i = 0u; i < CPT; i++) {
    let c = t + i * WG;
    if (c < P.D) {
    ${each(R, (j) => `if (ok${j}) { Y[row${j} * P.D + c] = (xs${j}[i] - mean${component(R, j)}) * rstd${component(R, j)} * G[c] + BT[c]; }`)}
    }
  }
  if (t == 0u) {
    ${each(R, (j) => `if (ok${j}) { S[2u * row${j}] = mean${component(R, j)}; S[2u * row${j} + 1u] = rstd${component(R, j)}; }`)}
  }
}`,
  }));
}

/**
 * `accumulate`: DX is added to (DX + dx), not written: the residual stream's gradient
 * takes the LayerNorm's input gradient in the same launch (the compiled step: a launch
 * of its own for each of a block's two sums before). A GPU's compiler may fuse dx's
 * last multiply into that add (one rounding fewer than the op-by-op path's separate
 * add): the replay matches that path to 1e-6 on SwiftShader (tested), not bit for bit
 * everywhere. DX's old values are loaded with DY and X, before the row's reduction (the
 * same floats: a thread reads and writes only its own elements): loaded after it, each
 * pass waited on a second round of loads. H100, one call, two runs each: the step's
 * LayerNorm backwards 0.674-0.679 -> 0.506-0.510 ms at small b128 (the full runs' step
 * 24.60-24.62 -> 24.42-24.44), 0.339-0.342 -> 0.277-0.279 at tiny b128.
 */
function backwardKernel(D: number, accumulate: boolean, R: BackwardRows): Kernel {
  const cpt = columnsPerThread(D);
  const T = sumsType(2 * R);
  const key = `layernorm.backward/c${cpt}/t${LAYERNORM.threads}${accumulate ? '/acc' : ''}${R > 1 ? `/r${R}` : ''}`;
  // row j's two means in m: of g dy, and of g dy x-hat
  const mean = (j: number, k: number) => `m.${'xyzw'[2 * j + k]}`;
  // a pass's rows past the group's last recompute its last row, and store and add nothing
  return memoKernel(key, () => makeKernel({
    name: 'layernorm.backward', key,
    bindings: [{ name: 'DY', access: 'read' }, { name: 'X', access: 'read' }, { name: 'G', access: 'read' },
      { name: 'S', access: 'read' }, { name: 'DX', access: 'rw' }, { name: 'PART', access: 'rw' }],
    params: [{ name: 'rows', type: 'u32' }, { name: 'D', type: 'u32' }, { name: 'rowsPerGroup', type: 'u32' }],
    body: `
const WG = ${LAYERNORM.threads}u; const CPT = ${cpt}u;
${reduceSumWgsl(LAYERNORM.threads, 'reduceSum2', T)}
@compute @workgroup_size(${LAYERNORM.threads})
fn main(${MAIN_ARGS}) {
  ${WID}
  let D = P.D;
  if (wid * P.rowsPerGroup >= P.rows) { return; }
  let r0 = wid * P.rowsPerGroup;
  let r1 = min(P.rows, r0 + P.rowsPerGroup);
  var pg: array<f32, CPT>;
  var pb: array<f32, CPT>;
  for (var r = r0; r < r1; r += ${R}u) {
    ${each(R, (j) => `${j ? `let row${j} = min(r + ${j}u, r1 - 1u);
    let ok${j} = r + ${j}u < r1;` : 'let row0 = r;'}
    let mean${j} = S[2u * row${j}];
    let rstd${j} = S[2u * row${j} + 1u];
    var xh${j}: array<f32, CPT>;
    var gd${j}: array<f32, CPT>;${accumulate ? `
    var old${j}: array<f32, CPT>;` : ''}`)}
    var ab = ${T}(0.0);
    for (var i = 0u; i < CPT; i++) {
      let c = t + i * WG;
      if (c < D) {
        ${each(R, (j) => `let dy${j} = DY[row${j} * D + c];
        xh${j}[i] = (X[row${j} * D + c] - mean${j}) * rstd${j};
        gd${j}[i] = dy${j} * G[c];${accumulate ? `
        old${j}[i] = DX[row${j} * D + c];` : ''}`, '        ')}
        ab += ${T}(${Array.from({ length: R }, (_, j) => `gd${j}[i], gd${j}[i] * xh${j}[i]`).join(', ')});
        ${each(R, (j) => `${j ? `if (ok${j}) { ` : ''}pg[i] += dy${j} * xh${j}[i];
        pb[i] += dy${j};${j ? ' }' : ''}`, '        ')}
      }
    }
    let m = reduceSum2(t, ab) / f32(D);
    for (var i = 0u; i < CPT; i++) {
      let c = t + i * WG;
      if (c < D) {
        ${each(R, (j) => `${j ? `if (ok${j}) { ` : '{ '}let dx = rstd${j} * (gd${j}[i] - ${mean(j, 0)} - xh${j}[i] * ${mean(j, 1)});
        ${accumulate ? `DX[row${j} * D + c] = old${j}[i] + dx;` : `DX[row${j} * D + c] = dx;`} }`, '        ')}
      }
    }
  }
  for (var i = 0u; i < CPT; i++) {
    let c = t + i * WG;
    if (c < D) { PART[wid * 2u * D + c] = pg[i]; PART[wid * 2u * D + D + c] = pb[i]; }
  }
}`,
  }));
}

export interface LayerNormSpec {
  rows: number;
  D: number;
  eps: number;
}

export function forwardDispatches<B>(s: LayerNormSpec, b: { x: B; gamma: B; beta: B; y: B; stats: B }): Dispatch<B>[] {
  const R = LAYERNORM.forwardRows;
  return [{ kernel: forwardKernel(s.D, R), buffers: [b.x, b.gamma, b.beta, b.y, b.stats], params: [s.rows, s.D, s.eps], workgroups: Math.ceil(s.rows / R) }];
}

/** Rows per workgroup of the backward, and how many partial rows of (dgamma, dbeta) it leaves. */
export function backwardSplit(rows: number): { rowsPerGroup: number; parts: number } {
  const rowsPerGroup = Math.max(1, Math.ceil(rows / LAYERNORM.backwardWorkgroups));
  return { rowsPerGroup, parts: Math.ceil(rows / rowsPerGroup) };
}

/**
 * The backward, then the in-order sum of its partial rows of (dgamma, dbeta)
 * (paramSumDispatches, this LayerNorm alone). `b.accumulate`: dx is added to what `b.dx`
 * holds (a residual stream's gradient). `b.deferSum`: the partial rows are left in
 * `b.part` for the caller to sum with other LayerNorms' in one launch.
 */
export function backwardDispatches<B>(
  s: LayerNormSpec, b: { dy: B; x: B; gamma: B; stats: B; dx: B; part: B; dgamma: B; dbeta: B; accumulate?: boolean; deferSum?: boolean },
): Dispatch<B>[] {
  const { rowsPerGroup, parts } = backwardSplit(s.rows);
  // a group of one row (2,048 rows or fewer) takes one at a time: the same floats, no row loaded twice
  const R = rowsPerGroup > 1 ? LAYERNORM.backwardRows : 1;
  const backward = { kernel: backwardKernel(s.D, !!b.accumulate, R), buffers: [b.dy, b.x, b.gamma, b.stats, b.dx, b.part], params: [s.rows, s.D, rowsPerGroup], workgroups: parts };
  return [backward, ...(b.deferSum ? [] : paramSumDispatches([{ part: b.part, dgamma: b.dgamma, dbeta: b.dbeta, spec: s }]))];
}

/** One LayerNorm's (dgamma, dbeta) sum: its backward's partial rows (deferSum) and the two gradients. */
export interface ParamSumJob<B> { part: B; dgamma: B; dbeta: B; spec: LayerNormSpec }

/** The LayerNorms' (dgamma, dbeta) sums, several a launch (shared-sums.ts): bindings PART, DG, DB and param D for each. */
const PARAM_SUMS: SharedSum = {
  name: 'layernorm.param-grad-sum',
  outputs: ['DG', 'DB'],
  extra: [{ name: 'D', type: 'u32' }],
  store: (i) => `if (e < P.D${i}) { DG${i}[e] = total; } else { DB${i}[e - P.D${i}] = total; }`,
};

/** LayerNorms a parameter-sum launch takes on a device with `storageBuffers` storage buffers a stage (three buffers each). */
export const paramSumsPerLaunch = (storageBuffers: number) => sharedSumsPerLaunch(PARAM_SUMS, storageBuffers);

/**
 * The (dgamma, dbeta) sums of `jobs` in one launch (the caller keeps it to
 * paramSumsPerLaunch), each LayerNorm with its own lanes, so the floats do not depend
 * on which LayerNorms share a launch. A launch each cost a tiny step 13 launches (0.19
 * ms at batch 128, 0.155 at 32 on the H200, mostly launches). Five a launch: 0.08 and
 * 0.06 ms (small 0.25 -> 0.11), the full
 * step 8.63 -> 8.60 ms, 3.67 -> 3.64, 33.64 -> 33.57, the LoRA step 0.05-0.08 ms less;
 * the ring's four more buffers of partial rows add 10 MB to tiny b128's peak, 20 to
 * small's (H200, two runs each in one call).
 */
export function paramSumDispatches<B>(jobs: ParamSumJob<B>[]): Dispatch<B>[] {
  return sharedSumDispatches(PARAM_SUMS, jobs.map((j) => ({
    buffers: [j.part, j.dgamma, j.dbeta], outputs: 2 * j.spec.D, parts: backwardSplit(j.spec.rows).parts, extra: [j.spec.D],
  })));
}

type LayerNormFn = (x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D) => tf.Tensor2D;
const byEpsilon = new Map<number, LayerNormFn>();

export function layerNormFused(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor2D {
  let f = byEpsilon.get(eps);
  if (!f) {
    f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
      const [xx, g, bt, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
      const [rows, D] = xx.shape;
      const spec = { rows, D, eps };
      const y = alloc([rows, D]);
      const stats = alloc([rows, 2]);
      forwardDispatches<Ref>(spec, { x: xx, gamma: g, beta: bt, y, stats }).forEach(run);
      const restore = saveForBackward(save, [xx, g, stats]);
      return {
        value: y as tf.Tensor2D,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [sx, sg, ss] = restore(saved) as [tf.Tensor, tf.Tensor, tf.Tensor];
          const dx = alloc([rows, D]);
          const part = alloc([backwardSplit(rows).parts * 2 * D]);
          const dgamma = alloc([D]);
          const dbeta = alloc([D]);
          backwardDispatches<Ref>(spec, { dy, x: sx, gamma: sg, stats: ss, dx, part, dgamma, dbeta }).forEach(run);
          part.dispose();
          return [dx, dgamma, dbeta];
        },
      };
    }) as unknown as LayerNormFn;
    byEpsilon.set(eps, f);
  }
  return f(x, gamma, beta);
}
