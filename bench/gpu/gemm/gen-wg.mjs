// Variants of a weight gradient's split-K product for the weight-gradient microbenchmark,
// as WGSL: split s of C[s, M, N] = sum over rows k of its split of A[k, M] B[k, N] (A = x
// stored [rows, din], B = dy stored [rows, dout]: both contiguous along the output's own
// axis, so both tiles are staged as the vec4s they are loaded as). Options: tile
// TMxTNxTK and RMxRN outputs a thread; strided (a thread's rows and columns four at a
// time, TY and TX apart, as classic 8x8 SGEMMs hold them); dbuf (two staged slices, one
// barrier a slice). M and N must be multiples of 4.
import { kLoop, namedAcc, namedLoop, namedRegisters } from './gen.mjs';
/** A split's entry point up to its tile: m0, n0, its rows kBegin .. kEnd and its partial's offset cbase. */
const wgMainHead = (NT) => `@compute @workgroup_size(${NT})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let wid = wg.x + wg.y * nwg.x;
  let M = P.M; let N = P.N;
  let tilesN = (N + TN - 1u) / TN;
  let perSplit = ((M + TM - 1u) / TM) * tilesN;
  if (wid >= perSplit * P.splits) { return; }
  let split = wid / perSplit;
  let w = wid % perSplit;
  let m0 = (w / tilesN) * TM;
  let n0 = (w % tilesN) * TN;
  let kBegin = split * P.rps;
  let kEnd = min(P.K, kBegin + P.rps);
  let cbase = split * M * N;`;
/** A split-K product's bindings and constants. */
const wgHead = ({ TM, TN, TK, TX, TY, NT, VM, VN, AW, BW }) => `struct Params { M: u32, N: u32, K: u32, splits: u32, rps: u32, }
@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> B: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> C: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> P: Params;
const TM = ${TM}u; const TN = ${TN}u; const TK = ${TK}u; const TX = ${TX}u; const TY = ${TY}u; const NT = ${NT}u;
const VM = ${VM}u; const VN = ${VN}u; const AW = ${AW}u; const BW = ${BW}u;`;
/** A variant's sizes: threads, vec4s a staged row, loads a thread a slice, and a thread's staged vec4 of A (g) and B (h). */
function wgDims(o) {
  const { TM, TN, TK, RM, RN, strided = false, dbuf = false } = o;
  const TX = TN / RN, TY = TM / RM, NT = TX * TY, VM = RM / 4, VN = RN / 4;
  const LA = Math.ceil((TM * TK) / 4 / NT), LB = Math.ceil((TN * TK) / 4 / NT);
  const aIdx = (g) => (strided ? `${g}u * TY + ty` : `ty * VM + ${g}u`);
  const bIdx = (h) => (strided ? `${h}u * TX + tx` : `tx * VN + ${h}u`);
  return { TM, TN, TK, RM, RN, strided, dbuf, TX, TY, NT, VM, VN, AW: TM / 4, BW: TN / 4, NB: dbuf ? 2 : 1, LA, LB, aIdx, bIdx };
}
export function genWg(o) {
  const { TM, TN, TK, RM, strided, dbuf, TX, TY, NT, VM, VN, AW, BW, NB, LA, LB, aIdx, bIdx } = wgDims(o);
  const kstep = (k) => {
    const s = [];
    for (let g = 0; g < VM; g++) s.push(`let a${g} = As[(base + ${k}) * AW + ${aIdx(g)}];`);
    for (let h = 0; h < VN; h++) s.push(`let b${h} = Bs[(base + ${k}) * BW + ${bIdx(h)}];`);
    for (let i = 0; i < RM; i++) for (let h = 0; h < VN; h++) s.push(`acc[${i * VN + h}] = fma(vec4<f32>(a${i >> 2}[${i & 3}]), b${h}, acc[${i * VN + h}]);`);
    return s.join(' ');
  };
  const compute = `for (var k = 0u; k < TK; k++) { ${kstep('k')} }`;
  const loop = kLoop(dbuf, compute, 'kBegin', 'kEnd', (k) => `fetch(t, m0, n0, ${k}, kEnd, M, N)`);
  // the epilogue, every register named by a constant
  const epi = [];
  for (let i = 0; i < RM; i++) {
    const g = i >> 2, r = i & 3;
    const row = strided ? `m0 + 4u * (${g}u * TY + ty) + ${r}u` : `m0 + 4u * (ty * VM + ${g}u) + ${r}u`;
    for (let h = 0; h < VN; h++) {
      const col = strided ? `n0 + 4u * (${h}u * TX + tx)` : `n0 + 4u * (tx * VN + ${h}u)`;
      epi.push(`{ let m = ${row}; let n = ${col}; if (m < M && n < N) { C[(cbase + m * N + n) / 4u] = acc[${i * VN + h}]; } }`);
    }
  }
  return `${wgHead({ TM, TN, TK, TX, TY, NT, VM, VN, AW, BW })} const LA = ${LA}u; const LB = ${LB}u;
var<workgroup> As: array<vec4<f32>, ${AW * TK * NB}>;
var<workgroup> Bs: array<vec4<f32>, ${BW * TK * NB}>;
var<private> acc: array<vec4<f32>, ${RM * VN}>;
var<private> ra: array<vec4<f32>, ${LA}>;
var<private> rb: array<vec4<f32>, ${LB}>;
fn fetch(t: u32, m0: u32, n0: u32, k0: u32, kEnd: u32, M: u32, N: u32) {
${[['ra', 'LA', 'AW', 'A', 'm0', 'M'], ['rb', 'LB', 'BW', 'B', 'n0', 'N']].map(([r, L, W, X, o, D]) => `  for (var u = 0u; u < ${L}; u++) {
    let e = t + u * NT;
    let k = e / ${W}; let q = e % ${W};
    var v = vec4<f32>(0.0);
    if (e < ${W} * TK && k0 + k < kEnd && ${o} + 4u * q < ${D}) { v = ${X}[((k0 + k) * ${D} + ${o} + 4u * q) / 4u]; }
    ${r}[u] = v;
  }`).join('\n')}
}
fn stage(t: u32, base: u32) {
${[['ra', 'LA', 'AW', 'As'], ['rb', 'LB', 'BW', 'Bs']].map(([r, L, W, S]) => `  for (var u = 0u; u < ${L}; u++) {
    let e = t + u * NT;
    if (e < ${W} * TK) { ${S}[base * ${W} + e] = ${r}[u]; }
  }`).join('\n')}
}
${wgMainHead(NT)}
  let tx = t % TX; let ty = t / TX;
  for (var i = 0u; i < ${RM * VN}u; i++) { acc[i] = vec4<f32>(0.0); }
  fetch(t, m0, n0, kBegin, kEnd, M, N);
  ${loop}
  ${epi.join('\n  ')}
}
`;
}
export const wgTilesOf = (o, M, N) => Math.ceil(M / o.TM) * Math.ceil(N / o.TN);
export const wgThreadsOf = (o) => (o.TM / o.RM) * (o.TN / o.RN);
export const wgSharedOf = (o) => 4 * (o.TM + o.TN) * o.TK * (o.dbuf ? 2 : 1);
/** The engine's split rule (gemm.ts splitK) for `tiles` workgroups a split, aiming at `target` workgroups. */
export function wgSplit(rows, tiles, target = 528, minRows = 64) {
  const want = Math.ceil(target / Math.max(1, tiles));
  const most = Math.max(1, Math.floor(rows / minRows));
  const s = Math.max(1, Math.min(want, most));
  const rps = Math.ceil(rows / s);
  return { splits: Math.ceil(rows / rps), rps };
}
/**
 * genWg's product with no array in a thread's registers: the outputs, the loads in
 * flight and the staged values read a k are `var`s and `let`s in main, named by constants,
 * the fetch, the staging and the k loop of a slice written out (`named` variants). Options
 * as genWg's, and: bounded (two staged slices picked as (it % 2) TK, which Dawn's range
 * analysis bounds: with cur = 1 - cur every staged read was clamped), warp [wx, wy], and
 * diag, which takes part of the work out to time the rest (wrong sums).
 */
export function genWgNamed(o) {
  // warp: [wx, wy], a warp's 32 threads as wx columns by wy rows of the threads' grid (else two rows of TX)
  const { TM, TN, TK, RM, RN, strided, dbuf, TX, TY, NT, VM, VN, AW, BW, NB, LA, LB, aIdx, bIdx } = wgDims(o);
  const acc = namedAcc;
  const kstep = (k) => {
    const s = [];
    // diag 'regs': the FMA loop on values in registers (no workgroup memory read)
    for (let g = 0; g < VM; g++) s.push(o.diag === 'regs' ? `let a${g} = ra${(g + k) % LA};` : `let a${g} = As[(base + ${k}u) * AW + ${aIdx(g)}];`);
    for (let h = 0; h < VN; h++) s.push(o.diag === 'regs' ? `let b${h} = rb${(h + k) % LB};` : `let b${h} = Bs[(base + ${k}u) * BW + ${bIdx(h)}];`);
    for (let i = 0; i < RM; i++) for (let h = 0; h < VN; h++) s.push(`${acc(i, h)} = fma(vec4<f32>(a${i >> 2}.${'xyzw'[i & 3]}), b${h}, ${acc(i, h)});`);
    return `{ ${s.join(' ')} }`;
  };
  const compute = Array.from({ length: TK }, (_, k) => kstep(k)).join('\n    ');
  // diag (timing only, wrong sums): 'noload' stages values made from the indices instead
  // of loading them; 'nostage' neither loads nor stages (no barrier: the FMA loop alone)
  const diag = o.diag ?? '';
  const fetch = (k0) => diag ? [['ra', LA], ['rb', LB]].map(([r, L]) => Array.from({ length: L }, (_, u) => `${r}${u} = vec4<f32>(f32(${k0} + ${u}u));`).join(' ')).join(' ') : [['ra', LA, 'AW', 'A', 'm0', 'M'], ['rb', LB, 'BW', 'B', 'n0', 'N']].map(([r, L, W, X, off, D]) =>
    Array.from({ length: L }, (_, u) => `{ let e = t + ${u}u * NT; let k = e / ${W}; let q = e % ${W};
      ${r}${u} = vec4<f32>(0.0);
      if (${(u + 1) * NT * 4 > (W === 'AW' ? TM : TN) * TK ? `e < ${W} * TK && ` : ''}${k0} + k < kEnd && ${off} + 4u * q < ${D}) { ${r}${u} = ${X}[((${k0} + k) * ${D} + ${off} + 4u * q) / 4u]; } }`).join('\n    ')).join('\n    ');
  const stage = (base) => diag === 'nostage' || diag === 'regs' ? '' : [['ra', LA, 'AW', 'As', TM], ['rb', LB, 'BW', 'Bs', TN]].map(([r, L, W, S, T]) =>
    Array.from({ length: L }, (_, u) => (u + 1) * NT * 4 > T * TK
      ? `{ let e = t + ${u}u * NT; if (e < ${W} * TK) { ${S}[(${base}) * ${W} + e] = ${r}${u}; } }`
      : `${S}[(${base}) * ${W} + t + ${u * NT}u] = ${r}${u};`).join('\n    ')).join('\n    ');
  const noBarrier = diag === 'nostage' || diag === 'regs';
  const loop = namedLoop({ dbuf, bounded: o.bounded, barriers: !noBarrier }, { stage, fetch, compute }, 'kBegin', 'kEnd');
  const { decl, epi } = namedRegisters({ RM, RN, LA, LB, strided }, (m, n, r) => `C[(cbase + ${m} * N + ${n}) / 4u] = ${r};`);
  return `${wgHead({ TM, TN, TK, TX, TY, NT, VM, VN, AW, BW })}
var<workgroup> As: array<vec4<f32>, ${AW * TK * NB}>;
var<workgroup> Bs: array<vec4<f32>, ${BW * TK * NB}>;
${wgMainHead(NT)}
  ${o.warp ? `let lane = t % 32u; let wp = t / 32u; let tx = (wp % ${TN / RN / o.warp[0]}u) * ${o.warp[0]}u + lane % ${o.warp[0]}u; let ty = (wp / ${TN / RN / o.warp[0]}u) * ${o.warp[1]}u + lane / ${o.warp[0]}u;` : 'let tx = t % TX; let ty = t / TX;'}
  ${decl}
  ${fetch('kBegin')}
  ${loop}
  ${epi}
  ${diag ? 'if (P.splits == 0xffffffu) { C[0] = A[0] + B[0]; } // keeps both bindings in the layout' : ''}
}
`;
}
