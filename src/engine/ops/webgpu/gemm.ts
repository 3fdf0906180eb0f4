// The tiled matrix product every linear kernel is built on, as WGSL text: a workgroup
// computes a TM x TN tile of C = A B, stepping through K in slices of TK staged in
// workgroup memory, each thread holding RM x RN outputs in registers. Optionally the
// first column of tiles (n0 = 0) also computes a thin side product S = A L (L: [K, r])
// from the same staged A tiles, which is how a LoRA adapter's x A (forward) or dy B^T
// (backward) costs no extra launch. The caller defines `loadA(m, k)`, `loadB(k, n)`
// (and `loadL(k, j)`), and writes the epilogue from `acc` (and the side product of the
// tile's rows, kept in the workgroup memory the A and B tiles used).
import { WID } from './kernel';

/**
 * Tile shape, the same for every linear kernel: 64x64 tiles of 256 threads with 4x4
 * outputs each, the shape of tfjs-webgpu's own packed matmul. Measured against eight
 * others on the H200 (tiny, batch 128, compiled step, `--gemm-tile`, with scalar shared
 * reads): it gave the least linear-kernel time (14.8 ms a full step); 32x64/2x4 and
 * 128x64/8x4 came within 10-20%, and 8x8 outputs per thread (64x64, 128x128) took 2-3x as
 * long (their accumulators spill out of registers in the code Dawn generates). Written
 * out with no register array indexed by a variable, and with a thread's rows and columns
 * four at a time, strided as classic 8x8 SGEMMs do, 8x8 no longer spilled but still lost
 * 4-5% on small and 25% on tiny; 128x64/8x4 lost 11% on the LoRA phases (the 2026-11-30
 * gemm-tiles results).
 */
export const GEMM_TILE = { TM: 64, TN: 64, TK: 16, RM: 4, RN: 4 };

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
export function parseGemmTile(text: string): typeof GEMM_TILE | string {
  const m = /^(\d{1,3})x(\d{1,3})x(\d{1,2})\/(\d{1,2})x(\d{1,2})$/.exec(text);
  if (!m) return `--gemm-tile: write TMxTNxTK/RMxRN, e.g. 64x64x16/4x4 (got "${text.slice(0, 40)}")`;
  const [TM, TN, TK, RM, RN] = m.slice(1).map(Number) as [number, number, number, number, number];
  if (!RM || !RN || TM % RM || TN % RN) return `--gemm-tile: TM must be a multiple of RM and TN of RN (got ${text})`;
  const threads = (TM / RM) * (TN / RN);
  // the bias column sums use threads / TN lanes per column
  if (threads > 256 || threads < TN || threads % TN) return `--gemm-tile: (TM/RM)(TN/RN) threads must be a multiple of TN and at most 256 (got ${threads})`;
  if (!TK || 4 * TK * (TM + TN + 8) > 16384) return `--gemm-tile: the staged tiles TK (TM + TN + 8) floats must fit 16 KiB of workgroup memory`;
  if (RM % 4 || RN % 4) return `--gemm-tile: RM and RN must be multiples of 4, a thread's rows and columns are read as vec4s (got ${text})`;
  return { TM, TN, TK, RM, RN };
}

/** Threads per workgroup of the tile shape (read when a kernel is made, so a tuning run may change GEMM_TILE). */
export const gemmThreads = () => (GEMM_TILE.TM / GEMM_TILE.RM) * (GEMM_TILE.TN / GEMM_TILE.RN);

/** The tile shape in a kernel's key: kernels made with another shape are other kernels. */
export const tileKey = () => `${GEMM_TILE.TM}x${GEMM_TILE.TN}x${GEMM_TILE.TK}/${GEMM_TILE.RM}x${GEMM_TILE.RN}`;

export interface GemmLayout {
  /** A is stored contiguous along k (row-major [M, K]); else along m ([K, M], i.e. A^T stored) */
  aAlongK: boolean;
  /** B is stored contiguous along n (row-major [K, N]); else along k */
  bAlongN: boolean;
  /** the side product S = A L with L [K, rank], and whether L is stored contiguous along j */
  side?: { rank: number; lAlongJ: boolean };
}

/**
 * Row strides of the staged tiles. A tile staged from memory contiguous along k is
 * written across its rows (k * TM + m for consecutive k): with a stride of 64 floats
 * 16 threads hit one bank. Four floats of padding spread them over eight banks and
 * keep every row 16-byte aligned for the vec4 reads.
 */
function strides(l: GemmLayout): { SA: number; SB: number } {
  const { TM, TN } = GEMM_TILE;
  return { SA: TM + (l.aAlongK ? 4 : 0), SB: TN + (l.bAlongN ? 0 : 4) };
}

/**
 * Floats of the staged A and B tiles, which the side product's sums (TM x rank, written
 * out after the K loop) and the thin weight gradients reuse.
 */
export function stagedFloats(l: GemmLayout): number {
  const { SA, SB } = strides(l);
  return Math.max(GEMM_TILE.TK * (SA + SB), GEMM_TILE.TM * (l.side?.rank ?? 0));
}

/** Workgroup memory the GEMM needs, in bytes (checked against the device's limit). */
export function gemmSharedBytes(l: GemmLayout): number {
  return 4 * (stagedFloats(l) + GEMM_TILE.TK * (l.side?.rank ?? 0));
}

/**
 * Constants, workgroup arrays and `fn gemm(t, m0, n0, kBegin, kEnd, M, N)`, which fills
 * `acc` (and the side product). Thread (tx, ty) holds rows ty RM .. ty RM + RM - 1 and
 * columns tx RN .. tx RN + RN - 1 of the tile, so it reads its A and B values from the
 * staged tiles as vec4s: 2 shared loads per 16 FMAs instead of 8 (with one load per
 * float the step's full-phase device time was 7% longer: the loads were not the bound).
 * Each thread loads the next K slice's elements into registers before it sums the
 * current one, so global latency overlaps the FMAs. `sget` / `sset` read and write the
 * staged floats one at a time.
 */
export function gemmWgsl(l: GemmLayout): string {
  const { TM, TN, TK, RM, RN } = GEMM_TILE;
  const TX = TN / RN, TY = TM / RM;
  const { SA, SB } = strides(l);
  const R = l.side?.rank ?? 0;
  // the side product rides on the main loop: a thread already holds its RM rows of A at
  // each k, so it also sums them against columns tx, tx + TX, ... of L (JPT of them).
  // Only the first column of tiles sums it: the product's own columns come from the
  // merged weight (linear-kernels.ts), so the other tiles need no x A of their rows.
  // A separate loop over the staged tiles read two shared floats per FMA; moving it here
  // cut the LoRA forward and input gradient of small (batch 128, H200) from 21.6 / 24.4
  // to 21.0 / 22.8 ms a step.
  const JPT = Math.ceil(R / TX);
  const aIdx = l.aAlongK ? 'let m = e / TK; let k = e % TK;' : 'let k = e / TM; let m = e % TM;';
  const bIdx = l.bAlongN ? 'let k = e / TN; let n = e % TN;' : 'let n = e / TK; let k = e % TK;';
  const lIdx = l.side?.lAlongJ ? 'let k = e / R; let j = e % R;' : 'let j = e / TK; let k = e % TK;';
  const side = (code: string) => (R ? code : '');
  return `
const TM = ${TM}u; const TN = ${TN}u; const TK = ${TK}u; const RM = ${RM}u; const RN = ${RN}u;
const TX = ${TX}u; const TY = ${TY}u; const NT = ${gemmThreads()}u;
const VM = ${RM / 4}u; const VN = ${RN / 4}u; const SA = ${SA}u; const SB = ${SB}u;
// the A tile at k * SA + m, the B tile at BS + k * SB + n (floats); after the K loop
// the side product of the tile's rows at m * R + j
const BS = ${TK * SA}u;
var<workgroup> AB: array<vec4<f32>, ${stagedFloats(l) / 4}>;
fn sget(p: u32) -> f32 { return AB[p / 4u][p % 4u]; }
fn sset(p: u32, v: f32) { AB[p / 4u][p % 4u] = v; }
var<private> acc: array<vec4<f32>, ${RM * (RN / 4)}>;
// the next K slice's tile elements of this thread, loaded while the current one is summed
const EA = ${Math.ceil((TM * TK) / gemmThreads())}u; const EB = ${Math.ceil((TN * TK) / gemmThreads())}u;
var<private> pa: array<f32, EA>;
var<private> pb: array<f32, EB>;
${side(`const R = ${R}u;
const JPT = ${JPT}u;
const EL = ${Math.ceil((R * TK) / gemmThreads())}u;
var<workgroup> Ls: array<f32, ${TK * R}>;
var<private> sacc: array<f32, ${RM * JPT}>;
var<private> pl: array<f32, EL>;`)}
fn fetchTiles(t: u32, m0: u32, n0: u32, k0: u32, kEnd: u32, M: u32, N: u32, sideOn: bool) {
  for (var u = 0u; u < EA; u++) {
    let e = t + u * NT;
    var v = 0.0;
    if (e < TM * TK) {
      ${aIdx}
      if (m0 + m < M && k0 + k < kEnd) { v = loadA(m0 + m, k0 + k); }
    }
    pa[u] = v;
  }
  for (var u = 0u; u < EB; u++) {
    let e = t + u * NT;
    var v = 0.0;
    if (e < TN * TK) {
      ${bIdx}
      if (n0 + n < N && k0 + k < kEnd) { v = loadB(k0 + k, n0 + n); }
    }
    pb[u] = v;
  }
  ${side(`if (sideOn) {
    for (var u = 0u; u < EL; u++) {
      let e = t + u * NT;
      var v = 0.0;
      if (e < R * TK) {
        ${lIdx}
        if (k0 + k < kEnd) { v = loadL(k0 + k, j); }
      }
      pl[u] = v;
    }
  }`)}
}
fn stageTiles(t: u32, sideOn: bool) {
  for (var u = 0u; u < EA; u++) {
    let e = t + u * NT;
    if (e < TM * TK) { ${aIdx} sset(k * SA + m, pa[u]); }
  }
  for (var u = 0u; u < EB; u++) {
    let e = t + u * NT;
    if (e < TN * TK) { ${bIdx} sset(BS + k * SB + n, pb[u]); }
  }
  ${side(`if (sideOn) {
    for (var u = 0u; u < EL; u++) {
      let e = t + u * NT;
      if (e < R * TK) { ${lIdx} Ls[k * R + j] = pl[u]; }
    }
  }`)}
}
fn gemm(t: u32, m0: u32, n0: u32, kBegin: u32, kEnd: u32, M: u32, N: u32) {
  for (var i = 0u; i < RM * VN; i++) { acc[i] = vec4<f32>(0.0); }
  ${side('for (var q = 0u; q < RM * JPT; q++) { sacc[q] = 0.0; }')}
  let tx = t % TX;
  let ty = t / TX;
  // the side product, where the caller has one: the first column of tiles only
  let sideOn = n0 == 0u;
  fetchTiles(t, m0, n0, kBegin, kEnd, M, N, sideOn);
  for (var k0 = kBegin; k0 < kEnd; k0 += TK) {
    stageTiles(t, sideOn);
    workgroupBarrier();
    if (k0 + TK < kEnd) { fetchTiles(t, m0, n0, k0 + TK, kEnd, M, N, sideOn); }
    for (var k = 0u; k < TK; k++) {
      var a: array<vec4<f32>, VM>;
      var b: array<vec4<f32>, VN>;
      for (var i = 0u; i < VM; i++) { a[i] = AB[(k * SA + ty * RM) / 4u + i]; }
      for (var j = 0u; j < VN; j++) { b[j] = AB[(BS + k * SB + tx * RN) / 4u + j]; }
      for (var i = 0u; i < RM; i++) {
        let ai = vec4<f32>(a[i / 4u][i % 4u]);
        for (var j = 0u; j < VN; j++) { acc[i * VN + j] = fma(ai, b[j], acc[i * VN + j]); }
      }
      ${side(`for (var jj = 0u; jj < JPT; jj++) {
        let j = tx + jj * TX;
        if (sideOn && j < R) {
          let lv = Ls[k * R + j];
          for (var i = 0u; i < RM; i++) { sacc[jj * RM + i] = fma(a[i / 4u][i % 4u], lv, sacc[jj * RM + i]); }
        }
      }`)}
    }
    workgroupBarrier();
  }
  ${side(`for (var jj = 0u; jj < JPT; jj++) {
    let j = tx + jj * TX;
    if (sideOn && j < R) {
      for (var i = 0u; i < RM; i++) { sset((ty * RM + i) * R + j, sacc[jj * RM + i]); }
    }
  }
  workgroupBarrier();`)}
}
`;
}

/** `main`'s start for a plain C = A B over params M, N, K: the workgroup's tile, then its sums. */
export const TILE_MAIN = `${WID}
  let M = P.M; let N = P.N;
  let tilesN = (N + TN - 1u) / TN;
  if (wid >= ((M + TM - 1u) / TM) * tilesN) { return; }
  let m0 = (wid / tilesN) * TM;
  let n0 = (wid % tilesN) * TN;
  gemm(t, m0, n0, 0u, P.K, M, N);`;

/** The loop over a thread's outputs of the tile: `body` sees m, n (global), i (row slot) and v (the sum). */
export function forEachOutput(body: string): string {
  return `
  let tx = t % TX;
  let ty = t / TX;
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
