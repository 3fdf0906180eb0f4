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

const tuning = () => `q${ATTENTION.rowsPerGroup}/s${ATTENTION.stagedFloats}`;
const keysPerTile = (hd: number) => Math.max(1, Math.min(32, Math.floor(ATTENTION.stagedFloats / hd)));

const PARAMS = ['T', 'H', 'D', 'BH'].map((name) => ({ name, type: 'u32' as const }));
const params = [...PARAMS, { name: 'scale', type: 'f32' as const }];

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

const header = (hd: number) => `
const HD = ${hd}u; const QB = ${ATTENTION.rowsPerGroup}u; const KB = ${keysPerTile(hd)}u;
var<workgroup> S1: array<f32, ${keysPerTile(hd) * hd}>;
var<workgroup> S2: array<f32, ${keysPerTile(hd) * hd}>;`;

/** Stage rows j0.. of two [B*T, D] tensors' head columns into S1, S2 (zeros past T). */
const stage = (a: string, b: string, scaleA = '') => `
    for (var e = t; e < KB * HD; e += QB) {
      let jj = e / HD;
      var va = 0.0; var vb = 0.0;
      if (j0 + jj < P.T) {
        let src = (row0 + j0 + jj) * P.D + col + e % HD;
        va = ${a}[src]${scaleA}; vb = ${b}[src];
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
  var q: array<f32, HD>;
  var o: array<f32, HD>;
  if (valid) { for (var c = 0u; c < HD; c++) { q[c] = Q[at + c] * P.scale; } }
  var mx = -3.0e38;
  var l = 0.0;
  for (var j0 = 0u; j0 < P.T; j0 += KB) {
    ${stage('K', 'V')}
    if (valid) {
      let jn = min(KB, P.T - j0);
      var s: array<f32, KB>;
      var top = mx;
      for (var jj = 0u; jj < jn; jj++) {
        var d = 0.0;
        for (var c = 0u; c < HD; c++) { d = fma(q[c], S1[jj * HD + c], d); }
        s[jj] = d;
        top = max(top, d);
      }
      let corr = exp(mx - top);
      l *= corr;
      for (var c = 0u; c < HD; c++) { o[c] *= corr; }
      for (var jj = 0u; jj < jn; jj++) {
        let p = exp(s[jj] - top);
        l += p;
        for (var c = 0u; c < HD; c++) { o[c] = fma(p, S2[jj * HD + c], o[c]); }
      }
      mx = top;
    }
    workgroupBarrier();
  }
  if (valid) {
    let inv = 1.0 / l;
    for (var c = 0u; c < HD; c++) { O[at + c] = o[c] * inv; }
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
  var q: array<f32, HD>;
  var g: array<f32, HD>;
  var dq: array<f32, HD>;
  var di = 0.0;
  var lse = 0.0;
  if (valid) {
    for (var c = 0u; c < HD; c++) { q[c] = Q[at + c] * P.scale; g[c] = DO[at + c]; di = fma(g[c], O[at + c], di); }
    lse = LSE[bh * P.T + i];
    DV[bh * P.T + i] = di;
  }
  for (var j0 = 0u; j0 < P.T; j0 += KB) {
    ${stage('K', 'V')}
    if (valid) {
      let jn = min(KB, P.T - j0);
      for (var jj = 0u; jj < jn; jj++) {
        var s = 0.0;
        var dp = 0.0;
        for (var c = 0u; c < HD; c++) { s = fma(q[c], S1[jj * HD + c], s); dp = fma(g[c], S2[jj * HD + c], dp); }
        let ds = exp(s - lse) * (dp - di);
        for (var c = 0u; c < HD; c++) { dq[c] = fma(ds, S1[jj * HD + c], dq[c]); }
      }
    }
    workgroupBarrier();
  }
  if (valid) { for (var c = 0u; c < HD; c++) { DQ[at + c] = dq[c] * P.scale; } }
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
  var k: array<f32, HD>;
  var v: array<f32, HD>;
  var dk: array<f32, HD>;
  var dv: array<f32, HD>;
  if (valid) { for (var c = 0u; c < HD; c++) { k[c] = K[at + c]; v[c] = V[at + c]; } }
  for (var j0 = 0u; j0 < P.T; j0 += KB) {
    // query rows j0.. (scaled q in S1, dO in S2), their log-sum-exp and D
    for (var e = t; e < KB; e += QB) {
      var l = 0.0; var d = 0.0;
      if (j0 + e < P.T) { l = LSE[bh * P.T + j0 + e]; d = DV[bh * P.T + j0 + e]; }
      SL[e] = l; SD[e] = d;
    }
    ${stage('Q', 'DO', ' * P.scale')}
    if (valid) {
      let jn = min(KB, P.T - j0);
      for (var jj = 0u; jj < jn; jj++) {
        var s = 0.0;
        var dp = 0.0;
        for (var c = 0u; c < HD; c++) { s = fma(S1[jj * HD + c], k[c], s); dp = fma(S2[jj * HD + c], v[c], dp); }
        let p = exp(s - SL[jj]);
        let ds = p * (dp - SD[jj]);
        for (var c = 0u; c < HD; c++) {
          dv[c] = fma(p, S2[jj * HD + c], dv[c]);
          dk[c] = fma(ds, S1[jj * HD + c], dk[c]);
        }
      }
    }
    workgroupBarrier();
  }
  if (valid) { for (var c = 0u; c < HD; c++) { DK[at + c] = dk[c]; DVAL[at + c] = dv[c]; } }
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
