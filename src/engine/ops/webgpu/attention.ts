// Fused multi-head attention over q, k, v as [B*T, D] (heads are column blocks, read in
// place: no head transposes). Forward, one launch: per query row, scores, an online
// softmax and the weighted sum of values, keeping the log-sum-exp per row. Backward,
// two launches: dq per query row (also writing D_i = dO_i . O_i), then dk and dv per
// key row; both recompute the probabilities from the saved log-sum-exp. A row is shared
// by a few threads (lanes) where the device has subgroups: each holds every lanes-th
// vec4 of it and their partial dot products are added by shuffles; a thread may carry
// two rows, which share its reads of the staged keys and its shuffles.
import * as tf from '@tensorflow/tfjs';
import { alloc, run, webgpu, type Ref } from './dispatch';
import { MAIN_ARGS, WID, makeKernel, memoKernel, type BindingSpec, type Dispatch, type Kernel } from './kernel';
import { LANE_COUNTS, subgroupLanes, subgroupLanesWhy } from './subgroups';
import { range, tiledForwardFits, tiledForwardKernel } from './attention-tiled';
import { tiledBackwardFits, tiledBackwardKernel } from './attention-tiled-backward';

/**
 * Rows per workgroup ('fit': attentionRows), the most keys staged at once, and the
 * threads a row is shared by where subgroups allow (tunable). Lanes against one thread a
 * row, attention's device ms a full step (H200, one call): tiny b128 2.52 -> 1.74 (2
 * lanes), 1.62 (4), 2.02 (8);
 * small b128 5.79 -> 3.76, 3.57, 4.54; tiny b32 1.16 -> 0.76, 0.71, 0.84. With 4 lanes
 * a thread's share of its row falls from 128-256 floats (head width 64: q and o in the
 * forward, k, v, dk and dv in the key/value gradient) to 32-64 (the key/value gradient
 * 1.13 -> 0.62 ms at tiny b128). Then 64 rows a workgroup or 32 keys staged were slower
 * (1.91 and 1.96 ms). Computing in subgroup-uniform control flow (see prologue) took 4
 * lanes to 1.47, 3.11 and 0.62 ms.
 * Rows fitted to the tokens: at 65 tokens, 32 rows a workgroup left its third block of
 * every head one row (a third of the workgroups, each a whole pass over the keys); two
 * blocks of 33 took attention 1.45 -> 1.22 ms a tiny b128 step, 0.61 -> 0.57 at b32 and
 * 3.11 -> 2.84 at small (the step 8.58 -> 8.32, 3.62 -> 3.57, 33.56 -> 33.30 ms; H200,
 * one call, the same losses). Three of 22 were as fast; one of 65 (2 lanes) had the
 * fastest forward and a slower backward.
 * Rows a thread per kernel (`rowsPerThread`), and the workgroups a launch must keep to
 * take two (`twoRowsFrom`): see ROWS_PER_THREAD. Staged keys a step per kernel
 * (`keysPerStep`): see KEYS_PER_STEP.
 */
export const ATTENTION: { rowsPerGroup: number | 'fit'; stagedFloats: number; lanes: number; rowsPerThread: PartRows; twoRowsFrom: number; keysPerStep: PartKeys } =
  { rowsPerGroup: 'fit', stagedFloats: 1024, lanes: 4, rowsPerThread: { forward: 2, query: 2, keyValue: 1 }, twoRowsFrom: 256, keysPerStep: { forward: 1, query: 2, keyValue: 2 } };

/**
 * Rows a thread (with its lanes) carries, per kernel: with two, each staged key (or
 * query) vector read from workgroup memory feeds both rows' products, and one round of
 * shuffles adds both rows' partial sums. A row's floats are the same either way (each
 * row sums in the same order). Measured on the H200 (Node + Dawn, every launch timed,
 * two calls alike within 1%), one row a thread -> two: at tiny b128 the forwards of a
 * step 0.324 -> 0.246-0.248 ms, the query gradients 0.468 -> 0.417-0.419, the key/value
 * gradients 0.450 -> 0.505 (each of its rows holds k, v, dk and dv: twice the registers);
 * on small b128 0.782 -> 0.622-0.625, 0.940 -> 0.899-0.907, 1.122 -> 1.147-1.151. At
 * tiny b32 (96 workgroups of 65 rows) every kernel lost (the forwards 0.166 -> 0.178),
 * and with blocks of 33 rows (192 workgroups of 96 threads) still (0.181): hence a kernel
 * takes two rows a thread only where that launch still makes `twoRowsFrom` workgroups.
 */
const ROWS_PER_THREAD = [1, 2] as const;
export type RowsPerThread = (typeof ROWS_PER_THREAD)[number];

/**
 * Staged keys (in the key/value gradient, staged queries) a thread takes a step, per
 * kernel: with two, both keys' dot products are summed before either is used, so their
 * lane sums share one round of shuffles (four floats a shuffle: at two rows a thread the
 * backward's eight take two shuffles side by side) and the two chains of FMAs overlap. Each
 * key is then used in the order it was (the softmax, the sums into o, dq, dk, dv), so the
 * floats are the same; an odd key left in a staged tile takes a step of its own.
 * Measured on the H200 (Node + Dawn, every launch timed, one call), one key a step -> two,
 * ms a full step: the query gradients 0.425 -> 0.406 at tiny b128 (0.423 -> 0.408 run
 * again), 0.905 -> 0.873 on small b128, 0.205 -> 0.189 at tiny b32; the key/value
 * gradients 0.450 -> 0.428 (0.449 -> 0.428), 1.133 -> 1.088, 0.199 -> 0.198. The
 * forward, whose two rows a thread already sum two scores a round, lost: 0.249 -> 0.259
 * (0.247 -> 0.259), 0.625 -> 0.637, 0.165 -> 0.169.
 */
const KEYS_PER_STEP = [1, 2] as const;
export type KeysPerStep = (typeof KEYS_PER_STEP)[number];

/** The attention kernels, each by its setting's name and its kernels' name (`attention.<name>/...` keys). */
export const ATTENTION_KERNELS = { forward: 'forward', query: 'backward-q', keyValue: 'backward-kv' } as const;
export type Part = keyof typeof ATTENTION_KERNELS;
export const PARTS = Object.keys(ATTENTION_KERNELS) as Part[];
export type PartRows = Record<Part, RowsPerThread>;
export type PartKeys = Record<Part, KeysPerStep>;

/** Tokens a fitted block stands for at `perThread` rows a thread: 32 threads' rows (attentionRows). */
const fitUnit = (perThread: RowsPerThread) => 32 * perThread;

/** Fitted rows a workgroup are at most this many: a block covers under two units (attentionRows). */
const mostFittedRows = (perThread: RowsPerThread) => 2 * fitUnit(perThread) - 1;

/**
 * Query rows a workgroup at `tokens` rows a head, `perThread` rows a thread: as ATTENTION
 * says, or fitted: a block for every whole 32 threads' rows (32 x perThread tokens), the
 * rows spread evenly over them (ceil(T / floor(T / unit))), so the last block is short by
 * fewer rows than there are blocks; a head of under one unit in one block. At a row a
 * thread: 65 tokens in two blocks of 33, 197 in six of 33, 97 in 33 + 33 + 31, 17 in one
 * of 17; at two, 65 in one block.
 */
export function attentionRows(tokens: number, perThread: RowsPerThread = 1): number {
  if (ATTENTION.rowsPerGroup !== 'fit') return ATTENTION.rowsPerGroup;
  const unit = fitUnit(perThread);
  return tokens <= unit ? Math.max(1, tokens) : Math.ceil(tokens / Math.floor(tokens / unit));
}

/** Workgroups of an attention launch: a block of rows of each head of each example. */
const workgroupsOf = (s: AttentionSpec, rows: number) => Math.ceil(s.tokens / rows) * s.batch * s.heads;

/**
 * Rows a thread and rows a workgroup of one attention kernel (`part`) on `s`: its
 * ATTENTION.rowsPerThread, but one where two would leave the launch fewer than
 * ATTENTION.twoRowsFrom workgroups.
 */
export function rowsOf(part: Part, s: AttentionSpec): { perThread: RowsPerThread; rows: number } {
  const two = ATTENTION.rowsPerThread[part] === 2 && workgroupsOf(s, attentionRows(s.tokens, 2)) >= ATTENTION.twoRowsFrom;
  const perThread = two ? 2 : 1;
  return { perThread, rows: attentionRows(s.tokens, perThread) };
}

/**
 * Threads of a workgroup of `rows` rows of `lanes` threads, `perThread` rows a thread:
 * rounded up to 32, so every size is one the subgroup probe checks (a GPU runs whole
 * warps of 32 or more anyway; the extra threads stage keys and store nothing).
 */
export const attentionThreads = (rows: number, lanes: number, perThread = 1) => 32 * Math.ceil((Math.ceil(rows / perThread) * lanes) / 32);

/**
 * Attention tuning written `qROWS/sFLOATS[/lLANES][/rF.Q.K][/kF.Q.K]` (the key's form; F,
 * Q, K the rows a thread, then the keys a step, of the forward, query and key/value
 * gradients, or one figure for all), checked: a tuning run sets it before any kernel is
 * made (`npm run bench -- --attention-tile q32/s1024/l8`, `qfit/s1024/l4/r2.2.1/k2`). An
 * error names what to change.
 */
export function parseAttentionTile(text: string): Omit<typeof ATTENTION, 'twoRowsFrom'> | string {
  const m = /^q(fit|\d{1,3})\/s(\d{1,4})(?:\/l(\d{1,2}))?(?:\/r(\d)(?:\.(\d)\.(\d))?)?(?:\/k(\d)(?:\.(\d)\.(\d))?)?$/.exec(text);
  if (!m) return `--attention-tile: write qROWS/sFLOATS[/lLANES][/rF.Q.K][/kF.Q.K], ROWS a number or fit, e.g. ${attentionTileKey()} (got "${text.slice(0, 40)}")`;
  const fit = m[1] === 'fit';
  const rowsPerThread = perPart(m.slice(4, 7), ROWS_PER_THREAD, 'rows a thread (rF.Q.K, or one figure)', ATTENTION.rowsPerThread);
  if (typeof rowsPerThread === 'string') return rowsPerThread;
  const keysPerStep = perPart(m.slice(7, 10), KEYS_PER_STEP, 'keys a step (kF.Q.K, or one figure)', ATTENTION.keysPerStep);
  if (typeof keysPerStep === 'string') return keysPerStep;
  const rows = Number(m[1]);
  const rowsPerGroup = fit ? 'fit' as const : rows;
  const stagedFloats = Number(m[2]);
  if (!fit && (rows < 1 || rows > 256)) return `--attention-tile: rows per workgroup must be from 1 to 256, or fit (got ${rows})`;
  // two staged arrays of that many floats in 16 KiB of workgroup memory
  if (stagedFloats < 64 || stagedFloats > 2048) return `--attention-tile: staged floats must be from 64 to 2048 (got ${stagedFloats})`;
  // the threads of every workgroup a kernel can make: at one row a thread (any kernel
  // takes one where two would leave too few workgroups: rowsOf) and, where asked, two
  const perThreads = [...new Set<RowsPerThread>([1, ...Object.values(rowsPerThread)])];
  const most = (r: RowsPerThread) => (fit ? mostFittedRows(r) : rows);
  const over = (lanes: number) => perThreads.find((r) => attentionThreads(most(r), lanes, r) > 256);
  // unsaid, the default lanes, halved until the workgroup fits 256 threads (q96/s1024 gets 2)
  let lanes = m[3] === undefined ? ATTENTION.lanes : Number(m[3]);
  if (m[3] === undefined) while (lanes > 1 && over(lanes) !== undefined) lanes /= 2;
  if (!(LANE_COUNTS as readonly number[]).includes(lanes)) return `--attention-tile: lanes per row must be ${LANE_COUNTS.join(', ')} (got ${lanes})`;
  const r = over(lanes);
  if (r !== undefined) {
    const got = `${fit ? `fit, up to ${most(r)}` : most(r)}${r > 1 ? ` / ${r}` : ''}`;
    return `--attention-tile: rows${r > 1 ? ' / rows a thread' : ''} x lanes must be at most 256 threads (got ${got} x ${lanes}): set fewer rows or lanes (a kernel takes one row a thread where two would leave too few workgroups)`;
  }
  return { rowsPerGroup, stagedFloats, lanes, rowsPerThread, keysPerStep };
}

/**
 * A per-kernel figure of the flag (`rF.Q.K` or `kF.Q.K`, or one figure for all three) from
 * its three matched groups, checked against `allowed`; the setting `now` where absent.
 */
function perPart<T extends number>(groups: (string | undefined)[], allowed: readonly T[], what: string, now: Record<Part, T>): Record<Part, T> | string {
  const [first, ...rest] = groups;
  if (first === undefined) return { ...now };
  const given = (rest[0] === undefined ? [first, first, first] : [first, ...rest]).map(Number);
  const bad = given.find((r) => !(allowed as readonly number[]).includes(r));
  if (bad !== undefined) return `--attention-tile: ${what} must be ${allowed.join(' or ')} (got ${bad})`;
  return Object.fromEntries(PARTS.map((p, i) => [p, given[i]])) as Record<Part, T>;
}

/** The attention settings in the flag's form (`qfit/s1024/l4/r2.2.1/k1.2.2`, the defaults), for reports and help. */
export function attentionTileKey(): string {
  const figures = (per: Record<Part, number>) => PARTS.map((p) => per[p]).join('.');
  return `q${ATTENTION.rowsPerGroup}/s${ATTENTION.stagedFloats}/l${ATTENTION.lanes}/r${figures(ATTENTION.rowsPerThread)}/k${figures(ATTENTION.keysPerStep)}`;
}

const keysPerTile = (hd: number) => Math.max(1, Math.min(32, Math.floor(ATTENTION.stagedFloats / hd)));

const PARAMS = ['T', 'H', 'D', 'BH'].map((name) => ({ name, type: 'u32' as const }));
const params = [...PARAMS, { name: 'scale', type: 'f32' as const }];

/**
 * A thread's row of a head as HV values of type VT: vec4s where the head width is a
 * multiple of 4, else floats. With one float per step every dot product was a chain of
 * HD dependent FMAs and a shared load per FMA; four lanes of a vec4 are four chains and
 * a load per four FMAs.
 */
function vectors(hd: number): { W: number; HV: number; VT: string } {
  const W = hd % 4 === 0 ? 4 : 1;
  return { W, HV: hd / W, VT: W === 4 ? 'vec4<f32>' : 'f32' };
}

/**
 * Threads sharing a row at head width `hd` on this device: ATTENTION.lanes, or fewer
 * where the device's subgroups allow fewer or the row's vec4s do not divide among them
 * (a row of floats stays with one thread).
 */
export function lanesFor(hd: number): number {
  const { W, HV } = vectors(hd);
  let lanes = W === 4 ? Math.min(ATTENTION.lanes, subgroupLanes(webgpu().device)) : 1;
  while (lanes > 1 && HV % lanes) lanes /= 2;
  return lanes;
}

/** How attention rows run at head width `hd` on this device, for reports: `4 lanes`, `1 lane (no subgroups)`. */
function lanesNote(hd: number): string {
  const lanes = lanesFor(hd);
  if (lanes > 1) return `${lanes} lanes`;
  const device = webgpu().device;
  const why = vectors(hd).W !== 4 ? `head width ${hd}, not a multiple of 4`
    : ATTENTION.lanes === 1 ? 'lanes set to 1'
    : subgroupLanes(device) === 1 ? subgroupLanesWhy(device) : `head width ${hd}: its vec4s do not divide among lanes`;
  return `1 lane (${why})`;
}

/**
 * How attention runs on `s` on this device, for reports: its lanes a row, and each
 * kernel's rows a thread and keys a step (forward / query / key-value gradient), `4
 * lanes, 2/2/1 rows a thread, 1/2/2 keys a step`; where the forward or the backward
 * runs on register tiles, so (`register tiles, a workgroup a head (forward and backward)`).
 */
export function attentionNote(s: AttentionSpec): string {
  const [forward, backward] = [tiledForward(s), tiledBackward(s)];
  if (forward && backward) return 'register tiles, a workgroup a head (forward and backward)';
  const rows = `${lanesNote(s.width / s.heads)}, ${PARTS.map((p) => rowsOf(p, s).perThread).join('/')} rows a thread, ${PARTS.map((p) => ATTENTION.keysPerStep[p]).join('/')} keys a step`;
  if (forward || backward) return `${rows} (the ${forward ? "forward's figures unused: it runs" : "gradients' figures unused: they run"} on register tiles)`;
  return rows;
}

/** The VT at float index `i` of storage array `a` (a WGSL expression; `i` is evaluated once per float). */
function vload(hd: number, a: string, i: string): string {
  return vectors(hd).W === 4 ? `vec4<f32>(${a}[${i}], ${a}[${i} + 1u], ${a}[${i} + 2u], ${a}[${i} + 3u])` : `${a}[${i}]`;
}

/** Statements storing VT `v` at float index `i` of storage array `a`. */
function vstore(hd: number, a: string, i: string, v: string): string {
  return vectors(hd).W === 4
    ? `${a}[${i}] = ${v}.x; ${a}[${i} + 1u] = ${v}.y; ${a}[${i} + 2u] = ${v}.z; ${a}[${i} + 3u] = ${v}.w;`
    : `${a}[${i}] = ${v};`;
}

/**
 * Constants and the rows this thread shares: query or key rows `i0` (.. `i{R-1}`, the
 * R rows of its row group `g`, next to one another) of head `bh`, as lane `lane` of L;
 * a row's u-th value is its vec4 `u L + lane` (float `c(u)` of the row), so the lanes of
 * a row load neighbouring memory and read neighbouring staged values.
 * `busy`: whether this thread computes. With lanes, every thread of a subgroup computes
 * when any of its rows is valid, so that its shuffles run in subgroup-uniform control
 * flow (WGSL leaves shuffles among a subgroup's diverged threads undefined); a row past
 * the block or T reads row min(i, T - 1) (`ic0`..) and stores nothing. A subgroup with
 * no valid row skips, as a thread with no valid row does without lanes.
 */
function prologue(lanes: number, R: number): string {
  const row = (r: number) => (R > 1 ? `g * R + ${r}u` : 'g');
  return `
  ${WID}
  let blocks = (P.T + QB - 1u) / QB;
  if (wid >= blocks * P.BH) { return; }
  let bh = wid / blocks;
  let row0 = (bh / P.H) * P.T;
  let col = (bh % P.H) * HD;
  let lane = t % L;
  let g = t / L;
  // threads past the block's rows (the workgroup rounded up to 32) store nothing${each(R, (r) => `
  let i${r} = (wid % blocks) * QB + ${row(r)};
  let valid${r} = ${row(r)} < QB && i${r} < P.T;
  let ic${r} = min(i${r}, P.T - 1u);
  let at${r} = (row0 + ic${r}) * P.D + col;`, '')}
  let busy = ${lanes > 1 ? `subgroupAny(${each(R, (r) => `valid${r}`, ' || ')})` : each(R, (r) => `valid${r}`, ' || ')};`;
}

/** `f(r)` for each of a thread's R rows, joined by `sep`: per-row WGSL. */
const each = (R: number, f: (r: number) => string, sep = ' ') => range(R).map(f).join(sep);

/**
 * `lanesum(x)`, `lanesum2(x)`, `lanesum4(x)`: a float (or two, or four) summed over the
 * row's lanes, the sum in every lane; the components are summed apart, each as alone.
 */
function laneSums(lanes: number): string {
  const steps = (v: string) => LANE_COUNTS.filter((m) => m < lanes).map((m) => `${v} += subgroupShuffleXor(${v}, ${m}u);`).join(' ');
  return `
fn lanesum(x: f32) -> f32 { var s = x; ${steps('s')} return s; }
fn lanesum2(x: vec2<f32>) -> vec2<f32> { var s = x; ${steps('s')} return s; }
fn lanesum4(x: vec4<f32>) -> vec4<f32> { var s = x; ${steps('s')} return s; }`;
}

/**
 * Statements summing the floats `xs` over the row's lanes into \`${name}0\`, \`${name}1\`..,
 * up to four a round of shuffles (a lane's floats summed apart, each as alone), and each
 * sum's expression.
 */
function laneSumsOf(name: string, xs: string[]): { code: string; at: (i: number) => string } {
  if (xs.length === 1) return { code: `let ${name}0 = lanesum(${xs[0]});`, at: () => `${name}0` };
  const groups = range(Math.ceil(xs.length / 4)).map((g) => xs.slice(4 * g, 4 * g + 4));
  // a group of two as a vec2, else a vec4 padded with zeros
  const code = groups.map((g, i) => (g.length === 2
    ? `let ${name}${i} = lanesum2(vec2<f32>(${g.join(', ')}));`
    : `let ${name}${i} = lanesum4(vec4<f32>(${[...g, '0.0', '0.0', '0.0'].slice(0, 4).join(', ')}));`)).join(' ');
  return { code, at: (i) => `${name}${i >> 2}.${'xyzw'[i & 3]}` };
}

/**
 * The loop over a staged tile's `jn` keys from `jj`, `K` a step (`step(n)`: the WGSL of a
 * step of n keys, at jj .. jj + n - 1), an odd key last in a step of its own.
 */
function keySteps(K: KeysPerStep, step: (n: number) => string): string {
  if (K === 1) return `for (var jj = 0u; jj < jn; jj++) {${step(1)}
      }`;
  // K is 2: a tile leaves one key at most
  return `var jj = 0u;
      for (; jj + ${K - 1}u < jn; jj += ${K}u) {${step(K)}
      }
      if (jj < jn) {${step(1)}
      }`;
}

/**
 * The forward's and the query gradient's loop over the keys: each tile of KB keys and
 * their values staged, then the busy threads' rows stepped through its keys (keySteps).
 */
function keyTiles(hd: number, K: KeysPerStep, step: (n: number) => string): string {
  return `for (var j0 = 0u; j0 < P.T; j0 += KB) {
    ${stage(hd, 'K', 'V')}
    if (busy) {
      let jn = min(KB, P.T - j0);
      ${keySteps(K, step)}
    }
    workgroupBarrier();
  }`;
}

/** Key k of a step (its jj). */
const keyAt = (k: number) => (k ? `jj + ${k}u` : 'jj');

/** This lane's u-th vector of key k of a step in staged array `a` (S1 or S2). */
const stagedAt = (a: 'S1' | 'S2', k: number) => `${a}[(${keyAt(k)}) * HV + u * L + lane]`;

const header = (hd: number, L: number, rows: number, R: number) => {
  const { W, HV, VT } = vectors(hd);
  return `
const HD = ${hd}u; const HV = ${HV}u; const W = ${W}u; const QB = ${rows}u; const KB = ${keysPerTile(hd)}u;
const L = ${L}u; const HL = ${HV / L}u; const NTH = ${attentionThreads(rows, L, R)}u;${R > 1 ? ` const R = ${R}u;` : ''}
alias VT = ${VT};
fn hsum(v: VT) -> f32 { return ${W === 4 ? 'dot(v, vec4<f32>(1.0))' : 'v'}; }
fn c(u: u32, lane: u32) -> u32 { return (u * L + lane) * W; }
${laneSums(L)}
var<workgroup> S1: array<VT, ${keysPerTile(hd) * HV}>;
var<workgroup> S2: array<VT, ${keysPerTile(hd) * HV}>;`;
};

/** Stage rows j0.. of two [B*T, D] tensors' head columns into S1, S2 (zeros past T). */
const stage = (hd: number, a: string, b: string, scaleA = '') => `
    for (var e = t; e < KB * HV; e += NTH) {
      let jj = e / HV;
      var va = VT(0.0); var vb = VT(0.0);
      if (j0 + jj < P.T) {
        let src = (row0 + j0 + jj) * P.D + col + (e % HV) * W;
        va = ${vload(hd, a, 'src')}${scaleA}; vb = ${vload(hd, b, 'src')};
      }
      S1[e] = va; S2[e] = vb;
    }
    workgroupBarrier();`;

/**
 * One of the attention kernels at head width `hd`, `rows` query rows a workgroup, with
 * this device's lanes a row, `R` rows a thread and `K` keys a step: its key (head width,
 * tuning, lanes, rows a thread, keys a step: the WGSL differs by each), the shared
 * header, the workgroup of rows / R x lanes threads rounded up to 32 (attentionThreads)
 * and `main`'s prologue around `main`. With lanes the module enables subgroups; the shuffles run
 * under \`if (busy)\`, uniform across each subgroup by construction (subgroupAny), which
 * WGSL's uniformity analysis, by workgroup, cannot see: its subgroup diagnostic is
 * turned off.
 */
function attentionKernel(part: Part, hd: number, rows: number, R: RowsPerThread, K: KeysPerStep, bindings: BindingSpec[], main: string, decls = ''): Kernel {
  const L = lanesFor(hd);
  // the flag's parser refuses such settings; ATTENTION set in code is checked here
  if (attentionThreads(rows, L, R) > 256) throw new Error(`attention: ${rows} rows, ${R} a thread, of ${L} lanes a workgroup is over 256 threads: set fewer rows or lanes (ATTENTION)`);
  const name = `attention.${ATTENTION_KERNELS[part]}`;
  const key = `${name}/h${hd}/q${rows}/s${ATTENTION.stagedFloats}/l${L}${R > 1 ? `/r${R}` : ''}${K > 1 ? `/k${K}` : ''}`;
  return memoKernel(key, () => makeKernel({
    name, key, params, bindings,
    directives: L > 1 ? ['enable subgroups;', 'diagnostic(off, subgroup_uniformity);'] : [],
    body: `${header(hd, L, rows, R)}${decls}
@compute @workgroup_size(${attentionThreads(rows, L, R)})
fn main(${MAIN_ARGS}) {
  ${prologue(L, R)}
${main}
}`,
  }));
}

const read = (name: string): BindingSpec => ({ name, access: 'read' });
const rw = (name: string): BindingSpec => ({ name, access: 'rw' });

function forwardKernel(hd: number, rows: number, R: RowsPerThread, K: KeysPerStep): Kernel {
  // The online softmax key by key: with a staged tile's scores summed first into an
  // array and their exps after, the forward took 0.50 ms a tiny b128 step and 1.04 at
  // small (H200, 4 lanes, one call); key by key 0.48 and 0.98.
  // One exp a key: of exp(mx - top) and exp(x - top) one is exp(0) = 1, so the same
  // floats as taking both; 1 + (v - v) is that 1, or NaN where v is infinite, as
  // exp(inf - inf) was (a blown-up score still makes the output NaN).
  // o is scaled only where the score raised the maximum: elsewhere corr is 1 (o * 1 is
  // o, the same floats) or NaN from an infinite maximum, which had already made o NaN
  // when that score came. The forwards of a step 0.331 -> 0.324 ms at tiny b128, 0.800
  // -> 0.782 on small, 0.171 -> 0.165 at b32 (H200, launches timed one by one, two calls
  // alike); the step within its noise.
  const step = (n: number) => {
    const ks = range(n);
    const x = laneSumsOf('x', ks.flatMap((k) => range(R).map((r) => `hsum(d${r}_${k})`)));
    return `
        ${ks.map((k) => each(R, (r) => `var d${r}_${k} = VT(0.0);`)).join(' ')}
        for (var u = 0u; u < HL; u++) {${ks.map((k) => ` let kk${k} = ${stagedAt('S1', k)}; ${each(R, (r) => `d${r}_${k} = fma(q${r}[u], kk${k}, d${r}_${k});`)}`).join('')} }
        ${x.code}${ks.map((k) => `${each(R, (r) => `
        let x${r}_${k} = ${x.at(k * R + r)};
        let e${r}_${k} = exp(-abs(x${r}_${k} - mx${r}));
        let up${r}_${k} = x${r}_${k} > mx${r};
        let corr${r}_${k} = select(1.0 + (mx${r} - mx${r}), e${r}_${k}, up${r}_${k});
        let p${r}_${k} = select(e${r}_${k}, 1.0 + (x${r}_${k} - x${r}_${k}), up${r}_${k});
        l${r} = l${r} * corr${r}_${k} + p${r}_${k};
        if (up${r}_${k}) { for (var u = 0u; u < HL; u++) { o${r}[u] = o${r}[u] * corr${r}_${k}; } }`, '')}
        for (var u = 0u; u < HL; u++) { let vv = ${stagedAt('S2', k)}; ${each(R, (r) => `o${r}[u] = fma(VT(p${r}_${k}), vv, o${r}[u]);`)} }
        ${each(R, (r) => `mx${r} = max(mx${r}, x${r}_${k});`)}`).join('')}`;
  };
  return attentionKernel('forward', hd, rows, R, K, [read('Q'), read('K'), read('V'), rw('O'), rw('LSE')], `
  ${each(R, (r) => `var q${r}: array<VT, HL>; var o${r}: array<VT, HL>; var mx${r} = -3.0e38; var l${r} = 0.0;`, '\n  ')}
  if (busy) { for (var u = 0u; u < HL; u++) { ${each(R, (r) => `q${r}[u] = ${vload(hd, 'Q', `at${r} + c(u, lane)`)} * P.scale;`)} } }
  ${keyTiles(hd, K, step)}${each(R, (r) => `
  if (valid${r}) {
    let inv = 1.0 / l${r};
    for (var u = 0u; u < HL; u++) { let ov = o${r}[u] * inv; ${vstore(hd, 'O', `at${r} + c(u, lane)`, 'ov')} }
    if (lane == 0u) { LSE[bh * P.T + i${r}] = mx${r} + log(l${r}); }
  }`, '')}`);
}

/**
 * A backward kernel's step of n staged rows (jj ..): each staged row's S1 and S2 vectors
 * as `names` (with the key's number), the score s and dp of each of the thread's R rows
 * against it (`fmas(r, k)`: the statements adding one vector's products), then their sums
 * over the lanes, each key's rows' s and dp in that order; `at(k, r, 0 | 1)` one sum.
 */
function scoreSteps(n: number, R: RowsPerThread, names: [string, string], fmas: (r: number, k: number) => string): { code: string; at: (k: number, r: number, which: 0 | 1) => string } {
  const ks = range(n);
  const x = laneSumsOf('x', ks.flatMap((k) => range(R).flatMap((r) => [`hsum(s${r}_${k})`, `hsum(dp${r}_${k})`])));
  const code = `
        ${ks.map((k) => each(R, (r) => `var s${r}_${k} = VT(0.0); var dp${r}_${k} = VT(0.0);`)).join(' ')}
        for (var u = 0u; u < HL; u++) {${ks.map((k) => `
          let ${names[0]}${k} = ${stagedAt('S1', k)}; let ${names[1]}${k} = ${stagedAt('S2', k)};
          ${each(R, (r) => fmas(r, k))}`).join('')}
        }
        ${x.code}`;
  return { code, at: (k, r, which) => x.at(2 * (k * R + r) + which) };
}

function queryGradKernel(hd: number, rows: number, R: RowsPerThread, K: KeysPerStep): Kernel {
  const bindings = [read('Q'), read('K'), read('V'), read('O'), read('DO'), read('LSE'), rw('DQ'), rw('DV')];
  const d = laneSumsOf('dd', range(R).map((r) => `hsum(d4${r})`));
  const step = (n: number) => {
    const ks = range(n);
    const { code, at } = scoreSteps(n, R, ['kk', 'vv'], (r, k) => `s${r}_${k} = fma(q${r}[u], kk${k}, s${r}_${k}); dp${r}_${k} = fma(g${r}[u], vv${k}, dp${r}_${k});`);
    return `${code}
        ${ks.map((k) => each(R, (r) => `let ds${r}_${k} = exp(${at(k, r, 0)} - lse${r}) * (${at(k, r, 1)} - di${r});`)).join(' ')}
        for (var u = 0u; u < HL; u++) {${ks.map((k) => ` let kk${k} = ${stagedAt('S1', k)}; ${each(R, (r) => `dq${r}[u] = fma(VT(ds${r}_${k}), kk${k}, dq${r}[u]);`)}`).join('')} }`;
  };
  return attentionKernel('query', hd, rows, R, K, bindings, `
  ${each(R, (r) => `var q${r}: array<VT, HL>; var g${r}: array<VT, HL>; var dq${r}: array<VT, HL>; var di${r} = 0.0; var lse${r} = 0.0;`, '\n  ')}
  if (busy) {
    ${each(R, (r) => `var d4${r} = VT(0.0);`)}
    for (var u = 0u; u < HL; u++) {${each(R, (r) => `
      q${r}[u] = ${vload(hd, 'Q', `at${r} + c(u, lane)`)} * P.scale;
      g${r}[u] = ${vload(hd, 'DO', `at${r} + c(u, lane)`)};
      d4${r} = fma(g${r}[u], ${vload(hd, 'O', `at${r} + c(u, lane)`)}, d4${r});`, '')}
    }
    ${d.code}${each(R, (r) => `
    di${r} = ${d.at(r)};
    lse${r} = LSE[bh * P.T + ic${r}];
    if (valid${r} && lane == 0u) { DV[bh * P.T + i${r}] = di${r}; }`, '')}
  }
  ${keyTiles(hd, K, step)}${each(R, (r) => `
  if (valid${r}) { for (var u = 0u; u < HL; u++) { let ov = dq${r}[u] * P.scale; ${vstore(hd, 'DQ', `at${r} + c(u, lane)`, 'ov')} } }`, '')}`);
}

function keyValueGradKernel(hd: number, rows: number, R: RowsPerThread, K: KeysPerStep): Kernel {
  const kb = keysPerTile(hd);
  const bindings = [read('Q'), read('K'), read('V'), read('DO'), read('LSE'), read('DV'), rw('DK'), rw('DVAL')];
  // a step's staged query rows (scaled q in S1, dO in S2) against this thread's key rows
  const step = (n: number) => {
    const ks = range(n);
    const { code, at } = scoreSteps(n, R, ['qq', 'oo'], (r, k) => `s${r}_${k} = fma(qq${k}, k${r}[u], s${r}_${k}); dp${r}_${k} = fma(oo${k}, v${r}[u], dp${r}_${k});`);
    return `${code}
        ${ks.map((k) => each(R, (r) => `let p${r}_${k} = exp(${at(k, r, 0)} - SL[${keyAt(k)}]); let ds${r}_${k} = p${r}_${k} * (${at(k, r, 1)} - SD[${keyAt(k)}]);`)).join(' ')}
        for (var u = 0u; u < HL; u++) {${ks.map((k) => `
          let qq${k} = ${stagedAt('S1', k)}; let oo${k} = ${stagedAt('S2', k)};
          ${each(R, (r) => `dv${r}[u] = fma(VT(p${r}_${k}), oo${k}, dv${r}[u]); dk${r}[u] = fma(VT(ds${r}_${k}), qq${k}, dk${r}[u]);`)}`).join('')}
        }`;
  };
  return attentionKernel('keyValue', hd, rows, R, K, bindings, `
  ${each(R, (r) => `var k${r}: array<VT, HL>; var v${r}: array<VT, HL>; var dk${r}: array<VT, HL>; var dv${r}: array<VT, HL>;`, '\n  ')}
  if (busy) { for (var u = 0u; u < HL; u++) { ${each(R, (r) => `k${r}[u] = ${vload(hd, 'K', `at${r} + c(u, lane)`)}; v${r}[u] = ${vload(hd, 'V', `at${r} + c(u, lane)`)};`)} } }
  for (var j0 = 0u; j0 < P.T; j0 += KB) {
    // query rows j0.. (scaled q in S1, dO in S2), their log-sum-exp and D
    for (var e = t; e < KB; e += NTH) {
      var l = 0.0; var d = 0.0;
      if (j0 + e < P.T) { l = LSE[bh * P.T + j0 + e]; d = DV[bh * P.T + j0 + e]; }
      SL[e] = l; SD[e] = d;
    }
    ${stage(hd, 'Q', 'DO', ' * P.scale')}
    if (busy) {
      let jn = min(KB, P.T - j0);
      ${keySteps(K, step)}
    }
    workgroupBarrier();
  }${each(R, (r) => `
  if (valid${r}) {
    for (var u = 0u; u < HL; u++) {
      let rk = dk${r}[u]; let rv = dv${r}[u];
      ${vstore(hd, 'DK', `at${r} + c(u, lane)`, 'rk')}
      ${vstore(hd, 'DVAL', `at${r} + c(u, lane)`, 'rv')}
    }
  }`, '')}`, `
var<workgroup> SL: array<f32, ${kb}>;
var<workgroup> SD: array<f32, ${kb}>;`);
}

/** Whether the forward on `s` takes the tiled kernel (attention-tiled.ts) on this device. */
export const tiledForward = (s: AttentionSpec) => tiledForwardFits(s.width / s.heads, s.tokens, webgpu().device.limits.maxComputeWorkgroupStorageSize);

/** Whether the backward on `s` takes the tiled kernel (attention-tiled-backward.ts, one launch for dq, dk and dv) on this device. */
export const tiledBackward = (s: AttentionSpec) => tiledBackwardFits(s.width / s.heads, s.tokens, webgpu().device.limits.maxComputeWorkgroupStorageSize);

export interface AttentionSpec {
  batch: number;
  tokens: number;
  heads: number;
  width: number;
}

function launch(s: AttentionSpec, rows: number): { params: number[]; workgroups: number } {
  const hd = s.width / s.heads;
  return { params: [s.tokens, s.heads, s.width, s.batch * s.heads, 1 / Math.sqrt(hd)], workgroups: workgroupsOf(s, rows) };
}

export function forwardDispatches<B>(s: AttentionSpec, b: { q: B; k: B; v: B; o: B; lse: B }): Dispatch<B>[] {
  const buffers = [b.q, b.k, b.v, b.o, b.lse];
  // a workgroup a head: one block of all the tokens
  if (tiledForward(s)) return [{ kernel: tiledForwardKernel(s.tokens), buffers, ...launch(s, s.tokens) }];
  const f = rowsOf('forward', s);
  return [{ kernel: forwardKernel(s.width / s.heads, f.rows, f.perThread, ATTENTION.keysPerStep.forward), buffers, ...launch(s, f.rows) }];
}

/**
 * Floats of scratch the backward on `s` needs as `dvec`: batch x heads x tokens (D_i =
 * dO_i . O_i) for the row-by-row kernels; none for the tiled one, which sums D itself.
 */
export const backwardScratchFloats = (s: AttentionSpec) => (tiledBackward(s) ? 0 : s.batch * s.heads * s.tokens);

/**
 * `dvec`: backwardScratchFloats(s) floats of scratch, null where that is none (the tiled
 * backward, which leaves `dvec` and `o` unread).
 */
export function backwardDispatches<B>(
  s: AttentionSpec, b: { q: B; k: B; v: B; o: B; lse: B; dout: B; dq: B; dk: B; dv: B; dvec: B | null },
): Dispatch<B>[] {
  const hd = s.width / s.heads;
  if (tiledBackward(s)) return [{ kernel: tiledBackwardKernel(s.tokens), buffers: [b.q, b.k, b.v, b.dout, b.lse, b.dq, b.dk, b.dv], ...launch(s, s.tokens) }];
  const dvec = b.dvec;
  if (dvec === null) throw new Error('attention: the row-by-row backward needs dvec, backwardScratchFloats(spec) floats of scratch');
  const [q, kv] = [rowsOf('query', s), rowsOf('keyValue', s)];
  return [
    { kernel: queryGradKernel(hd, q.rows, q.perThread, ATTENTION.keysPerStep.query), buffers: [b.q, b.k, b.v, b.o, b.dout, b.lse, b.dq, dvec], ...launch(s, q.rows) },
    { kernel: keyValueGradKernel(hd, kv.rows, kv.perThread, ATTENTION.keysPerStep.keyValue), buffers: [b.q, b.k, b.v, b.dout, b.lse, dvec, b.dk, b.dv], ...launch(s, kv.rows) },
  ];
}

/** softmax(q k^T / sqrt(dh)) v per head, on [B*T, D] tensors, with the backward above. */
export function attentionFused(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, shape: { batch: number; tokens: number; heads: number }): tf.Tensor2D {
  const spec: AttentionSpec = { ...shape, width: q.shape[1] };
  if (spec.width % spec.heads) throw new Error(`attention: width ${spec.width} is not a multiple of ${spec.heads} heads`);
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [qq, kk, vv, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const o = alloc(qq.shape);
    const lse = alloc([spec.batch * spec.heads * spec.tokens]);
    forwardDispatches<Ref>(spec, { q: qq, k: kk, v: vv, o, lse }).forEach(run);
    save([qq, kk, vv, o, lse]);
    return {
      value: o as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sq, sk, sv, so, sl] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const [dq, dk, dv] = [alloc(sq.shape), alloc(sq.shape), alloc(sq.shape)];
        const scratch = backwardScratchFloats(spec);
        const dvec = scratch ? alloc([scratch]) : null;
        backwardDispatches<Ref>(spec, { q: sq, k: sk, v: sv, o: so, lse: sl, dout: dy, dq, dk, dv, dvec }).forEach(run);
        dvec?.dispose();
        return [dq, dk, dv];
      },
    };
  });
  return (op as (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.Tensor2D)(q, k, v);
}
