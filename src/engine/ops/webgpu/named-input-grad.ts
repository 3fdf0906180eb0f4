// A trained linear's input gradient, dx = dy W^T, on the named forward's tile over W's
// transposed copy: dy [M, dout] times WT [dout, din] is the forward's product (namedProduct,
// each output's k summed in order from 0, as every input-gradient kernel sums them, so
// the same floats), where the input-gradient kernels read W across its rows. The compiled
// step makes the copies ahead of its forward, several weights a launch (transposeKernel);
// op by op there is no copy and the input gradient keeps its tile.
import { GELU_WGSL } from './wgsl';
import { tileKey, tilesOf } from './gemm';
import { MAIN_ARGS, WID, inLaunches, jobBranches, jobParams, makeKernel, memoKernel, type Dispatch, type Kernel } from './kernel';
import { NAMED_FORWARD_TILE, namedProduct } from './named-forward';
import { namedStores, vec4Binding as vec4 } from './named-tile';

/**
 * Which input gradients take the named tile in the compiled step: a trained base's
 * without an adapter, K (dout) and N (din) multiples of 4, N at least `minN`, at least
 * `minTiles` tiles and K at most `maxK` (`--input-grad-named MINN/MINTILES/MAXK|off`).
 * In the step (H100, Node + Dawn, one call, us a launch against the tiles they had): at
 * small b128 the query's and key's (K 384, adding to dx) 116 -> 82, the value's and
 * output projection's 90-91 -> 86-87, fc2's (K 384, N 1,536) 320 -> 284, but fc1's (K
 * 1,536, N 384) 292 -> 312 (as the thirty-second session's microbenchmarks had it: the
 * wide tile stays); tiny b128's fc2 (780 tiles) 109 -> 90, at b32 (198 tiles) 40.3-40.5
 * -> 40.4-40.7 (two calls, the mean over the blocks) with the copies' launch to pay. The
 * copies: 0.10 ms of launches for small's 40 kept weights (0.13 for all 48), 0.016 at tiny.
 */
export const NAMED_INPUT_GRAD = { on: true, minN: 384, minTiles: 256, maxK: 768 };

/** The named input gradients' setting a tuning run may set, written `MINN/MINTILES/MAXK` or `off`, checked. */
export function parseNamedInputGrad(text: string): typeof NAMED_INPUT_GRAD | string {
  if (text === 'off') return { ...NAMED_INPUT_GRAD, on: false };
  const m = /^(\d{1,5})\/(\d{1,6})\/(\d{1,6})$/.exec(text);
  if (!m) return `--input-grad-named: write MINN/MINTILES/MAXK (e.g. 384/256/768) or off (got "${text.slice(0, 40)}")`;
  return { on: true, minN: Number(m[1]), minTiles: Number(m[2]), maxK: Number(m[3]) };
}

/** Whether an input gradient over `rows` rows with K `dOut` and N `dIn` takes the named tile (given W's transposed copy). */
export function takesNamedInputGrad(rows: number, dOut: number, dIn: number): boolean {
  const { on, minN, minTiles, maxK } = NAMED_INPUT_GRAD;
  return on && dOut % 4 === 0 && dIn % 4 === 0 && dIn >= minN && dOut <= maxK && tilesOf(rows, dIn, NAMED_FORWARD_TILE) >= minTiles;
}

/** How dx is stored: written, added to what DX holds, or taken through the GELU of GU (fc2's input is fc1's output). */
export type NamedInputGradStore = 'write' | 'add' | 'gelu';

/**
 * dx = dy W^T on the named tile: bindings DY [M, K], WT [K, N] (W transposed), [GU
 * [M, N] with 'gelu'], DX [M, N], all vec4s; params M (rows), N (din), K (dout). The
 * stores are the input-gradient kernel's (linear-kernels.ts), four floats at a time.
 */
export function namedInputGradKernel(store: NamedInputGradStore): Kernel {
  const key = `linear.input-grad-named/${tileKey(NAMED_FORWARD_TILE)}/${store}`;
  return memoKernel(key, () => {
    const p = namedProduct('DY', 'WT');
    const at = (m: string, n: string) => `DX[(${m} * N + ${n}) / 4u]`;
    const gu = (m: string, n: string) => `GU[(${m} * N + ${n}) / 4u]`;
    const stores = namedStores(NAMED_FORWARD_TILE, (m, n, acc) => {
      if (store === 'add') return `${at(m, n)} = ${at(m, n)} + ${acc};`;
      if (store === 'write') return `${at(m, n)} = ${acc};`;
      return `let g = ${gu(m, n)}; ${at(m, n)} = ${acc} * vec4<f32>(geluGrad(g.x), geluGrad(g.y), geluGrad(g.z), geluGrad(g.w));`;
    });
    const body = `${store === 'gelu' ? GELU_WGSL : ''}
${p.shared}
@compute @workgroup_size(${p.threads})
fn main(${MAIN_ARGS}) {
  ${WID}
  let M = P.M; let N = P.N; let K = P.K;
  ${p.tile('wid')}
  ${stores}
}`;
    const bindings = [vec4('DY', 'read'), vec4('WT', 'read'), ...(store === 'gelu' ? [vec4('GU', 'read')] : []), vec4('DX', 'rw')];
    return makeKernel({ name: 'linear.input-grad', key, bindings, body, params: [{ name: 'M', type: 'u32' }, { name: 'N', type: 'u32' }, { name: 'K', type: 'u32' }] });
  });
}

/** Workgroups of a named input gradient over `rows` rows and N `dIn`. */
export const namedInputGradWorkgroups = (rows: number, dIn: number) => tilesOf(rows, dIn, NAMED_FORWARD_TILE);

/** A transpose's side: 32 x 32 elements a workgroup of 256 threads, staged with a float of padding a row. */
const T = 32;
const tilesOfWeight = (dIn: number, dOut: number) => Math.ceil(dIn / T) * Math.ceil(dOut / T);

/**
 * WT = W^T for `count` weights in one launch: bindings W, WT for each (suffixed 0, 1,
 * ...); params first (its first workgroup), din, dout for each. A workgroup reads a 32 x
 * 32 block of W along its rows and writes it to WT along WT's rows (both coalesced).
 */
export function transposeKernel(count: number): Kernel {
  const key = `linear.transpose/x${count}`;
  const each = Array.from({ length: count }, (_, i) => i);
  return memoKernel(key, () => makeKernel({
    name: 'linear.transpose', key,
    bindings: each.flatMap((i) => [{ name: `W${i}`, access: 'read' as const }, { name: `WT${i}`, access: 'rw' as const }]),
    params: each.flatMap((i) => [{ name: `first${i}`, type: 'u32' as const }, { name: `din${i}`, type: 'u32' as const }, { name: `dout${i}`, type: 'u32' as const }]),
    body: `
var<workgroup> S: array<f32, ${T * (T + 1)}>;
@compute @workgroup_size(256)
fn main(${MAIN_ARGS}) {
  ${WID}
  ${jobBranches(count, (i, w) => `transpose${i}(${w}, t);`)}
}
${each.map((i) => `fn transpose${i}(b: u32, t: u32) {
  let rows = P.din${i}; let cols = P.dout${i};
  let blocksN = (cols + ${T - 1}u) / ${T}u;
  let i0 = (b / blocksN) * ${T}u; let j0 = (b % blocksN) * ${T}u;
  let x = t % ${T}u; let y = t / ${T}u;
  for (var r = y; r < ${T}u; r += 8u) {
    if (i0 + r < rows && j0 + x < cols) { S[r * ${T + 1}u + x] = W${i}[(i0 + r) * cols + j0 + x]; }
  }
  workgroupBarrier();
  for (var r = y; r < ${T}u; r += 8u) {
    if (j0 + r < cols && i0 + x < rows) { WT${i}[(j0 + r) * rows + i0 + x] = S[x * ${T + 1}u + r]; }
  }
}`).join('\n')}`,
  }));
}

/** One weight's transposed copy: W [dIn, dOut] and WT [dOut, dIn]. */
export interface TransposeJob<B> { w: B; wt: B; dIn: number; dOut: number }

/** Weights a transpose launch takes on a device with `storageBuffers` storage buffers a stage (two buffers each). */
export const transposesPerLaunch = (storageBuffers: number) => Math.max(1, Math.floor(storageBuffers / 2));

/** The transposed copies of `jobs`, up to `perLaunch` weights a launch, in their order. */
export function transposeDispatches<B>(jobs: TransposeJob<B>[], perLaunch: number): Dispatch<B>[] {
  return inLaunches(jobs, perLaunch).map((group) => ({
    kernel: transposeKernel(group.length), buffers: group.flatMap((j) => [j.w, j.wt]),
    ...jobParams(group, (j) => tilesOfWeight(j.dIn, j.dOut), (j) => [j.dIn, j.dOut]),
  }));
}
