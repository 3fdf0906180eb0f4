// The few kernels a recorded step needs besides the fused ops' own: the batch gathered
// from the training set on the device (normalised, augmented and cut into patches in one
// launch), the embedding's add and its backward, the class-token rows in and out, and
// the monitor's window sums (the gradient sums where a tensor feeds several ops are
// made by the kernels that make the gradients: linear and LayerNorm backward). Each
// computes exactly what the tfjs ops of the eager step compute, in the same order of
// float additions, so a replayed step gives the eager step's numbers.
import { MAIN_ARGS, WID, makeKernel, memoKernel, type BindingSpec, type Dispatch, type Kernel, type ParamType } from '../ops/webgpu/kernel';

const read = (name: string, type?: string): BindingSpec => ({ name, access: 'read', type });
const rw = (name: string, type?: string): BindingSpec => ({ name, access: 'rw', type });
const u32s = (...names: string[]) => names.map((name) => ({ name, type: 'u32' as ParamType }));
const THREADS = 256;
const flat = (n: number) => Math.max(1, Math.ceil(n / THREADS));
const E = `${WID}\n  let e = wid * ${THREADS}u + t;`;

/** A kernel of one thread per output element `e` < `count` (a WGSL expression over the params). */
function perElement(name: string, bindings: BindingSpec[], params: string[], count: string, body: string): Kernel {
  return makeKernel({
    name, key: name, bindings, params: u32s(...params),
    body: `
@compute @workgroup_size(${THREADS})
fn main(${MAIN_ARGS}) {
  ${E}
  if (e >= ${count}) { return; }
  ${body}
}`,
  });
}

/**
 * The batch: image SEL[b].x of the training set (uint8, four to a word), shifted by
 * (SEL[b].y, SEL[b].z) and flipped when SEL[b].w != 0 (zero padding: -1 after
 * normalisation), normalised through a 256-entry table (the eager path's x / 127.5 - 1
 * rounded to f32) and written as patches [B * P, p * p * C] in (row, column, channel)
 * order; the labels beside it.
 */
const gatherKernel = makeKernel({
  name: 'input.gather', key: 'input.gather',
  bindings: [read('DATA', 'u32'), read('LUT'), read('LABELSRC', 'i32'), read('SEL', 'vec4<i32>'), rw('X'), rw('Y', 'i32')],
  params: u32s('B', 'S', 'C', 'p', 'G', 'pixels'),
  body: `
fn byteAt(i: u32) -> u32 { return (DATA[i >> 2u] >> ((i & 3u) * 8u)) & 255u; }
@compute @workgroup_size(${THREADS})
fn main(${MAIN_ARGS}) {
  ${E}
  if (e < P.B) { Y[e] = LABELSRC[SEL[e].x]; }
  let patchDim = P.p * P.p * P.C;
  let perImage = P.G * P.G;
  if (e >= P.B * perImage * patchDim) { return; }
  let row = e / patchDim;
  let col = e % patchDim;
  let b = row / perImage;
  let at = row % perImage;
  let y = (at / P.G) * P.p + col / (P.p * P.C);
  let x = (at % P.G) * P.p + (col % (P.p * P.C)) / P.C;
  let c = col % P.C;
  let s = SEL[b];
  let S = i32(P.S);
  let sy = i32(y) + s.y;
  let sx0 = i32(x) + s.z;
  let sx = select(sx0, S - 1 - sx0, s.w != 0);
  var v = -1.0;
  if (sy >= 0 && sy < S && sx0 >= 0 && sx0 < S) {
    v = LUT[byteAt(u32(s.x) * P.pixels + (u32(sy) * P.S + u32(sx)) * P.C + c)];
  }
  X[e] = v;
}`,
});

/** h[b, t] = (t == 0 ? 0 : tokens[b, t - 1]) + (positions[t] + (t == 0 ? cls : 0)): the eager pad, add, add. */
const embedKernel = perElement('embed.forward', [read('TOK'), read('POS'), read('CLS'), rw('H')], ['B', 'T', 'D'], 'P.B * P.T * P.D', `
  let d = e % P.D;
  let tk = (e / P.D) % P.T;
  let b = e / (P.T * P.D);
  let first = tk == 0u;
  let cp = POS[tk * P.D + d] + select(0.0, CLS[d], first);
  var tok = 0.0;
  if (!first) { tok = TOK[(b * (P.T - 1u) + tk - 1u) * P.D + d]; }
  H[e] = tok + cp;`);

/**
 * Threads of the embedding backward's sums over the batch, as tfjs-webgpu's
 * ReduceProgram picks them for a sum of `batch` elements: 64 under 4,096, 256 from
 * 4,096, 512 from 32,768 where the device takes a workgroup 512 wide (else 256).
 * The same threads stride the same elements and halve in the same tree, so the sum
 * equals the eager step's at every batch (a batch of 4,096 or more was refused before:
 * its 64 threads summed in another order than tfjs's 256).
 */
export function batchSumThreads(batch: number, maxWorkgroupX: number): number {
  if (batch >= 32768 && maxWorkgroupX >= 512) return 512;
  return batch >= 4096 ? 256 : 64;
}

/** The patch tokens' gradient: float e of dh without the class rows, if e is one; false past the last. */
const COPY_TOKEN_WGSL = `
fn copyToken(e: u32) -> bool {
  let tokens = P.T - 1u;
  if (e >= P.B * tokens * P.D) { return false; }
  let row = e / P.D;
  DTOK[e] = DH[((row / tokens) * P.T + row % tokens + 1u) * P.D + e % P.D];
  return true;
}`;

/**
 * The embedding's backward: the positions' gradient is dh summed over the batch, in
 * the order of tfjs-webgpu's sum over the batch axis (`threads` striding, then a
 * halving tree: batchSumThreads), so it equals the eager step's; the class token's is
 * its row 0; the patch tokens' gradient is dh without the class rows. Workgroups
 * [0, T * D) sum, the rest copy. Serves a batch of 4,096 and more (256 or 512 threads);
 * under it embedRowsKernel sums the same way a thread an output.
 */
const embedBackwardKernel = (threads: number): Kernel => memoKernel(`embed.backward/${threads}`, () => makeKernel({
  name: 'embed.backward', key: `embed.backward/${threads}`,
  bindings: [read('DH'), rw('DPOS'), rw('DCLS'), rw('DTOK')],
  params: u32s('B', 'T', 'D'),
  body: `${COPY_TOKEN_WGSL}
var<workgroup> best: array<f32, ${threads}>;
@compute @workgroup_size(${threads})
fn main(${MAIN_ARGS}) {
  ${WID}
  let outputs = P.T * P.D;
  if (wid < outputs) {
    var s = 0.0;
    for (var k = t; k < P.B; k += ${threads}u) { s = s + DH[k * outputs + wid]; }
    best[t] = s;
    workgroupBarrier();
    var size = min(P.B, ${threads}u);
    for (var half = size / 2u; size > 1u; half = size / 2u) {
      let interval = (size - 1u) / 2u + 1u;
      if (t < half) { best[t] = best[t] + best[t + interval]; }
      size = interval;
      workgroupBarrier();
    }
    if (t == 0u) {
      DPOS[wid] = best[0];
      if (wid < P.D) { DCLS[wid] = best[0]; }
    }
    return;
  }
  copyToken((wid - outputs) * ${threads}u + t);
}`,
}));

/** Floats of dh a copying thread of embedRowsKernel moves. */
const COPY_PER_THREAD = 8;

/**
 * tfjs's halving tree over `size` partial sums, written out: [t, t + interval] pairs,
 * level by level, as `best[t] = best[t] + best[t + interval]` adds them.
 */
function halvingTree(size: number): [number, number][] {
  const adds: [number, number][] = [];
  for (let n = size; n > 1;) {
    const interval = Math.floor((n - 1) / 2) + 1;
    for (let t = 0; t < Math.floor(n / 2); t++) adds.push([t, t + interval]);
    n = interval;
  }
  return adds;
}

/**
 * embedBackwardKernel for 64 threads (a batch under 4,096) with a thread to an output:
 * its 64 strided sums in registers, each over k = j, j + 64, ... in order, the loads of
 * a row of 64 batch entries issued together, then tfjs's halving tree over min(B, 64)
 * of them, written out (`size`); the same adds of the same floats. The patch tokens'
 * gradient is copied COPY_PER_THREAD floats a thread. With a 64-thread workgroup an
 * output, summing two entries a thread and halving with barriers, and a workgroup a 64
 * floats copied (37,000 workgroups at tiny b128), the launch took 34.6 us at tiny b128,
 * 72.4 on small, 19.4 at tiny b32; so 16.9, 25.5 and 13.8 (H200, one call).
 */
const embedRowsKernel = (size: number): Kernel => memoKernel(`embed.backward/rows/s${size}`, () => {
  const js = Array.from({ length: 64 }, (_, j) => j);
  return makeKernel({
    name: 'embed.backward', key: `embed.backward/rows/s${size}`,
    bindings: [read('DH'), rw('DPOS'), rw('DCLS'), rw('DTOK')],
    params: u32s('B', 'T', 'D'),
    body: `${COPY_TOKEN_WGSL}
@compute @workgroup_size(64)
fn main(${MAIN_ARGS}) {
  ${WID}
  let outputs = P.T * P.D;
  let sumGroups = (outputs + 63u) / 64u;
  if (wid < sumGroups) {
    let o = wid * 64u + t;
    if (o >= outputs) { return; }
    ${js.map((j) => `var b${j} = 0.0;`).join(' ')}
    for (var k0 = 0u; k0 < P.B; k0 += 64u) {
      ${js.map((j) => `if (k0 + ${j}u < P.B) { b${j} = b${j} + DH[(k0 + ${j}u) * outputs + o]; }`).join('\n      ')}
    }
    ${halvingTree(size).map(([a, b]) => `b${a} = b${a} + b${b};`).join('\n    ')}
    DPOS[o] = b0;
    if (o < P.D) { DCLS[o] = b0; }
    return;
  }
  let first = (wid - sumGroups) * ${64 * COPY_PER_THREAD}u + t;
  for (var i = 0u; i < ${COPY_PER_THREAD}u; i++) {
    if (!copyToken(first + i * 64u)) { return; }
  }
}`,
  });
});

/** The class token's row of each image: [B * T, D] -> [B, D]. */
const clsRowsKernel = perElement('rows.cls', [read('H'), rw('OUT')], ['B', 'T', 'D'], 'P.B * P.D',
  'OUT[e] = H[(e / P.D) * P.T * P.D + e % P.D];');

/** The slice's backward: [B, D] into the class rows of [B * T, D], zeros elsewhere. */
const clsRowsBackwardKernel = perElement('rows.cls-backward', [read('DCLS'), rw('DH')], ['B', 'T', 'D'], 'P.B * P.T * P.D', `
  var v = 0.0;
  if ((e / P.D) % P.T == 0u) { v = DCLS[(e / (P.T * P.D)) * P.D + e % P.D]; }
  DH[e] = v;`);

/** The monitor's window sums: overwritten at a window's first step (STEP[0] != 0), else added to. */
const windowSumsKernel = makeKernel({
  name: 'monitor.window-sums', key: 'monitor.window-sums',
  bindings: [read('NORMS'), read('LOSS'), read('STEP', 'u32'), rw('GSUM'), rw('LSUM')],
  params: u32s('n'),
  body: `
@compute @workgroup_size(64)
fn main(${MAIN_ARGS}) {
  ${WID}
  let e = wid * 64u + t;
  let first = STEP[0] != 0u;
  if (e < P.n) { GSUM[e] = select(GSUM[e] + NORMS[e], NORMS[e], first); }
  if (e == 0u) { LSUM[0] = select(LSUM[0] + LOSS[0], LOSS[0], first); }
}`,
});

export interface ImageGeometry {
  batch: number;
  imageSize: number;
  channels: number;
  patchSize: number;
}

export function gatherDispatch<B>(g: ImageGeometry, b: { data: B; lut: B; labels: B; select: B; x: B; y: B }): Dispatch<B> {
  const G = g.imageSize / g.patchSize;
  const n = g.batch * G * G * g.patchSize * g.patchSize * g.channels;
  return {
    kernel: gatherKernel, buffers: [b.data, b.lut, b.labels, b.select, b.x, b.y],
    params: [g.batch, g.imageSize, g.channels, g.patchSize, G, g.imageSize * g.imageSize * g.channels], workgroups: flat(Math.max(n, g.batch)),
  };
}

export interface TokenShape {
  batch: number;
  tokens: number;
  width: number;
}

const shapeParams = (s: TokenShape) => [s.batch, s.tokens, s.width];

export function embedDispatch<B>(s: TokenShape, b: { tokens: B; positions: B; cls: B; h: B }): Dispatch<B> {
  return { kernel: embedKernel, buffers: [b.tokens, b.positions, b.cls, b.h], params: shapeParams(s), workgroups: flat(s.batch * s.tokens * s.width) };
}

/** The embedding's backward at `s`, its sums over the batch on as many threads as tfjs's on a device of `maxWorkgroupX`. */
export function embedBackwardDispatch<B>(s: TokenShape, maxWorkgroupX: number, b: { dh: B; dpos: B; dcls: B; dtokens: B }): Dispatch<B> {
  const threads = batchSumThreads(s.batch, maxWorkgroupX);
  const outputs = s.tokens * s.width;
  // a thread an output and COPY_PER_THREAD floats copied, or a workgroup an output and a float
  const [kernel, sumGroups, copiedPerGroup] = threads === 64
    ? [embedRowsKernel(Math.min(s.batch, 64)), Math.ceil(outputs / 64), 64 * COPY_PER_THREAD]
    : [embedBackwardKernel(threads), outputs, threads];
  const copies = Math.ceil((s.batch * (s.tokens - 1) * s.width) / copiedPerGroup);
  return { kernel, buffers: [b.dh, b.dpos, b.dcls, b.dtokens], params: shapeParams(s), workgroups: sumGroups + copies };
}

export function clsRowsDispatch<B>(s: TokenShape, b: { h: B; out: B }): Dispatch<B> {
  return { kernel: clsRowsKernel, buffers: [b.h, b.out], params: shapeParams(s), workgroups: flat(s.batch * s.width) };
}

export function clsRowsBackwardDispatch<B>(s: TokenShape, b: { dcls: B; dh: B }): Dispatch<B> {
  return { kernel: clsRowsBackwardKernel, buffers: [b.dcls, b.dh], params: shapeParams(s), workgroups: flat(s.batch * s.tokens * s.width) };
}

export function windowSumsDispatch<B>(n: number, b: { norms: B; loss: B; step: B; gradSum: B; lossSum: B }): Dispatch<B> {
  return {
    kernel: windowSumsKernel, buffers: [b.norms, b.loss, b.step, b.gradSum, b.lossSum], params: [n],
    workgroups: Math.max(1, Math.ceil(n / 64)),
  };
}
