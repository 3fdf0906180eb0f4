// Every fused op against its composite reference on the same WebGPU device: forward
// values and every input's gradient, at odd sizes (partial tiles everywhere) and at
// sizes that span several tiles and K splits. Run as a script in a child process
// (`node --import tsx fused-ops-run.ts`, Dawn's driver is chosen by environment); it
// prints one JSON line: per case, the worst error relative to the reference's scale.
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../../src/engine/backend-node';
import { kernelPath, setFusedKernels } from '../../src/engine/kernel-path';
import { dispatchCounts } from '../../src/engine/ops/webgpu/counts';
import { makeConfig } from '../../src/engine/config';
import { Monitor } from '../../src/engine/monitor';
import { CHUNK as WINDOW_CHUNK } from '../../src/engine/ops/webgpu/window-stats';
import { attention } from '../../src/engine/ops/attention';
import { ATTENTION, lanesFor } from '../../src/engine/ops/webgpu/attention';
import { crossEntropy } from '../../src/engine/ops/cross-entropy';
import { AdamW, clipByGlobalNorm } from '../../src/engine/optimizer';
import { Linear } from '../../src/engine/linear';
import { layerNorm } from '../../src/engine/ops/layernorm';
import { gelu } from '../../src/engine/ops/gelu';
import { linear } from '../../src/engine/ops/linear';
import { alloc, run, storageBufferLimit, webgpu } from '../../src/engine/ops/webgpu/dispatch';
import { embedBackwardDispatch } from '../../src/engine/compiled/kernels';
import { MAX_LANES, probeSubgroupLanes, subgroupLanes } from '../../src/engine/ops/webgpu/subgroups';
import { adapterSumDispatches, backwardDispatches, forwardDispatches, mergeDispatches, weightGradGroupDispatches, weightGradScratch, type LoraMergePlace } from '../../src/engine/ops/webgpu/linear';
import { GEMM_WIDE, tileFor, tileKey, wideTile } from '../../src/engine/ops/webgpu/gemm';
import { forwardLayout, inputGradLayout, WGRAD_VEC4 } from '../../src/engine/ops/webgpu/linear-kernels';
import { sumLanes } from '../../src/engine/ops/webgpu/shared-sums';
import { kernelKeys } from '../../src/engine/ops/webgpu/kernel';
import { NAMED_WGRAD, namedWgradTile } from '../../src/engine/ops/webgpu/named-wgrad';
import { NAMED_FORWARD } from '../../src/engine/ops/webgpu/named-forward';
import { NAMED_INPUT_GRAD, transposeDispatches } from '../../src/engine/ops/webgpu/named-input-grad';
import * as ln from '../../src/engine/ops/webgpu/layernorm';
import * as att from '../../src/engine/ops/webgpu/attention';
import { ATTENTION_TILED } from '../../src/engine/ops/webgpu/attention-tiled';
import { adamwScenario, SHAPES, type ScenarioResult } from './adamw-scenario';
import { seededNormal } from './tf';
import { reply } from './dawn';

export interface CaseResult {
  name: string;
  /** max |fused - composite| / max |composite|, for the output and each gradient */
  errors: number[];
  /** our own kernels that ran for the fused side (0 would mean it never left the composite path) */
  fusedKernels: number;
  /** figures that must be exactly 0 (bit-for-bit restores, tensors left behind, state that differs) */
  exact?: Record<string, number>;
}

const ranSoFar = () => Object.values(dispatchCounts()).reduce((a, b) => a + b, 0);

/** max |a - b| / max |b| */
function scaledError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}

/**
 * Hands tfjs's buffer pool NaN-filled buffers of these shapes (a few of each), so that an
 * output a fused kernel leaves partly unwritten reads NaN, not the numbers an earlier
 * case left in a reused buffer (that once hid a launch that skipped a third of dx's
 * tiles: the case before had computed the same dx).
 */
function poisonPool(shapes: number[][]): void {
  tf.dispose(shapes.flatMap((shape) => [0, 1, 2, 3].map(() => tf.fill(shape, NaN))));
}

/** The output and the gradient of sum(f(inputs) * dy) for every input, read back. */
async function outputAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], fused: boolean) {
  setFusedKernels(fused);
  if (fused) {
    const shape = tf.tidy(() => f(...inputs).shape);
    poisonPool([shape, ...inputs.map((x) => x.shape)]);
  }
  const y = f(...inputs);
  const dy = seededNormal(y.shape, 99);
  if (fused) poisonPool([y.shape, ...inputs.map((x) => x.shape)]);
  const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), dy)))(inputs);
  const out = [await y.data(), ...(await Promise.all(grads.map((g) => g.data())))];
  tf.dispose([y, dy, ...grads]);
  return out;
}

async function compare(name: string, f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[]): Promise<CaseResult> {
  const start = ranSoFar();
  const fused = await outputAndGrads(f, inputs, true);
  const fusedKernels = ranSoFar() - start;
  const plain = await outputAndGrads(f, inputs, false);
  return { name, errors: fused.map((v, i) => scaledError(v, plain[i]!)), fusedKernels };
}

/** A linear layer's input, weights and adapter factors, seeded. */
function linearInputs(rows: number, dIn: number, dOut: number, rank: number, seed: number) {
  return {
    x: seededNormal([rows, dIn], seed) as tf.Tensor2D,
    w: seededNormal([dIn, dOut], seed + 1, 0.3) as tf.Tensor2D,
    b: seededNormal([dOut], seed + 2) as tf.Tensor1D,
    A: seededNormal([dIn, rank], seed + 3, 0.3) as tf.Tensor2D,
    B: seededNormal([rank, dOut], seed + 4, 0.3) as tf.Tensor2D,
  };
}

/** A linear's cases: bias, GELU, residual, no input gradient, then (with `adapters`) LoRA at `rank`, its base trained and frozen. */
function linearCases(rows: number, dIn: number, dOut: number, rank: number, seed: number, adapters = true) {
  const { x, w, b, A, B } = linearInputs(rows, dIn, dOut, rank, seed);
  const res = seededNormal([rows, dOut], seed + 5) as tf.Tensor2D;
  const scale = 0.7;
  const at = `${rows}x${dIn}->${dOut}`;
  const ad = (a: tf.Tensor, bb: tf.Tensor) => ({ A: a as tf.Tensor2D, B: bb as tf.Tensor2D, scale });
  const plain = [
    () => compare(`linear ${at}`, (xx, ww, bb) => linear(xx as tf.Tensor2D, ww as tf.Tensor2D, bb as tf.Tensor1D), [x, w, b]),
    () => compare(`linear+gelu ${at}`, (xx, ww, bb) => linear(xx as tf.Tensor2D, ww as tf.Tensor2D, bb as tf.Tensor1D, undefined, false, { activation: 'gelu' }), [x, w, b]),
    () => compare(`linear+residual ${at}`, (xx, ww, bb, rr) => linear(xx as tf.Tensor2D, ww as tf.Tensor2D, bb as tf.Tensor1D, undefined, false, { residual: rr as tf.Tensor2D }), [x, w, b, res]),
    () => compare(`linear, no input gradient ${at}`, (ww, bb) => linear(x, ww as tf.Tensor2D, bb as tf.Tensor1D, undefined, false, { inputGrad: false }), [w, b]),
  ];
  if (!adapters) return plain;
  return [
    ...plain,
    () => compare(`linear+lora r${rank} ${at}`, (xx, ww, bb, aa, bm) => linear(xx as tf.Tensor2D, ww as tf.Tensor2D, bb as tf.Tensor1D, ad(aa!, bm!)), [x, w, b, A, B]),
    () => compare(`linear+lora r${rank}, frozen base ${at}`, (xx, aa, bm) => linear(xx as tf.Tensor2D, w, b, ad(aa!, bm!), true), [x, A, B]),
    () => compare(`linear+lora r${rank}+gelu ${at}`, (xx, ww, bb, aa, bm) => linear(xx as tf.Tensor2D, ww as tf.Tensor2D, bb as tf.Tensor1D, ad(aa!, bm!), false, { activation: 'gelu' }), [x, w, b, A, B]),
    () => compare(`linear+lora r${rank}+residual, frozen base ${at}`, (xx, aa, bm, rr) => linear(xx as tf.Tensor2D, w, b, ad(aa!, bm!), true, { residual: rr as tf.Tensor2D }), [x, A, B, res]),
  ];
}

/**
 * Weight gradients split 128 ways (8,300 rows, at most 65 a split): their in-order sum
 * runs on 16 lanes per output (sumLanes), for the full layer and for a frozen base's thin
 * factors. (LayerNorm's 1,500 row groups below take the 64-lane path.)
 */
function manySplitCases(seed: number) {
  const [rows, dIn, dOut, rank] = [8300, 12, 10, 4];
  const { x, w, b, A, B } = linearInputs(rows, dIn, dOut, rank, seed);
  const at = `${rows}x${dIn}->${dOut}`;
  return [
    () => compare(`linear, many K splits ${at}`, (xx, ww, bb) => linear(xx as tf.Tensor2D, ww as tf.Tensor2D, bb as tf.Tensor1D), [x, w, b]),
    () => compare(`linear+lora r${rank}, frozen base, many K splits ${at}`,
      (xx, aa, bm) => linear(xx as tf.Tensor2D, w, b, { A: aa as tf.Tensor2D, B: bm as tf.Tensor2D, scale: 0.7 }, true), [x, A, B]),
  ];
}

/**
 * The compiled step's fc2 input gradient taken through fc1's GELU in its epilogue
 * (`dxGeluOf`): dx = (dy W^T) gelu'(u), against tfjs's gradient of sum(dy (gelu(u) W)).
 * The eager op cannot run it (its GELU sits in fc1's op), so the launch is made here.
 */
function geluOutCase(rows: number, dIn: number, dOut: number, seed: number) {
  const u = seededNormal([rows, dIn], seed, 2) as tf.Tensor2D;
  const w = seededNormal([dIn, dOut], seed + 1, 0.3) as tf.Tensor2D;
  const dy = seededNormal([rows, dOut], seed + 2) as tf.Tensor2D;
  return () => compareValues(`linear input gradient through GELU ${rows}x${dIn}->${dOut}`, async () => {
    let dx: tf.Tensor;
    if (kernelPath() === 'fused') {
      dx = alloc([rows, dIn]);
      const spec = { rows, dIn, dOut, rank: 0, scale: 0, gelu: false, residual: false, inputGrad: true, base: false };
      // x is read by the weight gradients only, which a frozen base without an adapter skips
      backwardDispatches(spec, { x: u, dy, w, dx, dxGeluOf: u }).forEach(run);
    } else {
      dx = tf.grad((uu: tf.Tensor) => tf.sum(tf.mul(tf.matMul(gelu(uu as tf.Tensor2D), w), dy)))(u);
    }
    const out = [await dx.data() as Float32Array];
    dx.dispose();
    return out;
  });
}

/**
 * The compiled step's merged weights W + s A B, several adapters a launch (two of rank 3
 * share one, then one of rank 5 in its own), against tfjs's W + s (A B).
 */
function mergeCase(seed: number) {
  const shapes = [[29, 23, 3], [40, 70, 3], [33, 17, 5]] as const;
  const adapters = shapes.map(([dIn, dOut, rank], i) => ({ ...linearInputs(1, dIn, dOut, rank, seed + 10 * i), dIn, dOut, rank, scale: 0.3 + i }));
  return () => compareValues('linear: LoRA merged weights, 2 adapters a launch, ranks 3 and 5', async () => {
    let merged: tf.Tensor[];
    if (kernelPath() === 'fused') {
      merged = adapters.map((a) => alloc([a.dIn, a.dOut]));
      const jobs = adapters.map((a, i) => ({ w: a.w, loraA: a.A, loraB: a.B, wm: merged[i]!, dIn: a.dIn, dOut: a.dOut, rank: a.rank, scale: a.scale }));
      const launches = mergeDispatches(jobs, 2);
      if (launches.length !== 2) throw new Error(`2 merge launches expected, ${launches.length} made`);
      launches.forEach(run);
    } else {
      merged = adapters.map((a) => tf.add(a.w, tf.mul(a.scale, tf.matMul(a.A, a.B))));
    }
    const out = await Promise.all(merged.map(async (t) => (await t.data()) as Float32Array));
    tf.dispose(merged);
    return out;
  });
}

/**
 * A LoRA linear's forward and backward with its merged weight made in the products'
 * loads and by a launch of its own (the op-by-op path takes the launch where a rank's
 * staged factor does not fit): the same floats, bit for bit.
 */
function mergePlacesCase(seed: number) {
  const [rows, dIn, dOut, rank] = [70, 45, 37, 5];
  const { x, w, b, A, B } = linearInputs(rows, dIn, dOut, rank, seed);
  const dy = seededNormal([rows, dOut], seed + 9) as tf.Tensor2D;
  const both = async (merge: LoraMergePlace) => {
    const spec = { rows, dIn, dOut, rank, scale: 0.6, gelu: false, residual: false, inputGrad: true, base: false, merge };
    const [y, xa, dx, dxa, da, dB] = [[rows, dOut], [rows, rank], [rows, dIn], [rows, rank], [dIn, rank], [rank, dOut]].map((sh) => alloc(sh));
    const wm = merge === 'launch' ? alloc([dIn, dOut]) : undefined;
    const part = alloc([weightGradScratch(spec).floats]);
    forwardDispatches(spec, { x, w, b, loraA: A, loraB: B, y, xa, wm }).forEach(run);
    backwardDispatches(spec, { x, dy, w, wm, loraA: A, loraB: B, xa, dx, dxa, da, dB, part }).forEach(run);
    const out = await Promise.all([y, dx, xa, dxa, da, dB].map(async (t) => (await t!.data()) as Float32Array));
    tf.dispose([y, xa, dx, dxa, da, dB, part, ...(wm ? [wm] : [])] as tf.Tensor[]);
    return out;
  };
  return async (): Promise<CaseResult> => {
    const start = ranSoFar();
    const loads = await both('loads');
    const launch = await both('launch');
    const fusedKernels = ranSoFar() - start;
    const names = ['y', 'dx', 'x A', 's dy B^T', 'dA', 'dB'];
    const most = (i: number) => loads[i]!.reduce((m, v, j) => Math.max(m, Math.abs(v - launch[i]![j]!)), 0);
    return { name: 'linear: LoRA merged in the loads and by a launch', errors: [], fusedKernels, exact: Object.fromEntries(names.map((n, i) => [`${n}, loads - launch`, most(i)])) };
  };
}

/** A buffer of each shape. */
const allocEach = <S extends number[][]>(...shapes: S) => shapes.map((sh) => alloc(sh)) as { [K in keyof S]: tf.Tensor };

/** `work` run with `settings` set on a tuning object, the object put back after (the kernels read it when made). */
async function withSettings<O extends object, T>(target: O, settings: Partial<O>, work: () => Promise<T>): Promise<T> {
  const saved = { ...target };
  Object.assign(target, settings);
  try {
    return await work();
  } finally {
    Object.assign(target, saved);
  }
}

/** `work` run with every forward and input gradient on the wide tile (or none on it). */
const onWideTile = <T>(wide: boolean, work: () => Promise<T>) =>
  withSettings(GEMM_WIDE, wide ? { minK: 1, minRows: 1, minTiles: 1, sideMinTiles: 1 } : { minK: Infinity, minRows: Infinity, minTiles: Infinity, sideMinTiles: Infinity }, work);

/**
 * linearCases on the wide tile, named so, each checking that its forward and input
 * gradient take it (without and with an adapter, merged in the loads or not: the op by
 * op path merges in the loads where the factor fits).
 */
const wideCases = (rows: number, dIn: number, dOut: number, rank: number, seed: number) => linearCases(rows, dIn, dOut, rank, seed).map((c) => () => onWideTile(true, async () => {
  const wide = tileKey(wideTile()!);
  const layouts = [0, rank].flatMap((r) => [false, true].flatMap((merged) => [
    tileFor(rows, dIn, dOut, (t) => forwardLayout(r, merged, t)), tileFor(rows, dOut, dIn, (t) => inputGradLayout(r, merged, 0, t))]));
  const r = await c();
  return { ...r, name: `${r.name} (wide tile)`, exact: { ...r.exact, 'a forward or input gradient not on the wide tile': layouts.filter((t) => tileKey(t) !== wide).length } };
}));

/** `work` run with every trained base's weight gradient (din and dout multiples of 4) loading vec4s, or none. */
const onVec4 = <T>(vec4: boolean, work: () => Promise<T>) =>
  withSettings(WGRAD_VEC4, vec4 ? { gelu: true, minTiles: 1 } : { gelu: false, minTiles: Infinity }, work);

/**
 * A trained base's weight gradients, plain and behind a GELU, loaded as vec4s and a
 * float at a time: the same floats bit for bit (each dW and db sums its rows in the same
 * order), and each launch made on the loads asked for.
 */
function vec4Case(seed: number) {
  const [rows, dIn, dOut] = [300, 68, 132];
  const { x, w } = linearInputs(rows, dIn, dOut, 4, seed);
  const dy = seededNormal([rows, dOut], seed + 9) as tf.Tensor2D;
  const u = seededNormal([rows, dOut], seed + 10) as tf.Tensor2D;
  const run2 = (vec4: boolean) => onVec4(vec4, async () => {
    const out: Float32Array[] = [];
    const keys: string[] = [];
    for (const gelu of [false, true]) {
      const spec = { rows, dIn, dOut, rank: 0, scale: 0, gelu, residual: false, inputGrad: true, base: true };
      const [dx, dw, db] = allocEach([rows, dIn], [dIn, dOut], [dOut]);
      const part = alloc([weightGradScratch(spec).floats]);
      const launches = backwardDispatches(spec, { x, w, dx, dw, db, part, ...(gelu ? { dg: dy, u } : { dy }) });
      launches.forEach(run);
      keys.push(...launches.filter((d) => d.kernel.name === 'linear.weight-grad').map((d) => d.kernel.key));
      out.push(...(await Promise.all([dw, db].map(async (t) => (await t.data()) as Float32Array))));
      tf.dispose([dx, dw, db, part]);
    }
    return { out, keys };
  });
  const names = ['dW', 'db', 'dW behind a GELU', 'db behind a GELU'];
  return () => onAndOff('linear: weight gradients loaded as vec4s and a float at a time', names, 'vec4 - floats', run2, (keys, vec4) => ({
    [`a weight gradient not on ${vec4 ? 'vec4s' : 'floats'}`]: keys.length === 2 && keys.every((k) => k.endsWith('/v4') === vec4) ? 0 : 1,
  }));
}

/** linearCases without an adapter, every trained base's weight gradient loading vec4s (din and dout multiples of 4), named so. */
const vec4Cases = (rows: number, dIn: number, dOut: number, seed: number) => linearCases(rows, dIn, dOut, 4, seed, false).map((c) => () => onVec4(true, async () => {
  const r = await c();
  return { ...r, name: `${r.name} (vec4 weight gradient)` };
}));

/**
 * linearCases without an adapter whose weight gradients take a named tile
 * (named-wgrad.ts): 8 x 4 where din is the larger, 4 x 8 where dout is, and 8 x 8 with
 * its sizes lowered to these shapes; the forwards on the named tile (named-forward.ts,
 * its thresholds lowered). 300 rows split 4 ways of 75 rows: partial tiles, K slices and
 * splits. Each group checks that its tiles' kernels were made (by its first case:
 * kernels are made once).
 */
function namedCases(seed: number) {
  const group = (rows: number, dIn: number, dOut: number, square: boolean, at: number) => linearCases(rows, dIn, dOut, 4, at, false).map((c) => () =>
    withSettings(NAMED_FORWARD, { minN: 4, minTiles: 1 }, () => withSettings(NAMED_WGRAD, square ? { squareMin: 128, squareMax: 128 } : {}, async () => {
      const tile = namedWgradTile(dIn, dOut);
      const r = await c();
      const want = [tile ? `linear.weight-grad-named/${tile.TM}x${tile.TN}x${tile.TK}/${tile.RM}x${tile.RN}/` : 'no named tile', 'linear.forward-named/'];
      const made = Object.fromEntries(want.map((w) => [`no kernel ${w}* made`, kernelKeys().some((k) => k.startsWith(w)) ? 0 : 1]));
      return { ...r, name: `${r.name} (named ${tile ? `${tile.RM}x${tile.RN}` : 'none'} weight gradient, named forward)`, exact: { ...r.exact, ...made } };
    })));
  return [...group(300, 260, 132, false, seed), ...group(300, 132, 260, false, seed + 1), ...group(300, 260, 200, true, seed + 2)];
}

/**
 * A linear's forward on the named tile and on the GEMM tile, plain, behind a GELU, with a
 * residual and with both, and with adapters of ranks 1, 8, 33 (nine vec4s of columns:
 * three a thread, some threads with fewer) and 64 (merged by a launch ahead; x A from
 * the side workgroups), at partial tiles and K slices: the same floats,
 * bit for bit (each output sums its k in the same order, then the bias, the residual and
 * the GELU; x A its k in order from 0), and each launch made on the tile asked for.
 */
function namedForwardCase(seed: number) {
  const [rows, dIn, dOut] = [300, 132, 260];
  const { x, w, b } = linearInputs(rows, dIn, dOut, 4, seed);
  const res = seededNormal([rows, dOut], seed + 5) as tf.Tensor2D;
  const variants = [[false, false, 0], [true, false, 0], [false, true, 0], [true, true, 0], [false, false, 8], [true, false, 1], [false, true, 33], [true, true, 64]] as const;
  const factors = new Map(variants.filter(([, , r]) => r).map(([, , r]) => [r, linearInputs(rows, dIn, dOut, r, seed + 10 * r)] as const));
  const run2 = (named: boolean) => withSettings(NAMED_FORWARD, named ? { minN: 4, minTiles: 1 } : { on: false }, async () => {
    const out: Float32Array[] = [];
    const keys: string[] = [];
    for (const [gelu, residual, rank] of variants) {
      const spec = { rows, dIn, dOut, rank, scale: rank ? 0.7 : 0, gelu, residual, merge: 'launch' as const };
      const outs = allocEach(...(gelu ? [[rows, dOut], [rows, dOut]] : [[rows, dOut]]), ...(rank ? [[rows, rank]] : []));
      const ad = rank ? { loraA: factors.get(rank)!.A, loraB: factors.get(rank)!.B, wm: alloc([dIn, dOut]), xa: outs[outs.length - 1]! } : {};
      const launches = forwardDispatches(spec, { x, w, b, ...(residual ? { res } : {}), ...(gelu ? { u: outs[0], g: outs[1] } : { y: outs[0] }), ...ad });
      launches.forEach(run);
      keys.push(...launches.filter((d) => d.kernel.name === 'linear.forward').map((d) => d.kernel.key));
      out.push(...(await Promise.all(outs.map(async (t) => (await t.data()) as Float32Array))));
      tf.dispose([...outs, ...(ad.wm ? [ad.wm] : [])]);
    }
    return { out, keys };
  });
  const names = variants.flatMap(([gelu, residual, rank]) => {
    const at = (what: string) => [what, rank ? `at rank ${rank}` : '', residual ? 'with a residual' : '', gelu ? 'behind a GELU' : ''].filter(Boolean).join(' ');
    return [...(gelu ? [at('u'), at('gelu(u)')] : [at('y')]), ...(rank ? [at('x A')] : [])];
  });
  return () => onAndOff('linear: the forward on the named tile and the GEMM tile', names, 'named - GEMM tile', run2, (keys, named) => ({
    [`a forward not on ${named ? 'the named tile' : 'the GEMM tile'}`]: keys.length === variants.length && keys.every((k) => k.startsWith('linear.forward-named/') === named) ? 0 : 1,
  }));
}

/**
 * A trained linear's input gradient on the named tile over W's transposed copy (the
 * compiled step's) and on the GEMM tile over W (op by op): written, added to what dx
 * holds, and taken through the GELU of the input's pre-activation (fc2's), at partial
 * tiles and K slices: the same floats, bit for bit (each output sums its k in order from
 * 0 either way), and the named ones against tfjs's composite dy W^T (dx + dy W^T,
 * dy W^T * gelu'(u)). The copies, two weights in one launch, are W^T exactly.
 */
function namedInputGradCase(seed: number) {
  const [rows, dIn, dOut] = [300, 132, 260];
  const { x, w } = linearInputs(rows, dIn, dOut, 0, seed);
  const other = linearInputs(rows, 68, 36, 0, seed + 1).w;
  const dy = seededNormal([rows, dOut], seed + 9) as tf.Tensor2D;
  const dx0 = seededNormal([rows, dIn], seed + 10) as tf.Tensor2D;
  const gu = seededNormal([rows, dIn], seed + 11) as tf.Tensor2D;
  const stores = [['write', {}], ['add', { accumulateDx: true }], ['gelu', { dxGeluOf: gu }]] as const;
  const spec = { rows, dIn, dOut, rank: 0, scale: 0, gelu: false, residual: false, inputGrad: true, base: true };
  let copies = 1;
  let namedOut: Float32Array[] = [];
  const run2 = (named: boolean) => withSettings(NAMED_INPUT_GRAD, { minN: 4, minTiles: 1 }, async () => {
    const [wt, otherT] = allocEach([dOut, dIn], [36, 68]);
    if (named) {
      transposeDispatches([{ w, wt, dIn, dOut }, { w: other, wt: otherT, dIn: 68, dOut: 36 }], 2).forEach(run);
      const want = [tf.transpose(w), tf.transpose(other)];
      const pairs = await Promise.all([wt, otherT].map(async (t, i) => [await t!.data(), await want[i]!.data()] as const));
      copies = pairs.every(([a, c]) => a.length === c.length && a.every((v, i) => Object.is(v, c[i]))) ? 0 : 1;
      tf.dispose(want);
    }
    const out: Float32Array[] = [];
    const keys: string[] = [];
    for (const [, extra] of stores) {
      const dx = tf.mul(dx0, 1) as tf.Tensor2D;
      const [dw, db, part] = allocEach([dIn, dOut], [dOut], [weightGradScratch(spec).floats]);
      const launch = backwardDispatches(spec, { x, dy, ...(named ? { wt } : { w }), dx, part, dw, db, ...extra })[0]!;
      run(launch);
      keys.push(launch.kernel.key);
      out.push((await dx.data()) as Float32Array);
      tf.dispose([dx, dw, db, part]);
    }
    tf.dispose([wt, otherT]);
    if (named) namedOut = out;
    return { out, keys };
  });
  // tfjs's composite: dy W^T, added to dx, or times d gelu(u) / du = Phi(u) + u phi(u)
  const composite = async () => {
    const refs = tf.tidy(() => {
      const p = tf.matMul(dy, w, false, true);
      return [p, tf.add(dx0, p), tf.mul(p, geluGradOf(gu))];
    });
    const out = await Promise.all(refs.map(async (t) => (await t.data()) as Float32Array));
    tf.dispose(refs);
    return out;
  };
  const names = stores.map(([store]) => `dx (${store})`);
  return async () => {
    const r = await onAndOff('linear: a trained input gradient on the named tile over W transposed and on the GEMM tile', names, 'named - GEMM tile', run2, (keys, named) => ({
      [`an input gradient not on ${named ? 'the named tile' : 'the GEMM tile'}`]: keys.length === stores.length && keys.every((k) => k.startsWith(named ? 'linear.input-grad-named/' : `linear.input-grad/${tileKey()}/`)) ? 0 : 1,
      'the transposed copies differ from W^T': copies,
    }));
    const refs = await composite();
    return { ...r, errors: namedOut.map((o, i) => scaledError(o, refs[i]!)) };
  };
}

/**
 * An adapter's forward on the named tile (its merged weight made by a launch ahead, x A
 * by the side workgroups), behind a GELU with a residual, at partial tiles and K slices,
 * against tfjs's composite u = x (W + s A B) + b + res, gelu(u) and x A.
 */
function namedLoraForwardCase(seed: number) {
  const [rows, dIn, dOut, rank, scale] = [300, 132, 260, 8, 0.7];
  const { x, w, b, A, B } = linearInputs(rows, dIn, dOut, rank, seed);
  const res = seededNormal([rows, dOut], seed + 5) as tf.Tensor2D;
  return () => withSettings(NAMED_FORWARD, { minN: 4, minTiles: 1 }, () => compareValues(`linear: an adapter's forward on the named tile r${rank} ${rows}x${dIn}->${dOut}`, async () => {
    let outs: tf.Tensor[];
    if (kernelPath() === 'fused') {
      outs = allocEach([rows, dOut], [rows, dOut], [rows, rank]);
      const wm = alloc([dIn, dOut]);
      const spec = { rows, dIn, dOut, rank, scale, gelu: true, residual: true, merge: 'launch' as const };
      const launches = forwardDispatches(spec, { x, w, b, res, loraA: A, loraB: B, wm, u: outs[0], g: outs[1], xa: outs[2] });
      if (!launches.at(-1)!.kernel.key.startsWith('linear.forward-named/')) throw new Error(`the forward ran on ${launches.at(-1)!.kernel.key}, not the named tile`);
      launches.forEach(run);
      outs.push(wm);
    } else {
      const u = tf.add(tf.add(tf.matMul(x, tf.add(w, tf.mul(scale, tf.matMul(A, B)))), b), res);
      outs = [u, gelu(u as tf.Tensor2D), tf.matMul(x, A)];
    }
    const out = await Promise.all(outs.slice(0, 3).map(async (t) => (await t.data()) as Float32Array));
    tf.dispose(outs);
    return out;
  }));
}

/**
 * A LoRA linear's forward and backward on the wide tile and on GEMM_TILE, with another
 * frozen base's thin gradients riding in its input gradient: the same floats, bit for
 * bit (each output sums its k in the same order on either tile), and the launches were
 * made on the tile asked for.
 */
function wideTileCase(seed: number) {
  const [rows, dIn, dOut, rank] = [300, 70, 130, 8];
  const { x, w, b, A, B } = linearInputs(rows, dIn, dOut, rank, seed);
  const dy = seededNormal([rows, dOut], seed + 9) as tf.Tensor2D;
  // the rider: a frozen base's adapter over the same rows (its own input and gradient)
  const r = { ...linearInputs(rows, 40, 50, 4, seed + 20), dy: seededNormal([rows, 50], seed + 29) as tf.Tensor2D };
  const rSpec = { rows, dIn: 40, dOut: 50, rank: 4, scale: 0.4, gelu: false, residual: false, inputGrad: false, base: false, merge: 'launch' as const };
  const run2 = async (wide: boolean) => onWideTile(wide, async () => {
    const spec = { rows, dIn, dOut, rank, scale: 0.6, gelu: true, residual: false, inputGrad: true, base: false, merge: 'launch' as const };
    const [u, g, xa, dx, dxa, da, dB, wm] = allocEach([rows, dOut], [rows, dOut], [rows, rank], [rows, dIn], [rows, rank], [dIn, rank], [rank, dOut], [dIn, dOut]);
    const part = alloc([weightGradScratch(spec).floats]);
    const [rxa, rwm, rdx, rdxa, rda, rdB, ry] = allocEach([rows, 4], [40, 50], [rows, 40], [rows, 4], [40, 4], [4, 50], [rows, 50]);
    const rpart = alloc([weightGradScratch(rSpec).floats]);
    forwardDispatches(rSpec, { x: r.x, w: r.w, b: r.b, loraA: r.A, loraB: r.B, y: ry, xa: rxa, wm: rwm }).forEach(run);
    const riderLaunches = backwardDispatches(rSpec, { x: r.x, dy: r.dy, wm: rwm, loraB: r.B, xa: rxa, dx: rdx, dxa: rdxa, da: rda, dB: rdB, part: rpart, deferSum: true });
    riderLaunches.slice(0, -1).forEach(run);
    const fwd = forwardDispatches(spec, { x, w, b, loraA: A, loraB: B, u, g, xa, wm });
    fwd.forEach(run);
    const bwd = backwardDispatches(spec, { x, dg: dy, u, w, wm, loraB: B, xa, dx, dxa, da, dB, part }, { spec: rSpec, dispatch: riderLaunches.at(-1)! });
    bwd.forEach(run);
    adapterSumDispatches([{ part: rpart, da: rda, dB: rdB, spec: rSpec }]).forEach(run);
    const keys = [...fwd, bwd[0]!].filter((d) => d.kernel.name !== 'linear.lora-merge').map((d) => d.kernel.key);
    const out = await Promise.all([g, u, xa, dx, dxa, da, dB, rda, rdB].map(async (t) => (await t.data()) as Float32Array));
    tf.dispose([u, g, xa, dx, dxa, da, dB, wm, part, rxa, rwm, rdx, rdxa, rda, rdB, ry, rpart]);
    return { out, keys };
  });
  const names = ['gelu(y)', 'y', 'x A', 'dx', 's dy B^T', 'dA', 'dB', 'rider dA', 'rider dB'];
  const onTile = (keys: string[], tile: string) => (keys.length === 2 && keys.every((k) => k.includes(`/${tile}/`)) ? 0 : 1);
  return () => onAndOff('linear: the wide tile and GEMM_TILE, a rider in the input gradient', names, 'wide - GEMM_TILE', run2, (keys, wide) => ({
    [`forward and input gradient not on ${wide ? 'the wide tile' : 'GEMM_TILE'}`]: onTile(keys, wide ? tileKey(wideTile()!) : tileKey()),
  }));
}

/** A run's outputs and the keys of the kernels it was checked on. */
interface Ran { out: Float32Array[]; keys: string[] }

/**
 * `run` with a setting on, then off: its outputs bit for bit (`label`: on - off), and per
 * run `wrong(keys, on)`, naming what its kernels got wrong (0 where right).
 */
async function onAndOff(name: string, names: string[], label: string, run: (on: boolean) => Promise<Ran>, wrong: (keys: string[], on: boolean) => Record<string, number>): Promise<CaseResult> {
  const start = ranSoFar();
  const on = await run(true);
  const off = await run(false);
  const same = bitForBit(name, names, off.out, on.out, ranSoFar() - start, label);
  return { ...same, exact: { ...same.exact, ...wrong(on.keys, true), ...wrong(off.keys, false) } };
}

/**
 * A case of gradients made two ways that must agree bit for bit: `own` and `shared` in
 * the same order, `names` naming them. All-zero gradients would prove nothing.
 */
function bitForBit(name: string, names: string[], own: Float32Array[], shared: Float32Array[], fusedKernels: number, label = 'shared - own'): CaseResult {
  if (own.some((g) => g.every((v) => v === 0))) throw new Error(`${name}: a gradient came out all zeros: the comparison would prove nothing`);
  const most = (i: number) => own[i]!.reduce((m, v, j) => Math.max(m, Math.abs(v - shared[i]![j]!)), 0);
  return { name, errors: [], fusedKernels, exact: Object.fromEntries(names.map((n, i) => [`${n}, ${label}`, most(i)])) };
}

/**
 * Three frozen-base adapters' gradient sums in one shared launch (the compiled step's
 * way) and by a sum launch each (op by op; the same kernel with one adapter): the same
 * floats, bit for bit. Their ranks, shapes and splits differ, so each keeps lanes and
 * offsets of its own.
 */
function adapterSumCase(seed: number) {
  const shapes = [[8300, 12, 10, 4], [300, 70, 130, 8], [150, 40, 70, 3]] as const;
  const layers = shapes.map(([rows, dIn, dOut, rank], i) => {
    const { x, w, b, A, B } = linearInputs(rows, dIn, dOut, rank, seed + 10 * i);
    const spec = { rows, dIn, dOut, rank, scale: 0.5 + i / 4, gelu: false, residual: false, inputGrad: false, base: false, merge: 'launch' as const };
    const [y, xa, wm] = [alloc([rows, dOut]), alloc([rows, rank]), alloc([dIn, dOut])];
    forwardDispatches(spec, { x, w, b, loraA: A, loraB: B, y, xa, wm }).forEach(run);
    return { spec, x, B, xa, wm, dy: seededNormal([rows, dOut], seed + 10 * i + 9) as tf.Tensor2D };
  });
  const grads = async (shared: boolean) => {
    const outs = layers.map(({ spec }) => ({ da: alloc([spec.dIn, spec.rank]), dB: alloc([spec.rank, spec.dOut]), part: alloc([weightGradScratch(spec).floats]) }));
    const scratch = layers.map(({ spec }) => [alloc([spec.rows, spec.dIn]), alloc([spec.rows, spec.rank])] as const);
    layers.forEach(({ spec, x, B, xa, wm, dy }, i) => {
      const [dx, dxa] = scratch[i]!;
      backwardDispatches(spec, { x, dy, wm, loraB: B, xa, dx, dxa, ...outs[i]!, deferSum: shared }).forEach(run);
    });
    if (shared) adapterSumDispatches(layers.map(({ spec }, i) => ({ spec, ...outs[i]! }))).forEach(run);
    const values = await Promise.all(outs.flatMap((o) => [o.da, o.dB]).map(async (t) => (await t.data()) as Float32Array));
    tf.dispose([...outs.flatMap((o) => [o.da, o.dB, o.part]), ...scratch.flat()]);
    return values;
  };
  return async (): Promise<CaseResult> => {
    const lanes = layers.map(({ spec }) => sumLanes(weightGradScratch(spec).splits));
    if (new Set(lanes).size < 2) throw new Error(`the adapters' sums should take different lanes, got ${lanes.join(', ')}`);
    const start = ranSoFar();
    const own = await grads(false);
    const shared = await grads(true);
    return bitForBit('linear: frozen-base adapters\' gradient sums, three a launch and one each', layers.flatMap((_, i) => [`dA ${i}`, `dB ${i}`]), own, shared, ranSoFar() - start);
  };
}

/** tfjs's composite d gelu(u) / du = Phi(u) + u phi(u), the references' (inside a tidy). */
const geluGradOf = (u: tf.Tensor) => tf.add(tf.mul(0.5, tf.add(1, tf.erf(tf.mul(u, Math.SQRT1_2)))), tf.mul(tf.mul(u, 0.3989422804014327), tf.exp(tf.mul(-0.5, tf.square(u)))));

/**
 * Three trained bases' weight gradients of one shape over one input in shared launches
 * (the compiled step's query, key and value: weightGradGroupDispatches) and each by its
 * own backward (op by op), split alike (one of three: 29 ways of 2,100 rows, where one
 * alone splits 32): the same partials, so the same dW and db, bit for bit. Plain, three
 * in a launch and their sums in one; behind a GELU on a device of 7 storage buffers, two
 * then one, and so their sums. And the grouped ones against tfjs's composite x^T dy and
 * the sum of dy over the rows (dy = dg gelu'(u) behind the GELU).
 */
function groupedWgradCase(seed: number) {
  const [rows, dIn, dOut] = [2100, 132, 260];
  const x = seededNormal([rows, dIn], seed) as tf.Tensor2D;
  const ys = [0, 1, 2].map((i) => [seededNormal([rows, dOut], seed + 1 + i), seededNormal([rows, dOut], seed + 4 + i)] as const);
  const grads = async (gelu: boolean, grouped: boolean) => {
    const spec = { rows, dIn, dOut, rank: 0, scale: 0, gelu, residual: false, inputGrad: false, base: true, splitAmong: 3 };
    const jobs = ys.map(([dy, u]) => ({ spec, ...(gelu ? { dg: dy, u } : { dy }), part: alloc([weightGradScratch(spec).floats]), dw: alloc([dIn, dOut]), db: alloc([dOut]) }));
    const launches = grouped ? weightGradGroupDispatches(x, jobs, gelu ? 7 : storageBufferLimit()) : jobs.flatMap((j) => backwardDispatches(spec, { x, ...j }));
    launches.forEach(run);
    const out = await Promise.all(jobs.flatMap((j) => [j.dw, j.db]).map(async (t) => (await t.data()) as Float32Array));
    tf.dispose(jobs.flatMap((j) => [j.part, j.dw, j.db]));
    return { out, keys: launches.map((d) => d.kernel.key), splits: weightGradScratch(spec).splits };
  };
  const composite = async () => {
    const refs = tf.tidy(() => [false, true].flatMap((gelu) => ys.flatMap(([dg, u]) => {
      const dy = gelu ? tf.mul(dg, geluGradOf(u)) : dg;
      return [tf.matMul(x, dy, true, false), tf.sum(dy, 0)];
    })));
    const out = await Promise.all(refs.map(async (t) => (await t.data()) as Float32Array));
    tf.dispose(refs);
    return out;
  };
  return async (): Promise<CaseResult> => {
    const start = ranSoFar();
    const [own, ownGelu, shared, sharedGelu] = await Promise.all([[false, false], [true, false], [false, true], [true, true]].map(([g, s]) => grads(g!, s!)));
    const refs = await composite();
    const names = [0, 1, 2].flatMap((i) => [`dW ${i}`, `db ${i}`]);
    const r = bitForBit('linear: trained bases\' weight gradients of one shape, three a launch and each its own', [...names, ...names.map((n) => `${n} behind a GELU`)],
      [...own!.out, ...ownGelu!.out], [...shared!.out, ...sharedGelu!.out], ranSoFar() - start);
    const groups = (keys: string[]) => keys.filter((k) => k.startsWith('linear.weight-grad-named/')).map((k) => k.split('/').pop()).join(' ');
    return { ...r, errors: [...shared!.out, ...sharedGelu!.out].map((o, i) => scaledError(o, refs[i]!)), exact: { ...r.exact,
      'the split is not one of three\'s (29)': own!.splits === 29 ? 0 : 1,
      'the plain three not in one launch': groups(shared!.keys) === 'x3' ? 0 : 1,
      'those behind a GELU not two then one': groups(sharedGelu!.keys) === 'x2 x1' ? 0 : 1 } };
  };
}

/** Rank 20: the right factor is staged for the epilogue in two chunks, 16 ranks and 4. */
function highRankCase(seed: number) {
  const [rows, dIn, dOut, rank] = [150, 40, 70, 20];
  const { x, w, b, A, B } = linearInputs(rows, dIn, dOut, rank, seed);
  return () => compare(`linear+lora r${rank}+gelu ${rows}x${dIn}->${dOut}`,
    (xx, ww, bb, aa, bm) => linear(xx as tf.Tensor2D, ww as tf.Tensor2D, bb as tf.Tensor1D, { A: aa as tf.Tensor2D, B: bm as tf.Tensor2D, scale: 0.4 }, false, { activation: 'gelu' }), [x, w, b, A, B]);
}

/**
 * Three LayerNorms' (dgamma, dbeta) sums in one shared launch (the compiled step's way)
 * and one a launch (op by op): the same floats, bit for bit. Their rows differ, so their
 * partial rows, and the lanes summing them, do too: each keeps its own, whatever shares
 * its launch.
 */
function layerNormSumCase(seed: number) {
  const shapes = [[37, 29], [130, 200], [4500, 20]] as const;
  const norms = shapes.map(([rows, D], i) => {
    const spec = { rows, D, eps: 1e-6 };
    const x = seededNormal([rows, D], seed + 10 * i, 2);
    const gamma = seededNormal([D], seed + 10 * i + 1);
    const beta = seededNormal([D], seed + 10 * i + 2);
    const [y, stats] = [alloc([rows, D]), alloc([rows, 2])];
    ln.forwardDispatches(spec, { x, gamma, beta, y, stats }).forEach(run);
    return { spec, x, gamma, stats, dy: seededNormal([rows, D], seed + 10 * i + 3) };
  });
  const grads = async (shared: boolean) => {
    const outs = norms.map(({ spec }) => ({ dgamma: alloc([spec.D]), dbeta: alloc([spec.D]), part: alloc([ln.backwardSplit(spec.rows).parts * 2 * spec.D]), dx: alloc([spec.rows, spec.D]) }));
    norms.forEach(({ spec, x, gamma, stats, dy }, i) => {
      ln.backwardDispatches(spec, { dy, x, gamma, stats, ...outs[i]!, deferSum: shared }).forEach(run);
    });
    if (shared) ln.paramSumDispatches(norms.map(({ spec }, i) => ({ spec, ...outs[i]! }))).forEach(run);
    const values = await Promise.all(outs.flatMap((o) => [o.dgamma, o.dbeta]).map(async (t) => (await t.data()) as Float32Array));
    tf.dispose(outs.flatMap((o) => [o.dgamma, o.dbeta, o.part, o.dx]));
    return values;
  };
  return async (): Promise<CaseResult> => {
    const lanes = norms.map(({ spec }) => sumLanes(ln.backwardSplit(spec.rows).parts));
    if (new Set(lanes).size < 2) throw new Error(`the LayerNorms' sums should take different lanes, got ${lanes.join(', ')}`);
    const start = ranSoFar();
    const own = await grads(false);
    const shared = await grads(true);
    return bitForBit('layerNorm: parameter-gradient sums, three a launch and one each', norms.flatMap((_, i) => [`dgamma ${i}`, `dbeta ${i}`]), own, shared, ranSoFar() - start);
  };
}

/**
 * LayerNorm's forward and backward (dx added to a residual gradient, partial rows of
 * dgamma and dbeta) taking `f` and `b` rows at once and one: the same floats, bit for bit
 * (each row sums in the same order), and the launches were made as asked: the forward
 * over rows / f workgroups; the backward on b rows where its groups hold more than one
 * (4,501 rows: three a group, the last pass of each short; 1,000: one a group, so one
 * at a time whatever b). The forward's last workgroup is short at 4,501 rows.
 */
function layerNormRowsCase(seed: number, f: 2 | 4, b: 1 | 2) {
  const shapes = [[4501, 200], [1000, 72]] as const;
  const norms = shapes.map(([rows, D], i) => ({
    spec: { rows, D, eps: 1e-6 },
    x: seededNormal([rows, D], seed + 10 * i, 2), gamma: seededNormal([D], seed + 10 * i + 1), beta: seededNormal([D], seed + 10 * i + 2),
    dy: seededNormal([rows, D], seed + 10 * i + 3), residual: seededNormal([rows, D], seed + 10 * i + 4),
  }));
  const run2 = (on: boolean) => withSettings(ln.LAYERNORM, on ? { forwardRows: f, backwardRows: b } : { forwardRows: 1, backwardRows: 1 }, async (): Promise<Ran> => {
    const out: Float32Array[] = [];
    const keys: string[] = [];
    for (const { spec, x, gamma, beta, dy, residual } of norms) {
      const { rows, D } = spec;
      const [y, stats, dgamma, dbeta] = [alloc([rows, D]), alloc([rows, 2]), alloc([D]), alloc([D])];
      const dx = residual.clone();
      const part = alloc([ln.backwardSplit(rows).parts * 2 * D]);
      const launches = [
        ...ln.forwardDispatches(spec, { x, gamma, beta, y, stats }),
        ...ln.backwardDispatches(spec, { dy, x, gamma, stats, dx, part, dgamma, dbeta, accumulate: true, deferSum: true }),
      ];
      launches.forEach(run);
      out.push(...(await Promise.all([y, stats, dx, part].map(async (t) => (await t.data()) as Float32Array))));
      keys.push(...launches.map((d) => `${d.kernel.key} x${d.workgroups}`));
      tf.dispose([y, stats, dgamma, dbeta, dx, part]);
    }
    return { out, keys };
  });
  const names = shapes.flatMap(([rows]) => ['y', 'mean and 1/std', 'residual + dx', 'dgamma and dbeta partial rows'].map((n) => `${n}, ${rows} rows`));
  // what each launch's key should end with: its rows at once (none for one) and its workgroups
  const expected = (on: boolean) => shapes.flatMap(([rows]) => {
    const fr = on ? f : 1;
    const { rowsPerGroup, parts } = ln.backwardSplit(rows);
    const br = on && rowsPerGroup > 1 ? b : 1;
    return [`${fr > 1 ? `/r${fr}` : ''} x${Math.ceil(rows / fr)}`, `${br > 1 ? `/r${br}` : ''} x${parts}`];
  });
  return () => onAndOff(`layerNorm: ${f} and ${b} rows at once and one at a time`, names, 'rows at once - one', run2, (keys, on) => ({
    [`the launches not made for ${on ? `${f} and ${b} rows` : 'a row'} at once`]: keys.length === 4 && keys.every((k, i) => k.endsWith(expected(on)[i]!)) ? 0 : 1,
  }));
}

/**
 * The split sums' order, against float32 sums written out here: output e's lane l
 * (of sumLanes) adds partials l, l + lanes, ... in turn, then the lanes' sums are added
 * in lane order. Bit for bit, at 37 partials (8 lanes, a lane's loads short of a
 * batch) and 1,500 (64 lanes, several batches, the last short).
 */
function sumOrderCase(seed: number) {
  const shapes = [[37, 29], [4500, 20]] as const;
  return async (): Promise<CaseResult> => {
    const start = ranSoFar();
    const got: Float32Array[] = [];
    const want: Float32Array[] = [];
    for (const [i, [rows, D]] of shapes.entries()) {
      const spec = { rows, D, eps: 1e-6 };
      const parts = ln.backwardSplit(rows).parts;
      const part = seededNormal([parts * 2 * D], seed + i);
      const [dgamma, dbeta] = [alloc([D]), alloc([D])];
      ln.paramSumDispatches([{ part, dgamma, dbeta, spec }]).forEach(run);
      const values = (await part.data()) as Float32Array;
      got.push(...(await Promise.all([dgamma, dbeta].map(async (t) => (await t.data()) as Float32Array))));
      const lanes = sumLanes(parts);
      const sums = new Float32Array(2 * D);
      for (let e = 0; e < 2 * D; e++) {
        let total = 0;
        for (let l = 0; l < lanes; l++) {
          let s = 0;
          for (let p = l; p < parts; p += lanes) s = Math.fround(s + values[p * 2 * D + e]!);
          total = Math.fround(total + s);
        }
        sums[e] = total;
      }
      want.push(sums.slice(0, D), sums.slice(D));
      tf.dispose([part, dgamma, dbeta]);
    }
    return bitForBit('layerNorm: split sums in lane order, as written out in float32', ['dgamma 37 rows', 'dbeta 37 rows', 'dgamma 4,500 rows', 'dbeta 4,500 rows'], want, got, ranSoFar() - start, 'GPU - float32 by hand');
  };
}

/**
 * The compiled step's embedding backward against tfjs's own ops on the same device: the
 * positions' gradient (dh summed over the batch), the class token's (its row 0) and the
 * patch tokens' (dh without the class rows), bit for bit, at batches on each of tfjs's
 * sum widths (batchSumThreads: 64 threads under 4,096, 256 from it, 512 from 32,768
 * where the device allows; SwiftShader's workgroups are at most 256 wide, so 33,000 runs
 * on 256 here). With 64 threads at every batch, as before, the sums from 4,096 differed
 * from tfjs's by up to 2e-4.
 */
function embedBackwardCase(seed: number) {
  // under 4,096 a thread an output: a tree of 37 and of 64 sums (128 images, each sum two),
  // 4,095's sums each 64 long, and 67 x 3 outputs over several workgroups of sums
  const cases: [number, number, number][] = [[37, 3, 5], [128, 67, 3], [4095, 3, 5], [4096, 3, 5], [5000, 3, 5], [33000, 3, 5]];
  const batches = cases.map(([b]) => b);
  return async (): Promise<CaseResult> => {
    const start = ranSoFar();
    const maxX = webgpu().device.limits.maxComputeWorkgroupSizeX;
    const got: Float32Array[] = [];
    const want: Float32Array[] = [];
    for (const [i, [batch, T, D]] of cases.entries()) {
      const dh = seededNormal([batch, T, D], seed + i);
      const [dpos, dcls, dtokens] = [alloc([T, D]), alloc([D]), alloc([batch, T - 1, D])];
      run(embedBackwardDispatch({ batch, tokens: T, width: D }, maxX, { dh, dpos, dcls, dtokens }));
      const ref = tf.tidy(() => [tf.sum(dh, 0), tf.sum(tf.slice(dh, [0, 0, 0], [batch, 1, D]), 0), tf.slice(dh, [0, 1, 0], [batch, T - 1, D])]);
      for (const [a, b] of [[ref[0]!, dpos], [ref[1]!, dcls], [ref[2]!, dtokens]] as const) {
        want.push((await a.data()) as Float32Array);
        got.push((await b.data()) as Float32Array);
      }
      tf.dispose([dh, dpos, dcls, dtokens, ...ref]);
    }
    const names = batches.flatMap((b) => [`positions, batch ${b}`, `class token, batch ${b}`, `patch tokens, batch ${b}`]);
    return bitForBit(`embedding backward (compiled step), batches ${batches.join(', ')}`, names, want, got, ranSoFar() - start, 'GPU - tfjs');
  };
}

function layerNormCase(rows: number, D: number, seed: number) {
  const x = seededNormal([rows, D], seed, 2);
  const g = seededNormal([D], seed + 1);
  const b = seededNormal([D], seed + 2);
  return () => compare(`layerNorm ${rows}x${D}`, (xx, gg, bb) => layerNorm(xx as tf.Tensor2D, gg as tf.Tensor1D, bb as tf.Tensor1D, 1e-6), [x, g, b]);
}

/**
 * `lanes`: the threads a row may be shared by (ATTENTION.lanes for this case); `rows`:
 * query rows a workgroup (ATTENTION.rowsPerGroup: fitted unless given); `more`: other
 * settings; the name says what it got.
 */
function attentionCase(batch: number, tokens: number, heads: number, width: number, seed: number, lanes = ATTENTION.lanes, rows: number | 'fit' = 'fit', more: Partial<typeof ATTENTION> = {}) {
  const [q, k, v] = [0, 1, 2].map((i) => seededNormal([batch * tokens, width], seed + i) as tf.Tensor2D);
  const shape = { batch, tokens, heads };
  return () => withSettings(ATTENTION, { lanes, rowsPerGroup: rows, ...more }, () =>
    compare(`attention b${batch} t${tokens} h${heads} d${width} (lanes: ${lanesFor(width / heads)}, ${perKernel({ batch, tokens, heads, width })})`,
      (qq, kk, vv) => attention(qq as tf.Tensor2D, kk as tf.Tensor2D, vv as tf.Tensor2D, shape), [q!, k!, v!]));
}

/** Each attention kernel's rows a workgroup and a thread on `spec`, for a case's name: `rows 65/65/33, 2/2/1 a thread`. */
function perKernel(spec: att.AttentionSpec): string {
  const parts = att.PARTS.map((p) => att.rowsOf(p, spec));
  return `rows ${parts.map((p) => p.rows).join('/')}, ${parts.map((p) => p.perThread).join('/')} a thread`;
}

/** One row a thread, or one key a step, in each attention kernel. */
const ONE_EACH = { forward: 1, query: 1, keyValue: 1 } as const;

/**
 * Attention with `rowsPerThread` rows a thread (two wherever asked: no workgroup floor)
 * and `keysPerStep` keys a step against one of each everywhere, bit for bit: every
 * output of the forward and both backward launches (each row sums in the same order
 * either way), with rows fitted to the tokens (65 tokens: one block of 65 at two rows a
 * thread, two of 33 at one) and a set odd count (5 rows: the last thread's second row
 * idle); head widths 64 and 24 on lanes where the device has subgroups, 18 on floats.
 * Every staged tile here leaves an odd key for a step of its own at two keys a step (65
 * keys in tiles of 16 and one; 17 and 19 in one tile). Each launch's key, workgroup count
 * and threads must be those rows' (written out here from the rule, not asked of
 * attentionRows and attentionThreads: the check is a second way to the same figures).
 */
function attentionRowsCase(seed: number, rowsPerThread: typeof ATTENTION.rowsPerThread, keysPerStep: typeof ATTENTION.keysPerStep = ONE_EACH) {
  const shapes = [[2, 65, 3, 192, 'fit'], [3, 17, 2, 48, 5], [2, 19, 2, 36, 'fit']] as const;
  const cases = shapes.map(([batch, tokens, h, width, rows], i) => {
    const [q, k, v, dout] = [0, 1, 2, 3].map((j) => seededNormal([batch * tokens, width], seed + 10 * i + j, 2));
    return { spec: { batch, tokens, heads: h, width }, rows, q: q!, k: k!, v: v!, dout: dout! };
  });
  // the row-by-row kernels (a head 64 wide would take the tiled ones: attentionTiledCase)
  const run2 = (on: boolean) => withSettings(ATTENTION_TILED, { forward: false, backward: false }, () => withSettings(ATTENTION, { rowsPerThread: on ? rowsPerThread : ONE_EACH, keysPerStep: on ? keysPerStep : ONE_EACH, twoRowsFrom: 1 }, async (): Promise<Ran> => {
    const out: Float32Array[] = [];
    const keys: string[] = [];
    for (const { spec, rows, q, k, v, dout } of cases) {
      await withSettings(ATTENTION, { rowsPerGroup: rows }, async () => {
        const n = spec.batch * spec.heads * spec.tokens;
        const [o, dq, dk, dv] = [0, 1, 2, 3].map(() => alloc(q.shape)) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        const [lse, dvec] = [alloc([n]), alloc([n])];
        const launches = [
          ...att.forwardDispatches(spec, { q, k, v, o, lse }),
          ...att.backwardDispatches(spec, { q, k, v, o, lse, dout, dq, dk, dv, dvec }),
        ];
        launches.forEach(run);
        out.push(...(await Promise.all([o, lse, dq, dk, dv, dvec].map(async (t) => (await t.data()) as Float32Array))));
        keys.push(...launches.map((d) => `${d.kernel.key} x${d.workgroups} t${/@workgroup_size\((\d+)\)/.exec(d.kernel.wgsl)?.[1]}`));
        tf.dispose([o, dq, dk, dv, lse, dvec]);
      });
    }
    return { out, keys };
  }));
  const names = shapes.flatMap(([b, t, h, w]) => ['o', 'log-sum-exp', 'dq', 'dk', 'dv', 'dO . O'].map((x) => `${x}, b${b} t${t} h${h} d${w}`));
  // each launch's whole key, workgroups and threads: blocks of the fitted or set rows a
  // head (a block for every whole 32 x rows a thread tokens), rows / 2 (or 1) x lanes
  // threads rounded up to 32
  const expected = (on: boolean) => shapes.flatMap(([b, t, h, w, rows]) => att.PARTS.map((part) => {
    const per = on ? rowsPerThread[part] : 1;
    const qb = rows === 'fit' ? (t <= 32 * per ? t : Math.ceil(t / Math.floor(t / (32 * per)))) : rows;
    const lanes = lanesFor(w / h);
    const keysAStep = on ? keysPerStep[part] : 1;
    const key = `attention.${att.ATTENTION_KERNELS[part]}/h${w / h}/q${qb}/s${ATTENTION.stagedFloats}/l${lanes}${per > 1 ? '/r2' : ''}${keysAStep > 1 ? '/k2' : ''}`;
    return `${key} x${Math.ceil(t / qb) * b * h} t${32 * Math.ceil((Math.ceil(qb / per) * lanes) / 32)}`;
  }));
  const label = `${Object.values(rowsPerThread).join('/')} rows a thread, ${Object.values(keysPerStep).join('/')} keys a step`;
  return () => onAndOff(`attention: ${label} and one of each`, names, 'these - one', run2, (keys, on) => ({
    [`the launches not made for ${on ? label : 'a row a thread and a key a step'}`]: keys.length === 9 && keys.every((k, i) => k === expected(on)[i]) ? 0 : 1,
  }));
}

/**
 * The forward and backward on register tiles (attention-tiled.ts, attention-tiled-backward.ts)
 * against the row-by-row kernels, on heads 64 wide: 65 tokens (the 64 of the tiles and a
 * class token's apart), 64 (no token apart), 33 and 17 (keys past the tokens masked, rows
 * past them not stored). Each output, log-sum-exp and gradient within float rounding of
 * the other's (their sums run in other orders), each way's launches the ones asked for: a
 * workgroup a head on each tiled kernel, the backward one launch; and the op on the tiled
 * kernels against its composite reference (tfjs's own ops and gradients): the output and
 * the gradients of q, k and v.
 */
function attentionTiledCase(seed: number) {
  const shapes = [[2, 65, 3, 192], [2, 64, 2, 128], [3, 33, 1, 64], [2, 17, 2, 128]] as const;
  return async (): Promise<CaseResult> => {
    const start = ranSoFar();
    const errors: number[] = [];
    const exact: Record<string, number> = {};
    for (const [i, [batch, tokens, heads, width]] of shapes.entries()) {
      const spec = { batch, tokens, heads, width };
      const [q, k, v, dout] = [0, 1, 2, 3].map((j) => seededNormal([batch * tokens, width], seed + 10 * i + j, 2)) as tf.Tensor[];
      const composite = await withSettings(ATTENTION_TILED, { forward: true, backward: true }, () =>
        compare('', (qq, kk, vv) => attention(qq as tf.Tensor2D, kk as tf.Tensor2D, vv as tf.Tensor2D, { batch, tokens, heads }), [q!, k!, v!]));
      errors.push(...composite.errors);
      const ways: { out: Float32Array[]; keys: string[]; scratch: number }[] = [];
      const notes: string[] = [];
      for (const on of [true, false]) ways.push(await withSettings(ATTENTION_TILED, { forward: on, backward: on }, async () => {
        notes.push(att.attentionNote(spec));
        const n = batch * heads * tokens;
        const [o, dq, dk, dv] = [0, 1, 2, 3].map(() => alloc(q!.shape)) as tf.Tensor[];
        const lse = alloc([n]);
        // the scratch the backward asks for (none tiled): given null, the row kernels throw
        const scratch = att.backwardScratchFloats(spec);
        const dvec = scratch ? alloc([scratch]) : null;
        const forward = att.forwardDispatches(spec, { q: q!, k: k!, v: v!, o: o!, lse });
        const backward = att.backwardDispatches(spec, { q: q!, k: k!, v: v!, o: o!, lse, dout: dout!, dq: dq!, dk: dk!, dv: dv!, dvec });
        [...forward, ...backward].forEach(run);
        const out = await Promise.all([o!, lse, dq!, dk!, dv!].map(async (t) => (await t.data()) as Float32Array));
        tf.dispose([o!, dq!, dk!, dv!, lse, ...(dvec ? [dvec] : [])]);
        return { out, keys: [...forward, ...backward].map((d) => `${d.kernel.key} x${d.workgroups}`), scratch };
      }));
      const [tiled, rows] = ways as [(typeof ways)[number], (typeof ways)[number]];
      for (const [j, ref] of rows.out.entries()) {
        const scale = ref.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
        errors.push(tiled.out[j]!.reduce((m, x, e) => Math.max(m, Math.abs(x - ref[e]!)), 0) / scale);
      }
      const name = `b${batch} t${tokens} h${heads} d${width}`;
      const want = [`attention.forward/tiled/t${tokens} x${batch * heads}`, `attention.backward/tiled/t${tokens} x${batch * heads}`];
      exact[`${name}: the tiled launches not made (${tiled.keys.join(', ')})`] = tiled.keys.join() === want.join() ? 0 : 1;
      exact[`${name}: the row-by-row launches not made off (${rows.keys.join(', ')})`] = rows.keys.length === 3 && !rows.keys.some((x) => x.includes('/tiled/')) ? 0 : 1;
      exact[`${name}: the backward's scratch not none tiled and D's floats row by row (${tiled.scratch}, ${rows.scratch})`] = tiled.scratch === 0 && rows.scratch === batch * heads * tokens ? 0 : 1;
      // what a report says of how attention ran
      exact[`${name}: the report's note (${notes.join(' | ')})`] = notes[0] === 'register tiles, a workgroup a head (forward and backward)' && / rows a thread, /.test(notes[1]!) ? 0 : 1;
      tf.dispose([q!, k!, v!, dout!]);
    }
    return { name: `attention: the forward and backward on register tiles against the composite and row by row, ${shapes.map(([, t]) => t).join(', ')} tokens`, errors, fusedKernels: ranSoFar() - start, exact };
  };
}

/**
 * The lanes probe on two fresh devices of the adapter tfjs uses: one without subgroups
 * must get 1 lane (the kernels keep a row to a thread), one with them as many as the
 * adapter's smallest subgroup allows (8 at most); and tfjs's own device has those.
 */
function subgroupProbeCase() {
  return async (): Promise<CaseResult> => {
    // an adapter makes one device
    const adapter = async () => (await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' }))!;
    const { info, features } = await adapter();
    const smallest = info.subgroupMinSize ?? 0;
    const plain = await (await adapter()).requestDevice();
    const withSubgroups = features.has('subgroups') ? await (await adapter()).requestDevice({ requiredFeatures: ['subgroups' as GPUFeatureName] }) : null;
    const [none, some] = [await probeSubgroupLanes(plain, info), withSubgroups ? await probeSubgroupLanes(withSubgroups, info) : 1];
    const expected = withSubgroups ? Math.max(1, Math.min(MAX_LANES, smallest)) : 1;
    plain.destroy();
    withSubgroups?.destroy();
    return {
      name: `subgroup probe (smallest subgroup ${smallest}: ${some} lanes)`, errors: [], fusedKernels: 0,
      exact: {
        'lanes without subgroups - 1': none - 1,
        'lanes with subgroups - min(8, smallest subgroup)': some - expected,
        "tfjs's device - the same": subgroupLanes(webgpu().device) - expected,
      },
    };
  };
}

function crossEntropyCase(batch: number, classes: number, smoothing: number, seed: number) {
  const logits = seededNormal([batch, classes], seed, 3);
  const labels = tf.tensor1d(Array.from({ length: batch }, (_, i) => (i * 7) % classes), 'int32');
  return () => compare(`crossEntropy ${batch}x${classes} smoothing ${smoothing}`,
    (l) => crossEntropy(l as tf.Tensor2D, labels, smoothing), [logits]);
}

/** `work` on the fused path, then on the composite one: the same computation two ways. */
async function onBothPaths<T>(work: () => Promise<T>): Promise<{ fused: T; plain: T; fusedKernels: number }> {
  setFusedKernels(true);
  const start = ranSoFar();
  const fused = await work();
  const fusedKernels = ranSoFar() - start;
  setFusedKernels(false);
  return { fused, plain: await work(), fusedKernels };
}

/** Values read back after `work` on each path. */
async function compareValues(name: string, work: () => Promise<Float32Array[]>): Promise<CaseResult> {
  const { fused, plain, fusedKernels } = await onBothPaths(work);
  return { name, errors: fused.map((v, i) => scaledError(v, plain[i]!)), fusedKernels };
}

/**
 * Three optimiser steps over odd-sized variables (more of them than one launch takes),
 * clipped (the norm is well above maxNorm) and not, with the monitor's per-module
 * gradient norms: the variables, the norms and the clip's global norm.
 */
function optimizerCase(clipNorm: number) {
  // more than one launch takes, and one of several CHUNKs (the sum of squares is split)
  const sizes = [[7, 5], [13], [3, 3], [1], [29, 11], [4], [70, 130], [2, 17], [5]];
  return () => compareValues(`clip ${clipNorm} + AdamW, ${sizes.length} variables`, async () => {
    const vars = sizes.map((sh, i) => tf.variable(seededNormal(sh, 50 + i), true, `opt${clipNorm}/${Math.random()}/${i}`));
    const cfg = { ...makeConfig('micro').optim, clipNorm };
    const opt = new AdamW(cfg, (v) => v.rank === 2);
    const out: Float32Array[] = [];
    for (let step = 0; step < 3; step++) {
      const grads: tf.NamedTensorMap = {};
      vars.forEach((v, i) => { grads[v.name] = seededNormal(v.shape, 100 * step + i, 3); });
      const clipped = clipByGlobalNorm(grads, cfg.clipNorm);
      opt.apply(clipped.grads, vars, 0.01 * (step + 1), clipped.scale);
      out.push(await clipped.norm.data() as Float32Array);
      tf.dispose([...Object.values(grads), ...Object.values(clipped.grads), clipped.norm, clipped.scale ?? []]);
    }
    for (const v of vars) out.push(await v.data() as Float32Array);
    opt.dispose();
    tf.dispose(vars);
    return out;
  });
}

/**
 * Three monitor windows over eleven modules (more than one launch of the window
 * statistics takes on any device: at most 8 a launch; one module of 4,200 elements,
 * over two of the first pass's chunks, the others' partials 0 past their one):
 * the gradient norms (from the shared reduction on the fused path), the loss, and the
 * weights' norm, update% and normChange% against the snapshots, with weights moved
 * between windows and module 1 released (frozen: no gradient after the first window) in
 * the second, so that in the third it has no snapshot. Each statistic is compared on its
 * own scale.
 */
function monitorCase() {
  return () => compareValues('monitor windows (gradient norms, loss, weight norms, update% and normChange% against snapshots, 11 modules)', async () => {
    const outs = [5, 6, 700, 3, 9, 1, 4, 2, 8, 7, 3];
    const mods = new Map(outs.map((o, i) => [`blocks.0.m${i}`, new Linear(`m${i}`, 6, o, seededNormal([6 * o], 70 + i).dataSync() as Float32Array, `mon${Math.random()}/`)]));
    if (6 * Math.max(...outs) <= WINDOW_CHUNK) throw new Error('the monitor case: no module spans two chunks of the window statistics');
    const monitor = new Monitor(mods);
    const stats: number[][] = [[], [], [], [], []];
    for (let win = 0; win < 3; win++) {
      for (let step = 0; step < 2; step++) {
        const grads: tf.NamedTensorMap = {};
        [...mods.values()].forEach((m, i) => { if (i !== 1 || win === 0) grads[m.weight.name] = seededNormal(m.weight.shape, 80 + 10 * step + i + 100 * win); });
        grads['other'] = seededNormal([9], 90 + step);
        tf.tidy(() => monitor.observe(grads, tf.scalar(1.5 + step + win)));
        tf.dispose(Object.values(grads));
        // the weights move (all but the released one after its window)
        [...mods.values()].forEach((m, i) => {
          if (i === 1 && win > 0) return;
          tf.tidy(() => m.weight.assign(tf.add(m.weight, tf.mul(seededNormal(m.weight.shape, 300 + 10 * step + i + 100 * win), 0.01 * (i + 1)))));
        });
      }
      if (win === 1) monitor.release('blocks.0.m1');
      const w = await monitor.endWindow(2 * (win + 1), 2);
      for (const id of mods.keys()) {
        const m = w.modules[id]!;
        stats[0]!.push(m.gradNorm);
        stats[1]!.push(m.norm);
        stats[2]!.push(m['update%'] ?? -1);
        stats[3]!.push(m['normChange%'] ?? -1);
      }
      stats[4]!.push(w.loss);
    }
    monitor.dispose();
    for (const m of mods.values()) m.dispose();
    return stats.map((v) => Float32Array.from(v));
  });
}

/**
 * AdamW through the state changes of a PreLoRA run and a checkpoint restore (see
 * adamw-scenario.ts): the fused kernel against the composite update (weights and
 * moments), the same per-variable t and ramps, and on each path a restored run equal
 * bit for bit to the uninterrupted one.
 */
function adamwStateCase() {
  return async (): Promise<CaseResult> => {
    const { fused, plain, fusedKernels } = await onBothPaths(adamwScenario);
    const moments = (r: ScenarioResult) => r.params.flatMap((p) => (p ? [p.m ?? [], p.v ?? []] : []));
    const [fm, pm] = [moments(fused), moments(plain)];
    const state = (r: ScenarioResult) => JSON.stringify([r.params.map((p) => p && [p.t, p.rewarm]), r.updates, r.modelRewarm]);
    return {
      name: `AdamW state: re-warm, reset, late joiner, release, restore; ${SHAPES.length} variables`,
      errors: [...fused.weights.map((w, i) => scaledError(w, plain.weights[i]!)), ...fm.map((m, i) => scaledError(m, pm[i]!))],
      fusedKernels,
      exact: {
        'fused restore': fused.restoredDiff, 'composite restore': plain.restoredDiff,
        'fused tensors left': fused.leaked, 'composite tensors left': plain.leaked,
        'state differs': state(fused) === state(plain) && fm.length === pm.length ? 0 : 1,
      },
    };
  };
}

export const CASES = {
  crossEntropy: () => [crossEntropyCase(37, 11, 0.1, 41), crossEntropyCase(300, 10, 0, 42)],
  optimizer: () => [optimizerCase(1), optimizerCase(0), adamwStateCase(), monitorCase()],
  linear: () => [...linearCases(37, 29, 23, 3, 1), ...linearCases(300, 70, 130, 8, 11), ...wideCases(300, 70, 130, 8, 13), ...manySplitCases(15), highRankCase(17),
    geluOutCase(37, 29, 23, 19), geluOutCase(150, 70, 130, 21), mergeCase(23), mergePlacesCase(29), adapterSumCase(31), wideTileCase(33), vec4Case(35), ...vec4Cases(300, 68, 132, 37),
    ...namedCases(39), namedForwardCase(43), namedLoraForwardCase(45), namedInputGradCase(47), groupedWgradCase(49)],
  // 4,500 rows: more than the backward's 2,048 workgroups, so each sums several rows
  layerNorm: () => [layerNormCase(37, 29, 21), layerNormCase(130, 200, 24), layerNormCase(4500, 20, 26), layerNormSumCase(27), layerNormRowsCase(28, 4, 2), layerNormRowsCase(38, 2, 1), sumOrderCase(29)],
  // head widths 16, 8 and 64 run on vec4s (rows shared by as many lanes as the device
  // and the row's vec4s allow: 4, 2, 4 on SwiftShader), 9 on floats; the last as on a
  // device without subgroups (a row to a thread)
  attention: () => [attentionCase(2, 17, 2, 32, 31), attentionCase(3, 65, 3, 24, 34), attentionCase(1, 33, 1, 64, 37), attentionCase(2, 19, 2, 18, 39),
    attentionCase(3, 65, 3, 48, 41, 1),
    // rows set, not fitted: 65 tokens in three blocks of 32 (the last one row), and in
    // 13 of 5 (20 threads a workgroup rounded up to 32)
    attentionCase(2, 65, 2, 32, 43, ATTENTION.lanes, 32), attentionCase(2, 65, 2, 32, 47, ATTENTION.lanes, 5),
    // the op-by-op path at two rows a thread everywhere, and the default's rows (two but in the key/value gradient) and one, bit for bit
    attentionCase(2, 65, 3, 192, 49, ATTENTION.lanes, 'fit', { rowsPerThread: { forward: 2, query: 2, keyValue: 2 }, twoRowsFrom: 1 }),
    attentionRowsCase(51, { forward: 2, query: 2, keyValue: 1 }), attentionRowsCase(53, { forward: 2, query: 2, keyValue: 2 }),
    // two keys a step at one row a thread and at two (the backward's eight sums: two vec4 shuffles a round)
    attentionRowsCase(55, { forward: 1, query: 1, keyValue: 1 }, { forward: 2, query: 2, keyValue: 2 }),
    attentionRowsCase(57, { forward: 2, query: 2, keyValue: 2 }, { forward: 2, query: 2, keyValue: 2 }),
    // heads 64 wide: the forward and backward on register tiles (also in the cases above at width 64 and 192) against row by row
    attentionTiledCase(59)],
  subgroups: () => [subgroupProbeCase()],
  embedding: () => [embedBackwardCase(61)],
};

export async function fusedOpCases(only?: string): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  // one after another: each flips the kernel path
  for (const [family, cases] of Object.entries(CASES)) {
    if (only && family !== only) continue;
    for (const run of cases()) results.push(await run());
  }
  return results;
}

if (process.argv[1]?.endsWith('fused-ops-run.ts')) {
  // with WebGPU's zero-fill of workgroup memory, which the other Dawn tests leave out on
  // SwiftShader: every kernel runs here as WebGPU specifies (unwritten memory reads zeros)
  const info = await initNodeBackend('webgpu', { keepWorkgroupFill: true });
  if (info.name !== 'webgpu') throw new Error(`wanted webgpu, got ${info.name}`);
  reply(await fusedOpCases(process.argv[2]));
}
