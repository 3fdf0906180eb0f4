// The tiled matrix product every linear kernel is built on, as WGSL text: a workgroup
// computes a TM x TN tile of C = A B, stepping through K in slices of TK staged in
// workgroup memory, each thread holding RM x RN outputs in registers. Optionally the
// launch also computes a thin side product S = A L (L: [K, r]) in workgroups of its own
// ahead of C's tiles, TM rows of S each, which is how a LoRA adapter's x A (forward) or
// dy B^T (backward) costs no extra launch. The caller defines `loadA(m, k)`, `loadB(k,
// n)` (and `loadL(k, j)`), writes C's K loop into its `main` (gemmLoop) and the
// epilogue from `acc` (and S's with sideThenTileMain's `store`).
import { WID } from './kernel';

/**
 * Tile shape of every linear kernel but the large forwards and input gradients (which
 * take wideTile, GEMM_WIDE): 64x64 tiles of 256 threads with 4x4 outputs each, the shape
 * of tfjs-webgpu's own packed matmul. Measured against eight
 * others on the H200 (tiny, batch 128, compiled step, `--gemm-tile`, with scalar shared
 * reads): it gave the least linear-kernel time (14.8 ms a full step); 32x64/2x4 and
 * 128x64/8x4 came within 10-20%, and 8x8 outputs per thread (64x64, 128x128) took 2-3x as
 * long (their accumulators spill out of registers in the code Dawn generates). Written
 * out with no register array indexed by a variable, and with a thread's rows and columns
 * four at a time, strided as classic 8x8 SGEMMs do, 8x8 no longer spilled but still lost
 * 4-5% on small and 25% on tiny; 128x64/8x4 lost 11% on the LoRA phases (the 2026-11-30
 * gemm-tiles results). Since the K loop is written into main, 128x64/8x4 wins small's
 * forwards and input gradients (GEMM_WIDE); 8x8 a thread still spills (128x128x8/8x8:
 * small's step 3.2-3.7x as long): forEachOutput reads `acc` by its loop counters. With
 * the epilogue written out, 8x8 lost 1.4x (small b128 27.15 -> 38.88 ms full) and 4x4
 * 8% (29.39): not kept. A 4x4 tile's FMAs alone (values in registers, no load, no
 * barrier) ran at 29.5-31.6 TFLOP/s on small's fc shapes (33.0 with the staged reads
 * left in), about what our kernels reach with everything; 8x8's at 54-57 (the
 * thirty-second session's microbenchmarks): the headroom is in more outputs a thread,
 * not in this tile's loads. The trained bases' weight gradients and the forwards
 * without an adapter where N is 384 or more now take such tiles, every register named
 * (named-tile.ts).
 */
export const GEMM_TILE = { TM: 64, TN: 64, TK: 16, RM: 4, RN: 4 };

/** A tile shape: TM x TN outputs a workgroup, stepping K by TK, RM x RN outputs a thread. */
export type GemmTile = typeof GEMM_TILE;

/**
 * Split-K for the weight gradients x^T dy, whose K is batch x tokens (8,320 rows at
 * tiny batch 128) and whose output is small (192 x 192: 9 tiles): the rows are split
 * until about `targetWorkgroups` workgroups run, each split keeping at least `minRows`
 * rows, and a second kernel sums the splits in order. Four workgroups per SM of the
 * H200's 132 (`--split-k`, one call): against two, the full step 40.2 -> 37.7 ms on
 * small and 10.8 -> 10.3 ms on tiny at batch 128 (the weight gradients 13.1-13.3 ->
 * 10.6-10.8 and 2.9-3.3 -> 2.5); six gained no more; one made small 9% slower.
 */
export const SPLIT_K = { targetWorkgroups: 528, minRows: 64 };

/**
 * The split-K setting a tuning run may set, written `WORKGROUPS` or `WORKGROUPS/MINROWS`
 * (`npm run bench -- --split-k 528/16`), checked; an error names what to change.
 */
export function parseSplitK(text: string): typeof SPLIT_K | string {
  const m = /^(\d{1,5})(?:\/(\d{1,4}))?$/.exec(text);
  const targetWorkgroups = m ? Number(m[1]) : NaN;
  const minRows = m?.[2] === undefined ? SPLIT_K.minRows : Number(m[2]);
  if (!m || targetWorkgroups < 1 || targetWorkgroups > 8192) return `--split-k: workgroups to aim for, a whole number from 1 to 8192, then optionally /MINROWS (got "${text.slice(0, 40)}")`;
  if (minRows < 1 || minRows > 4096) return `--split-k: rows a split keeps at least, from 1 to 4096 (got ${minRows})`;
  return { targetWorkgroups, minRows };
}

/**
 * A tile shape written `TMxTNxTK/RMxRN` (the key's form), checked: a tuning run sets it
 * before any kernel is made (`npm run bench -- --gemm-tile 128x64x16/8x4`). An error names
 * what to change.
 */
export function parseGemmTile(text: string): GemmTile | string {
  const m = /^(\d{1,3})x(\d{1,3})x(\d{1,2})\/(\d{1,2})x(\d{1,2})$/.exec(text);
  if (!m) return `--gemm-tile: write TMxTNxTK/RMxRN, e.g. 64x64x16/4x4 (got "${text.slice(0, 40)}")`;
  const [TM, TN, TK, RM, RN] = m.slice(1).map(Number) as [number, number, number, number, number];
  const tile = { TM, TN, TK, RM, RN };
  const problem = tileProblem(tile);
  return problem ? `--gemm-tile: ${problem}` : tile;
}

/** Why the kernels cannot run on `tile`, or null where they can. */
function tileProblem(tile: GemmTile): string | null {
  const { TM, TN, TK, RM, RN } = tile;
  // written only for a refusal: tileFor asks on every forward and input gradient the op-by-op path dispatches
  const text = () => tileKey(tile);
  if (!RM || !RN || TM % RM || TN % RN) return `TM must be a multiple of RM and TN of RN (got ${text()})`;
  const threads = (TM / RM) * (TN / RN);
  // the bias column sums use threads / TN lanes per column
  if (threads > 256 || threads < TN || threads % TN) return `(TM/RM)(TN/RN) threads must be a multiple of TN and at most 256 (got ${threads})`;
  if (!TK || 4 * TK * (TM + TN + 8) > 16384) return 'the staged tiles TK (TM + TN + 8) floats must fit 16 KiB of workgroup memory';
  if (RM % 4 || RN % 4) return `RM and RN must be multiples of 4, a thread's rows and columns are read as vec4s (got ${text()})`;
  // a LoRA side workgroup gives each of its TM rows the same number of threads
  if (threads % TM) return `(TM/RM)(TN/RN) threads must be a multiple of TM (got ${threads} threads for ${TM} rows)`;
  return null;
}

/** Threads per workgroup of a tile shape (GEMM_TILE's read when a kernel is made, so a tuning run may change it). */
export const gemmThreads = (t: GemmTile = GEMM_TILE) => (t.TM / t.RM) * (t.TN / t.RN);

/** A tile shape in a kernel's key: kernels made with another shape are other kernels. */
export const tileKey = (t: GemmTile = GEMM_TILE) => `${t.TM}x${t.TN}x${t.TK}/${t.RM}x${t.RN}`;

/**
 * When a forward or input-gradient product runs on the wide tile (wideTile: GEMM_TILE's
 * rows and a thread's rows doubled, the same threads): its K at least `minK`, its rows at
 * least `minRows` and at least `minTiles` wide tiles (`npm run bench -- --gemm-wide
 * 384/4096/256`, or `off`). Measured on the H200 (every launch timed, one call a batch
 * size): at M 8,320 (batch 128) on small (K and N 384 or 1,536: 390
 * to 1,560 wide tiles) the 128-row tile ran every forward and input gradient 2-20%
 * faster (fc2's forward 337 -> 292 us, fc1's input gradient with its side product and
 * rider 450 -> 361); on tiny it lost where K is 192 (fc1's forward 115 -> 120 us, 780
 * tiles) and where 195 tiles leave the 132 SMs unevenly loaded (fc2's forward 97 ->
 * 108). The weight gradients keep GEMM_TILE (split-K makes their workgroups; the wide
 * tile lost five of small's six, all but fc2's, 404 -> 345 us, and tiny's six). At M
 * 2,080 (small, batch 32) it lost the two products with N 1,536 and 408 wide tiles
 * (fc1's forward 107 -> 127 us, fc2's input gradient 105 -> 125; the step 10.36-10.37 ->
 * 10.65-10.74 ms): hence the rows. A forward where N is 384 or more now runs on the
 * named tile (named-forward.ts; with an adapter where its merged weight is made ahead):
 * this rule serves the input gradients and the forwards the named tile does not take
 * (N under 384, or merged in the loads op by op). A forward with an adapter's side
 * product, its merged weight made ahead (the compiled step's), takes the wide tile from
 * `sideMinTiles` (its side workgroups halve with the tile's rows): tiny's fc2 at batch
 * 128 (195 wide tiles) 122.0 -> 110.1 us with its adapter, while without one it lost
 * (97.2 -> 109.1), and so did fc1's input gradient with its side product and rider
 * (124.4 -> 138.2); the LoRA forwards 2.22 -> 2.15 ms a step (H200, one call, two runs
 * each).
 */
export const GEMM_WIDE = { minK: 384, minRows: 4096, minTiles: 256, sideMinTiles: 128 };

/**
 * The wide-tile setting a tuning run may set, written `MINK/MINROWS/MINTILES[/SIDEMINTILES]`
 * (the side products' threshold MINTILES where not given) or `off`, checked.
 */
export function parseGemmWide(text: string): typeof GEMM_WIDE | string {
  if (text === 'off') return { minK: Infinity, minRows: Infinity, minTiles: Infinity, sideMinTiles: Infinity };
  const m = /^(\d{1,5})\/(\d{1,7})\/(\d{1,6})(?:\/(\d{1,6}))?$/.exec(text);
  if (!m) return `--gemm-wide: write MINK/MINROWS/MINTILES[/SIDEMINTILES] (e.g. 384/4096/256/128) or off (got "${text.slice(0, 40)}")`;
  return { minK: Number(m[1]), minRows: Number(m[2]), minTiles: Number(m[3]), sideMinTiles: Number(m[4] ?? m[3]) };
}

/** GEMM_TILE with its rows and a thread's rows doubled (the same threads), or null where that tile cannot run. */
export function wideTile(): GemmTile | null {
  const t = { ...GEMM_TILE, TM: 2 * GEMM_TILE.TM, RM: 2 * GEMM_TILE.RM };
  return tileProblem(t) ? null : t;
}

/** Output tiles of an M x N product on `tile`. */
export const tilesOf = (m: number, n: number, tile: GemmTile) => Math.ceil(m / tile.TM) * Math.ceil(n / tile.TN);

/** WebGPU's least workgroup memory, which every device offers (the wide tile stays within it). */
const SHARED_FLOOR = 16384;

/**
 * The tile of a product over `rows` rows with K `k` and N `n` whose staged layout
 * `layout(tile)` gives: the wide tile where GEMM_WIDE says (for a forward with a side
 * product over a weight merged ahead, its `sideMinTiles`) and its workgroup memory is
 * within every device's, else GEMM_TILE. The output's floats are the same on either
 * (each sums its k in the same order).
 */
export function tileFor(rows: number, k: number, n: number, layout: (tile: GemmTile) => GemmLayout): GemmTile {
  const wide = wideTile();
  if (!wide) return GEMM_TILE;
  const l = layout(wide);
  // a side product with B along n is a forward's (x A); merged in the loads, the plain rule (measured only merged ahead)
  const minTiles = l.side && l.bAlongN && !l.merged ? GEMM_WIDE.sideMinTiles : GEMM_WIDE.minTiles;
  if (k < GEMM_WIDE.minK || rows < GEMM_WIDE.minRows || tilesOf(rows, n, wide) < minTiles) return GEMM_TILE;
  return gemmSharedBytes(l) <= SHARED_FLOOR ? wide : GEMM_TILE;
}

export interface GemmLayout {
  /** A is stored contiguous along k (row-major [M, K]); else along m ([K, M], i.e. A^T stored) */
  aAlongK: boolean;
  /** B is stored contiguous along n (row-major [K, N]); else along k */
  bAlongN: boolean;
  /** the side product S = A L with L [K, rank], and whether L is stored contiguous along j */
  side?: { rank: number; lAlongJ: boolean };
  /** floats the caller reuses the staged area for, where more than the tiles need (the thin weight gradients) */
  staged?: number;
  /**
   * B is a merged weight W + s A B made as it is loaded: the factor that is constant along
   * the tile's columns (`rank` floats a column) is staged once per workgroup, and the
   * caller's loadB reads it with `factorAt(j, n)` (mergeWgsl).
   */
  merged?: { rank: number };
  /** the tile shape (GEMM_TILE where absent) */
  tile?: GemmTile;
  /**
   * A stored along m and B along n (the weight gradients' x^T dy), loaded and staged as
   * vec4s of four m or n: the caller defines `loadA4(m, k)` and `loadB4(k, n)`, and M and
   * N are multiples of 4.
   */
  vec4?: boolean;
}

/** A layout's tile shape. */
const tileOf = (l: GemmLayout): GemmTile => l.tile ?? GEMM_TILE;

/**
 * Row strides of the staged tiles. A tile staged from memory contiguous along k is
 * written across its rows (k * TM + m for consecutive k): with a stride of 64 floats
 * 16 threads hit one bank. Four floats of padding spread them over eight banks and
 * keep every row 16-byte aligned for the vec4 reads.
 */
function strides(l: GemmLayout): { SA: number; SB: number } {
  const { TM, TN } = tileOf(l);
  return { SA: TM + (l.aAlongK ? 4 : 0), SB: TN + (l.bAlongN ? 0 : 4) };
}

/** Element e of a staged A tile (TM x TK) as its row m and k, in the order A is stored: the loads of consecutive threads are adjacent. */
const aIndex = (l: GemmLayout) => (l.aAlongK ? 'let m = e / TK; let k = e % TK;' : 'let k = e / TM; let m = e % TM;');

/** The side product's columns as the side workgroups hold them: the rank rounded up to vec4s. */
const sideCols = (rank: number) => 4 * Math.ceil(rank / 4);

/**
 * Floats of the staged A and B tiles, which the side workgroups reuse (their A tile,
 * then TK rows of L), or more where the caller asks (`staged`).
 */
export function stagedFloats(l: GemmLayout): number {
  const { SA, SB } = strides(l);
  const { TK } = tileOf(l);
  return Math.max(TK * (SA + SB), l.side ? TK * SA + TK * sideCols(l.side.rank) : 0, l.staged ?? 0);
}

/** Workgroup memory the GEMM needs, in bytes (checked against the device's limit). */
export function gemmSharedBytes(l: GemmLayout): number {
  return 4 * (stagedFloats(l) + (l.merged ? l.merged.rank * tileOf(l).TN : 0));
}

/**
 * The staged float at index `p` (a WGSL expression) of the workgroup array AB, which
 * holds vec4s: its vec4, then its lane. Written inline where the index must stay
 * visible to Dawn's range analysis (stagesBounded), and the body of sget / sset.
 */
export const stagedAt = (p: string) => `AB[(${p}) / 4u][(${p}) % 4u]`;

/**
 * Constants, workgroup arrays and the staging functions of C's K loop (gemmLoop), which
 * fills `acc`. Thread (tx, ty) (threadXY) holds rows ty RM .. ty RM + RM - 1 and
 * columns tx RN .. tx RN + RN - 1 of the tile, so it reads its A and B values from the
 * staged tiles as vec4s: 2 shared loads per 16 FMAs instead of 8 (with one load per
 * float the step's full-phase device time was 7% longer: the loads were not the bound).
 * Each thread loads the next K slice's elements into registers before it sums the
 * current one, so global latency overlaps the FMAs. `sget` / `sset` read and write the
 * staged floats one at a time. With a side product, also its staging functions
 * (sideWgsl; its loop is written into `main` by sideThenTileMain).
 */
export function gemmWgsl(l: GemmLayout): string {
  const tile = tileOf(l);
  const { TM, TN, TK, RM, RN } = tile;
  const TX = TN / RN, TY = TM / RM;
  const { SA, SB } = strides(l);
  return `
const TM = ${TM}u; const TN = ${TN}u; const TK = ${TK}u; const RM = ${RM}u; const RN = ${RN}u;
const TX = ${TX}u; const TY = ${TY}u; const NT = ${gemmThreads(tile)}u;
const VM = ${RM / 4}u; const VN = ${RN / 4}u; const SA = ${SA}u; const SB = ${SB}u;
// the A tile at k * SA + m, the B tile at BS + k * SB + n (floats)
const BS = ${TK * SA}u;
var<workgroup> AB: array<vec4<f32>, ${stagedFloats(l) / 4}>;
fn sget(p: u32) -> f32 { return ${stagedAt('p')}; }
fn sset(p: u32, v: f32) { ${stagedAt('p')} = v; }
var<private> acc: array<vec4<f32>, ${RM * (RN / 4)}>;
// the next K slice's tile elements of this thread, loaded while the current one is summed
${prefetchWgsl('Tiles', 'n0: u32, N: u32', tileParts(l), stagesBounded(l))}
${l.merged ? mergeWgsl(l.merged.rank, TN) : ''}
${l.side ? sideWgsl(l, l.side) : ''}`;
}

/**
 * Thread t's column and row in the tile's grid of threads (tx, ty), as WGSL lets.
 * Row-major (tx = t % TX) puts a warp of 32 on 2 rows of 16 threads, whose reads of
 * the staged B row span 16 vec4s (256 bytes) a k. A weight gradient's threads go in
 * warp tiles of 4 rows of 8 instead, where the grid allows (TX a multiple of 8, TY of
 * 4; at TX 8 the two layouts are one): a warp then reads 8 vec4s of B and 4 of A a k.
 * Each output sums the same k in the same order either way, so the floats are the same
 * (the fused kernels' errors to the last digit; CI's parity report on the H200 byte for
 * byte). Measured on the H200 (Node + Dawn, every launch timed, device ms a step, two
 * runs each, one call): the weight gradients on small b128 9.27-9.29 -> 8.84-8.86, the
 * full step 27.68-27.69 -> 27.27-27.28; tiny b128's 2.34 -> 2.30 (the step 7.53 ->
 * 7.48), tiny b32's step 3.38 -> 3.32. Every product so laid lost at tiny (its forwards
 * 2.11 -> 2.29 ms a full step); every product in warp tiles of 8 rows of 4 lost on small
 * (27.77 -> 28.41 ms) and in every LoRA phase, and was level with 4 x 8 at tiny b128;
 * the input gradients without a side product laid 4 x 8 too gained nothing in the step
 * (small 27.27 -> 27.24, tiny 7.48 -> 7.51).
 */
function threadXY(l: GemmLayout): string {
  const { TM, TN, RM, RN } = tileOf(l);
  const TX = TN / RN, TY = TM / RM;
  const [rows, cols] = [4, 8];
  if (l.aAlongK || TX % cols !== 0 || TY % rows !== 0) return 'let tx = t % TX;\n    let ty = t / TX;';
  return `let wq = t / 32u; let wl = t % 32u;
    let tx = (wq % ${TX / cols}u) * ${cols}u + wl % ${cols}u;
    let ty = (wq / ${TX / cols}u) * ${rows}u + wl / ${cols}u;`;
}

/** The A and B tiles' staged parts: a float an element, or with `vec4` four m or n an element. */
function tileParts(l: GemmLayout): StagedPart[] {
  if (l.vec4) {
    if (l.aAlongK || !l.bAlongN) throw new Error('gemm: vec4 staging needs A stored along m and B along n');
    return [
      { reg: 'pa', count: 'TM * TK / 4u', idx: 'let k = e / (TM / 4u); let m = 4u * (e % (TM / 4u));', when: 'm0 + m < M', load: 'loadA4(m0 + m, k0 + k)', at: 'k * SA + m', vec4: true },
      { reg: 'pb', count: 'TN * TK / 4u', idx: 'let k = e / (TN / 4u); let n = 4u * (e % (TN / 4u));', when: 'n0 + n < N', load: 'loadB4(k0 + k, n0 + n)', at: 'BS + k * SB + n', vec4: true },
    ];
  }
  const bIdx = l.bAlongN ? 'let k = e / TN; let n = e % TN;' : 'let n = e / TK; let k = e % TK;';
  return [
    { reg: 'pa', count: 'TM * TK', idx: aIndex(l), when: 'm0 + m < M', load: 'loadA(m0 + m, k0 + k)', at: 'k * SA + m' },
    { reg: 'pb', count: 'TN * TK', idx: bIdx, when: 'n0 + n < N', load: 'loadB(k0 + k, n0 + n)', at: 'BS + k * SB + n' },
  ];
}

/**
 * C's K loop for the tile at (m0, n0) over K's rows kBegin .. kEnd, written into the
 * caller's `main` (its t, m0, n0, M and N), filling `acc`. As a function given kBegin
 * and kEnd it was what made our products slower than the same tile written for a
 * microbenchmark: written into `main`, a plain product ran 1.06-1.14x faster at every K
 * and N of tiny and small (M 8,320, H200, one call). The step, same floats (another
 * call, two runs each): tiny b128 8.41-8.47 -> 8.01-8.02 ms full, 6.81-6.82 -> 6.69-6.72
 * LoRA; small 33.32-33.36 -> 31.19-31.20 full, LoRA unchanged (24.1-24.3).
 */
export function gemmLoop(l: GemmLayout, kBegin: string, kEnd: string): string {
  const { RM, RN } = tileOf(l);
  return stagedLoop('Tiles', `for (var i = 0u; i < RM * VN; i++) { acc[i] = vec4<f32>(0.0); }
    ${threadXY(l)}
    ${l.merged ? 'stageFactor(t, n0, N);' : ''}`, kBegin, kEnd, ', n0, N', sliceSums(RM, RN));
}

/**
 * A K loop over slices staged by `fetch<name>` / `stage<name>` (prefetchWgsl): the next
 * slice loaded while the current one is summed by `sums` (which sees k), as a block for
 * `main` after `setup`, over K's rows kFirst .. kLast.
 */
function stagedLoop(name: string, setup: string, kFirst: string, kLast: string, fetchExtra: string, sums: string): string {
  return `{
    ${setup}
    let kFirst = ${kFirst};
    let kLast = ${kLast};
    fetch${name}(t, m0, kFirst, kLast, M${fetchExtra});
    for (var k0 = kFirst; k0 < kLast; k0 += TK) {
      stage${name}(t);
      workgroupBarrier();
      if (k0 + TK < kLast) { fetch${name}(t, m0, k0 + TK, kLast, M${fetchExtra}); }
      for (var k = 0u; k < TK; k++) {
        ${sums}
      }
      workgroupBarrier();
    }
  }`;
}

/**
 * One k of the staged slice summed into a thread's RM x RN outputs, written out so that
 * every register is named by a constant, and the staged vec4s indexed directly (the
 * tiles' strides are whole vec4s). The same FMAs in the same order as the loops it
 * replaces. The H200's driver made the same of both: a plain product 0.99-1.02x as fast
 * at every K and N of tiny and small (M 8,320), the step's device ms 8.38-8.39
 * -> 8.35-8.43 on tiny and 33.30-33.33 -> 33.05-33.09 on small at batch 128 (one call,
 * two runs each), the same floats. On SwiftShader, where CI runs, a product took 1.8-3.5x
 * less time: the loops indexed registers by their counters, which a software compiler
 * keeps in memory.
 */
function sliceSums(RM: number, RN: number): string {
  const VM = RM / 4, VN = RN / 4;
  const xyzw = ['x', 'y', 'z', 'w'];
  const out: string[] = [];
  for (let g = 0; g < VM; g++) out.push(`let a${g} = AB[k * (SA / 4u) + ty * VM + ${g}u];`);
  for (let h = 0; h < VN; h++) out.push(`let b${h} = AB[BS / 4u + k * (SB / 4u) + tx * VN + ${h}u];`);
  for (let i = 0; i < RM; i++) {
    for (let h = 0; h < VN; h++) out.push(`acc[${i * VN + h}] = fma(vec4<f32>(a${i >> 2}.${xyzw[i & 3]}), b${h}, acc[${i * VN + h}]);`);
  }
  return out.join('\n      ');
}

/**
 * The staged factor of a merged weight: `fn stageFactor(t, n0, N)` stores the caller's
 * `loadF(j, n)` for the tile's TN columns (0 past N) and waits for the workgroup, and
 * `fn factorAt(j, n)` reads it back for a column n of the tile. The other factor varies
 * with k and is read by the caller's loadB from memory, where the threads loading one
 * k share it.
 */
function mergeWgsl(rank: number, TN: number): string {
  return `
const FR = ${rank}u;
var<workgroup> LF: array<f32, ${rank * TN}>;
fn stageFactor(t: u32, n0: u32, N: u32) {
  for (var e = t; e < FR * TN; e += NT) {
    let c = e % TN;
    var v = 0.0;
    if (n0 + c < N) { v = loadF(e / TN, n0 + c); }
    LF[e] = v;
  }
  workgroupBarrier();
}
fn factorAt(j: u32, n: u32) -> f32 { return LF[j * TN + n % TN]; }`;
}

/**
 * One slice of a staged operand: `count` elements, element e's m/n and k from `idx`,
 * stored at `at` (with `vec4`, elements of four floats, `at` a multiple of 4).
 */
interface StagedPart { reg: string; count: string; idx: string; when: string; load: string; at: string; vec4?: boolean }

/**
 * Whether C's staging function bounds its thread index (prefetchWgsl's `bounded`): in
 * every product but a forward with its side product on GEMM_TILE. Dawn's robustness
 * pass clamps every index into workgroup, private and function arrays that its range
 * analysis cannot bound; it follows the thread's index from the workgroup size, but not
 * into a function's parameter, so each staged float cost a clamp. With the index
 * bounded (t % NT, t being below NT) and the floats stored directly, none is clamped.
 * Measured on the H200 (Node + Dawn, 80 steps, one call, device ms full / LoRA, with
 * the thin gradients' counted loops, thinGradBlock): tiny b128 7.62 / 6.37 -> 7.52 /
 * 6.22 (again 7.60 / 6.39 -> 7.52 / 6.22), small b128 28.21 / 21.14 -> 27.71 / 20.86,
 * tiny b32 3.39 / 2.79 -> 3.38 / 2.78. The exception: a LoRA forward on GEMM_TILE, its
 * side product's workgroups in the same launch, ran slower bounded, in three calls
 * (tiny b128's LoRA forwards 2.41-2.42 -> 2.46-2.48 ms, b32's 1.05-1.07 -> 1.10-1.14),
 * while on the wide tile it gained (small's 8.72-8.76 -> 8.34-8.45). With Dawn's
 * robustness off altogether (a toggle a page cannot set; two other calls) the kernels
 * before this ran tiny b128 in 7.52-7.57 / 6.12-6.15 instead of 7.61-7.64 / 6.39-6.42,
 * small in 28.06-28.17 / 20.41-20.43 instead of 28.17-28.29 / 21.08-21.21.
 */
// a side product with B along n is a forward's (x A); an input gradient's B runs along k
const stagesBounded = (l: GemmLayout) => !(l.side && l.bAlongN && tileKey(tileOf(l)) === tileKey(GEMM_TILE));

/**
 * `fn fetch<name>(t, m0, k0, kEnd, M, <extra>)`, which loads this thread's elements of
 * the next K slice into registers (0 past the edges), and `fn stage<name>(t)`, which
 * writes them to the staged tiles: split so the loads overlap the current slice's sums.
 * `bounded`: `fn stage<name>(tid)` takes t = tid % NT and stores without `sset`, so that
 * none of its indices is clamped (stagesBounded).
 */
function prefetchWgsl(name: string, extra: string, parts: StagedPart[], bounded: boolean): string {
  const per = (p: StagedPart) => `${p.reg.toUpperCase()}N`;
  const type = (p: StagedPart) => (p.vec4 ? 'vec4<f32>' : 'f32');
  return `${parts.map((p) => `const ${per(p)} = (${p.count} + NT - 1u) / NT;
var<private> ${p.reg}: array<${type(p)}, ${per(p)}>;`).join('\n')}
fn fetch${name}(t: u32, m0: u32, k0: u32, kEnd: u32, M: u32${extra ? `, ${extra}` : ''}) {
${parts.map((p) => `  for (var u = 0u; u < ${per(p)}; u++) {
    let e = t + u * NT;
    var v = ${type(p)}(0.0);
    if (e < ${p.count}) {
      ${p.idx}
      if (${p.when} && k0 + k < kEnd) { v = ${p.load}; }
    }
    ${p.reg}[u] = v;
  }`).join('\n')}
}
fn stage${name}(${bounded ? 'tid: u32' : 't: u32'}) {
${bounded ? '  let t = tid % NT;\n' : ''}${parts.map((p) => `  for (var u = 0u; u < ${per(p)}; u++) {
    let e = t + u * NT;
    if (e < ${p.count}) { ${p.idx} ${p.vec4 ? `AB[(${p.at}) / 4u] = ${p.reg}[u];` : bounded ? `${stagedAt(p.at)} = ${p.reg}[u];` : `sset(${p.at}, ${p.reg}[u]);`} }
  }`).join('\n')}
}`;
}

/**
 * The thin side product S = A L ([M, R], R the rank) of TM rows a workgroup: thread t
 * holds row t % TM and every (NT / TM)-th group of four columns from t / TM, summing k
 * in order from the staged A tile (laid out as C's) and TK rows of L after it, the next
 * slice loaded while one is summed. Its workgroups are their own, ahead of C's tiles in
 * the launch. Summed in C's first column of tiles instead, as the main loop's passenger,
 * its registers slowed every tile of the launch; in 64-column tiles of its own it took
 * 8x the FMAs it needs at rank 8. A LoRA step's device ms, H200, against the passenger
 * (one call): small b128 30.9 -> 28.3, tiny b128 8.85 -> 8.78, tiny b32 4.39 -> 4.13;
 * rank 32 36.7 -> 32.6, 10.9 -> 10.4, 5.11 -> 4.65. Without the prefetch the chain of
 * K slices waited on memory: tiny b32 5.24, slower than the passenger. Its staging keeps
 * `sset` and its clamps: bounded, it timed the same at batch 128 (tiny b128 6.28-6.31 ms
 * LoRA, small 20.87-20.89; H200, one call) and slower at b32 (2.86 against 2.79).
 * Its shape and place, each the same floats (H200, Node + Dawn, a LoRA step's device
 * ms at tiny b128, one call each): on GEMM_TILE 128 rows a workgroup (every thread a
 * vec4 of the columns at rank 8: 65 workgroups, not 130) 6.25 -> 6.46, the input
 * gradients' launches 2.52 -> 2.73 ms (small 20.89 -> 20.87), or 32 k a slice (half the
 * barriers) 6.31; after C's tiles, not ahead of them, 6.26 -> 6.49. With no side workgroups at
 * all (a diagnostic: the adapters' gradients wrong) the forwards' launches took 2.41
 * -> 2.12 ms and the input gradients' 2.52 -> 2.76, the step 6.19 (small 20.81 ->
 * 19.66): at tiny the side products cost the step little; their launches' order does.
 */
function sideWgsl(l: GemmLayout, side: { rank: number; lAlongJ: boolean }): string {
  const tile = tileOf(l);
  const { TM, TK } = tile;
  const NT = gemmThreads(tile);
  if (NT % TM) throw new Error(`the side product needs the tile's threads (${NT}) to be a multiple of its rows (${TM})`);
  const RP = sideCols(side.rank);
  const groupsPerPass = NT / TM;
  const UPT = Math.ceil(RP / 4 / groupsPerPass);
  const aIdx = aIndex(l);
  const lIdx = side.lAlongJ ? 'let k = e / RP; let j = e % RP;' : 'let j = e / TK; let k = e % TK;';
  return `
const R = ${side.rank}u; const RP = ${RP}u; const GP = ${groupsPerPass}u; const UPT = ${UPT}u;
// L's staged rows, after the A tile: k * RP + j
const LS = ${TK * strides(l).SA}u;
var<private> sacc: array<vec4<f32>, UPT>;
${prefetchWgsl('Side', '', [
    { reg: 'spa', count: 'TM * TK', idx: aIdx, when: 'm0 + m < M', load: 'loadA(m0 + m, k0 + k)', at: 'k * SA + m' },
    { reg: 'spl', count: 'TK * RP', idx: lIdx, when: 'j < R', load: 'loadL(k0 + k, j)', at: 'LS + k * RP + j' },
  ], false)}
`;
}

/**
 * The side product's K loop for the TM rows from m0, over all of K, written into `main`
 * (the caller's t and m0), filling `sacc`: the same staged loop as C's (gemmLoop).
 */
const SIDE_LOOP = stagedLoop('Side', `for (var i = 0u; i < UPT; i++) { sacc[i] = vec4<f32>(0.0); }
    let mi = t % TM;
    let g0 = t / TM;
    let M = P.M;`, '0u', 'P.K', '', `let a = vec4<f32>(sget(k * SA + mi));
        for (var i = 0u; i < UPT; i++) {
          let g = g0 + i * GP;
          if (g * 4u < RP) { sacc[i] = fma(a, AB[(LS + k * RP) / 4u + g], sacc[i]); }
        }`);

/** Workgroups of the side product S = A L ([rows, rank]) that a launch runs ahead of C's tiles. */
export const sideWorkgroups = (rows: number, tile: GemmTile) => Math.ceil(rows / tile.TM);

/** `main`'s start for a plain C = A B over params M, N, K: the workgroup's tile, then its sums. */
export const tileMainOf = (l: GemmLayout) => `${WID}
  ${tileMain('wid', l)}`;

/** C's tile of workgroup `w` (counted from C's first tile), then its sums. */
function tileMain(w: string, l: GemmLayout): string {
  return `let M = P.M; let N = P.N;
  let tilesN = (N + TN - 1u) / TN;
  if (${w} >= ((M + TM - 1u) / TM) * tilesN) { return; }
  let m0 = (${w} / tilesN) * TM;
  let n0 = (${w} % tilesN) * TN;
  ${gemmLoop(l, '0u', 'P.K')}`;
}

/**
 * `main`'s start for C = A B with the side product S = A L in the same launch: the first
 * sideWorkgroups(M) workgroups sum TM rows of S each and store them with `store` (sees
 * m, j and v), then return; the rest are C's tiles, as in tileMainOf.
 */
export function sideThenTileMain(store: string, l: GemmLayout): string {
  return `${WID}
  let sideCount = (P.M + TM - 1u) / TM;
  if (wid < sideCount) {
    let m0 = wid * TM;
    ${SIDE_LOOP}
    let m = m0 + t % TM;
    for (var i = 0u; i < UPT; i++) {
      for (var c = 0u; c < 4u; c++) {
        let j = (t / TM + i * GP) * 4u + c;
        if (m < P.M && j < R) {
          let v = sacc[i][c];
          ${store}
        }
      }
    }
    return;
  }
  let tw = wid - sideCount;
  ${tileMain('tw', l)}`;
}

/** The loop over a thread's outputs of the tile laid out as `l`: `body` sees m, n (global), i (row slot) and v (the sum). */
export function forEachOutput(body: string, l: GemmLayout): string {
  return `
  ${threadXY(l)}
  for (var i = 0u; i < RM; i++) {
    let m = m0 + ty * RM + i;
    if (m >= M) { continue; }
    for (var j = 0u; j < RN; j++) {
      let n = n0 + tx * RN + j;
      if (n >= N) { continue; }
      let v = acc[i * VN + j / 4u][j % 4u];
      ${body}
    }
  }`;
}

/** Splits of the K rows of a weight gradient whose output has `tiles` tiles. */
export function splitK(rows: number, tiles: number): { splits: number; rowsPerSplit: number } {
  const want = Math.ceil(SPLIT_K.targetWorkgroups / Math.max(1, tiles));
  const most = Math.max(1, Math.floor(rows / SPLIT_K.minRows));
  const s = Math.max(1, Math.min(want, most));
  const rowsPerSplit = Math.ceil(rows / s);
  return { splits: Math.ceil(rows / rowsPerSplit), rowsPerSplit };
}
