// Fused multi-head attention over q, k, v as [B*T, D] (heads are column blocks, read in
// place: no head transposes). Forward, one launch: per query row, scores, an online
// softmax and the weighted sum of values, keeping the log-sum-exp per row. Backward,
// two launches: dq per query row (also writing D_i = dO_i . O_i), then dk and dv per
// key row; both recompute the probabilities from the saved log-sum-exp. A row is shared
// by a few threads (lanes) where the device has subgroups: each holds every lanes-th
// vec4 of it and their partial dot products are added by shuffles.
import * as tf from '@tensorflow/tfjs';
import { alloc, run, webgpu, type Ref } from './dispatch';
import { MAIN_ARGS, WID, makeKernel, memoKernel, type BindingSpec, type Dispatch, type Kernel } from './kernel';
import { LANE_COUNTS, subgroupLanes, subgroupLanesWhy } from './subgroups';

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
 */
export const ATTENTION: { rowsPerGroup: number | 'fit'; stagedFloats: number; lanes: number } =
  { rowsPerGroup: 'fit', stagedFloats: 1024, lanes: 4 };

/**
 * Query rows a workgroup at `tokens` rows a head: as ATTENTION says, or fitted: a block
 * for every whole 32 tokens, the rows spread evenly over them (ceil(T / floor(T / 32)),
 * 32 to 63 rows), so the last block is short by fewer rows than there are blocks; a head
 * of under 32 tokens in one block. 65 tokens in two blocks of 33, 197 in six of 33, 97
 * in 33 + 33 + 31, 17 in one of 17.
 */
export function attentionRows(tokens: number): number {
  if (ATTENTION.rowsPerGroup !== 'fit') return ATTENTION.rowsPerGroup;
  return tokens <= 32 ? Math.max(1, tokens) : Math.ceil(tokens / Math.floor(tokens / 32));
}

/**
 * Threads of a workgroup of `rows` rows of `lanes` threads: rounded up to 32, so every
 * size is one the subgroup probe checks (a GPU runs whole warps of 32 or more anyway;
 * the extra threads stage keys and store nothing).
 */
export const attentionThreads = (rows: number, lanes: number) => 32 * Math.ceil((rows * lanes) / 32);

/**
 * Attention tuning written `qROWS/sFLOATS[/lLANES]` (the key's form), checked: a tuning
 * run sets it before any kernel is made (`npm run bench -- --attention-tile q32/s1024/l8`, or `qfit/...`).
 * An error names what to change.
 */
export function parseAttentionTile(text: string): typeof ATTENTION | string {
  const m = /^q(fit|\d{1,3})\/s(\d{1,4})(?:\/l(\d{1,2}))?$/.exec(text);
  if (!m) return `--attention-tile: write qROWS/sFLOATS[/lLANES], ROWS a number or fit, e.g. qfit/s1024/l4 (got "${text.slice(0, 40)}")`;
  const fit = m[1] === 'fit';
  // fitted rows are at most 63 (attentionRows): the threads are checked against that
  const rowsPerGroup = fit ? 'fit' as const : Number(m[1]);
  const rows = fit ? 63 : Number(m[1]);
  const stagedFloats = Number(m[2]);
  if (rows < 1 || rows > 256) return `--attention-tile: rows per workgroup must be from 1 to 256, or fit (got ${rows})`;
  // two staged arrays of that many floats in 16 KiB of workgroup memory
  if (stagedFloats < 64 || stagedFloats > 2048) return `--attention-tile: staged floats must be from 64 to 2048 (got ${stagedFloats})`;
  // unsaid, the default lanes, halved until the workgroup fits 256 threads (q96/s1024 gets 2)
  let lanes = m[3] === undefined ? ATTENTION.lanes : Number(m[3]);
  if (m[3] === undefined) while (lanes > 1 && rows * lanes > 256) lanes /= 2;
  if (!(LANE_COUNTS as readonly number[]).includes(lanes)) return `--attention-tile: lanes per row must be ${LANE_COUNTS.join(', ')} (got ${lanes})`;
  if (rows * lanes > 256) return `--attention-tile: rows x lanes must be at most 256 threads (got ${fit ? 'fit, up to 63' : rows} x ${lanes})`;
  return { rowsPerGroup, stagedFloats, lanes };
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
export function lanesNote(hd: number): string {
  const lanes = lanesFor(hd);
  if (lanes > 1) return `${lanes} lanes`;
  const device = webgpu().device;
  const why = vectors(hd).W !== 4 ? `head width ${hd}, not a multiple of 4`
    : ATTENTION.lanes === 1 ? 'lanes set to 1'
    : subgroupLanes(device) === 1 ? subgroupLanesWhy(device) : `head width ${hd}: its vec4s do not divide among lanes`;
  return `1 lane (${why})`;
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
 * Constants and the row this thread shares: query or key row `i` of head `bh`, as lane
 * `lane` of L; its u-th value is the row's vec4 `u L + lane` (float `c(u)` of the row),
 * so the lanes of a row load neighbouring memory and read neighbouring staged values.
 * `busy`: whether this thread computes. With lanes, every thread of a subgroup computes
 * when any of its rows is valid, so that its shuffles run in subgroup-uniform control
 * flow (WGSL leaves shuffles among a subgroup's diverged threads undefined); a row past
 * T reads row T - 1 (`ic`) and stores nothing. A subgroup with no valid row skips, as a
 * thread of a row past T does without lanes.
 */
function prologue(lanes: number): string {
  return `
  ${WID}
  let blocks = (P.T + QB - 1u) / QB;
  if (wid >= blocks * P.BH) { return; }
  let bh = wid / blocks;
  let row0 = (bh / P.H) * P.T;
  let col = (bh % P.H) * HD;
  let lane = t % L;
  let i = (wid % blocks) * QB + t / L;
  // threads past the block's rows (the workgroup rounded up to 32) store nothing
  let valid = t / L < QB && i < P.T;
  let ic = min(i, P.T - 1u);
  let at = (row0 + ic) * P.D + col;
  let busy = ${lanes > 1 ? 'subgroupAny(valid)' : 'valid'};`;
}

/** `lanesum(x)` and `lanesum2(x)`: a float (or two) summed over the row's lanes, the sum in every lane. */
function laneSums(lanes: number): string {
  const steps = (v: string) => LANE_COUNTS.filter((m) => m < lanes).map((m) => `${v} += subgroupShuffleXor(${v}, ${m}u);`).join(' ');
  return `
fn lanesum(x: f32) -> f32 { var s = x; ${steps('s')} return s; }
fn lanesum2(x: vec2<f32>) -> vec2<f32> { var s = x; ${steps('s')} return s; }`;
}

const header = (hd: number, L: number, rows: number) => {
  const { W, HV, VT } = vectors(hd);
  return `
const HD = ${hd}u; const HV = ${HV}u; const W = ${W}u; const QB = ${rows}u; const KB = ${keysPerTile(hd)}u;
const L = ${L}u; const HL = ${HV / L}u; const NTH = ${attentionThreads(rows, L)}u;
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
 * this device's lanes a row: its key (head width, tuning, lanes: the WGSL differs by
 * each), the shared header, the workgroup of rows x lanes threads rounded up to 32
 * (attentionThreads) and `main`'s prologue around `main`. With lanes the
 * module enables subgroups; the shuffles run under \`if (busy)\`, uniform across each
 * subgroup by construction (subgroupAny), which WGSL's uniformity analysis, by
 * workgroup, cannot see: its subgroup diagnostic is turned off.
 */
function attentionKernel(part: string, hd: number, rows: number, bindings: BindingSpec[], main: string, decls = ''): Kernel {
  const L = lanesFor(hd);
  // the flag's parser refuses such settings; ATTENTION set in code is checked here
  if (attentionThreads(rows, L) > 256) throw new Error(`attention: ${rows} rows of ${L} lanes a workgroup is over 256 threads: set fewer rows or lanes (ATTENTION)`);
  const key = `attention.${part}/h${hd}/q${rows}/s${ATTENTION.stagedFloats}/l${L}`;
  return memoKernel(key, () => makeKernel({
    name: `attention.${part}`, key, params, bindings,
    directives: L > 1 ? ['enable subgroups;', 'diagnostic(off, subgroup_uniformity);'] : [],
    body: `${header(hd, L, rows)}${decls}
@compute @workgroup_size(${attentionThreads(rows, L)})
fn main(${MAIN_ARGS}) {
  ${prologue(L)}
${main}
}`,
  }));
}

const read = (name: string): BindingSpec => ({ name, access: 'read' });
const rw = (name: string): BindingSpec => ({ name, access: 'rw' });

function forwardKernel(hd: number, rows: number): Kernel {
  return attentionKernel('forward', hd, rows, [read('Q'), read('K'), read('V'), rw('O'), rw('LSE')], `
  var q: array<VT, HL>;
  var o: array<VT, HL>;
  if (busy) { for (var u = 0u; u < HL; u++) { q[u] = ${vload(hd, 'Q', 'at + c(u, lane)')} * P.scale; } }
  var mx = -3.0e38;
  var l = 0.0;
  for (var j0 = 0u; j0 < P.T; j0 += KB) {
    ${stage(hd, 'K', 'V')}
    if (busy) {
      // the online softmax key by key: with a staged tile's scores summed first into an
      // array and their exps after, the forward took 0.50 ms a tiny b128 step and 1.04 at
      // small (H200, 4 lanes, one call); key by key 0.48 and 0.98
      let jn = min(KB, P.T - j0);
      for (var jj = 0u; jj < jn; jj++) {
        var d = VT(0.0);
        for (var u = 0u; u < HL; u++) { d = fma(q[u], S1[jj * HV + u * L + lane], d); }
        let x = lanesum(hsum(d));
        // one exp a key: of exp(mx - top) and exp(x - top) one is exp(0) = 1, so the
        // same floats as taking both; 1 + (v - v) is that 1, or NaN where v is infinite,
        // as exp(inf - inf) was (a blown-up score still makes the output NaN)
        let e = exp(-abs(x - mx));
        let up = x > mx;
        let corr = select(1.0 + (mx - mx), e, up);
        let p = select(e, 1.0 + (x - x), up);
        l = l * corr + p;
        // o is scaled only where the score raised the maximum: elsewhere corr is 1 (o * 1
        // is o, the same floats) or NaN from an infinite maximum, which had already made
        // o NaN when that score came. The forwards of a step 0.331 -> 0.324 ms at tiny
        // b128, 0.800 -> 0.782 on small, 0.171 -> 0.165 at b32 (H200, launches timed one
        // by one, two calls alike); the step within its noise
        if (up) { for (var u = 0u; u < HL; u++) { o[u] = o[u] * corr; } }
        for (var u = 0u; u < HL; u++) { o[u] = fma(VT(p), S2[jj * HV + u * L + lane], o[u]); }
        mx = max(mx, x);
      }
    }
    workgroupBarrier();
  }
  if (valid) {
    let inv = 1.0 / l;
    for (var u = 0u; u < HL; u++) { let r = o[u] * inv; ${vstore(hd, 'O', 'at + c(u, lane)', 'r')} }
    if (lane == 0u) { LSE[bh * P.T + i] = mx + log(l); }
  }`);
}

function queryGradKernel(hd: number, rows: number): Kernel {
  return attentionKernel('backward-q', hd, rows, [read('Q'), read('K'), read('V'), read('O'), read('DO'), read('LSE'), rw('DQ'), rw('DV')], `
  var q: array<VT, HL>;
  var g: array<VT, HL>;
  var dq: array<VT, HL>;
  var di = 0.0;
  var lse = 0.0;
  if (busy) {
    var d4 = VT(0.0);
    for (var u = 0u; u < HL; u++) {
      q[u] = ${vload(hd, 'Q', 'at + c(u, lane)')} * P.scale;
      g[u] = ${vload(hd, 'DO', 'at + c(u, lane)')};
      d4 = fma(g[u], ${vload(hd, 'O', 'at + c(u, lane)')}, d4);
    }
    di = lanesum(hsum(d4));
    lse = LSE[bh * P.T + ic];
    if (valid && lane == 0u) { DV[bh * P.T + i] = di; }
  }
  for (var j0 = 0u; j0 < P.T; j0 += KB) {
    ${stage(hd, 'K', 'V')}
    if (busy) {
      let jn = min(KB, P.T - j0);
      for (var jj = 0u; jj < jn; jj++) {
        var s = VT(0.0);
        var dp = VT(0.0);
        for (var u = 0u; u < HL; u++) { s = fma(q[u], S1[jj * HV + u * L + lane], s); dp = fma(g[u], S2[jj * HV + u * L + lane], dp); }
        let x = lanesum2(vec2<f32>(hsum(s), hsum(dp)));
        let ds = exp(x.x - lse) * (x.y - di);
        for (var u = 0u; u < HL; u++) { dq[u] = fma(VT(ds), S1[jj * HV + u * L + lane], dq[u]); }
      }
    }
    workgroupBarrier();
  }
  if (valid) { for (var u = 0u; u < HL; u++) { let r = dq[u] * P.scale; ${vstore(hd, 'DQ', 'at + c(u, lane)', 'r')} } }`);
}

function keyValueGradKernel(hd: number, rows: number): Kernel {
  const kb = keysPerTile(hd);
  const bindings = [read('Q'), read('K'), read('V'), read('DO'), read('LSE'), read('DV'), rw('DK'), rw('DVAL')];
  return attentionKernel('backward-kv', hd, rows, bindings, `
  var k: array<VT, HL>;
  var v: array<VT, HL>;
  var dk: array<VT, HL>;
  var dv: array<VT, HL>;
  if (busy) { for (var u = 0u; u < HL; u++) { k[u] = ${vload(hd, 'K', 'at + c(u, lane)')}; v[u] = ${vload(hd, 'V', 'at + c(u, lane)')}; } }
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
      for (var jj = 0u; jj < jn; jj++) {
        var s = VT(0.0);
        var dp = VT(0.0);
        for (var u = 0u; u < HL; u++) { s = fma(S1[jj * HV + u * L + lane], k[u], s); dp = fma(S2[jj * HV + u * L + lane], v[u], dp); }
        let x = lanesum2(vec2<f32>(hsum(s), hsum(dp)));
        let p = exp(x.x - SL[jj]);
        let ds = p * (x.y - SD[jj]);
        for (var u = 0u; u < HL; u++) {
          dv[u] = fma(VT(p), S2[jj * HV + u * L + lane], dv[u]);
          dk[u] = fma(VT(ds), S1[jj * HV + u * L + lane], dk[u]);
        }
      }
    }
    workgroupBarrier();
  }
  if (valid) {
    for (var u = 0u; u < HL; u++) {
      let rk = dk[u]; let rv = dv[u];
      ${vstore(hd, 'DK', 'at + c(u, lane)', 'rk')}
      ${vstore(hd, 'DVAL', 'at + c(u, lane)', 'rv')}
    }
  }`, `
var<workgroup> SL: array<f32, ${kb}>;
var<workgroup> SD: array<f32, ${kb}>;`);
}

export interface AttentionSpec {
  batch: number;
  tokens: number;
  heads: number;
  width: number;
}

function launch(s: AttentionSpec): { params: number[]; workgroups: number } {
  const hd = s.width / s.heads;
  const bh = s.batch * s.heads;
  return { params: [s.tokens, s.heads, s.width, bh, 1 / Math.sqrt(hd)], workgroups: Math.ceil(s.tokens / attentionRows(s.tokens)) * bh };
}

export function forwardDispatches<B>(s: AttentionSpec, b: { q: B; k: B; v: B; o: B; lse: B }): Dispatch<B>[] {
  return [{ kernel: forwardKernel(s.width / s.heads, attentionRows(s.tokens)), buffers: [b.q, b.k, b.v, b.o, b.lse], ...launch(s) }];
}

/** `dvec` is scratch of batch x heads x tokens floats (D_i = dO_i . O_i). */
export function backwardDispatches<B>(
  s: AttentionSpec, b: { q: B; k: B; v: B; o: B; lse: B; dout: B; dq: B; dk: B; dv: B; dvec: B },
): Dispatch<B>[] {
  const hd = s.width / s.heads;
  const rows = attentionRows(s.tokens);
  return [
    { kernel: queryGradKernel(hd, rows), buffers: [b.q, b.k, b.v, b.o, b.dout, b.lse, b.dq, b.dvec], ...launch(s) },
    { kernel: keyValueGradKernel(hd, rows), buffers: [b.q, b.k, b.v, b.dout, b.lse, b.dvec, b.dk, b.dv], ...launch(s) },
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
        const dvec = alloc([spec.batch * spec.heads * spec.tokens]);
        backwardDispatches<Ref>(spec, { q: sq, k: sk, v: sv, o: so, lse: sl, dout: dy, dq, dk, dv, dvec }).forEach(run);
        dvec.dispose();
        return [dq, dk, dv];
      },
    };
  });
  return (op as (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.Tensor2D)(q, k, v);
}
