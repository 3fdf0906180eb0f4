// A linear's forward, y = x W + b (+ a residual) (GELU'd), on a 64 x 128 tile of 4 x 8
// outputs a thread whose every register is a named variable and whose K slice is written
// out (named-tile.ts): the same FMAs in the same order as the GEMM tile's forward (each
// output sums its k in order, then the bias, the residual, the GELU), so the same floats,
// in less time where N is wide enough. With an adapter, W is its merged weight (made by a
// launch ahead) and workgroups ahead of the tiles write the side product x A, summed in
// the same order as the GEMM tile's side workgroups sum it.
import { GELU_WGSL } from './wgsl';
import { gemmThreads, sideWorkgroups, tileKey, tilesOf, type GemmTile } from './gemm';
import { MAIN_ARGS, WID, makeKernel, memoKernel, type Kernel } from './kernel';
import { namedAccumulators, namedDims, namedKLoop, namedSliceSums, namedStores, vec4Binding as vec4 } from './named-tile';

/**
 * Which forwards take the named tile: without an adapter, or with one whose merged weight
 * a launch made ahead (the compiled step's; op by op it is made in the loads, on the
 * GEMM tile), K and N multiples of 4 (x, W, the bias and the output load and store as
 * vec4s), N at least `minN` and at least `minTiles` tiles (`--forward-named
 * MINN/MINTILES|off`). With an adapter, in the step (H200, Node + Dawn, one call, us a
 * launch against the GEMM and wide tiles' LoRA forwards): tiny's fc1 115.6 -> 86.3
 * (82.2 without an adapter), small's attention linears 93-98 -> 84-89, fc1 331.8 ->
 * 285.5, fc2 333.2 -> 315.1 (278.4 and 272.9 without an adapter: x A over K 1,536
 * costs fc2's launch 42 us); the LoRA step's forwards 2.41 -> 2.23 ms on tiny (b128), 8.42 ->
 * 7.60 on small, the step 6.25 -> 6.06 and 20.86 -> 20.04 ms. Timed alone (H200, Node + Dawn, M 8,320,
 * us a launch, the thirty-second session's `best/` and `wide/`), against the tile the
 * step ran them on: small's attention linears (K and N 384) 78.5 -> 68.5 (71.0 with the
 * output projection's residual), fc1 (K 384, N 1,536) 289.1 -> 261.0 (272.2 with its
 * GELU), fc2 (K 1,536, N 384) 280.1 -> 260.6 (265.0 with its residual); tiny's fc1 (K
 * 192, N 768) 90.3 -> 69.7. Not where N is 192: tiny's fc2 (K 768) 117.9 -> 124.7, its
 * attention linears about level (27.2 -> 26.0). 128 x 128 tiles of 8 x 8 ran fc1 2%
 * faster, but with the staged A tile's padding they need more than the 16 KiB of
 * workgroup memory every device offers. At 2,080 rows (batch 32) tiny's fc1 (198 tiles)
 * took 40.2 -> 34.1 us on the named tile, 45.6 -> 35.0 with its adapter, the step 3.32 ->
 * 3.27 ms, LoRA 2.75 -> 2.71 (in the step, one call; at 256 tiles it kept the 4 x 4 tile).
 * Where N is 192 an adapter's forward lost too (tiny b128's LoRA step 6.05 -> 6.29 ms).
 */
export const NAMED_FORWARD = { on: true, minN: 384, minTiles: 128 };

/** The named forwards' setting a tuning run may set, written `MINN/MINTILES` or `off`, checked. */
export function parseNamedForward(text: string): typeof NAMED_FORWARD | string {
  if (text === 'off') return { ...NAMED_FORWARD, on: false };
  const m = /^(\d{1,5})\/(\d{1,6})$/.exec(text);
  if (!m) return `--forward-named: write MINN/MINTILES (e.g. 384/128) or off (got "${text.slice(0, 40)}")`;
  return { on: true, minN: Number(m[1]), minTiles: Number(m[2]) };
}

/** The named forward's tile: 64 rows by 128 columns, K slices of 16, 4 x 8 a thread. */
export const NAMED_FORWARD_TILE: GemmTile = { TM: 64, TN: 128, TK: 16, RM: 4, RN: 8 };

/** vec4s of a K slice of an adapter's A of rank `rank` (its columns rounded up to vec4s): a thread loads one, into the B tile's place. */
const sliceOfA = (rank: number) => NAMED_FORWARD_TILE.TK * Math.ceil(rank / 4);
const sliceFits = (rank: number) => sliceOfA(rank) <= Math.min(gemmThreads(NAMED_FORWARD_TILE), (NAMED_FORWARD_TILE.TN / 4) * NAMED_FORWARD_TILE.TK);

/**
 * Whether a forward over `rows` rows with K `k` and N `n` takes the named tile; with an
 * adapter of rank `rank` (its merged weight made ahead, not in the loads), where a K slice
 * of A fits the staged B tile.
 */
export function takesNamedForward(rows: number, k: number, n: number, rank = 0): boolean {
  const { on, minN, minTiles } = NAMED_FORWARD;
  return on && k % 4 === 0 && n % 4 === 0 && n >= minN && tilesOf(rows, n, NAMED_FORWARD_TILE) >= minTiles && sliceFits(rank);
}

/** Workgroups of a named forward over `rows` rows and N `n`: with an adapter, a side workgroup per 64 rows (gemm.ts's count), then the tiles. */
export const namedForwardWorkgroups = (rows: number, n: number, rank = 0) =>
  (rank ? sideWorkgroups(rows, NAMED_FORWARD_TILE) : 0) + tilesOf(rows, n, NAMED_FORWARD_TILE);

/**
 * The kernel: bindings X, W (with an adapter its merged weight), Bias, [RES], [LA], then Y
 * or (U, G), [XA], as the GEMM tile's forward binds them; params M (rows), N (out), K
 * (in). X, W, the bias and the outputs are vec4s; A and x A, [K, rank] and [M, rank],
 * floats; the product is namedProduct's.
 */
export function namedForwardKernel(v: { gelu: boolean; residual: boolean; rank?: number }): Kernel {
  const tile = NAMED_FORWARD_TILE;
  const R = v.rank ?? 0;
  const key = `linear.forward-named/${tileKey(tile)}/r${R}/${v.gelu ? 'gelu' : 'id'}/${v.residual ? 'res' : 'nores'}`;
  return memoKernel(key, () => {
    if (!sliceFits(R)) throw new Error(`named forward: no kernel for tile ${key}`);
    const p = namedProduct('X', 'W');
    const at = (m: string, n: string) => `(${m} * N + ${n}) / 4u`;
    const stores = namedStores(tile, (m, n, acc) => `var o = ${acc} + Bias[${n} / 4u];${v.residual ? ` o = o + RES[${at(m, n)}];` : ''}
      ${v.gelu ? `U[${at(m, n)}] = o; G[${at(m, n)}] = vec4<f32>(gelu(o.x), gelu(o.y), gelu(o.z), gelu(o.w));` : `Y[${at(m, n)}] = o;`}`);
    const body = `${v.gelu ? GELU_WGSL : ''}
${p.shared}
@compute @workgroup_size(${p.threads})
fn main(${MAIN_ARGS}) {
  ${WID}
  let M = P.M; let N = P.N; let K = P.K;
  ${R ? sideMain(R, p) : 'let tw = wid;'}
  ${p.tile('tw')}
  ${stores}
}`;
    const bindings = [vec4('X', 'read'), vec4('W', 'read'), vec4('Bias', 'read')];
    if (v.residual) bindings.push(vec4('RES', 'read'));
    if (R) bindings.push({ name: 'LA', access: 'read' });
    bindings.push(...(v.gelu ? [vec4('U', 'rw'), vec4('G', 'rw')] : [vec4('Y', 'rw')]));
    if (R) bindings.push({ name: 'XA', access: 'rw' });
    return makeKernel({
      name: 'linear.forward', key, bindings, body,
      params: [{ name: 'M', type: 'u32' }, { name: 'N', type: 'u32' }, { name: 'K', type: 'u32' }],
    });
  });
}

/**
 * The named tile's product of vec4 bindings `a` [M, K] and `b` [K, N] (K and N multiples
 * of 4), for a `main` that has named M, N, K and its tile `tw`: its workgroup arrays
 * (`shared`), and (`tile`) the tile's origin m0, n0, the thread's outputs and the K loop
 * that sums them (stored by namedStores). A thread loads four k of a row of `a` as a vec4
 * and stages them across four rows of the A tile (k-major, a vec4 of padding a row: the
 * four stores of a warp's threads spread over the banks), and four n of a row of `b` as
 * they are. The forward's x W and the input gradient's dy W^T over W's transposed copy
 * (named-input-grad.ts) are this product.
 */
export function namedProduct(a: string, b: string) {
  const tile = NAMED_FORWARD_TILE;
  const { TM, TN, TK } = tile;
  const { NT, TX, TY } = namedDims(tile);
  // vec4s a staged row: A's TM rows (and one of padding), B's TN columns
  const AW = TM / 4 + 1, BW = TN / 4, KQ = TK / 4;
  const LA = (TM * KQ) / NT, LB = (BW * TK) / NT;
  if (!Number.isInteger(LA) || !Number.isInteger(LB)) throw new Error(`named product: no kernel for tile ${tileKey(tile)}`);
  const decl = [namedAccumulators(tile)];
  for (let u = 0; u < LA; u++) decl.push(`var ra${u}: vec4<f32>;`);
  for (let u = 0; u < LB; u++) decl.push(`var rb${u}: vec4<f32>;`);
  // this thread's vec4s of the slice from k0: row m's k 4 kq .. 4 kq + 3 of a, row k's columns 4 q .. of b; 0 past the edges
  const fetchX = (k0: string) => Array.from({ length: LA }, (_, u) => `{ let e = t + ${u * NT}u; let m = e / ${KQ}u; let kq = e % ${KQ}u; ra${u} = vec4<f32>(0.0);
      if (m0 + m < M && ${k0} + 4u * kq < K) { ra${u} = ${a}[((m0 + m) * K + ${k0} + 4u * kq) / 4u]; } }`);
  const fetch = (k0: string) => [...fetchX(k0),
    ...Array.from({ length: LB }, (_, u) => `{ let e = t + ${u * NT}u; let k = e / ${BW}u; let q = e % ${BW}u; rb${u} = vec4<f32>(0.0);
      if (${k0} + k < K && n0 + 4u * q < N) { rb${u} = ${b}[((${k0} + k) * N + n0 + 4u * q) / 4u]; } }`),
  ].join('\n    ');
  const stageX = Array.from({ length: LA }, (_, u) => `{ let e = t + ${u * NT}u; let m = e / ${KQ}u; let kq = e % ${KQ}u;
      ${['x', 'y', 'z', 'w'].map((c, j) => `As[(4u * kq + ${j}u) * ${AW}u + m / 4u][m % 4u] = ra${u}.${c};`).join(' ')} }`);
  const stage = [...stageX, ...Array.from({ length: LB }, (_, u) => `Bs[t + ${u * NT}u] = rb${u};`)].join('\n    ');
  const shared = `const TX = ${TX}u; const TY = ${TY}u;
var<workgroup> As: array<vec4<f32>, ${AW * TK}>;
var<workgroup> Bs: array<vec4<f32>, ${BW * TK}>;`;
  const tileOf = (tw: string) => `let tilesN = (N + ${TN - 1}u) / ${TN}u;
  if (${tw} >= ((M + ${TM - 1}u) / ${TM}u) * tilesN) { return; }
  let m0 = (${tw} / tilesN) * ${TM}u;
  let n0 = (${tw} % tilesN) * ${TN}u;
  let tx = t % TX; let ty = t / TX;
  ${decl.join('\n  ')}
  ${namedKLoop(tile, '0u', 'K', { fetch, stage, sums: namedSliceSums(tile, AW, BW) })}`;
  return { threads: NT, AW, LA, fetchX, stageX, shared, tile: tileOf };
}

/**
 * `main`'s start with an adapter of rank R: the first ceil(M / TM) workgroups each sum x A
 * for TM rows over all of K and return; the rest go on as tile `tw`. A K slice of x is
 * staged as the tiles stage it, A's slice (rounded up to vec4s of columns) in the B
 * tile's place; thread t sums row t % TM's vec4s of columns t / TM, t / TM + 4, ...
 * over k in order from 0, as the GEMM tile's side workgroups do (sideWgsl): the same x A.
 */
function sideMain(R: number, x: { AW: number; LA: number; fetchX: (k0: string) => string[]; stageX: string[] }): string {
  const { TM, TK } = NAMED_FORWARD_TILE;
  const NT = namedDims(NAMED_FORWARD_TILE).NT;
  const RV = Math.ceil(R / 4), GP = NT / TM, UPT = Math.ceil(RV / GP);
  // the x slice's loads and stores (fetchX, stageX) are the tiles': they name ra0.., t, m0, M and K as main does, and k0 as namedKLoop does;
  // A's slice fits (sliceFits, checked by the kernel)
  if (!Number.isInteger(GP)) throw new Error(`named forward: no side product for ${NT} threads and ${TM} rows`);
  const sacc = Array.from({ length: UPT }, (_, u) => `var s${u} = vec4<f32>(0.0);`);
  // the vectors' components written out: no index into a vector for the robustness pass to clamp
  const fetchL = (k0: string) => `{ rl = vec4<f32>(0.0);
      if (t < ${TK * RV}u) { let k = t / ${RV}u; let j = 4u * (t % ${RV}u);
        if (${k0} + k < K) { let at = (${k0} + k) * ${R}u + j;
          ${['x', 'y', 'z', 'w'].map((c, i) => `if (j + ${i}u < ${R}u) { rl.${c} = LA[at + ${i}u]; }`).join(' ')} } } }`;
  const sums = Array.from({ length: UPT }, (_, u) => `if (g0 + ${u * GP}u < ${RV}u) {
      for (var k = 0u; k < ${TK}u; k++) { s${u} = fma(vec4<f32>(As[k * ${x.AW}u + mi / 4u][mi % 4u]), Bs[k * ${RV}u + g0 + ${u * GP}u], s${u}); } }`);
  const stores = Array.from({ length: UPT }, (_, u) => `{ let j = 4u * (g0 + ${u * GP}u);
      ${['x', 'y', 'z', 'w'].map((c, i) => `if (m < M && j + ${i}u < ${R}u) { XA[m * ${R}u + j + ${i}u] = s${u}.${c}; }`).join(' ')} }`);
  return `let sideCount = (M + ${TM - 1}u) / ${TM}u;
  if (wid < sideCount) {
    let m0 = wid * ${TM}u;
    let mi = t % ${TM}u; let g0 = t / ${TM}u;
    ${Array.from({ length: x.LA }, (_, u) => `var ra${u}: vec4<f32>;`).join(' ')}
    var rl: vec4<f32>;
    ${sacc.join(' ')}
    ${namedKLoop(NAMED_FORWARD_TILE, '0u', 'K', {
    fetch: (k0) => [...x.fetchX(k0), fetchL(k0)].join('\n    '),
    stage: [...x.stageX, `if (t < ${TK * RV}u) { Bs[t] = rl; }`].join('\n    '),
    sums: sums.join('\n    '),
  })}
    let m = m0 + mi;
    ${stores.join('\n    ')}
    return;
  }
  let tw = wid - sideCount;`;
}
