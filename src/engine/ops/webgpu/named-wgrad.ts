// A trained base's weight gradients dW = x^T dy and db = sum(dy) as split-K partials, on
// tiles of 8 x 8 or 8 x 4 outputs a thread whose every register is a named variable and
// whose K slice is written out (named-tile.ts), one a launch or several of one shape and
// input (the compiled step's query, key and value). The same layout of partials as
// weightGradKernel's (dW then db, a split after another), so the same sum launch follows.
import { GELU_WGSL } from './wgsl';
import { SPLIT_K, tileKey, tilesOf, type GemmTile } from './gemm';
import { MAIN_ARGS, WID, jobBranches, makeKernel, memoKernel, type Kernel } from './kernel';
import { namedAccumulators, namedDims, namedKLoop, namedSliceSums, namedStores, vec4Binding } from './named-tile';

/**
 * Which weight gradients take a named tile, and their split. A trained base without an
 * adapter whose din and dout are multiples of 4 (x and dy load as vec4s) and at least
 * `minSide`: 128 x 128 with 8 x 8 a thread where the smaller side is at least
 * `squareMin` and the larger at least `squareMax`, else 128 rows by 64 with 8 x 4 along
 * the larger side. Timed alone (H200, Node + Dawn, M 8,320, us a launch, against the
 * GEMM_TILE kernel the step ran them on): small's fc1 and fc2 333.6 -> 266.5 and 268.7
 * on 128 x 128 (275.9 and 279.2 on 128 x 64), its attention linears' 384 x 384 96.4 ->
 * 74.9 on 128 x 64 (78.0 on 128 x 128); tiny's fc1 (192 x 768) 82.5 -> 77.0 on 64 x 128,
 * fc2 83.8 -> 76.0 on 128 x 64, 192 x 192 level (27.7 against 27.5).
 * Split-K for at most `targetWorkgroups` tiles and `maxSplits` splits. In the step (H200,
 * Node + Dawn, one call, us a launch with its sum launch after, batch 128): at most 792
 * tiles (three waves of two workgroups on each of the 132 SMs), small's fc 269 + 24,
 * its attention linears 86 + 15, tiny's fc 86 + 15; at most 264, 278 + 11, 97 + 9.5, 96
 * + 9; but tiny's attention linears (six tiles) 38 + 21 at 792 (130 splits, the sum a
 * pass over 130 partials) against 36 + 9 at 264 (44 splits).
 */
export const NAMED_WGRAD = { on: true, minSide: 128, squareMin: 384, squareMax: 1536, targetWorkgroups: 792, maxSplits: 44 };

/**
 * The named-tile setting a tuning run may set, written `WORKGROUPS[/MAXSPLITS]` (the
 * split-K bounds) or `off` (every weight gradient on weightGradKernel), checked.
 */
export function parseNamedWgrad(text: string): Pick<typeof NAMED_WGRAD, 'on' | 'targetWorkgroups' | 'maxSplits'> | string {
  if (text === 'off') return { on: false, targetWorkgroups: NAMED_WGRAD.targetWorkgroups, maxSplits: NAMED_WGRAD.maxSplits };
  const m = /^(\d{1,5})(?:\/(\d{1,4}))?$/.exec(text);
  const n = m ? Number(m[1]) : NaN;
  const most = m?.[2] === undefined ? NAMED_WGRAD.maxSplits : Number(m[2]);
  if (!(n >= 1 && n <= 8192)) return `--wgrad-named: the tiles a launch holds at most, a whole number from 1 to 8192, then optionally /MAXSPLITS; or off (got "${text.slice(0, 40)}")`;
  if (!(most >= 1 && most <= 4096)) return `--wgrad-named: splits at most, from 1 to 4096 (got ${most})`;
  return { on: true, targetWorkgroups: n, maxSplits: most };
}

/** The named tile of a trained base's weight gradient without an adapter (din x dout), or null where it takes weightGradKernel. */
export function namedWgradTile(dIn: number, dOut: number): GemmTile | null {
  const { on, minSide, squareMin, squareMax } = NAMED_WGRAD;
  const [lo, hi] = [Math.min(dIn, dOut), Math.max(dIn, dOut)];
  if (!on || dIn % 4 || dOut % 4 || lo < minSide) return null;
  if (lo >= squareMin && hi >= squareMax) return { TM: 128, TN: 128, TK: 16, RM: 8, RN: 8 };
  return dIn >= dOut ? { TM: 128, TN: 64, TK: 16, RM: 8, RN: 4 } : { TM: 64, TN: 128, TK: 16, RM: 4, RN: 8 };
}

/**
 * The launch of a named-tile weight gradient over `rows` rows, one of `jobs` alike in a
 * launch (their tiles count together): its split (as many as NAMED_WGRAD allows, each of
 * at least SPLIT_K.minRows rows; the tiles at most targetWorkgroups: a wave more for a
 * few tiles is a wave's time more) and its workgroups, the tiles of every split.
 */
export function namedWgradLaunch(rows: number, dIn: number, dOut: number, tile: GemmTile, jobs = 1) {
  const tiles = tilesOf(dIn, dOut, tile);
  const most = Math.max(1, Math.min(NAMED_WGRAD.maxSplits, Math.floor(rows / SPLIT_K.minRows)));
  const want = Math.max(1, Math.min(most, Math.floor(NAMED_WGRAD.targetWorkgroups / (jobs * tiles))));
  const rowsPerSplit = Math.ceil(rows / want);
  const splits = Math.ceil(rows / rowsPerSplit);
  return { splits, rowsPerSplit, workgroups: splits * tiles };
}

/**
 * The kernel: bindings X, DY | (DG, U), PART, all as vec4s; params rows, din, dout,
 * splits, rowsPerSplit, total (floats of one split's partials: din dout + dout).
 * Workgroup w is split w / tiles's tile (m0, n0) of dW, its threads' outputs laid out as
 * named-tile.ts says. One staged K slice of 16: two staged slices, each read clamped by
 * Dawn (their index `1 - cur` unbounded), ran 31.2 TFLOP/s against 36.6. The tiles of
 * the first row (m0 0) also sum db from the staged dy slices, a thread a vec4 column's
 * every G-th row, their sums added in row order at the end. Behind a GELU, dg and u are loaded as they are and dy = dg gelu'(u) made as
 * the slice is staged, so the loads stay in flight while the slice before is summed.
 */
export function namedWgradKernel(gelu: boolean, tile: GemmTile): Kernel {
  const key = `linear.weight-grad-named/${tileKey(tile)}/${gelu ? 'gelu' : 'id'}`;
  return memoKernel(key, () => {
    const body = `${gelu ? GELU_WGSL : ''}
${wgradShared(tile)}
fn main(${MAIN_ARGS}) {
  ${WID}
  ${wgradTile(gelu, tile, { wid: 'wid', dy: 'DY', dg: 'DG', u: 'U', part: 'PART' })}
}`;
    return makeKernel({
      name: 'linear.weight-grad', key,
      bindings: [vec4Binding('X', 'read'), ...dyBindings(gelu, ''), vec4Binding('PART', 'rw')],
      params: WGRAD_PARAMS.map((name) => ({ name, type: 'u32' as const })),
      body,
    });
  });
}

/** The params of a named weight gradient (and of each job of a launch of several). */
const WGRAD_PARAMS = ['rows', 'din', 'dout', 'splits', 'rowsPerSplit', 'total'] as const;

/** The output-gradient bindings of a job (DY, or DG and U behind a GELU), suffixed. */
const dyBindings = (gelu: boolean, suffix: string) => (gelu ? [vec4Binding(`DG${suffix}`, 'read'), vec4Binding(`U${suffix}`, 'read')] : [vec4Binding(`DY${suffix}`, 'read')]);

/** The tile's constants, staged arrays and the workgroup size (the line before `fn main`). */
function wgradShared(tile: GemmTile): string {
  const { TM, TN, TK } = tile;
  const { NT, TX, TY } = namedDims(tile);
  return `const TM = ${TM}u; const TN = ${TN}u; const TK = ${TK}u; const TX = ${TX}u; const TY = ${TY}u; const NT = ${NT}u;
var<workgroup> As: array<vec4<f32>, ${(TM / 4) * TK}>;
var<workgroup> Bs: array<vec4<f32>, ${(TN / 4) * TK}>;
@compute @workgroup_size(${NT})`;
}

/**
 * The statements of workgroup `wid`'s tile of one weight gradient, reading X and the
 * bindings `names` names, its params P.rows ... P.total.
 */
function wgradTile(gelu: boolean, tile: GemmTile, names: { wid: string; dy: string; dg: string; u: string; part: string }): string {
  const { TM, TN, TK, RM, RN } = tile;
  const { NT } = namedDims(tile);
  const AW = TM / 4, BW = TN / 4;
  // vec4s of A and B a thread loads a slice; rows of a bias column a thread sums
  const LA = Math.ceil((AW * TK) / NT), LB = Math.ceil((BW * TK) / NT), G = NT / BW;
  if (NT !== 256 || TK % G || RM % 4 || RN % 4 || AW * TK < NT) throw new Error(`named weight gradient: no kernel for tile ${tileKey(tile)}`);
  const bRegs = gelu ? ['rg', 'ru'] : ['rb'];
  const decl = [namedAccumulators(tile)];
  for (let u = 0; u < LA; u++) decl.push(`var ra${u}: vec4<f32>;`);
  for (const r of bRegs) for (let u = 0; u < LB; u++) decl.push(`var ${r}${u}: vec4<f32>;`);
  // element e of a slice's A or B as its row k and vec4 q; past the slice only where the threads outnumber its vec4s
  const part = (u: number, W: number) => `let e = t + ${u}u * NT; let k = e / ${W}u; let q = e % ${W}u;${(u + 1) * NT > W * TK ? ` if (e < ${W}u * TK)` : ''}`;
  // this thread's vec4s of the slice from row k0: 0 past the rows and columns
  const fetch = (k0: string) => [
    ...Array.from({ length: LA }, (_, u) => `{ ${part(u, AW)} { ra${u} = vec4<f32>(0.0);
      if (${k0} + k < kEnd && m0 + 4u * q < M) { ra${u} = X[((${k0} + k) * M + m0 + 4u * q) / 4u]; } } }`),
    ...Array.from({ length: LB }, (_, u) => `{ ${part(u, BW)} { let i = ((${k0} + k) * N + n0 + 4u * q) / 4u; ${bRegs.map((r) => `${r}${u} = vec4<f32>(0.0);`).join(' ')}
      if (${k0} + k < kEnd && n0 + 4u * q < N) { ${gelu ? `rg${u} = ${names.dg}[i]; ru${u} = ${names.u}[i];` : `rb${u} = ${names.dy}[i];`} } } }`),
  ].join('\n    ');
  const stage = [
    ...Array.from({ length: LA }, (_, u) => `{ ${part(u, AW)} { As[e] = ra${u}; } }`),
    ...Array.from({ length: LB }, (_, u) => `{ ${part(u, BW)} { Bs[e] = ${gelu ? `rg${u} * vec4<f32>(geluGrad(ru${u}.x), geluGrad(ru${u}.y), geluGrad(ru${u}.z), geluGrad(ru${u}.w))` : `rb${u}`}; } }`),
  ].join('\n    ');
  const sums = `${namedSliceSums(tile, AW, BW)}
    if (m0 == 0u) { ${Array.from({ length: TK / G }, (_, j) => `bsum += Bs[(${j * G}u + br) * ${BW}u + bc];`).join(' ')} }`;
  const stores = namedStores(tile, (m, n, v) => `${names.part}[(cbase + ${m} * N + ${n}) / 4u] = ${v};`);
  return `let M = P.din; let N = P.dout;
  let tilesN = (N + TN - 1u) / TN;
  let perSplit = ((M + TM - 1u) / TM) * tilesN;
  if (${names.wid} >= perSplit * P.splits) { return; }
  let split = ${names.wid} / perSplit;
  let w = ${names.wid} % perSplit;
  let m0 = (w / tilesN) * TM;
  let n0 = (w % tilesN) * TN;
  let kBegin = split * P.rowsPerSplit;
  let kEnd = min(P.rows, kBegin + P.rowsPerSplit);
  let cbase = split * P.total;
  let tx = t % TX; let ty = t / TX;
  // db, in the first row of tiles: vec4 column bc of the tile, rows br, br + ${G}, ... of each slice
  let bc = t % ${BW}u; let br = t / ${BW}u;
  var bsum = vec4<f32>(0.0);
  ${decl.join('\n  ')}
  ${namedKLoop(tile, 'kBegin', 'kEnd', { fetch, stage, sums })}
  ${stores}
  if (m0 == 0u) {
    As[t] = bsum;
    workgroupBarrier();
    // bc, not t: an index the robustness pass can bound (t's spans past a 64-row tile's As)
    if (t < ${BW}u && n0 + 4u * bc < N) {
      var s = As[bc];
      ${Array.from({ length: G - 1 }, (_, r) => `s += As[${(r + 1) * BW}u + bc];`).join(' ')}
      ${names.part}[(cbase + M * N + n0) / 4u + bc] = s;
    }
  }`;
}

/**
 * `count` weight gradients of one shape (din x dout over the same rows and the same X:
 * the query's, key's and value's in the compiled step) in one launch, job j from
 * workgroup P.first_j: bindings X, then DY_j (or DG_j, U_j) of each job, then PART_j of
 * each; params first_j of each, then rows ... total as one job's. Each job's workgroups
 * run namedWgradKernel's statements, its partials the same floats; written into main, not
 * a function a job (the thread's index a parameter there, which Dawn's robustness pass
 * cannot bound: it clamps the staged tiles' indices).
 */
export function namedWgradGroupKernel(count: number, gelu: boolean, tile: GemmTile): Kernel {
  const key = `linear.weight-grad-named/${tileKey(tile)}/${gelu ? 'gelu' : 'id'}/x${count}`;
  const each = Array.from({ length: count }, (_, i) => i);
  return memoKernel(key, () => makeKernel({
    name: 'linear.weight-grad', key,
    bindings: [vec4Binding('X', 'read'), ...each.flatMap((i) => dyBindings(gelu, `${i}`)), ...each.map((i) => vec4Binding(`PART${i}`, 'rw'))],
    params: [...each.map((i) => `first${i}`), ...WGRAD_PARAMS].map((name) => ({ name, type: 'u32' as const })),
    body: `${gelu ? GELU_WGSL : ''}
${wgradShared(tile)}
fn main(${MAIN_ARGS}) {
  ${WID}
  ${jobBranches(count, (i, w) => `let jw = ${w};
  ${wgradTile(gelu, tile, { wid: 'jw', dy: `DY${i}`, dg: `DG${i}`, u: `U${i}`, part: `PART${i}` })}`)}
}`,
  }));
}
