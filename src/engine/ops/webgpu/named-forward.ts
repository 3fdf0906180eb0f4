// A linear's forward without an adapter, y = x W + b (+ a residual) (GELU'd), on a 64 x
// 128 tile of 4 x 8 outputs a thread whose every register is a named variable and whose
// K slice is written out (named-tile.ts): the same FMAs in the same order as the GEMM
// tile's forward (each output sums its k in order, then the bias, the residual, the
// GELU), so the same floats, in less time where N is wide enough.
import { GELU_WGSL } from './wgsl';
import { tileKey, tilesOf, type GemmTile } from './gemm';
import { MAIN_ARGS, WID, makeKernel, memoKernel, type Kernel } from './kernel';
import { namedAccumulators, namedDims, namedKLoop, namedSliceSums, namedStores, vec4Binding as vec4 } from './named-tile';

/**
 * Which forwards take the named tile: no adapter, K and N multiples of 4 (x, W, the bias
 * and the output load and store as vec4s), N at least `minN` and at least `minTiles`
 * tiles (`--forward-named MINN/MINTILES|off`). Timed alone (H200, Node + Dawn, M 8,320,
 * us a launch, the thirty-second session's `best/` and `wide/`), against the tile the
 * step ran them on: small's attention linears (K and N 384) 78.5 -> 68.5 (71.0 with the
 * output projection's residual), fc1 (K 384, N 1,536) 289.1 -> 261.0 (272.2 with its
 * GELU), fc2 (K 1,536, N 384) 280.1 -> 260.6 (265.0 with its residual); tiny's fc1 (K
 * 192, N 768) 90.3 -> 69.7. Not where N is 192: tiny's fc2 (K 768) 117.9 -> 124.7, its
 * attention linears about level (27.2 -> 26.0). 128 x 128 tiles of 8 x 8 ran fc1 2%
 * faster, but with the staged A tile's padding they need more than the 16 KiB of
 * workgroup memory every device offers. At 2,080 rows (batch 32) the 4 x 4 tile keeps
 * products of fewer tiles, as the wide tile does (GEMM_WIDE).
 */
export const NAMED_FORWARD = { on: true, minN: 384, minTiles: 256 };

/** The named forwards' setting a tuning run may set, written `MINN/MINTILES` or `off`, checked. */
export function parseNamedForward(text: string): typeof NAMED_FORWARD | string {
  if (text === 'off') return { ...NAMED_FORWARD, on: false };
  const m = /^(\d{1,5})\/(\d{1,6})$/.exec(text);
  if (!m) return `--forward-named: write MINN/MINTILES (e.g. 384/256) or off (got "${text.slice(0, 40)}")`;
  return { on: true, minN: Number(m[1]), minTiles: Number(m[2]) };
}

/** The named forward's tile: 64 rows by 128 columns, K slices of 16, 4 x 8 a thread. */
export const NAMED_FORWARD_TILE: GemmTile = { TM: 64, TN: 128, TK: 16, RM: 4, RN: 8 };

/** Whether a forward over `rows` rows with K `k` and N `n`, without an adapter, takes the named tile. */
export function takesNamedForward(rows: number, k: number, n: number): boolean {
  const { on, minN, minTiles } = NAMED_FORWARD;
  return on && k % 4 === 0 && n % 4 === 0 && n >= minN && namedForwardWorkgroups(rows, n) >= minTiles;
}

/** Workgroups of a named forward over `rows` rows and N `n`: its tiles. */
export const namedForwardWorkgroups = (rows: number, n: number) => tilesOf(rows, n, NAMED_FORWARD_TILE);

/**
 * The kernel: bindings X, W, Bias, [RES], then Y or (U, G), as the GEMM tile's forward
 * without an adapter binds them, all as vec4s; params M (rows), N (out), K (in). A
 * thread loads four k of a row of x as a vec4 and stages them across four rows of the A
 * tile (k-major, a vec4 of padding a row: the four stores of a warp's threads spread
 * over the banks), and four n of a row of W as they are.
 */
export function namedForwardKernel(v: { gelu: boolean; residual: boolean }): Kernel {
  const tile = NAMED_FORWARD_TILE;
  const { TM, TN, TK } = tile;
  const key = `linear.forward-named/${tileKey(tile)}/${v.gelu ? 'gelu' : 'id'}/${v.residual ? 'res' : 'nores'}`;
  return memoKernel(key, () => {
    const { NT, TX, TY } = namedDims(tile);
    // vec4s a staged row: A's TM rows (and one of padding), B's TN columns
    const AW = TM / 4 + 1, BW = TN / 4, KQ = TK / 4;
    const LA = (TM * KQ) / NT, LB = (BW * TK) / NT;
    if (!Number.isInteger(LA) || !Number.isInteger(LB)) throw new Error(`named forward: no kernel for tile ${key}`);
    const decl = [namedAccumulators(tile)];
    for (let u = 0; u < LA; u++) decl.push(`var ra${u}: vec4<f32>;`);
    for (let u = 0; u < LB; u++) decl.push(`var rb${u}: vec4<f32>;`);
    // this thread's vec4s of the slice from k0: row m's k 4 kq .. 4 kq + 3 of x, row k's columns 4 q .. of W; 0 past the edges
    const fetch = (k0: string) => [
      ...Array.from({ length: LA }, (_, u) => `{ let e = t + ${u * NT}u; let m = e / ${KQ}u; let kq = e % ${KQ}u; ra${u} = vec4<f32>(0.0);
      if (m0 + m < M && ${k0} + 4u * kq < K) { ra${u} = X[((m0 + m) * K + ${k0} + 4u * kq) / 4u]; } }`),
      ...Array.from({ length: LB }, (_, u) => `{ let e = t + ${u * NT}u; let k = e / ${BW}u; let q = e % ${BW}u; rb${u} = vec4<f32>(0.0);
      if (${k0} + k < K && n0 + 4u * q < N) { rb${u} = W[((${k0} + k) * N + n0 + 4u * q) / 4u]; } }`),
    ].join('\n    ');
    const stage = [
      ...Array.from({ length: LA }, (_, u) => `{ let e = t + ${u * NT}u; let m = e / ${KQ}u; let kq = e % ${KQ}u;
      ${['x', 'y', 'z', 'w'].map((c, j) => `As[(4u * kq + ${j}u) * ${AW}u + m / 4u][m % 4u] = ra${u}.${c};`).join(' ')} }`),
      ...Array.from({ length: LB }, (_, u) => `Bs[t + ${u * NT}u] = rb${u};`),
    ].join('\n    ');
    const at = (m: string, n: string) => `(${m} * N + ${n}) / 4u`;
    const stores = namedStores(tile, (m, n, acc) => `var o = ${acc} + Bias[${n} / 4u];${v.residual ? ` o = o + RES[${at(m, n)}];` : ''}
      ${v.gelu ? `U[${at(m, n)}] = o; G[${at(m, n)}] = vec4<f32>(gelu(o.x), gelu(o.y), gelu(o.z), gelu(o.w));` : `Y[${at(m, n)}] = o;`}`);
    const body = `${v.gelu ? GELU_WGSL : ''}
const TX = ${TX}u; const TY = ${TY}u;
var<workgroup> As: array<vec4<f32>, ${AW * TK}>;
var<workgroup> Bs: array<vec4<f32>, ${BW * TK}>;
@compute @workgroup_size(${NT})
fn main(${MAIN_ARGS}) {
  ${WID}
  let M = P.M; let N = P.N; let K = P.K;
  let tilesN = (N + ${TN - 1}u) / ${TN}u;
  if (wid >= ((M + ${TM - 1}u) / ${TM}u) * tilesN) { return; }
  let m0 = (wid / tilesN) * ${TM}u;
  let n0 = (wid % tilesN) * ${TN}u;
  let tx = t % TX; let ty = t / TX;
  ${decl.join('\n  ')}
  ${namedKLoop(tile, '0u', 'K', { fetch, stage, sums: namedSliceSums(tile, AW, BW) })}
  ${stores}
}`;
    const bindings = [vec4('X', 'read'), vec4('W', 'read'), vec4('Bias', 'read')];
    if (v.residual) bindings.push(vec4('RES', 'read'));
    bindings.push(...(v.gelu ? [vec4('U', 'rw'), vec4('G', 'rw')] : [vec4('Y', 'rw')]));
    return makeKernel({
      name: 'linear.forward', key, bindings, body,
      params: [{ name: 'M', type: 'u32' }, { name: 'N', type: 'u32' }, { name: 'K', type: 'u32' }],
    });
  });
}
