// Attention's backward as register-tiled products in one launch, a workgroup a head of an
// example (the row-by-row kernels take two launches, each computing the scores and dP
// again): S = q k^T and dP = dO v^T in 4 x 4 tiles a thread (rows 4 ty .., keys 4 tx ..),
// P = exp(S - lse), D = the row sums of P dP (dO . O, as the composite's softmax gradient
// sums it), dS = P (dP - D), then dQ = dS k, dK = dS^T q and dV = P^T dO, each over chunks
// of 16 keys or rows staged beside the chunk of dS or P its owners write. A 65th token
// (the class token's) is worked apart, as in the forward (attention-tiled.ts).
// Against the row-by-row kernels' two launches (H100, Node + Dawn, one call, two runs
// each, launches timed one by one): a small b128 step's backwards 2.02-2.03 -> 1.13-1.14 ms (the
// step's device time 24.10-24.11 -> 23.28-23.43, with the tiled forward both ways), tiny
// b128 0.88 -> 0.60 (6.84 -> 6.63-6.65), tiny b32 0.405 -> 0.31 (3.20-3.23 -> 3.16-3.17);
// the same accuracy.
import { makeKernel, memoKernel, type Kernel } from './kernel';
import { ATTENTION_TILED, C, MAIN, TILED_MOST_TOKENS, TILE_PARAMS, byKey, chunkLoad, chunkPass, range, sliceLoop, sliceProduct, tileFigures, tileFits, tileMain, type Figures } from './attention-tiled';

// scalar scratch: each main row's 16 partial sums of P dP; the 65th key's P, dP and dS
// against the main rows (KP, KD, KS); the 65th row's P, dP and dS against every key (RP,
// RD, RS); that row's partial sums of P dP (RM)
const RED = 0;
const KP = MAIN * 16;
const KD = KP + MAIN;
const KS = KD + MAIN;
const RP = KS + MAIN;
const RD = RP + TILED_MOST_TOKENS + 3;
const RS = RD + TILED_MOST_TOKENS + 3;
const RM = RS + TILED_MOST_TOKENS + 3;
const SF_FLOATS = RM + 16;

/** Whether the backward of heads `hd` wide over `tokens` tokens takes the tiled kernel on a device of `sharedBytes` workgroup memory. */
export const tiledBackwardFits = (hd: number, tokens: number, sharedBytes: number) => ATTENTION_TILED.backward && tileFits(hd, tokens, SF_FLOATS, sharedBytes);

/**
 * The kernel at `tokens` tokens. Bindings Q, K, V, DO as vec4s of [B*T, D] rows, LSE per
 * (b, h, row), DQ, DK, DVAL as vec4s; params T, H, D, BH, scale. Eight storage buffers:
 * D is summed from P dP, not read from O.
 */
export function tiledBackwardKernel(tokens: number): Kernel {
  const key = `attention.backward/tiled/t${tokens}`;
  return memoKernel(key, () => makeKernel({
    name: 'attention.backward', key,
    bindings: [
      ...['Q', 'K', 'V', 'DO'].map((name) => ({ name, access: 'read' as const, type: 'vec4<f32>' })), { name: 'LSE', access: 'read' as const },
      ...['DQ', 'DK', 'DVAL'].map((name) => ({ name, access: 'rw' as const, type: 'vec4<f32>' })),
    ],
    params: TILE_PARAMS,
    body: backwardBody(tileFigures(tokens)),
  }));
}

/** The backward's WGSL. */
function backwardBody(f: Figures): string {
  const { T, XE, rows } = f;
  // chunk ch's dS or P by row (its owners ty / 4 == ch, for dK and dV; byKey for dQ)
  const byRow = (m: string) => `if (ty / 4u == ch) { ${rows.map((i) => `SV[(4u * (ty % 4u) + ${i}u) * 16u + tx] = ${m}${i};`).join(' ')} }`;
  const store = (out: string, scale: string) => rows.map((i) => `if (4u * ty + ${i}u < T) { ${out}[(row0 + 4u * ty + ${i}u) * D4 + col4 + tx] = c${i}${scale}; }`).join('\n  ');
  // the 65th row's or key's own term and its store: its source row, the main rows' (or keys') scratch, its own scratch
  const extraTail = (src: string, scale: string, mine: string, its: string, out: string, outScale: string) => (XE ? `{
    let v = ${src}[(row0 + ${MAIN}u) * D4 + col4 + tx]${scale};
    ${rows.map((i) => `c${i} = fma(vec4<f32>(SF[${mine}u + 4u * ty + ${i}u]), v, c${i});`).join(' ')}
    if (t < 16u) { xo = fma(vec4<f32>(SF[${its}u + ${MAIN}u]), v, xo); ${out}[(row0 + ${MAIN}u) * D4 + col4 + tx] = xo${outScale}; }
  }` : '');
  return `${tileMain(f, SF_FLOATS)}
  ${rows.map((i) => `var a${i} = vec4<f32>(0.0); var g${i} = vec4<f32>(0.0); var c${i} = vec4<f32>(0.0);`).join(' ')}
  var xo = vec4<f32>(0.0);
  var xks = 0.0; var xkd = 0.0; var xrs = 0.0; var xrd = 0.0;
  ${rows.map((i) => `var lse${i} = 0.0; if (4u * ty + ${i}u < T) { lse${i} = LSE[bh * T + 4u * ty + ${i}u]; }`).join(' ')}
  // S = (q scale) k^T, then dP = dO v^T, each slice's loads issued before the slice before is used
  ${sliceLoop('Q', 'K', ' * P.scale', sliceProduct(f, 'a', 'xks', 'xrs'), { first: true, then: ['DO', 'V'] })}
  ${sliceLoop('DO', 'V', '', sliceProduct(f, 'g', 'xkd', 'xrd'), { first: false })}
  // P (none past the tokens), each row's partial sums of P dP
  ${rows.map((i) => `a${i} = exp(a${i} - vec4<f32>(lse${i}));${T < MAIN ? ` if (4u * ty + ${i}u >= T) { a${i} = vec4<f32>(0.0); } ${range(4).map((c) => `if (4u * tx + ${c}u >= T) { a${i}.${C[c]} = 0.0; }`).join(' ')}` : ''}
  SF[${RED}u + (4u * ty + ${i}u) * 16u + tx] = (a${i}.x * g${i}.x + a${i}.y * g${i}.y) + (a${i}.z * g${i}.z + a${i}.w * g${i}.w);`).join('\n  ')}
  ${XE ? `if (t < ${MAIN}u) { SF[${KP}u + t] = exp(xks - LSE[bh * T + t]); SF[${KD}u + t] = xkd; }
  else if (t < ${MAIN}u + T) { let k = t - ${MAIN}u; SF[${RP}u + k] = exp(xrs - LSE[bh * T + ${MAIN}u]); SF[${RD}u + k] = xrd; }` : ''}
  workgroupBarrier();
  // D a row, dS = P (dP - D); the 65th key's dS against the main rows by each row's first thread
  ${rows.map((i) => `var d${i} = SF[${RED}u + (4u * ty + ${i}u) * 16u];`).join(' ')}
  for (var c = 1u; c < 16u; c++) { ${rows.map((i) => `d${i} += SF[${RED}u + (4u * ty + ${i}u) * 16u + c];`).join(' ')} }
  ${XE ? `${rows.map((i) => `d${i} += SF[${KP}u + 4u * ty + ${i}u] * SF[${KD}u + 4u * ty + ${i}u];`).join(' ')}
  if (tx == 0u) { ${rows.map((i) => `SF[${KS}u + 4u * ty + ${i}u] = SF[${KP}u + 4u * ty + ${i}u] * (SF[${KD}u + 4u * ty + ${i}u] - d${i});`).join(' ')} }
  if (t < 16u) { var dp = 0.0; for (var k = t; k < T; k += 16u) { dp += SF[${RP}u + k] * SF[${RD}u + k]; } SF[${RM}u + t] = dp; }` : ''}
  ${rows.map((i) => `g${i} = a${i} * (g${i} - vec4<f32>(d${i}));`).join(' ')}
  workgroupBarrier();
  ${XE ? `if (t < 16u) {
    var d64 = SF[${RM}u];
    for (var c = 1u; c < 16u; c++) { d64 += SF[${RM}u + c]; }
    for (var k = t; k < T; k += 16u) { SF[${RS}u + k] = SF[${RP}u + k] * (SF[${RD}u + k] - d64); }
  }` : ''}
  // dQ = dS k (scaled), over chunks of keys
  var vn = vec4<f32>(0.0);
  ${chunkLoad('K', '0u', '')}
  ${chunkPass(f, byKey(f, 'g'), (ch) => (ch === 'first' ? chunkLoad('Q', '0u', ' * P.scale') : chunkLoad('K', ch, '')), (ch, kk) => `SF[${RS}u + ${ch} * 16u + ${kk}]`)}
  ${extraTail('K', '', KS.toString(), RS.toString(), 'DQ', ' * P.scale')}
  ${store('DQ', ' * P.scale')}
  // dK = dS^T (q scale), over chunks of rows
  ${chunkPass(f, byRow('g'), (ch) => (ch === 'first' ? chunkLoad('DO', '0u', '') : chunkLoad('Q', ch, ' * P.scale')), (ch, kk) => `SF[${KS}u + ${ch} * 16u + ${kk}]`)}
  ${extraTail('Q', ' * P.scale', RS.toString(), RS.toString(), 'DK', '')}
  ${store('DK', '')}
  // dV = P^T dO, over chunks of rows
  ${chunkPass(f, byRow('a'), (ch) => (ch === 'first' ? '' : chunkLoad('DO', ch, '')), (ch, kk) => `SF[${KP}u + ${ch} * 16u + ${kk}]`)}
  ${extraTail('DO', '', RP.toString(), RP.toString(), 'DVAL', '')}
  ${store('DVAL', '')}
}`;
}
