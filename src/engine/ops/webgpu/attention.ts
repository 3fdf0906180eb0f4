// Fused multi-head attention over q, k, v as [B*T, D] (heads are column blocks, read in
// place: no head transposes). Forward, one launch: per query row, scores, an online
// softmax and the weighted sum of values, keeping the log-sum-exp per row. Backward,
// two launches: dq per query row (also writing D_i = dO_i . O_i), then dk and dv per
// key row; both recompute the probabilities from the saved log-sum-exp.
import * as tf from '@tensorflow/tfjs';
import { alloc, run, type Ref } from './dispatch';
import { MAIN_ARGS, WID, makeKernel, memoKernel, type Dispatch, type Kernel } from './kernel';

/** Rows per workgroup (one thread each) and the most keys staged at once (tunable). */
export const ATTENTION = { rowsPerGroup: 32, stagedFloats: 1024 };

/**
 * Attention tuning written `qROWS/sFLOATS` (the key's form), checked: a tuning run sets
 * it before any kernel is made (`npm run bench -- --attention-tile q64/s2048`). An error
 * names what to change.
 */
export function parseAttentionTile(text: string): typeof ATTENTION | string {
  const m = /^q(\d{1,3})\/s(\d{1,4})$/.exec(text);
  if (!m) return `--attention-tile: write qROWS/sFLOATS, e.g. q32/s1024 (got "${text.slice(0, 40)}")`;
  const [rowsPerGroup, stagedFloats] = [Number(m[1]), Number(m[2])];
  if (rowsPerGroup < 32 || rowsPerGroup > 256 || rowsPerGroup % 32) return `--attention-tile: rows per workgroup must be a multiple of 32 from 32 to 256 (got ${rowsPerGroup})`;
  // two staged arrays of that many floats in 16 KiB of workgroup memory
  if (stagedFloats < 64 || stagedFloats > 2048) return `--attention-tile: staged floats must be from 64 to 2048 (got ${stagedFloats})`;
  return { rowsPerGroup, stagedFloats };
}

const tuning = () => `q${ATTENTION.rowsPerGroup}/s${ATTENTION.stagedFloats}`;
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

/** Constants and the row this thread owns (query or key row `i` of head `bh`). */
function prologue(): string {
  return `
  ${WID}
  let blocks = (P.T + QB - 1u) / QB;
  if (wid >= blocks * P.BH) { return; }
  let bh = wid / blocks;
  let row0 = (bh / P.H) * P.T;
  let col = (bh % P.H) * HD;
  let i = (wid % blocks) * QB + t;
  let valid = i < P.T;
  let at = (row0 + i) * P.D + col;`;
}

const header = (hd: number) => {
  const { W, HV, VT } = vectors(hd);
  return `
const HD = ${hd}u; const HV = ${HV}u; const W = ${W}u; const QB = ${ATTENTION.rowsPerGroup}u; const KB = ${keysPerTile(hd)}u;
alias VT = ${VT};
fn hsum(v: VT) -> f32 { return ${W === 4 ? 'dot(v, vec4<f32>(1.0))' : 'v'}; }
var<workgroup> S1: array<VT, ${keysPerTile(hd) * HV}>;
var<workgroup> S2: array<VT, ${keysPerTile(hd) * HV}>;`;
};

/** Stage rows j0.. of two [B*T, D] tensors' head columns into S1, S2 (zeros past T). */
const stage = (hd: number, a: string, b: string, scaleA = '') => `
    for (var e = t; e < KB * HV; e += QB) {
      let jj = e / HV;
      var va = VT(0.0); var vb = VT(0.0);
      if (j0 + jj < P.T) {
        let src = (row0 + j0 + jj) * P.D + col + (e % HV) * W;
        va = ${vload(hd, a, 'src')}${scaleA}; vb = ${vload(hd, b, 'src')};
      }
      S1[e] = va; S2[e] = vb;
    }
    workgroupBarrier();`;

function forwardKernel(hd: number): Kernel {
  return memoKernel(`attention.forward/h${hd}/${tuning()}`, () => makeKernel({
    name: 'attention.forward', key: `attention.forward/h${hd}/${tuning()}`, params,
    bindings: [{ name: 'Q', access: 'read' }, { name: 'K', access: 'read' }, { name: 'V', access: 'read' },
      { name: 'O', access: 'rw' }, { name: 'LSE', access: 'rw' }],
    body: `${header(hd)}
@compute @workgroup_size(${ATTENTION.rowsPerGroup})
fn main(${MAIN_ARGS}) {
  ${prologue()}
  var q: array<VT, HV>;
  var o: array<VT, HV>;
  if (valid) { for (var c = 0u; c < HV; c++) { q[c] = ${vload(hd, 'Q', 'at + c * W')} * P.scale; } }
  var mx = -3.0e38;
  var l = 0.0;
  for (var j0 = 0u; j0 < P.T; j0 += KB) {
    ${stage(hd, 'K', 'V')}
    if (valid) {
      let jn = min(KB, P.T - j0);
      var s: array<f32, KB>;
      var top = mx;
      for (var jj = 0u; jj < jn; jj++) {
        var d = VT(0.0);
        for (var c = 0u; c < HV; c++) { d = fma(q[c], S1[jj * HV + c], d); }
        s[jj] = hsum(d);
        top = max(top, s[jj]);
      }
      let corr = exp(mx - top);
      l *= corr;
      for (var c = 0u; c < HV; c++) { o[c] *= corr; }
      for (var jj = 0u; jj < jn; jj++) {
        let p = exp(s[jj] - top);
        l += p;
        for (var c = 0u; c < HV; c++) { o[c] = fma(VT(p), S2[jj * HV + c], o[c]); }
      }
      mx = top;
    }
    workgroupBarrier();
  }
  if (valid) {
    let inv = 1.0 / l;
    for (var c = 0u; c < HV; c++) { let r = o[c] * inv; ${vstore(hd, 'O', 'at + c * W', 'r')} }
    LSE[bh * P.T + i] = mx + log(l);
  }
}`,
  }));
}

function queryGradKernel(hd: number): Kernel {
  return memoKernel(`attention.backward-q/h${hd}/${tuning()}`, () => makeKernel({
    name: 'attention.backward-q', key: `attention.backward-q/h${hd}/${tuning()}`, params,
    bindings: [{ name: 'Q', access: 'read' }, { name: 'K', access: 'read' }, { name: 'V', access: 'read' },
      { name: 'O', access: 'read' }, { name: 'DO', access: 'read' }, { name: 'LSE', access: 'read' },
      { name: 'DQ', access: 'rw' }, { name: 'DV', access: 'rw' }],
    body: `${header(hd)}
@compute @workgroup_size(${ATTENTION.rowsPerGroup})
fn main(${MAIN_ARGS}) {
  ${prologue()}
  var q: array<VT, HV>;
  var g: array<VT, HV>;
  var dq: array<VT, HV>;
  var di = 0.0;
  var lse = 0.0;
  if (valid) {
    var d4 = VT(0.0);
    for (var c = 0u; c < HV; c++) {
      q[c] = ${vload(hd, 'Q', 'at + c * W')} * P.scale;
      g[c] = ${vload(hd, 'DO', 'at + c * W')};
      d4 = fma(g[c], ${vload(hd, 'O', 'at + c * W')}, d4);
    }
    di = hsum(d4);
    lse = LSE[bh * P.T + i];
    DV[bh * P.T + i] = di;
  }
  for (var j0 = 0u; j0 < P.T; j0 += KB) {
    ${stage(hd, 'K', 'V')}
    if (valid) {
      let jn = min(KB, P.T - j0);
      for (var jj = 0u; jj < jn; jj++) {
        var s = VT(0.0);
        var dp = VT(0.0);
        for (var c = 0u; c < HV; c++) { s = fma(q[c], S1[jj * HV + c], s); dp = fma(g[c], S2[jj * HV + c], dp); }
        let ds = exp(hsum(s) - lse) * (hsum(dp) - di);
        for (var c = 0u; c < HV; c++) { dq[c] = fma(VT(ds), S1[jj * HV + c], dq[c]); }
      }
    }
    workgroupBarrier();
  }
  if (valid) { for (var c = 0u; c < HV; c++) { let r = dq[c] * P.scale; ${vstore(hd, 'DQ', 'at + c * W', 'r')} } }
}`,
  }));
}

function keyValueGradKernel(hd: number): Kernel {
  const kb = keysPerTile(hd);
  return memoKernel(`attention.backward-kv/h${hd}/${tuning()}`, () => makeKernel({
    name: 'attention.backward-kv', key: `attention.backward-kv/h${hd}/${tuning()}`, params,
    bindings: [{ name: 'Q', access: 'read' }, { name: 'K', access: 'read' }, { name: 'V', access: 'read' },
      { name: 'DO', access: 'read' }, { name: 'LSE', access: 'read' }, { name: 'DV', access: 'read' },
      { name: 'DK', access: 'rw' }, { name: 'DVAL', access: 'rw' }],
    body: `${header(hd)}
var<workgroup> SL: array<f32, ${kb}>;
var<workgroup> SD: array<f32, ${kb}>;
@compute @workgroup_size(${ATTENTION.rowsPerGroup})
fn main(${MAIN_ARGS}) {
  ${prologue()}
  var k: array<VT, HV>;
  var v: array<VT, HV>;
  var dk: array<VT, HV>;
  var dv: array<VT, HV>;
  if (valid) { for (var c = 0u; c < HV; c++) { k[c] = ${vload(hd, 'K', 'at + c * W')}; v[c] = ${vload(hd, 'V', 'at + c * W')}; } }
  for (var j0 = 0u; j0 < P.T; j0 += KB) {
    // query rows j0.. (scaled q in S1, dO in S2), their log-sum-exp and D
    for (var e = t; e < KB; e += QB) {
      var l = 0.0; var d = 0.0;
      if (j0 + e < P.T) { l = LSE[bh * P.T + j0 + e]; d = DV[bh * P.T + j0 + e]; }
      SL[e] = l; SD[e] = d;
    }
    ${stage(hd, 'Q', 'DO', ' * P.scale')}
    if (valid) {
      let jn = min(KB, P.T - j0);
      for (var jj = 0u; jj < jn; jj++) {
        var s = VT(0.0);
        var dp = VT(0.0);
        for (var c = 0u; c < HV; c++) { s = fma(S1[jj * HV + c], k[c], s); dp = fma(S2[jj * HV + c], v[c], dp); }
        let p = exp(hsum(s) - SL[jj]);
        let ds = p * (hsum(dp) - SD[jj]);
        for (var c = 0u; c < HV; c++) {
          dv[c] = fma(VT(p), S2[jj * HV + c], dv[c]);
          dk[c] = fma(VT(ds), S1[jj * HV + c], dk[c]);
        }
      }
    }
    workgroupBarrier();
  }
  if (valid) {
    for (var c = 0u; c < HV; c++) {
      let rk = dk[c]; let rv = dv[c];
      ${vstore(hd, 'DK', 'at + c * W', 'rk')}
      ${vstore(hd, 'DVAL', 'at + c * W', 'rv')}
    }
  }
}`,
  }));
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
  return { params: [s.tokens, s.heads, s.width, bh, 1 / Math.sqrt(hd)], workgroups: Math.ceil(s.tokens / ATTENTION.rowsPerGroup) * bh };
}

export function forwardDispatches<B>(s: AttentionSpec, b: { q: B; k: B; v: B; o: B; lse: B }): Dispatch<B>[] {
  return [{ kernel: forwardKernel(s.width / s.heads), buffers: [b.q, b.k, b.v, b.o, b.lse], ...launch(s) }];
}

/** `dvec` is scratch of batch x heads x tokens floats (D_i = dO_i . O_i). */
export function backwardDispatches<B>(
  s: AttentionSpec, b: { q: B; k: B; v: B; o: B; lse: B; dout: B; dq: B; dk: B; dv: B; dvec: B },
): Dispatch<B>[] {
  const hd = s.width / s.heads;
  return [
    { kernel: queryGradKernel(hd), buffers: [b.q, b.k, b.v, b.o, b.dout, b.lse, b.dq, b.dvec], ...launch(s) },
    { kernel: keyValueGradKernel(hd), buffers: [b.q, b.k, b.v, b.dout, b.lse, b.dvec, b.dk, b.dv], ...launch(s) },
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
