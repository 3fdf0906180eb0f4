// The linear layer's kernels: y = x W + b (+ a residual) (GELU'd), its input gradient
// dy W^T, the weight gradients x^T dy, sum(dy), x^T dxa and s (x A)^T dy as split-K
// partial sums in one launch (x A as the forward wrote it: recomputing it there, din
// FMAs per loaded element, made the LoRA phase's device time 4x the full phase's on the
// H200), and the in-order sum of those partials. With an adapter, W is the merged weight
// W + s A B, made each step by launches of its own (several adapters a launch in the
// compiled step) or, op by op, as the products load it: the forward and the input
// gradient are then plain products, and workgroups of their own in the same launches sum the thin
// side product (x A, or s dy B^T) that the adapter's gradients need. With GELU, the
// kernels that read dy read dg * gelu'(u) instead, so the pre-activation gradient is
// never written out.
import { gemmLoop, gemmThreads, GEMM_TILE, forEachOutput, gemmWgsl, sideThenTileMain, stagedAt, stagedFloats, tileKey, tileMainOf, tilesOf, type GemmLayout, type GemmTile } from './gemm';
import { MAIN_ARGS, WID, jobBranches, makeKernel, memoKernel, type BindingSpec, type Kernel, type ParamSpec } from './kernel';
import type { SharedSum } from './shared-sums';
import { GELU_WGSL, inOrderSumWgsl } from './wgsl';

export interface LinearVariant {
  /** LoRA rank, 0 without an adapter */
  rank: number;
  /** GELU after the bias (fc1): forward writes u and gelu(u); backward reads dg and u */
  gelu: boolean;
}

const read = (name: string): BindingSpec => ({ name, access: 'read' });
const rw = (name: string): BindingSpec => ({ name, access: 'rw' });

/** dy as the backward kernels read it: the incoming gradient, or dg * gelu'(u) behind a GELU. */
function dyBindings(gelu: boolean): BindingSpec[] {
  return gelu ? [read('DG'), read('U')] : [read('DY')];
}
/** dy's float at `idx`, the arrays read by `at` (a float array's element, or a float of a vec4 array's). */
const dyLoad = (gelu: boolean, idx: string, at = (a: string, i: string) => `${a}[${i}]`) => (gelu ? `${at('DG', idx)} * geluGrad(${at('U', idx)})` : at('DY', idx));

/**
 * W' = W + s A B's element for W's row i and column j as mergeKernel sums it (the rank's
 * FMAs in order, then W + s acc), so the two ways of merging give the same floats: `a(r)`
 * and `b(r)` are A's [i, r] and B's [r, j] as WGSL expressions.
 */
const mergedElement = (w: string, a: (r: string) => string, b: (r: string) => string, scale = 'P.s') => `var macc = 0.0;
  for (var r = 0u; r < R; r++) { macc = fma(${a('r')}, ${b('r')}, macc); }
  return ${w} + ${scale} * macc;`;

/**
 * W' = W + s A B, the merged weight the forward and the input gradient read, for
 * `count` adapters of one rank in one launch. Bindings W, LA, LB, WM for each adapter
 * (suffixed 0, 1, ...); params first (its first workgroup), din, dout, s for each. One
 * thread per element; the rank's sum in order.
 * With the adapter's product in every tile's epilogue instead, and x A summed again by
 * every column of tiles, a LoRA step's forward and input gradient took 1.4x the full
 * step's (rank 8, tiny batch 128 on the H200: 3.0 vs 2.2 and 3.0 vs 2.0 ms), 1.6x at
 * rank 32. Merged (one call against that): 2.62 and 2.42 ms; the LoRA step 9.37 -> 9.04
 * ms on tiny, 33.4 -> 31.5 on small, at rank 32 12.0 -> 10.8 and 41.2 -> 36.8.
 * A launch per adapter took 0.30 ms of a tiny LoRA step at batch 128 and at batch 32
 * alike (36 launches, 24 of 144 workgroups and 12 of 576: the launches, not the FMAs);
 * four a launch, 0.09 ms.
 */
export function mergeKernel(rank: number, count = 1): Kernel {
  const key = `linear.lora-merge/r${rank}/x${count}`;
  const each = Array.from({ length: count }, (_, i) => i);
  return memoKernel(key, () => makeKernel({
    name: 'linear.lora-merge', key,
    bindings: each.flatMap((i) => [read(`W${i}`), read(`LA${i}`), read(`LB${i}`), rw(`WM${i}`)]),
    params: each.flatMap((i) => [
      { name: `first${i}`, type: 'u32' as const }, { name: `din${i}`, type: 'u32' as const },
      { name: `dout${i}`, type: 'u32' as const }, { name: `s${i}`, type: 'f32' as const },
    ]),
    body: `
const R = ${rank}u;
@compute @workgroup_size(256)
fn main(${MAIN_ARGS}) {
  ${WID}
  ${jobBranches(count, (i, w) => `merge${i}((${w}) * 256u + t);`)}
}
${each.map((i) => `fn merge${i}(e: u32) {
  if (e >= P.din${i} * P.dout${i}) { return; }
  let i = e / P.dout${i};
  let j = e % P.dout${i};
  WM${i}[e] = merged${i}(e, i, j);
}
fn merged${i}(e: u32, i: u32, j: u32) -> f32 {
  ${mergedElement(`W${i}[e]`, (r) => `LA${i}[i * R + ${r}]`, (r) => `LB${i}[${r} * P.dout${i} + j]`, `P.s${i}`)}
}`).join('\n')}`,
  }));
}

/** The forward's staged layout: x along k, W along n, x A as the side product (A along its columns); on `tile` (GEMM_TILE where absent). */
export const forwardLayout = (rank: number, merged = false, tile?: GemmTile): GemmLayout => ({
  aAlongK: true, bAlongN: true, side: rank ? { rank, lAlongJ: true } : undefined, merged: merged && rank ? { rank } : undefined, tile,
});

/**
 * The input gradient's staged layout: dy along k, W read transposed, s dy B^T as the side
 * product; with a rider of rank `riderRank`, at least the staged area its thin gradients use.
 */
export const inputGradLayout = (rank: number, merged = false, riderRank = 0, tile?: GemmTile): GemmLayout => ({
  aAlongK: true, bAlongN: false, side: rank ? { rank, lAlongJ: false } : undefined, merged: merged && rank ? { rank } : undefined,
  staged: riderRank ? stagedFloats(weightGradLayout(riderRank)) : undefined, tile,
});

/** A frozen-base adapter's thin gradients riding in another launch: its rank, and whether its dy is taken through a GELU. */
export interface ThinRider { rank: number; gelu: boolean }


/**
 * Bindings: X, W (with an adapter the merged W + s A B, or with `merged` the base W),
 * Bias, [RES], [LA], [LB with `merged`], then Y or (U, G), [XA]. Params M (rows), N
 * (out), K (in), [s with `merged`]. With an adapter, workgroups ahead of the product's
 * tiles write x A (the side product, unscaled), which the weight gradient of B reads.
 * `merged`: W + s A B is made as the tiles load it (B's columns of the tile staged once):
 * no merge launch, at the cost of making each element again for every row of tiles.
 */
export function forwardKernel(v: LinearVariant & { residual: boolean; merged?: boolean; tile?: GemmTile }): Kernel {
  const merged = !!v.merged && v.rank > 0;
  const tile = v.tile ?? GEMM_TILE;
  const key = `linear.forward/${tileKey(tile)}/r${v.rank}/${v.gelu ? 'gelu' : 'id'}/${v.residual ? 'res' : 'nores'}${merged ? '/merged' : ''}`;
  return memoKernel(key, () => {
    const R = v.rank;
    const bindings = [read('X'), read('W'), read('Bias')];
    if (v.residual) bindings.push(read('RES'));
    if (R) bindings.push(read('LA'));
    if (merged) bindings.push(read('LB'));
    bindings.push(...(v.gelu ? [rw('U'), rw('G')] : [rw('Y')]));
    if (R) bindings.push(rw('XA'));
    const store = v.gelu ? 'U[m * N + n] = o; G[m * N + n] = gelu(o);' : 'Y[m * N + n] = o;';
    const loadB = merged
      ? `fn loadF(j: u32, n: u32) -> f32 { return LB[j * P.N + n]; }
fn loadB(k: u32, n: u32) -> f32 {
  ${mergedElement('W[k * P.N + n]', (r) => `LA[k * R + ${r}]`, (r) => `factorAt(${r}, n)`)}
}`
      : 'fn loadB(k: u32, n: u32) -> f32 { return W[k * P.N + n]; }';
    const params = [{ name: 'M', type: 'u32' }, { name: 'N', type: 'u32' }, { name: 'K', type: 'u32' }] as const;
    const layout = forwardLayout(R, merged, tile);
    const body = `${v.gelu ? GELU_WGSL : ''}
${gemmWgsl(layout)}
fn loadA(m: u32, k: u32) -> f32 { return X[m * P.K + k]; }
${loadB}
${R ? 'fn loadL(k: u32, j: u32) -> f32 { return LA[k * R + j]; }' : ''}
@compute @workgroup_size(${gemmThreads(tile)})
fn main(${MAIN_ARGS}) {
  ${R ? sideThenTileMain('XA[m * R + j] = v;', layout) : tileMainOf(layout)}
  ${forEachOutput(`var o = v + Bias[n];
      ${v.residual ? 'o = o + RES[m * N + n];' : ''}
      ${store}`, layout)}
}`;
    return makeKernel({
      name: 'linear.forward', key, bindings, body,
      params: merged ? [...params, { name: 's', type: 'f32' }] : [...params],
    });
  });
}

/**
 * dx = dy W^T (W the merged weight with an adapter, whose launch also writes dxa = s dy
 * B^T in workgroups ahead of the product's tiles; with `merged` the base W, the merged
 * weight made as it is loaded, A's rows of the tile staged). Bindings: DY | (DG, U), W,
 * [LA with `merged`], [LB], [GU], DX, [DXA]. Params M (rows), N (in), K (out), s.
 * `accumulate`: DX is added to, not written (the compiled step sums the query's, key's
 * and value's input gradients so, in the order the tape adds them).
 * `geluOut`: the input is the GELU of GU (fc2's input is fc1's output): DX is the
 * gradient before that GELU, dx * gelu'(GU), made once here. Read by fc1's kernels as dg
 * times gelu'(u), it was made again for every tile that loads it (6 times per element for
 * fc1's input gradient and 6 for its weight gradient at small's width).
 * `rider`: another linear's frozen-base thin gradients (weightGradKernel's dA and dB
 * partials, the same block: thinGradBlock) in workgroups after this launch's own, from `ride_first`;
 * its bindings and params follow these, prefixed `ride_` (weightGradBindings). Ahead of
 * the launch's own workgroups instead, a LoRA step at tiny b128 took 6.25 -> 6.65 ms, its input gradients'
 * launches 2.54 -> 2.87 (small 20.91 -> 21.65; H200, Node + Dawn, one call, the same floats).
 */
export function inputGradKernel(v: LinearVariant & { geluOut?: boolean; merged?: boolean; accumulate?: boolean; rider?: ThinRider; tile?: GemmTile }): Kernel {
  const merged = !!v.merged && v.rank > 0;
  const ride = v.rider;
  const tile = v.tile ?? GEMM_TILE;
  if (ride && gemmThreads(tile) !== gemmThreads()) throw new Error('linear: a rider\'s thin gradients need a host of GEMM_TILE\'s threads');
  const key = `linear.input-grad/${tileKey(tile)}/r${v.rank}/${v.gelu ? 'gelu' : 'id'}${v.geluOut ? '/gelu-out' : ''}${merged ? '/merged' : ''}${v.accumulate ? '/acc' : ''}${ride ? `/ride-r${ride.rank}-${ride.gelu ? 'gelu' : 'id'}-t${THIN_GRAD.lanes}x${THIN_GRAD.unroll}` : ''}`;
  return memoKernel(key, () => {
    const R = v.rank;
    const bindings = [...dyBindings(v.gelu), read('W')];
    if (merged) bindings.push(read('LA'));
    if (R) bindings.push(read('LB'));
    if (v.geluOut) bindings.push(read('GU'));
    bindings.push(rw('DX'));
    if (R) bindings.push(rw('DXA'));
    if (ride) bindings.push(...weightGradBindings(ride, RIDE));
    const layout = inputGradLayout(R, merged, ride?.rank, tile);
    const body = `${v.gelu || v.geluOut || ride?.gelu ? GELU_WGSL : ''}
${gemmWgsl(layout)}
fn loadA(m: u32, k: u32) -> f32 { return ${dyLoad(v.gelu, 'm * P.K + k')}; }
${merged
    ? `fn loadF(j: u32, n: u32) -> f32 { return LA[n * R + j]; }
fn loadB(k: u32, n: u32) -> f32 {
  ${mergedElement('W[n * P.K + k]', (r) => `factorAt(${r}, n)`, (r) => `LB[${r} * P.K + k]`)}
}`
    : 'fn loadB(k: u32, n: u32) -> f32 { return W[n * P.K + k]; }'}
${R ? 'fn loadL(k: u32, j: u32) -> f32 { return LB[j * P.K + k]; }' : ''}
@compute @workgroup_size(${gemmThreads(tile)})
fn main(${MAIN_ARGS}) {
  ${ride ? `{
    // the rider's workgroups come after this launch's own
    let rid = wg.x + wg.y * nwg.x;
    if (rid >= P.${RIDE}first) {
      let rw = rid - P.${RIDE}first;
      ${partMappingWgsl(ride.rank, false, RIDE, 'rw')}
      if (q >= 2u) ${thinGradBlock(ride.rank, ride.gelu, RIDE)}
      return;
    }
  }` : ''}
  ${R ? sideThenTileMain('DXA[m * R + j] = P.s * v;', layout) : tileMainOf(layout)}
  ${forEachOutput(v.geluOut ? 'DX[m * N + n] = v * geluGrad(GU[m * N + n]);' : v.accumulate ? 'DX[m * N + n] = DX[m * N + n] + v;' : 'DX[m * N + n] = v;', layout)}
}`;
    const params: ParamSpec[] = [{ name: 'M', type: 'u32' }, { name: 'N', type: 'u32' }, { name: 'K', type: 'u32' }, { name: 's', type: 'f32' }];
    if (ride) params.push({ name: `${RIDE}first`, type: 'u32' }, ...WEIGHT_GRAD_PARAMS.map((name) => ({ name: `${RIDE}${name}`, type: 'u32' as const })));
    return makeKernel({ name: 'linear.input-grad', key, bindings, body, params });
  });
}

/** The sub-problems of a weight gradient, in the order of the partial sums' layout. */
export function weightGradParts(v: LinearVariant & { base: boolean }, dIn: number, dOut: number): WeightGradPart[] {
  const out: WeightGradPart[] = [];
  if (v.base) out.push({ name: 'dW', m: dIn, n: dOut }, { name: 'db', m: 1, n: dOut });
  if (v.rank) out.push({ name: 'dA', m: dIn, n: v.rank }, { name: 'dB', m: v.rank, n: dOut });
  return out;
}

/**
 * How the adapter's thin gradients dA = x^T dxa and dB = (x A)^T dy share a workgroup's
 * threads: `lanes` threads a column, each summing every lanes-th row of the split, their
 * sums then added in lane order; `unroll` rows' loads issued before their FMAs
 * (`npm run bench -- --thin-grad LANES/UNROLL`). At tiny batch 32 a thread a column left
 * 64 workgroups for 132 SMs: two lanes and eight loads, the thin gradients 0.666 -> 0.538
 * ms a LoRA step (the step 3.45 -> 3.29 ms); at batch 128, where 260 workgroups already
 * ran, 0.764 -> 0.780 on tiny and 1.403 -> 1.386 on small, within the noise; 4/8, 4/4,
 * 8/8 and 4/16 no better anywhere (H200, one call: the twelfth session's thin-grad results).
 * Riding four columns a thread on vec4 loads (the same sums in the same order, a quarter
 * of the loads and staged reads), fewer and longer workgroups ended their hosts' launches
 * later at batch 128: a LoRA step at tiny b128 5.97 -> 6.15-6.32 ms (6.06-6.17 split for
 * as many workgroups as now), small level, tiny b32 2.67-2.71 -> 2.60-2.69 (H200, the
 * thirty-fifth session's results).
 */
export const THIN_GRAD = { lanes: 2, unroll: 8 };

/**
 * The thin-gradient setting a tuning run may set, written `LANES/UNROLL`, checked: lanes
 * a power of two that leaves a workgroup at least 32 columns, unroll 1 to 16.
 */
export function parseThinGrad(text: string): typeof THIN_GRAD | string {
  const m = /^(\d{1,3})\/(\d{1,2})$/.exec(text);
  if (!m) return `--thin-grad: write LANES/UNROLL, e.g. 4/8 (got "${text.slice(0, 40)}")`;
  const [lanes, unroll] = [Number(m[1]), Number(m[2])];
  if (lanes < 1 || lanes & (lanes - 1) || gemmThreads() / lanes < 32) return `--thin-grad: lanes a power of two from 1 to ${gemmThreads() / 32} (got ${lanes})`;
  if (unroll < 1 || unroll > 16) return `--thin-grad: unroll from 1 to 16 (got ${unroll})`;
  return { lanes, unroll };
}

/** Columns of x or dy a thin-gradient workgroup covers. */
const thinColumns = () => gemmThreads() / THIN_GRAD.lanes;

/** The sub-problems of the weight-gradient launch, in workgroup order. */
const WEIGHT_GRAD_PARTS = ['dW', 'db', 'dA', 'dB'] as const;
type WeightGradPart = { name: (typeof WEIGHT_GRAD_PARTS)[number]; m: number; n: number };

/**
 * Workgroups of one sub-problem in one split: 64x64 tiles for dW, a row of column tiles
 * for the bias, and for the adapter's thin dA [din, rank] and dB [rank, dout] a
 * workgroup per thinColumns() columns of x or dy (a column per THIN_GRAD.lanes threads; 64x64 tiles there
 * left 7 of 8 columns or rows empty at rank 8, and that was 3.3 of a tiny LoRA step's
 * 20.7 ms on the H200, for 1/8 of the FMAs). The launch is sized from these and the
 * kernel maps a workgroup to its sub-problem with the same counts (params c0..c3).
 */
function partWorkgroups(p: WeightGradPart): number {
  const { TM, TN } = GEMM_TILE;
  switch (p.name) {
    case 'dW': return Math.ceil(p.m / TM) * Math.ceil(p.n / TN);
    case 'db': return Math.ceil(p.n / TN);
    case 'dA': return Math.ceil(p.m / thinColumns());
    case 'dB': return Math.ceil(p.n / thinColumns());
  }
}

/** Workgroups of each sub-problem per split, in WEIGHT_GRAD_PARTS order (0 where absent). */
export function weightGradCounts(parts: WeightGradPart[]): number[] {
  return WEIGHT_GRAD_PARTS.map((name) => {
    const p = parts.find((q) => q.name === name);
    return p ? partWorkgroups(p) : 0;
  });
}

/** Workgroups of one split of the weight-gradient launch. */
export function weightGradWorkgroups(parts: WeightGradPart[]): number {
  return weightGradCounts(parts).reduce((a, b) => a + b, 0);
}

/**
 * The thin weight gradients' sums of a thread: R accumulators, each row adding y times
 * the staged row of the thin factor. With R a multiple of 4 they are vec4s read from the
 * staged rows as vec4s (same sums, in the same order): one shared load per FMA made a
 * rank-32 LoRA step's weight gradients cost more than the full step's (3.5 vs 2.6 ms at
 * tiny batch 128 on the H200). A LoRA step at batch 128, H200, one call: rank 32 13.6 ->
 * 12.0 ms on tiny, 45.6 -> 41.2 on small; rank 8 9.63 -> 9.44 and 34.2 -> 33.3.
 */
function thinSums(R: number): { decl: string; fma: (y: string, row: string) => string; get: string } {
  if (R % 4) {
    return {
      decl: `var tacc: array<f32, ${R}u>;\n    for (var j = 0u; j < ${R}u; j++) { tacc[j] = 0.0; }`,
      fma: (y, row) => `for (var j = 0u; j < ${R}u; j++) { let p = (${row}) * ${R}u + j; tacc[j] = fma(${y}, ${stagedAt('p')}, tacc[j]); }`,
      get: 'tacc[j]',
    };
  }
  const RV = R / 4;
  return {
    decl: `var tacc: array<vec4<f32>, ${RV}u>;\n    for (var j = 0u; j < ${RV}u; j++) { tacc[j] = vec4<f32>(0.0); }`,
    fma: (y, row) => `for (var j = 0u; j < ${RV}u; j++) { tacc[j] = fma(vec4<f32>(${y}), AB[(${row}) * ${RV}u + j], tacc[j]); }`,
    get: 'tacc[j / 4u][j % 4u]',
  };
}

/**
 * The weight-gradient kernel's staged area: the dW tiles, and at least 16 rows of the
 * adapter's thin factor for dA and dB (a row per barrier would be all barriers).
 */
export const weightGradLayout = (rank: number, vec4 = false): GemmLayout => ({ aAlongK: false, bAlongN: true, staged: 16 * rank, vec4 });

/**
 * Where a trained base's weight gradient loads x and dy as vec4s: behind a GELU (`gelu`;
 * dy = dg gelu'(u), two arrays read for each float) and where dW has at least `minTiles`
 * GEMM_TILE tiles (64x64). Both are stored along the dW tile's own axes, so four floats load and
 * stage as one, the same floats summed in the same order. Measured on the H200 in the
 * step (Node + Dawn, 80 steps, every launch timed, one call, two runs each), us a launch,
 * with BIAS_UNROLL: with this rule small's fc1 406 -> 356 and fc2 405 -> 363, small's
 * step 29.44 -> 28.72-28.76 ms; with every such dW on vec4s (the call before) small's
 * attention linears (36 tiles) went 113 -> 118, tiny's fc2 (36) 111 -> 114 and its
 * projection and value (9) 41 -> 43. Timed alone, most of those shapes ran 1.06-1.15x
 * faster on vec4s (384 x 384 0.94x): x and dy left in the L2 cache by the launch
 * before, we think, where in the step they come from memory. A trained base's weight
 * gradient with sides of 128 and more now runs on a named tile (named-wgrad.ts): this
 * rule serves the rest.
 */
export const WGRAD_VEC4 = { gelu: true, minTiles: 144 };

/** Whether a linear's weight-gradient launch loads as vec4s (WGRAD_VEC4; a trained base without an adapter, din and dout multiples of 4). */
export const weightGradVec4 = (v: { rank: number; base: boolean; gelu: boolean }, dIn: number, dOut: number) =>
  v.base && !v.rank && dIn % 4 === 0 && dOut % 4 === 0 && ((WGRAD_VEC4.gelu && v.gelu) || tilesOf(dIn, dOut, GEMM_TILE) >= WGRAD_VEC4.minTiles);

/** The prefix of a rider's bindings and params in its host's launch. */
const RIDE = 'ride_';

/** The weight gradient's parameters, in order (a rider's carry a prefix). */
const WEIGHT_GRAD_PARAMS = ['rows', 'din', 'dout', 'splits', 'rowsPerSplit', 'total', 'c0', 'c1', 'c2', 'c3'] as const;

/**
 * A linear's weight-gradient bindings under a prefix: X, DY | (DG, U), [XA, DXA], PART
 * (a rider's are `ride_X` ..., beside its host's own).
 */
function weightGradBindings(v: LinearVariant & { vec4?: boolean }, pre = ''): BindingSpec[] {
  // x and dy as vec4s for weightGradVec4's loads
  const input = (name: string): BindingSpec => ({ ...read(`${pre}${name}`), ...(v.vec4 ? { type: 'vec4<f32>' } : {}) });
  const bindings = [input('X'), ...(v.gelu ? [input('DG'), input('U')] : [input('DY')])];
  if (v.rank) bindings.push(read(`${pre}XA`), read(`${pre}DXA`));
  bindings.push(rw(`${pre}PART`));
  return bindings;
}

/**
 * Statements that map workgroup `wid` of a weight-gradient launch to its sub-problem `q`
 * (0 dW, 1 db, 2 dA, 3 dB), its workgroup `w` within it, its split's rows `kBegin` ..
 * `kEnd`, the sub-problem's `M` x `N` and where its partials go (`base`), returning past
 * the launch's workgroups. Inline in \`main\` (as a function returning a struct it made the
 * full step's weight gradients 1-2% slower on the H200).
 */
function partMappingWgsl(R: number, base: boolean, pre: string, wid: string): string {
  const p = (name: string) => `P.${pre}${name}`;
  return `// sizes and offsets of the sub-problems present (0 where absent)
  var ms = array<u32, 4>(${base ? `${p('din')}, 1u` : '0u, 0u'}, ${R ? `${p('din')}, ${R}u` : '0u, 0u'});
  var ns = array<u32, 4>(${base ? `${p('dout')}, ${p('dout')}` : '0u, 0u'}, ${R ? `${R}u, ${p('dout')}` : '0u, 0u'});
  var counts = array<u32, 4>(${p('c0')}, ${p('c1')}, ${p('c2')}, ${p('c3')});
  var offs = array<u32, 4>(0u, ms[0] * ns[0], ms[0] * ns[0] + ns[1], ms[0] * ns[0] + ns[1] + ms[2] * ns[2]);
  let perSplit = counts[0] + counts[1] + counts[2] + counts[3];
  if (${wid} >= perSplit * ${p('splits')}) { return; }
  let split = ${wid} / perSplit;
  var w = ${wid} % perSplit;
  var q = 0u;
  loop {
    if (q >= 3u || w < counts[q]) { break; }
    w -= counts[q];
    q++;
  }
  let kBegin = split * ${p('rowsPerSplit')};
  let kEnd = min(${p('rows')}, kBegin + ${p('rowsPerSplit')});
  let M = ms[q]; let N = ns[q];
  let base = split * ${p('total')} + offs[q];`;
}

/**
 * A block for \`main\` (its t, q, w, kBegin, kEnd and base): workgroup w's columns of the
 * adapter's thin gradients (q 2: dA, 3: dB) over rows kBegin..kEnd, their partials stored
 * at PART[base ..] as [rank, columns]. Bindings and params are read under the prefix, so
 * the same block runs in the weight-gradient launch and riding in another launch. Its
 * staged area is the weight-gradient kernel's (a host kernel must stage at least as
 * much). Written into \`main\`, as C's K loop is (gemmLoop), not called as a function.
 */
function thinGradBlock(R: number, gelu: boolean, pre: string): string {
  const p = (name: string) => `P.${pre}${name}`;
  const staged = stagedFloats(weightGradLayout(R));
  // rows of the thin factor (dxa or x A) staged at a time for dA and dB
  const CH = Math.min(64, Math.floor(staged / R));
  const { lanes: TL, unroll: TU } = THIN_GRAD;
  // rank entries of every thread's sums the staged area holds at once, for the lane sums
  const JC = Math.max(1, Math.floor(staged / gemmThreads()));
  const CW = gemmThreads() / TL;
  const dy = dyLoad(gelu, `k * ${p('dout')} + n`, (a, i) => `${pre}${a}[${i}]`);
  const thin = thinSums(R);
  return `
{
  // dA[c, j] = sum_k x[k, c] dxa[k, j], or dB[j, c] = sum_k (x A)[k, j] dy[k, c]: the
  // ${TL} threads of column c (lanes) sum every ${TL}-th row against the thin factor's
  // rows, staged ${CH} at a time, then their sums are added in lane order
  let C = select(${p('dout')}, ${p('din')}, q == 2u);
  let c = w * ${CW}u + t % ${CW}u;
  let lane = t / ${CW}u;
  ${thin.decl}
  for (var k0 = kBegin; k0 < kEnd; k0 += ${CH}u) {
    let kn = min(${CH}u, kEnd - k0);
    for (var i = 0u; i < ${Math.ceil((CH * R) / gemmThreads())}u; i++) {
      let e = t + i * NT;
      if (e < kn * ${R}u) {
        let k = k0 + e / ${R}u;
        if (q == 2u) { ${stagedAt('e')} = ${pre}DXA[k * ${R}u + e % ${R}u]; } else { ${stagedAt('e')} = ${pre}XA[k * ${R}u + e % ${R}u]; }
      }
    }
    workgroupBarrier();
    if (c < C) {
      // ${TU} rows' loads issued before their FMAs, in the same order of sums: with one
      // load in flight at a time the thread waited on memory (a LoRA step's weight
      // gradients, rank 8, batch 128 on the H200: tiny 1.51 -> 0.79 ms with four, small 3.0 -> 2.4)
      // counted from 0 by 1 to a constant, so that Dawn's robustness pass can bound this
      // loop's staged rows and clamps none of them (the rows left after it, in a partial
      // chunk only, still are): with the staging above counted too, a LoRA step's input
      // gradients with riders 2.66 -> 2.63 ms at tiny b128 (H200, one call; the rows and
      // sums as before)
      var next = lane;
      for (var i = 0u; i < ${Math.ceil(CH / (TU * TL))}u; i++) {
        let kk = lane + i * ${TU * TL}u;
        if (kk + ${(TU - 1) * TL}u >= kn) { break; }
        next = kk + ${TU * TL}u;
        var y: array<f32, ${TU}>;
        for (var u = 0u; u < ${TU}u; u++) {
          let k = k0 + kk + u * ${TL}u;
          if (q == 2u) { y[u] = ${pre}X[k * ${p('din')} + c]; } else { let n = c; y[u] = ${dy}; }
        }
        for (var u = 0u; u < ${TU}u; u++) {
          ${thin.fma('y[u]', `kk + u * ${TL}u`)}
        }
      }
      for (var kk = next; kk < kn; kk += ${TL}u) {
        let k = k0 + kk;
        var y = 0.0;
        if (q == 2u) { y = ${pre}X[k * ${p('din')} + c]; } else { let n = c; y = ${dy}; }
        ${thin.fma('y', 'kk')}
      }
    }
    workgroupBarrier();
  }
  // both thin partials as [rank, columns], so a warp's stores are adjacent (the sum
  // transposes dA). With dA's as [din, rank], a warp's stores rank floats apart, a
  // LoRA step's weight gradients took 1.95 ms instead of 1.41 at tiny batch 128, rank
  // 32, and 4.34 instead of 3.35 on small (the step 10.38 vs 9.90 and 32.68 vs 31.70;
  // H200, one call, exact timestamps)
  for (var j0 = 0u; j0 < ${R}u; j0 += ${JC}u) {
    let jn = min(${R}u, j0 + ${JC}u);
    for (var j = j0; j < jn; j++) { sset((j - j0) * NT + t, ${thin.get}); }
    workgroupBarrier();
    if (lane == 0u && c < C) {
      for (var j = j0; j < jn; j++) {
        var total = 0.0;
        for (var l = 0u; l < ${TL}u; l++) { total += sget((j - j0) * NT + l * ${CW}u + t); }
        ${pre}PART[base + j * C + c] = total;
      }
    }
    workgroupBarrier();
  }
}`;
}

/**
 * Rows of dy a bias lane loads before it sums them, the sums in the same order. One at a
 * time, each waited on memory: a split of 640 rows (small's attention linears) was a
 * chain of 160 loads for each of a column's 4 lanes. H200, the step (the same call as
 * WGRAD_VEC4's rule), us a launch on the float loads: small's attention linears 112 ->
 * 109, tiny's fc2 111 -> 106.
 */
const BIAS_UNROLL = 8;

/**
 * Split-K partial sums of every weight gradient of one linear in one launch.
 * Bindings: X, DY | (DG, U), [XA, DXA], PART. Params rows, din, dout, splits, rowsPerSplit,
 * total, then c0..c3 (weightGradCounts).
 * Workgroup w: split w / perSplit, then sub-problem tiles in layout order; the bias is a
 * column sum over the split's rows, not a 1-row tile of the product.
 */
export function weightGradKernel(v: LinearVariant & { base: boolean; vec4?: boolean }): Kernel {
  if (v.vec4 && (!v.base || v.rank)) throw new Error('linear: only a trained base without an adapter loads its weight gradient as vec4s');
  const key = `linear.weight-grad/${tileKey()}/r${v.rank}/${v.gelu ? 'gelu' : 'id'}/${v.base ? 'base' : 'frozen'}/t${THIN_GRAD.lanes}x${THIN_GRAD.unroll}${v.vec4 ? '/v4' : ''}`;
  return memoKernel(key, () => {
    const R = v.rank;
    const { TN } = GEMM_TILE;
    const lanes = gemmThreads() / TN;
    const layout = weightGradLayout(R, v.vec4);
    const loads = v.vec4
      ? `fn loadA4(m: u32, k: u32) -> vec4<f32> { return X[(k * P.din + m) / 4u]; }
fn loadB4(k: u32, n: u32) -> vec4<f32> {
  let i = (k * P.dout + n) / 4u;
  ${v.gelu ? 'let u = U[i]; return DG[i] * vec4<f32>(geluGrad(u.x), geluGrad(u.y), geluGrad(u.z), geluGrad(u.w));' : 'return DY[i];'}
}
fn loadB(k: u32, n: u32) -> f32 {
  let i = k * P.dout + n;
  return ${dyLoad(v.gelu, 'i', (a, i) => `${a}[${i} / 4u][${i} % 4u]`)};
}`
      : `fn loadA(m: u32, k: u32) -> f32 { return X[k * P.din + m]; }
fn loadB(k: u32, n: u32) -> f32 { return ${dyLoad(v.gelu, 'k * P.dout + n')}; }`;
    const body = `${v.gelu ? GELU_WGSL : ''}
${gemmWgsl(layout)}
${loads}
@compute @workgroup_size(${gemmThreads()})
fn main(${MAIN_ARGS}) {
  ${WID}
  ${partMappingWgsl(R, v.base, '', 'wid')}
  let tilesN = (N + TN - 1u) / TN;
  let m0 = (w / tilesN) * TM;
  let n0 = (w % tilesN) * TN;
  if (q == 1u) {
    // the bias: column sums of dy over the split's rows, ${lanes} lanes per column
    let c = t % TN;
    let lane = t / TN;
    var s = 0.0;
    if (n0 + c < N) {
      ${inOrderSumWgsl('s', 'kBegin + lane', `${lanes}u`, 'kEnd', BIAS_UNROLL, (k) => `loadB(${k}, n0 + c)`)}
    }
    sset(t, s);
    workgroupBarrier();
    if (lane == 0u && n0 + c < N) {
      var total = 0.0;
      for (var l = 0u; l < ${lanes}u; l++) { total += sget(l * TN + c); }
      PART[base + n0 + c] = total;
    }
    return;
  }
  ${R ? `if (q >= 2u) {
    ${thinGradBlock(R, v.gelu, '')}
    return;
  }` : ''}
  ${gemmLoop(layout, 'kBegin', 'kEnd')}
  ${forEachOutput('PART[base + m * N + n] = v;', layout)}
}`;
    return makeKernel({
      name: 'linear.weight-grad', key, bindings: weightGradBindings(v), body,
      params: WEIGHT_GRAD_PARAMS.map((name) => ({ name, type: 'u32' as const })),
    });
  });
}

/**
 * How a linear's weight gradients are stored from their split partials (shared-sums.ts,
 * which sums them in split order on lanes of their own): a trained base's dW then db,
 * an adapter's dA transposed from its [rank, din] partials (see the weight-gradient
 * kernel) and dB = s (x A)^T dy. Params din, dout, rank, s of each linear.
 */
function linearSums(name: string, base: boolean, adapter: boolean): SharedSum {
  const dA = (i: number, j: string) => `DA${i}[(${j} % P.din${i}) * P.rank${i} + ${j} / P.din${i}]`;
  const stores = (i: number) => {
    const out: string[] = [];
    if (base) out.push(`let dw = P.din${i} * P.dout${i};`, `if (e < dw) { DW${i}[e] = total; return; }`, `if (e < dw + P.dout${i}) { DBIAS${i}[e - dw] = total; return; }`);
    const lo = base ? `(P.din${i} + 1u) * P.dout${i}` : '0u';
    if (adapter) out.push(`let j = e - ${lo};`, `let dA = P.din${i} * P.rank${i};`, `if (j < dA) { ${dA(i, 'j')} = total; } else { DB${i}[j - dA] = P.s${i} * total; }`);
    return out.join('\n    ');
  };
  return {
    name, variant: `${base ? 'base' : 'frozen'}${adapter ? '-lora' : ''}`,
    outputs: [...(base ? ['DW', 'DBIAS'] : []), ...(adapter ? ['DA', 'DB'] : [])],
    extra: [{ name: 'din', type: 'u32' }, { name: 'dout', type: 'u32' }, { name: 'rank', type: 'u32' }, { name: 's', type: 'f32' }],
    store: stores,
  };
}

const BASE_SUMS = linearSums('linear.weight-grad-sum', true, false);
const JOINT_SUMS = linearSums('linear.weight-grad-sum', true, true);
const FROZEN_SUMS = linearSums('linear.weight-grad-sum', false, true);

/** The sums of one linear's weight gradients, a launch of its own: a trained base, with its adapter or not, or a frozen base's adapter. */
export const weightGradSums = (v: { base: boolean; rank: number }): SharedSum => (v.base ? (v.rank ? JOINT_SUMS : BASE_SUMS) : FROZEN_SUMS);

/**
 * The frozen-base adapters' gradient sums, several linears a launch (the compiled step
 * leaves them to shared launches): the same stores as a frozen base's own sum launch.
 */
export const ADAPTER_SUMS: SharedSum = linearSums('linear.adapter-grad-sum', false, true);
