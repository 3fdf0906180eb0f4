// Variants of a tiled product for the GEMM microbenchmark, as WGSL: C[M, N] = A[M, K] B
// (+ bias), B stored [K, N] (fwd, a forward) or [N, K] (an input gradient), every loop
// over registers written out. Options: tile TMxTNxTK and RMxRN outputs a thread; strided
// (a thread's rows and columns four at a time, TY and TX apart); dbuf (two staged slices,
// one barrier a slice); unroll (the k loop written out); idx1d (one flat staged array a
// tile, as src stages); cscalar (C and the bias stored a float at a time, as src does);
// sload (A and B loaded a float at a time, each through select), sload2 (a float at a
// time, four loads under one check), div (staged indices as (r 4 AW + 4 c) / 4); and, to
// find what src's kernel does differently: oneArray (both tiles in one staged array),
// gemmFn (the K loop in a function given kBegin and kEnd, the loads' stride read from the
// params), prodEpi (src's epilogue: a float at a time, loops over the row and column);
// apad / bpad: vec4s of padding a staged row (1). K and N must be multiples of 4 (the
// vec4 loads, stores and bias; a shape that is not shows as err).
export function gen(o) {
  const { TM, TN, TK, RM, RN, strided = false, dbuf = false, fwd = true, unroll = false, bpad = 1, apad = 1, sload = false, idx1d = false, cscalar = false } = o;
  const TX = TN / RN, TY = TM / RM, NT = TX * TY, VM = RM / 4, VN = RN / 4;
  const AW = TM / 4 + apad; // vec4s per staged A row (k)
  const BW = TN / 4 + (fwd ? 0 : bpad);
  const NB = dbuf ? 2 : 1;
  const LA = Math.ceil((TM * TK) / 4 / NT), LB = Math.ceil((TK * TN) / 4 / NT);
  const aIdx = (g) => (strided ? `${g}u * TY + ty` : `ty * VM + ${g}u`);
  const bIdx = (h) => (strided ? `${h}u * TX + tx` : `tx * VN + ${h}u`);
  const AT = sload || o.sload2 ? 'f32' : 'vec4<f32>', CT = cscalar ? 'f32' : 'vec4<f32>';
  const bindings = fwd
    ? `@group(0) @binding(0) var<storage, read> A: array<${AT}>;
@group(0) @binding(1) var<storage, read> B: array<${AT}>;
@group(0) @binding(2) var<storage, read> Bias: array<${CT}>;
@group(0) @binding(3) var<storage, read_write> C: array<${CT}>;
@group(0) @binding(4) var<uniform> P: Params;`
    : `@group(0) @binding(0) var<storage, read> A: array<${AT}>;
@group(0) @binding(1) var<storage, read> B: array<${AT}>;
@group(0) @binding(2) var<storage, read_write> C: array<${CT}>;
@group(0) @binding(3) var<uniform> P: Params;`;
  const AS = (r, c) => (o.oneArray ? `AB[(${r}) * ${AW}u + ${c}]` : o.div ? `As[((${r}) * ${AW * 4}u + 4u * (${c})) / 4u]` : idx1d ? `As[(${r}) * ${AW}u + ${c}]` : `As[${r}][${c}]`);
  const BSx = (r, c) => (o.oneArray ? `AB[${AW * TK * NB}u + (${r}) * ${BW}u + ${c}]` : o.div ? `Bs[((${r}) * ${BW * 4}u + 4u * (${c})) / 4u]` : idx1d ? `Bs[(${r}) * ${BW}u + ${c}]` : `Bs[${r}][${c}]`);
  // a vec4 of 4 consecutive floats from f32 array X at flat index i (each element bounds-checked against lim)
  const ld4 = (X, i, cond, lim) => o.sload2
    ? `if (${cond}) { let i0 = ${i}; v = vec4<f32>(${X}[i0], ${X}[i0 + 1u], ${X}[i0 + 2u], ${X}[i0 + 3u]); }`
    : sload
    ? `v = vec4<f32>(select(0.0, ${X}[${i}], ${cond} && ${lim} > 0u), select(0.0, ${X}[${i} + 1u], ${cond} && ${lim} > 1u), select(0.0, ${X}[${i} + 2u], ${cond} && ${lim} > 2u), select(0.0, ${X}[${i} + 3u], ${cond} && ${lim} > 3u));`
    : `if (${cond}) { v = ${X}[(${i}) / 4u]; }`;
  // compute body for one k (constant or variable)
  const kstep = (k) => {
    const s = [];
    for (let g = 0; g < VM; g++) s.push(`let a${g} = ${AS(`base + ${k}`, aIdx(g))};`);
    for (let h = 0; h < VN; h++) s.push(`let b${h} = ${BSx(`base + ${k}`, bIdx(h))};`);
    for (let i = 0; i < RM; i++) for (let h = 0; h < VN; h++) s.push(`acc[${i * VN + h}] = fma(vec4<f32>(a${i >> 2}[${i & 3}]), b${h}, acc[${i * VN + h}]);`);
    return s.join(' ');
  };
  const compute = unroll
    ? Array.from({ length: TK }, (_, k) => `{ ${kstep(`${k}u`)} }`).join('\n    ')
    : `for (var k = 0u; k < TK; k++) { ${kstep('k')} }`;
  const loopText = kLoop(dbuf, compute, '0u', 'K', (k) => `fetch(t, m0, n0, ${k}, M, N, K)`);
  return `struct Params { M: u32, N: u32, K: u32, s: f32, }
${bindings}
const TM = ${TM}u; const TN = ${TN}u; const TK = ${TK}u; const TX = ${TX}u; const TY = ${TY}u; const NT = ${NT}u;
const VM = ${VM}u; const VN = ${VN}u;
${o.oneArray ? `var<workgroup> AB: array<vec4<f32>, ${(AW + BW) * TK * NB}>;` : idx1d || o.div ? `var<workgroup> As: array<vec4<f32>, ${AW * TK * NB}>;\nvar<workgroup> Bs: array<vec4<f32>, ${BW * TK * NB}>;` : `var<workgroup> As: array<array<vec4<f32>, ${AW}>, ${TK * NB}>;\nvar<workgroup> Bs: array<array<vec4<f32>, ${BW}>, ${TK * NB}>;`}
var<private> acc: array<vec4<f32>, ${RM * VN}>;
var<private> ra: array<vec4<f32>, ${LA}>;
var<private> rb: array<vec4<f32>, ${LB}>;
fn fetch(t: u32, m0: u32, n0: u32, k0: u32, M: u32, N: u32, K: u32) {
  for (var u = 0u; u < ${LA}u; u++) {
    let e = t + u * NT;
    let m = e / (TK / 4u); let kq = e % (TK / 4u);
    var v = vec4<f32>(0.0);
    ${ld4('A', '(m0 + m) * K + k0 + 4u * kq', 'e < TM * TK / 4u && m0 + m < M', '(K - min(K, k0 + 4u * kq))')}
    ra[u] = v;
  }
  for (var u = 0u; u < ${LB}u; u++) {
    let e = t + u * NT;
    var v = vec4<f32>(0.0);
    ${fwd
      ? `let k = e / (TN / 4u); let nq = e % (TN / 4u);
    ${ld4('B', '(k0 + k) * N + n0 + 4u * nq', 'e < TK * TN / 4u && k0 + k < K', '(N - min(N, n0 + 4u * nq))')}`
      : `let n = e / (TK / 4u); let kq = e % (TK / 4u);
    ${ld4('B', '(n0 + n) * K + k0 + 4u * kq', 'e < TK * TN / 4u && n0 + n < N', '(K - min(K, k0 + 4u * kq))')}`}
    rb[u] = v;
  }
}
fn stage(t: u32, base: u32) {
  for (var u = 0u; u < ${LA}u; u++) {
    let e = t + u * NT;
    if (e < TM * TK / 4u) {
      let m = e / (TK / 4u); let kq = e % (TK / 4u);
      let v = ra[u];
      ${AS('base + 4u * kq', 'm / 4u')}[m % 4u] = v.x;
      ${AS('base + 4u * kq + 1u', 'm / 4u')}[m % 4u] = v.y;
      ${AS('base + 4u * kq + 2u', 'm / 4u')}[m % 4u] = v.z;
      ${AS('base + 4u * kq + 3u', 'm / 4u')}[m % 4u] = v.w;
    }
  }
  for (var u = 0u; u < ${LB}u; u++) {
    let e = t + u * NT;
    if (e < TK * TN / 4u) {
      let v = rb[u];
      ${fwd
        ? `let k = e / (TN / 4u); let nq = e % (TN / 4u);
      ${BSx('base + k', 'nq')} = v;`
        : `let n = e / (TK / 4u); let kq = e % (TK / 4u);
      ${BSx('base + 4u * kq', 'n / 4u')}[n % 4u] = v.x;
      ${BSx('base + 4u * kq + 1u', 'n / 4u')}[n % 4u] = v.y;
      ${BSx('base + 4u * kq + 2u', 'n / 4u')}[n % 4u] = v.z;
      ${BSx('base + 4u * kq + 3u', 'n / 4u')}[n % 4u] = v.w;`}
    }
  }
}
${o.gemmFn ? `fn gemm(t: u32, m0: u32, n0: u32, kBegin: u32, kEnd: u32, M: u32, N: u32) {
  for (var i = 0u; i < ${RM * VN}u; i++) { acc[i] = vec4<f32>(0.0); }
  let tx = t % TX; let ty = t / TX;
  let K = kEnd;
  fetch(t, m0, n0, kBegin, M, N, P.K);
  ${loopText}
}` : ''}
${mainHead(NT)}
  ${o.gemmFn ? 'gemm(t, m0, n0, 0u, P.K, M, N);' : `for (var i = 0u; i < ${RM * VN}u; i++) { acc[i] = vec4<f32>(0.0); }
  fetch(t, m0, n0, 0u, M, N, K);
  ${loopText}`}
  ${o.prodEpi ? `for (var i = 0u; i < ${RM}u; i++) {
    let m = m0 + ty * ${RM}u + i;
    if (m >= M) { continue; }
    for (var j = 0u; j < ${RN}u; j++) {
      let n = n0 + tx * ${RN}u + j;
      if (n >= N) { continue; }
      let v = acc[i * VN + j / 4u][j % 4u];
      ${fwd ? 'var o = v + Bias[n]; C[m * N + n] = o;' : 'C[m * N + n] = v;'}
    }
  }
  if (true) { return; }` : ''}
  for (var i = 0u; i < ${RM}u; i++) {
    ${strided ? `let m = m0 + 4u * ((i / 4u) * TY + ty) + i % 4u;` : `let m = m0 + 4u * (ty * VM + i / 4u) + i % 4u;`}
    if (m >= M) { continue; }
    for (var h = 0u; h < VN; h++) {
      ${strided ? `let nq = h * TX + tx;` : `let nq = tx * VN + h;`}
      let n = n0 + 4u * nq;
      if (n >= N) { continue; }
      ${cscalar ? `let o = acc[i * VN + h]; for (var c = 0u; c < 4u; c++) { if (n + c < N) { C[m * N + n + c] = o[c]${fwd ? ' + Bias[n + c]' : ''}; } }` : fwd ? `C[(m * N + n) / 4u] = acc[i * VN + h] + Bias[n / 4u];` : `C[(m * N + n) / 4u] = acc[i * VN + h];`}
    }
  }
}
`;
}
/**
 * The K loop over slices from kBegin to kEnd: each slice staged by `stage(t, base)` (the
 * next one fetched by `fetchNext(k0)` while this one is summed by `compute`, which reads
 * from `base`), with two staged slices and one barrier a slice where `dbuf`.
 */
export function kLoop(dbuf, compute, kBegin, kEnd, fetchNext) {
  return dbuf
    ? `stage(t, 0u);
  workgroupBarrier();
  var cur = 0u;
  for (var k0 = ${kBegin}; k0 < ${kEnd}; k0 += TK) {
    let more = k0 + TK < ${kEnd};
    if (more) { ${fetchNext('k0 + TK')}; }
    let base = cur * TK;
    ${compute}
    if (more) { stage(t, (1u - cur) * TK); }
    workgroupBarrier();
    cur = 1u - cur;
  }`
    : `for (var k0 = ${kBegin}; k0 < ${kEnd}; k0 += TK) {
    stage(t, 0u);
    workgroupBarrier();
    if (k0 + TK < ${kEnd}) { ${fetchNext('k0 + TK')}; }
    let base = 0u;
    ${compute}
    workgroupBarrier();
  }`;
}
export const workgroupsOf = (o, M, N) => Math.ceil(M / o.TM) * Math.ceil(N / o.TN);
export const threadsOf = (o) => (o.TM / o.RM) * (o.TN / o.RN);
export const sharedOf = (o) => 16 * ((o.TM / 4 + (o.apad ?? 1)) + (o.TN / 4 + (o.fwd === false ? (o.bpad ?? 1) : 0))) * o.TK * (o.dbuf ? 2 : 1);
/** A product's entry point up to its tile: m0, n0 (one tile a workgroup), tx, ty, M, N and K. */
const mainHead = (NT) => `@compute @workgroup_size(${NT})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let wid = wg.x + wg.y * nwg.x;
  let M = P.M; let N = P.N; let K = P.K;
  let tilesN = (N + TN - 1u) / TN;
  if (wid >= ((M + TM - 1u) / TM) * tilesN) { return; }
  let m0 = (wid / tilesN) * TM;
  let n0 = (wid % tilesN) * TN;
  let tx = t % TX; let ty = t / TX;`;

/**
 * The named-register variants' shared parts: a thread's outputs c{i}_{h} and loads in
 * flight ra{u} / rb{u} declared (`decl`), and the epilogue (`epi`) storing each output
 * vec4 through `store(m, n, reg)` where m and n are in range.
 */
/** The named variants' output register of a thread's row i and column vec4 h. */
export const namedAcc = (i, h) => `c${i}_${h}`;

export function namedRegisters({ RM, RN, LA, LB, strided }, store) {
  const VN = RN / 4;
  const acc = namedAcc;
  const decl = [], epi = [];
  for (let i = 0; i < RM; i++) for (let h = 0; h < VN; h++) decl.push(`var ${acc(i, h)} = vec4<f32>(0.0);`);
  for (let u = 0; u < LA; u++) decl.push(`var ra${u}: vec4<f32>;`);
  for (let u = 0; u < LB; u++) decl.push(`var rb${u}: vec4<f32>;`);
  for (let i = 0; i < RM; i++) {
    const g = i >> 2, r = i & 3;
    const row = strided ? `m0 + 4u * (${g}u * TY + ty) + ${r}u` : `m0 + 4u * (ty * VM + ${g}u) + ${r}u`;
    for (let h = 0; h < VN; h++) {
      const col = strided ? `n0 + 4u * (${h}u * TX + tx)` : `n0 + 4u * (tx * VN + ${h}u)`;
      epi.push(`{ let m = ${row}; let n = ${col}; if (m < M && n < N) { ${store('m', 'n', acc(i, h))} } }`);
    }
  }
  return { decl: decl.join('\n  '), epi: epi.join('\n  ') };
}

/**
 * The named variants' K loop from kBegin to kEnd: one staged slice (stage, barrier, fetch
 * the next, sum, barrier) or with `dbuf` two (fetch the next, sum, stage it, one barrier),
 * the staged slice picked as cur = 1 - cur or with `bounded` as (it % 2) (which Dawn's
 * range analysis bounds); `barriers: false` leaves the barriers out (a diagnostic).
 */
export function namedLoop({ dbuf, bounded, barriers = true }, { stage, fetch, compute }, kBegin, kEnd) {
  const bar = barriers ? 'workgroupBarrier();' : '';
  const cur = bounded ? '(it % 2u)' : 'cur', next = bounded ? '((it + 1u) % 2u)' : '(1u - cur)';
  return dbuf
    ? `${stage('0u')}
  ${bar}
  var cur = 0u; var it = 0u;
  for (var k0 = ${kBegin}; k0 < ${kEnd}; k0 += TK) {
    let more = k0 + TK < ${kEnd};
    if (more) { ${fetch('(k0 + TK)')} }
    let base = ${cur} * TK;
    ${compute}
    if (more) { ${stage(`${next} * TK`)} }
    ${bar}
    cur = 1u - cur; it += 1u;
  }`
    : `for (var k0 = ${kBegin}; k0 < ${kEnd}; k0 += TK) {
    ${stage('0u')}
    ${bar}
    if (k0 + TK < ${kEnd}) { ${fetch('(k0 + TK)')} }
    let base = 0u;
    ${compute}
    ${bar}
  }`;
}

/**
 * gen's product with no array in a thread's registers (`named` variants): the outputs and
 * the loads in flight are `var`s in main named by constants, the fetch, the staging and a
 * slice's k loop written out; the staged tiles are flat arrays (idx1d) with apad / bpad
 * vec4s of padding a row. Options as gen's (vec4 loads and stores only).
 */
export function genNamed(o) {
  const { TM, TN, TK, RM, RN, strided = false, dbuf = false, fwd = true, bpad = 1, apad = 1 } = o;
  const TX = TN / RN, TY = TM / RM, NT = TX * TY, VM = RM / 4, VN = RN / 4;
  const AW = TM / 4 + apad, BW = TN / 4 + (fwd ? 0 : bpad), NB = dbuf ? 2 : 1;
  const LA = Math.ceil((TM * TK) / 4 / NT), LB = Math.ceil((TK * TN) / 4 / NT);
  const aIdx = (g) => (strided ? `${g}u * TY + ty` : `ty * VM + ${g}u`);
  const bIdx = (h) => (strided ? `${h}u * TX + tx` : `tx * VN + ${h}u`);
  const acc = namedAcc;
  const kstep = (k) => {
    const s = [];
    for (let g = 0; g < VM; g++) s.push(`let a${g} = As[(base + ${k}u) * ${AW}u + ${aIdx(g)}];`);
    for (let h = 0; h < VN; h++) s.push(`let b${h} = Bs[(base + ${k}u) * ${BW}u + ${bIdx(h)}];`);
    for (let i = 0; i < RM; i++) for (let h = 0; h < VN; h++) s.push(`${acc(i, h)} = fma(vec4<f32>(a${i >> 2}.${'xyzw'[i & 3]}), b${h}, ${acc(i, h)});`);
    return `{ ${s.join(' ')} }`;
  };
  const compute = Array.from({ length: TK }, (_, k) => kstep(k)).join('\n    ');
  const guard = (u, total) => ((u + 1) * NT > total ? `e < ${total}u && ` : '');
  const fetch = (k0) => {
    const s = [];
    for (let u = 0; u < LA; u++) s.push(`{ let e = t + ${u}u * NT; let m = e / ${TK / 4}u; let kq = e % ${TK / 4}u; ra${u} = vec4<f32>(0.0);
      if (${guard(u, (TM * TK) / 4)}m0 + m < M) { ra${u} = A[((m0 + m) * K + ${k0} + 4u * kq) / 4u]; } }`);
    for (let u = 0; u < LB; u++) s.push(fwd
      ? `{ let e = t + ${u}u * NT; let k = e / ${TN / 4}u; let nq = e % ${TN / 4}u; rb${u} = vec4<f32>(0.0);
      if (${guard(u, (TK * TN) / 4)}${k0} + k < K) { rb${u} = B[((${k0} + k) * N + n0 + 4u * nq) / 4u]; } }`
      : `{ let e = t + ${u}u * NT; let n = e / ${TK / 4}u; let kq = e % ${TK / 4}u; rb${u} = vec4<f32>(0.0);
      if (${guard(u, (TK * TN) / 4)}n0 + n < N) { rb${u} = B[((n0 + n) * K + ${k0} + 4u * kq) / 4u]; } }`);
    return s.join('\n    ');
  };
  const scatter = (S, W, r, row, q, lane) => ['x', 'y', 'z', 'w'].map((c, j) => `${S}[(${row} + ${j}u) * ${W}u + ${q}][${lane}] = ${r}.${c};`).join(' ');
  const stage = (base) => {
    const s = [];
    for (let u = 0; u < LA; u++) s.push(`{ let e = t + ${u}u * NT; ${(u + 1) * NT > (TM * TK) / 4 ? `if (e < ${(TM * TK) / 4}u) ` : ''}{ let m = e / ${TK / 4}u; let kq = e % ${TK / 4}u; ${scatter('As', AW, `ra${u}`, `${base} + 4u * kq`, 'm / 4u', 'm % 4u')} } }`);
    for (let u = 0; u < LB; u++) s.push(`{ let e = t + ${u}u * NT; ${(u + 1) * NT > (TK * TN) / 4 ? `if (e < ${(TK * TN) / 4}u) ` : ''}{ ${fwd
      ? `let k = e / ${TN / 4}u; let nq = e % ${TN / 4}u; Bs[(${base} + k) * ${BW}u + nq] = rb${u};`
      : `let n = e / ${TK / 4}u; let kq = e % ${TK / 4}u; ${scatter('Bs', BW, `rb${u}`, `${base} + 4u * kq`, 'n / 4u', 'n % 4u')}`} } }`);
    return s.join('\n    ');
  };
  const loop = namedLoop(o, { stage, fetch, compute }, '0u', 'K');
  // epi (a forward's): 'gelu' stores gelu(C + bias) a float at a time (geluWgsl: src's gelu, from base.json), 'gelu-res' adds what C held (as a residual would be read)
  const store = (m, n, r) => {
    const at = `(${m} * N + ${n}) / 4u`;
    if (!fwd || !o.epi) return `C[${at}] = ${r}${fwd ? ` + Bias[${n} / 4u]` : ''};`;
    const z = `(${r} + Bias[${n} / 4u])`;
    return `{ let z = ${z}; let g = vec4<f32>(gelu(z.x), gelu(z.y), gelu(z.z), gelu(z.w)); C[${at}] = g${o.epi === 'gelu-res' ? ` + C[${at}]` : ''}; }`;
  };
  const { decl, epi } = namedRegisters({ RM, RN, LA, LB, strided }, store);
  return `struct Params { M: u32, N: u32, K: u32, s: f32, }
@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> B: array<vec4<f32>>;
${fwd ? `@group(0) @binding(2) var<storage, read> Bias: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> C: array<vec4<f32>>;
@group(0) @binding(4) var<uniform> P: Params;` : `@group(0) @binding(2) var<storage, read_write> C: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> P: Params;`}
const TM = ${TM}u; const TN = ${TN}u; const TK = ${TK}u; const TX = ${TX}u; const TY = ${TY}u; const NT = ${NT}u;
const VM = ${VM}u; const VN = ${VN}u;
${o.epi ? o.geluWgsl : ''}
var<workgroup> As: array<vec4<f32>, ${AW * TK * NB}>;
var<workgroup> Bs: array<vec4<f32>, ${BW * TK * NB}>;
${mainHead(NT)}
  ${decl}
  ${fetch('0u')}
  ${loop}
  ${epi}
}
`;
}
