// Attention's forward as two register-tiled products in one launch, a workgroup a head of
// an example: the scores S = q k^T of up to 64 rows and keys in 4 x 4 tiles a thread, a
// 65th token (the class token's) as dot products of its own, the softmax over each row's
// 16 threads through workgroup memory, then O = P V in 4-row x vec4 tiles over the keys
// in chunks of 16; and what the backward (attention-tiled-backward.ts) shares with it.
// The row-by-row kernels (attention.ts) share each row among subgroup lanes and add their
// dot products by shuffles, key by key; here a thread's dot products need no shuffle.
import { MAIN_ARGS, WID, makeKernel, memoKernel, type Kernel, type ParamSpec } from './kernel';

/** Head width the tiled kernel takes (16 threads of vec4 columns). */
export const HD = 64;
/** Rows and keys in the 4 x 4 tiles (16 x 16 threads); a 65th token (the class token's) is worked apart. */
export const MAIN = 64;
/** Head dimensions staged at a time (q and k slices), and keys a chunk of P V. */
export const SLICE = 16;
const THREADS = 256;
/** The most tokens the tiled kernel takes: 64 in the tiles and one apart. */
export const TILED_MOST_TOKENS = MAIN + 1;

/**
 * Where the forward and the backward (attention-tiled-backward.ts) take the tiled kernels
 * (tunable: `npm run bench -- --attention-tiled off|forward|backward`): at head width 64
 * and at most 65 tokens, where their workgroup memory fits. The forward against
 * the row-by-row kernel (H100, Node + Dawn, one call, two runs each, launches timed one by
 * one): the forwards of a step 0.659 -> 0.522 ms at small b128 (the step's device time
 * 24.37-24.43 -> 24.26), 0.257 -> 0.212 at tiny b128 (6.92-6.93 -> 6.86-6.88), 0.173 ->
 * 0.163 at tiny b32 (3.24-3.25 -> 3.20-3.23, 96 workgroups for 132 SMs); the same accuracy.
 */
export const ATTENTION_TILED = { forward: true, backward: true };

/** The setting `--attention-tiled on|off|forward|backward` gives (both kernels tiled, neither, or the one named), checked. */
export function parseAttentionTiled(text: string): typeof ATTENTION_TILED | string {
  const ways = { on: [true, true], off: [false, false], forward: [true, false], backward: [false, true] } as const;
  if (Object.hasOwn(ways, text)) {
    const [forward, backward] = ways[text as keyof typeof ways];
    return { forward, backward };
  }
  return `--attention-tiled: use on, off, forward or backward (the kernels on register tiles; got "${text.slice(0, 40)}")`;
}

/** Staged vec4s a slice row (rows 4 g .. 4 g + 3 a vec4): 16, or 17 with the 65th row. */
const rowVecs = (tokens: number) => (tokens > MAIN ? MAIN / 4 + 1 : MAIN / 4);

/**
 * Whether a tiled kernel with `sfFloats` floats of scratch takes heads `hd` wide over
 * `tokens` tokens on a device of `sharedBytes` workgroup memory: its slice pair (vec4s)
 * and scratch must fit.
 */
export function tileFits(hd: number, tokens: number, sfFloats: number, sharedBytes: number): boolean {
  return hd === HD && tokens >= 1 && tokens <= TILED_MOST_TOKENS && 16 * 2 * SLICE * rowVecs(tokens) + 4 * sfFloats <= sharedBytes;
}

/** The tiled kernels' params: tokens, heads, width, heads of the batch (workgroups), the scores' scale. */
export const TILE_PARAMS: ParamSpec[] = [...['T', 'H', 'D', 'BH'].map((name) => ({ name, type: 'u32' as const })), { name: 'scale', type: 'f32' as const }];

// scalar scratch: each main row's 16 partial maxima or sums, then the 65th token's
// scores against the main rows (XK) and its row's scores (XR), that row's partial maxima
// and sums (XM, XS) and its probabilities (XP)
const RED = 0;
const XK = MAIN * 16;
const XR = XK + MAIN;
const XM = XR + TILED_MOST_TOKENS + 3;
const XS = XM + 16;
const XP = XS + 16;
const SF_FLOATS = XP + TILED_MOST_TOKENS + 3;

/** Whether the forward of heads `hd` wide over `tokens` tokens takes the tiled kernel on a device of `sharedBytes` workgroup memory. */
export const tiledForwardFits = (hd: number, tokens: number, sharedBytes: number) => ATTENTION_TILED.forward && tileFits(hd, tokens, SF_FLOATS, sharedBytes);

/** 0 .. n - 1 (the row kernels' per-row WGSL uses it too). */
export const range = (n: number) => [...Array(n).keys()];
export const C = ['x', 'y', 'z', 'w'];

/**
 * A tiled kernel's figures at `tokens` tokens: whether a 65th token is worked apart
 * (XE), the staged vec4s a slice row (TP4), the chunks of 16 keys or rows of the output
 * products (KC), the four rows (or keys) of a thread's tile.
 */
export function tileFigures(tokens: number) {
  return { T: tokens, XE: tokens > MAIN, TP4: rowVecs(tokens), KC: Math.min(MAIN / SLICE, Math.ceil(tokens / SLICE)), rows: range(4) };
}

/**
 * The head's place and the thread's (tx, ty), and the staging tasks of a slice pair
 * (threads 0.. a task of the first tensor, 128.. of the second: 4 rows' vec4s at one
 * slice column, in registers n0..n3).
 */
const TILE_PROLOGUE = `
  ${WID}
  if (wid >= P.BH) { return; }
  let bh = wid;
  let row0 = (bh / P.H) * T;
  let D4 = P.D / 4u;
  let col4 = (bh % P.H) * ${HD / 4}u;
  let tx = t % 16u;
  let ty = t / 16u;
  let isQ = t < 4u * TP4;
  let isK = t >= 128u && t < 128u + 4u * TP4;
  let st = select(t - 128u, t, isQ);
  let sg = st / 4u;
  let sd4 = st % 4u;
  var n0 = vec4<f32>(0.0); var n1 = vec4<f32>(0.0); var n2 = vec4<f32>(0.0); var n3 = vec4<f32>(0.0);`;

/**
 * A tiled kernel's opening up to its own statements: the figures as constants, the
 * workgroup memory (vec4s SV: the slice pair [dimension][rows / 4] of four rows or keys,
 * then an output product's chunk of P or dS and of its operand; `sfFloats` floats SF of
 * scratch), `main` and its prologue.
 */
export const tileMain = (f: { T: number; TP4: number }, sfFloats: number) => `
const T = ${f.T}u; const TP4 = ${f.TP4}u; const KOFF = ${SLICE * f.TP4}u;
var<workgroup> SV: array<vec4<f32>, ${2 * SLICE * f.TP4}>;
var<workgroup> SF: array<f32, ${sfFloats}>;
@compute @workgroup_size(${THREADS})
fn main(${MAIN_ARGS}) {${TILE_PROLOGUE}`;

/** Statements loading slice `s` (WGSL) of tensors `a` (the rows' side) and `b` (the keys') into the staging registers. */
const sliceLoad = (a: string, b: string, s: string) => `
    if (isQ) { ${range(4).map((c) => `n${c} = vec4<f32>(0.0); if (4u * sg + ${c}u < T) { n${c} = ${a}[(row0 + 4u * sg + ${c}u) * D4 + col4 + ${s} * 4u + sd4]; }`).join(' ')} }
    else if (isK) { ${range(4).map((c) => `n${c} = vec4<f32>(0.0); if (4u * sg + ${c}u < T) { n${c} = ${b}[(row0 + 4u * sg + ${c}u) * D4 + col4 + ${s} * 4u + sd4]; }`).join(' ')} }`;

/** Statements writing the staging registers to the slice pair, [dimension][rows / 4] vec4s (the first side times `scaleA`). */
const stageSlice = (scaleA: string) => `
    if (isQ) { ${range(4).map((z) => `SV[(4u * sd4 + ${z}u) * TP4 + sg] = vec4<f32>(${range(4).map((c) => `n${c}.${C[z]}`).join(', ')})${scaleA};`).join(' ')} }
    else if (isK) { ${range(4).map((z) => `SV[KOFF + (4u * sd4 + ${z}u) * TP4 + sg] = vec4<f32>(${range(4).map((c) => `n${c}.${C[z]}`).join(', ')});`).join(' ')} }`;

/**
 * The loop over the head's slices of tensors `a` (the rows' side, times `scaleA`) and `b`,
 * `product` the statements using each staged pair: each slice's loads issued before the
 * slice before is used, the first before the loop where `first`, the last pass loading
 * `then`'s first slice.
 */
export const sliceLoop = (a: string, b: string, scaleA: string, product: string, o: { first: boolean; then?: [string, string] }) => `${o.first ? sliceLoad(a, b, '0u') : ''}
  for (var s = 0u; s < ${HD / SLICE}u; s++) {${stageSlice(scaleA)}
    workgroupBarrier();
    if (s + 1u < ${HD / SLICE}u) { ${sliceLoad(a, b, '(s + 1u)')} }${o.then ? ` else { ${sliceLoad(o.then[0], o.then[1], '0u')} }` : ''}${product}
    workgroupBarrier();
  }`;

/** The figures tileFigures gives. */
export type Figures = ReturnType<typeof tileFigures>;

/**
 * The products of a staged slice pair into `acc`0..3 (a row's four keys a vec4), and the
 * 65th token's: its key against row t by threads 0..63 (`xk`), its row against key t - 64
 * by threads 64.. (`xr`).
 */
export const sliceProduct = (f: Figures, acc: string, xk: string, xr: string) => `
    for (var dd = 0u; dd < ${SLICE}u; dd++) {
      let qa = SV[dd * TP4 + ty];
      let kb = SV[KOFF + dd * TP4 + tx];
      ${f.rows.map((i) => `${acc}${i} = fma(vec4<f32>(qa.${C[i]}), kb, ${acc}${i});`).join(' ')}
      ${f.XE ? `if (t < ${MAIN}u) { ${xk} = fma(SV[dd * TP4 + t / 4u][t % 4u], SV[KOFF + dd * TP4 + ${MAIN / 4}u].x, ${xk}); }
      else if (t < ${MAIN}u + T) { let k = t - ${MAIN}u; ${xr} = fma(SV[dd * TP4 + ${MAIN / 4}u].x, SV[KOFF + dd * TP4 + k / 4u][k % 4u], ${xr}); }` : ''}
    }`;

/** Statements loading into vn chunk `ch` (WGSL) of 16 rows of [B*T, D] tensor `src` at this thread's column, times `scale`. */
export const chunkLoad = (src: string, ch: string, scale: string) =>
  `{ let kr = ${ch} * 16u + t / 16u; vn = vec4<f32>(0.0); if (kr < T) { vn = ${src}[(row0 + kr) * D4 + col4 + tx]${scale}; } }`;

/** Chunk ch of `m`0..3 by key: its owners (tx / 4 == ch) write it as [key][rows / 4] vec4s. */
export const byKey = (f: Figures, m: string) => `if (tx / 4u == ch) { let k0 = (tx % 4u) * 4u; ${range(4).map((z) => `SV[(k0 + ${z}u) * 16u + ty] = vec4<f32>(${f.rows.map((i) => `${m}${i}.${C[z]}`).join(', ')});`).join(' ')} }`;

/**
 * An output product over KC chunks into c0..3 (this thread's rows 4 ty .. at columns 4 tx
 * ..) and, for the 65th row or key, xo (the first 16 threads): `own` writes the chunk of
 * P or dS (SV[0..256): [chunk index][the other side / 4]), vn the staged operand
 * (SV[256..512)); `next(ch)` loads the chunk after, `next('first')` after the last chunk
 * (the next product's first, or '' for none); `extra(ch, kk)` the 65th row's or key's scratch
 * value xo takes.
 */
export const chunkPass = (f: Figures, own: string, next: (ch: string) => string, extra: (ch: string, kk: string) => string) => `
  ${f.rows.map((i) => `c${i} = vec4<f32>(0.0);`).join(' ')} xo = vec4<f32>(0.0);
  for (var ch = 0u; ch < ${f.KC}u; ch++) {
    ${own}
    SV[256u + t] = vn;
    workgroupBarrier();
    if (ch + 1u < ${f.KC}u) ${next('(ch + 1u)')}${next('first') ? ` else ${next('first')}` : ''}
    for (var kk = 0u; kk < 16u; kk++) {
      let v = SV[256u + kk * 16u + tx];
      let p = SV[kk * 16u + ty];
      ${f.rows.map((i) => `c${i} = fma(vec4<f32>(p.${C[i]}), v, c${i});`).join(' ')}
      ${f.XE ? `if (t < 16u) { xo = fma(vec4<f32>(${extra('ch', 'kk')}), v, xo); }` : ''}
    }
    workgroupBarrier();
  }`;

/**
 * The kernel at `tokens` tokens. Bindings Q, K, V, O as vec4s of [B*T, D] rows (a head's
 * 64 columns from (bh % H) * 64), LSE per (b, h, row); params T, H, D, BH, scale.
 * Thread (tx, ty) = (t % 16, t / 16) holds the scores of rows 4 ty .. 4 ty + 3 against keys
 * 4 tx .. 4 tx + 3 (a0..a3, a row's four keys a vec4), then O's rows 4 ty .. at columns
 * 4 tx ..: each step of a product reads two vec4s of workgroup memory for 16 FMAs. With a
 * row a register and broadcast floats for the rows (the first version), a step read a
 * vec4 and four or five floats, each a pass of the shared memory: 0.655 -> 0.563 ms a
 * small b128 step (H100, one call).
 * A 65th token's key: threads 0..63 sum its score against row t over the slices; its
 * row: threads 64..128 its score against key t - 64; that row's maximum and sum by the
 * first 16 threads in the softmax's barriers, its output by them beside their own.
 * Every slice's and chunk's loads are issued before the products of the one before.
 */
export function tiledForwardKernel(tokens: number): Kernel {
  const key = `attention.forward/tiled/t${tokens}`;
  return memoKernel(key, () => makeKernel({
    name: 'attention.forward', key,
    bindings: [{ name: 'Q', access: 'read', type: 'vec4<f32>' }, { name: 'K', access: 'read', type: 'vec4<f32>' }, { name: 'V', access: 'read', type: 'vec4<f32>' }, { name: 'O', access: 'rw', type: 'vec4<f32>' }, { name: 'LSE', access: 'rw' }],
    params: TILE_PARAMS,
    body: forwardBody(tileFigures(tokens)),
  }));
}

/** The forward's WGSL: q (scaled) then k slices; then P's chunks [key][rows / 4] and V's [key][columns / 4]. */
function forwardBody(f: Figures): string {
  const { T, XE, rows } = f;
  return `${tileMain(f, SF_FLOATS)}
  ${rows.map((i) => `var a${i} = vec4<f32>(0.0); var c${i} = vec4<f32>(0.0);`).join(' ')}
  var xk = 0.0; var xr = 0.0; var xo = vec4<f32>(0.0);
  ${sliceLoop('Q', 'K', ' * P.scale', sliceProduct(f, 'a', 'xk', 'xr'), { first: true })}
  ${XE ? `if (t < ${MAIN}u) { SF[${XK}u + t] = xk; } else if (t < ${MAIN}u + T) { SF[${XR}u + t - ${MAIN}u] = xr; }` : ''}
  ${T < MAIN ? rows.map((i) => range(4).map((c) => `if (4u * tx + ${c}u >= T) { a${i}.${C[c]} = -3.0e38; }`).join(' ')).join('\n  ') : ''}
  // each row's maximum: its 16 threads' maxima in order, then the 65th key's
  ${rows.map((i) => `SF[${RED}u + (4u * ty + ${i}u) * 16u + tx] = max(max(a${i}.x, a${i}.y), max(a${i}.z, a${i}.w));`).join('\n  ')}
  var mxr = 0.0; var lr = 1.0;
  workgroupBarrier();
  ${rows.map((i) => `var mx${i} = SF[${RED}u + (4u * ty + ${i}u) * 16u];`).join(' ')}
  for (var c = 1u; c < 16u; c++) { ${rows.map((i) => `mx${i} = max(mx${i}, SF[${RED}u + (4u * ty + ${i}u) * 16u + c]);`).join(' ')} }
  ${XE ? `${rows.map((i) => `mx${i} = max(mx${i}, SF[${XK}u + 4u * ty + ${i}u]);`).join(' ')}
  if (t < 16u) { var m = SF[${XR}u + t]; for (var k = t + 16u; k < T; k += 16u) { m = max(m, SF[${XR}u + k]); } SF[${XM}u + t] = m; }` : ''}
  workgroupBarrier();
  ${rows.map((i) => `a${i} = exp(a${i} - vec4<f32>(mx${i})); SF[${RED}u + (4u * ty + ${i}u) * 16u + tx] = (a${i}.x + a${i}.y) + (a${i}.z + a${i}.w);`).join('\n  ')}
  ${XE ? `if (t < 16u) {
    mxr = SF[${XM}u];
    for (var c = 1u; c < 16u; c++) { mxr = max(mxr, SF[${XM}u + c]); }
    var ls = 0.0;
    for (var k = t; k < T; k += 16u) { let p = exp(SF[${XR}u + k] - mxr); SF[${XP}u + k] = p; ls += p; }
    SF[${XS}u + t] = ls;
  }` : ''}
  workgroupBarrier();
  ${rows.map((i) => `var l${i} = SF[${RED}u + (4u * ty + ${i}u) * 16u];`).join(' ')}
  for (var c = 1u; c < 16u; c++) { ${rows.map((i) => `l${i} += SF[${RED}u + (4u * ty + ${i}u) * 16u + c];`).join(' ')} }
  ${XE ? `${rows.map((i) => `l${i} += exp(SF[${XK}u + 4u * ty + ${i}u] - mx${i});`).join(' ')}
  if (t < 16u) { lr = SF[${XS}u]; for (var c = 1u; c < 16u; c++) { lr += SF[${XS}u + c]; } }` : ''}
  // O = P V over the main keys, a chunk of 16 at a time: P's chunk from the 4 threads a row holding it, V's staged
  var vn = vec4<f32>(0.0);
  ${chunkLoad('V', '0u', '')}
  ${chunkPass(f, byKey(f, 'a'), (ch) => (ch === 'first' ? '' : chunkLoad('V', ch, '')), (ch, kk) => `SF[${XP}u + ${ch} * 16u + ${kk}]`)}
  ${XE ? `{
    let v = V[(row0 + ${MAIN}u) * D4 + col4 + tx];
    ${rows.map((i) => `c${i} = fma(vec4<f32>(exp(SF[${XK}u + 4u * ty + ${i}u] - mx${i})), v, c${i});`).join(' ')}
    if (t < 16u) {
      xo = fma(vec4<f32>(SF[${XP}u + ${MAIN}u]), v, xo);
      O[(row0 + ${MAIN}u) * D4 + col4 + tx] = xo * (1.0 / lr);
      if (t == 0u) { LSE[bh * T + ${MAIN}u] = mxr + log(lr); }
    }
  }` : ''}
  ${rows.map((i) => `if (4u * ty + ${i}u < T) {
    let r = 4u * ty + ${i}u;
    O[(row0 + r) * D4 + col4 + tx] = c${i} * (1.0 / l${i});
    if (tx == 0u) { LSE[bh * T + r] = mx${i} + log(l${i}); }
  }`).join('\n  ')}
}`;
}
