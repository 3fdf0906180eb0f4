// The fused linear op: its forward and backward as explicit kernel sequences over
// named buffers (a step plan can record the same sequences), and the tf.customGrad
// wrapper that runs them eagerly over tfjs tensors. Forward: one launch (bias, residual
// and GELU in the epilogue); with an adapter, first the merged weight W + s A B (one
// launch, or several adapters' ahead of the forward in the compiled step; run eagerly,
// made in the products' loads instead), and the forward keeps x A for the backward.
// Backward: the input gradient through the merged weight (one launch, the adapter's dxa
// as its side product; in the compiled step, a trained base's of a shape that pays
// (namedInputGradFor) over its weight transposed ahead of the forward, on the named
// tile), then every weight gradient as split-K partials (one launch) and their sum (one
// launch; in the compiled step the query's, key's and value's share both). A frozen
// base gets no weight gradient.
import * as tf from '@tensorflow/tfjs';
import { gemmSharedBytes, sideWorkgroups, splitK, tileFor, tilesOf, type GemmTile } from './gemm';
import type { AdapterTensors } from '../linear';
import { conflicts, inLaunches, jobParams, type Dispatch } from './kernel';
import { alloc, run, saveForBackward, webgpu, type Ref } from './dispatch';
import { sharedSumDispatches, sharedSumsPerLaunch, type SharedSumJob } from './shared-sums';
import { namedWgradGroupKernel, namedWgradKernel, namedWgradLaunch, namedWgradTile } from './named-wgrad';
import { namedForwardKernel, namedForwardWorkgroups, takesNamedForward } from './named-forward';
import { namedInputGradKernel, namedInputGradWorkgroups, takesNamedInputGrad } from './named-input-grad';
import { ADAPTER_SUMS, forwardKernel, forwardLayout, inputGradKernel, inputGradLayout, mergeKernel, weightGradCounts, weightGradKernel, weightGradLayout, weightGradParts, weightGradSums, weightGradVec4, weightGradWorkgroups } from './linear-kernels';
import { maxOf } from '../../extremes';

export interface LinearSpec {
  rows: number;
  dIn: number;
  dOut: number;
  /** LoRA rank, 0 without an adapter */
  rank: number;
  /** alpha / rank */
  scale: number;
  gelu: boolean;
  residual: boolean;
  /** With an adapter: where its merged weight W + s A B is made (LORA_MERGE_PLACES; a launch of its own where absent). */
  merge?: LoraMergePlace;
  /**
   * A trained base's weight gradient on a named tile is split as one of this many alike
   * (one shape, one input) whose launch it shares in the compiled step (WGRAD_GROUP: the
   * query's, key's and value's that train their bases); op by op too, where each runs
   * alone, so both paths sum the same partials. One, or absent: split as alone.
   */
  splitAmong?: number;
}

/** Where a spec's merged weight is made: null without an adapter. */
const placeOf = (s: LinearSpec): LoraMergePlace | null => (s.rank ? s.merge ?? 'launch' : null);

/** The tile of a spec's forward, whose K is dIn and N dOut (gemm.ts's tileFor). */
const forwardTile = (s: LinearSpec) => tileFor(s.rows, s.dIn, s.dOut, (t) => forwardLayout(s.rank, placeOf(s) === 'loads', t));

/** The tile of a spec's input gradient, whose K is dOut and N dIn (a rider keeps its host's). */
const inputGradTile = (s: LinearSpec) => tileFor(s.rows, s.dOut, s.dIn, (t) => inputGradLayout(s.rank, placeOf(s) === 'loads', 0, t));

export interface ForwardBuffers<B> {
  x: B; w: B; b: B; res?: B; loraA?: B; loraB?: B;
  /** with an adapter not merged in the loads: the merged weight W + s A B [din, dout], written here (or ahead, by the caller, with 'batch'), read by the input gradient */
  wm?: B;
  /** the output, or with GELU the pre-activation u and the output g */
  y?: B; u?: B; g?: B;
  /** with an adapter: x A [rows, rank], written for the backward */
  xa?: B;
}

export function forwardDispatches<B>(s: LinearSpec, f: ForwardBuffers<B>): Dispatch<B>[] {
  const out: Dispatch<B>[] = [];
  const merged = placeOf(s) === 'loads';
  if (placeOf(s) === 'launch') {
    out.push(...mergeDispatches([{ w: f.w, loraA: f.loraA!, loraB: f.loraB!, wm: f.wm!, dIn: s.dIn, dOut: s.dOut, rank: s.rank, scale: s.scale }], 1));
  }
  const named = !merged && takesNamedForward(s.rows, s.dIn, s.dOut, s.rank);
  const tile = forwardTile(s);
  const kernel = named ? namedForwardKernel({ gelu: s.gelu, residual: s.residual, rank: s.rank }) : forwardKernel({ rank: s.rank, gelu: s.gelu, residual: s.residual, merged, tile });
  const buffers = [f.x, s.rank && !merged ? f.wm! : f.w, f.b];
  if (s.residual) buffers.push(f.res!);
  if (s.rank) buffers.push(f.loraA!);
  if (merged) buffers.push(f.loraB!);
  buffers.push(...(s.gelu ? [f.u!, f.g!] : [f.y!]));
  if (s.rank) buffers.push(f.xa!);
  const params = [s.rows, s.dOut, s.dIn, ...(merged ? [s.scale] : [])];
  const workgroups = named ? namedForwardWorkgroups(s.rows, s.dOut, s.rank) : tilesOf(s.rows, s.dOut, tile) + (s.rank ? sideWorkgroups(s.rows, tile) : 0);
  out.push({ kernel, buffers, params, workgroups });
  return out;
}

/** One adapter's merge: its base weight, factors and the merged weight's buffer. */
export interface MergeJob<B> { w: B; loraA: B; loraB: B; wm: B; dIn: number; dOut: number; rank: number; scale: number }

/** Adapters a merge launch takes on a device with `storageBuffers` storage buffers a stage (four buffers each). */
export const mergesPerLaunch = (storageBuffers: number) => Math.max(1, Math.floor(storageBuffers / 4));

/**
 * The merged weights of `jobs`, up to `perLaunch` adapters of one rank a launch (in
 * their order within a rank): the compiled step makes all of a step's ahead of its
 * forward, 9 launches at tiny on the H200 instead of 36.
 */
export function mergeDispatches<B>(jobs: MergeJob<B>[], perLaunch: number): Dispatch<B>[] {
  const out: Dispatch<B>[] = [];
  const ranks = [...new Set(jobs.map((j) => j.rank))];
  for (const rank of ranks) {
    const same = jobs.filter((j) => j.rank === rank);
    for (const group of inLaunches(same, perLaunch)) {
      out.push({
        kernel: mergeKernel(rank, group.length), buffers: group.flatMap((j) => [j.w, j.loraA, j.loraB, j.wm]),
        ...jobParams(group, (j) => Math.ceil((j.dIn * j.dOut) / 256), (j) => [j.dIn, j.dOut, j.scale]),
      });
    }
  }
  return out;
}

export interface BackwardBuffers<B> {
  /** the output's gradient, or with GELU the gradient of g and the saved u */
  dy?: B; dg?: B; u?: B;
  /** the weight, or with an adapter the merged weight the forward made (wm) and the right factor, or merged in the loads the weight and both factors */
  x: B; w?: B; wm?: B; loraA?: B; loraB?: B;
  /** with an adapter: x A as the forward wrote it */
  xa?: B;
  /** outputs: dx (also computed, and may be scratch, when only the adapter needs it) and dxa = s dy B^T */
  dx?: B; dxa?: B;
  /**
   * W transposed [dout, din], made by the caller (the compiled step, ahead of its
   * forward) where namedInputGradFor: the input gradient is then dy WT on the named tile
   */
  wt?: B;
  /** the pre-activation u of a GELU whose output is this layer's input: dx is then taken through it */
  dxGeluOf?: B;
  /** dx is added to what `dx` holds (not with dxGeluOf) */
  accumulateDx?: boolean;
  /** scratch for the split-K partial sums: `weightGradScratch` floats */
  part?: B;
  /**
   * A trained base's weight gradient is left to the caller, who runs it with others of
   * its shape in one launch (weightGradGroupDispatches): only the input gradient is made.
   */
  leaveWeightGrad?: boolean;
  /**
   * A frozen base's adapter: its partials are left in `part` for the caller to sum with
   * other adapters' (adapterSumDispatches), not summed by a launch of its own.
   */
  deferSum?: boolean;
  dw?: B; db?: B; da?: B; dB?: B;
}

export interface BackwardSpec extends LinearSpec {
  /** dx is wanted (false for the patch embedding: images are not trained) */
  inputGrad: boolean;
  /** W and b train (false once the base is frozen) */
  base: boolean;
}

/**
 * Whether a backward's input gradient takes the named tile given W's transposed copy: a
 * trained base without an adapter (with one, the merged weight and the side product keep
 * the input-gradient kernel) of a shape takesNamedInputGrad names. Its dy must be read
 * without a GELU, which backwardDispatches checks (the compiled step takes fc2's input
 * gradient through fc1's GELU, so fc1's reads a plain dy).
 */
export const namedInputGradFor = (s: BackwardSpec) => s.inputGrad && s.base && !s.rank && takesNamedInputGrad(s.rows, s.dOut, s.dIn);

/** The named tile of a spec's weight gradient (a trained base without an adapter, named-wgrad.ts), or null. */
const namedTileOf = (s: BackwardSpec) => (s.base && !s.rank ? namedWgradTile(s.dIn, s.dOut) : null);

/** Floats of the split-K scratch, and the split, for a backward pass. */
export function weightGradScratch(s: BackwardSpec): { floats: number; splits: number; rowsPerSplit: number; total: number } {
  const parts = weightGradParts({ rank: s.rank, gelu: s.gelu, base: s.base }, s.dIn, s.dOut);
  const total = parts.reduce((n, p) => n + p.m * p.n, 0);
  const named = namedTileOf(s);
  const { splits, rowsPerSplit } = named ? namedLaunchOf(s, named) : splitK(s.rows, weightGradWorkgroups(parts));
  return { floats: splits * total, splits, rowsPerSplit, total };
}

/** A named-tile weight gradient's launch (its split, and its own workgroups): one of its splitAmong where they share launches. */
const namedLaunchOf = (s: BackwardSpec, tile: GemmTile) => namedWgradLaunch(s.rows, s.dIn, s.dOut, tile, WGRAD_GROUP.on ? s.splitAmong ?? 1 : 1);

/** A spec's weight-gradient sum (shared-sums.ts) over its split partials, the first of `buffers`, into the rest (linearSums' outputs). */
function splitSumJob<B>(s: BackwardSpec, buffers: B[]): SharedSumJob<B> {
  const sc = weightGradScratch(s);
  return { buffers, outputs: sc.total, parts: sc.splits, extra: [s.dIn, s.dOut, s.rank, s.scale] };
}

/** Whether a spec's weight gradient shares a launch with others alike (weightGradGroupDispatches): a trained base's on a named tile, split among several. */
export const groupsWeightGrad = (s: BackwardSpec) => WGRAD_GROUP.on && (s.splitAmong ?? 1) > 1 && namedTileOf(s) !== null;

/**
 * Whether the compiled step runs the weight gradients of trained bases that read one
 * input, are of one shape and are split among as many (LinearSpec.splitAmong: the query's,
 * key's and value's), in one launch and their sums in one (`--wgrad-group on|off`).
 * A 384 x 384 weight gradient alone filled the GPU by splitting its K (small's rows)
 * 44 ways: its 18 tiles, 792 workgroups, then a sum over 44 partials. Three in one
 * launch fill it split 14 ways: small b128's full phase 24.77 -> 24.60 ms in one call
 * (each job a function then, its indices clamped), 24.70 -> 24.66 in another, noisier,
 * with this kernel (H100, Node + Dawn, the mean of six runs' full phases a variant), its weight gradients and sums 8.22-8.29 -> 7.78-7.85 ms of launches
 * timed one by one; each split 44 ways as alone, three in a launch, 24.72. Tiny's (192 x
 * 192: 6 tiles, 44 splits either way) level, 7.00-7.11 -> 6.99-7.09 ms at b128. The two
 * more partial buffers: small's peak 2,219 -> 2,236 MB, tiny b128's 802 -> 815.
 */
export const WGRAD_GROUP = { on: true };

/** The grouped weight gradients' setting a tuning run may set, on or off, checked. */
export function parseWgradGroup(text: string): typeof WGRAD_GROUP | string {
  if (text === 'on' || text === 'off') return { on: text === 'on' };
  return `--wgrad-group: write on or off (got "${text.slice(0, 40)}")`;
}

/** One weight gradient of a group: its spec, output gradient (or dg and u behind a GELU), partials and outputs. */
export interface WeightGradJob<B> { spec: BackwardSpec; dy?: B; dg?: B; u?: B; part: B; dw: B; db: B }

/** Weight gradients a group launch takes on a device with `storageBuffers` storage buffers a stage (x, then a dy and partials each). */
const weightGradsPerLaunch = (s: BackwardSpec, storageBuffers: number) => Math.max(1, Math.floor((storageBuffers - 1) / (s.gelu ? 3 : 2)));

/** What the weight gradients sharing a launch must have alike: their rows, shape, GELU and split. */
const groupShape = (s: BackwardSpec) => [s.rows, s.dIn, s.dOut, s.gelu, s.splitAmong].join(' ');

/**
 * The weight gradients of `jobs` over input `x`, all of one spec's shape (groupsWeightGrad),
 * as many a launch as the device binds, then their sums likewise: each job's partials and
 * sums those its own launches would make (the same split, splitAmong's, the same floats),
 * in fewer launches.
 */
export function weightGradGroupDispatches<B>(x: B, jobs: WeightGradJob<B>[], storageBuffers: number): Dispatch<B>[] {
  const s = jobs[0]?.spec;
  const tile = s && namedTileOf(s);
  if (!s || !tile || !jobs.every((j) => groupsWeightGrad(j.spec))) throw new Error('linear: only trained bases\' weight gradients on a named tile share a launch');
  if (jobs.some((j) => groupShape(j.spec) !== groupShape(s))) throw new Error(`linear: weight gradients of other shapes in one launch (${jobs.map((j) => groupShape(j.spec)).join('; ')})`);
  if (jobs.length !== s.splitAmong) throw new Error(`linear: ${jobs.length} weight gradients split as ${s.splitAmong} sharing a launch`);
  const sc = weightGradScratch(s);
  const each = namedLaunchOf(s, tile).workgroups;
  const out: Dispatch<B>[] = inLaunches(jobs, weightGradsPerLaunch(s, storageBuffers)).map((group) => {
    // each job's first workgroup, then one job's params (namedWgradGroupKernel)
    const { params, workgroups } = jobParams(group, () => each, () => []);
    return {
      kernel: namedWgradGroupKernel(group.length, s.gelu, tile),
      buffers: [x, ...group.flatMap((j) => (s.gelu ? [j.dg!, j.u!] : [j.dy!])), ...group.map((j) => j.part)],
      params: [...params, s.rows, s.dIn, s.dOut, sc.splits, sc.rowsPerSplit, sc.total],
      workgroups,
    };
  });
  const sums = jobs.map((j) => splitSumJob(j.spec, [j.part, j.dw, j.db]));
  for (const group of inLaunches(sums, sharedSumsPerLaunch(weightGradSums(s), storageBuffers))) out.push(...sharedSumDispatches(weightGradSums(s), group));
  return out;
}

/**
 * A frozen-base adapter's thin-gradient launch (its backward's last, with deferSum) held
 * back to ride in a later linear's input-gradient launch (canRide says where it may): it
 * cannot share its own linear's (it reads the dxa that launch writes), and in a launch of
 * its own a thin gradient's few microseconds of work waited on a launch's start and
 * drain. Riding, a tiny LoRA step at batch 128 on the H200 took 6.98 ms instead of 7.36
 * (the thin gradients 0.77 ms of launches -> 0.12 more in the input gradients'), batch 32
 * 2.97 instead of 3.13, small 24.46 instead of 24.99; 186 launches instead of 218 (one
 * call, two runs each). Summed instead by its own launch's side workgroups, once their
 * rows of dxa are stored (no rider, no launch), a LoRA step took 6.00 -> 6.14 ms at tiny
 * b128, 20.12 -> 20.40 on small, 2.68 -> 3.00 at b32: each of the 130 side workgroups
 * summed every column block of its rows in turn, the launch's longest (H200, one call).
 */
export interface Rider<B> { spec: BackwardSpec; dispatch: Dispatch<B> }

/**
 * The backward's launches; with `rider`, the input gradient's launch also runs the
 * rider's workgroups (the caller has checked canRide).
 */
export function backwardDispatches<B>(s: BackwardSpec, g: BackwardBuffers<B>, rider?: Rider<B>): Dispatch<B>[] {
  const out: Dispatch<B>[] = [];
  const dyBufs = s.gelu ? [g.dg!, g.u!] : [g.dy!];
  if (g.accumulateDx && g.dxGeluOf) throw new Error('linear: an input gradient taken through a GELU is written, not added to');
  if (g.wt) {
    if (s.gelu || !namedInputGradFor(s)) throw new Error('linear: W\'s transposed copy serves only an input gradient namedInputGradFor takes, read without a GELU');
    if (rider) throw new Error('linear: a named input gradient has no rider\'s workgroups (canRide refuses it)');
    const store = g.dxGeluOf ? 'gelu' : g.accumulateDx ? 'add' : 'write';
    out.push({ kernel: namedInputGradKernel(store), buffers: [g.dy!, g.wt, ...(g.dxGeluOf ? [g.dxGeluOf] : []), g.dx!], params: [s.rows, s.dIn, s.dOut], workgroups: namedInputGradWorkgroups(s.rows, s.dIn) });
  } else if (s.inputGrad || s.rank) {
    const merged = placeOf(s) === 'loads';
    const buffers = [...dyBufs, s.rank && !merged ? g.wm! : g.w!];
    if (merged) buffers.push(g.loraA!);
    if (s.rank) buffers.push(g.loraB!);
    if (g.dxGeluOf) buffers.push(g.dxGeluOf);
    buffers.push(g.dx!);
    if (s.rank) buffers.push(g.dxa!);
    const tile = inputGradTile(s);
    const v = { rank: s.rank, gelu: s.gelu, geluOut: !!g.dxGeluOf, merged, accumulate: !!g.accumulateDx, tile };
    const own = tilesOf(s.rows, s.dIn, tile) + (s.rank ? sideWorkgroups(s.rows, tile) : 0);
    const d: Dispatch<B> = { kernel: inputGradKernel(v), buffers, params: [s.rows, s.dIn, s.dOut, s.scale], workgroups: own };
    out.push(rider ? rideAlong(d, v, rider) : d);
  }
  if (!s.base && !s.rank) return out;
  if (g.leaveWeightGrad) {
    if (!groupsWeightGrad(s)) throw new Error('linear: only a trained base\'s weight gradient on a named tile, without an adapter, is left to a launch of several');
    return out;
  }
  const sc = weightGradScratch(s);
  const named = namedTileOf(s);
  if (named) {
    out.push({ kernel: namedWgradKernel(s.gelu, named), buffers: [g.x, ...dyBufs, g.part!], params: [s.rows, s.dIn, s.dOut, sc.splits, sc.rowsPerSplit, sc.total], workgroups: namedLaunchOf(s, named).workgroups });
  } else {
    const v = { rank: s.rank, gelu: s.gelu, base: s.base, vec4: weightGradVec4(s, s.dIn, s.dOut) };
    const parts = weightGradParts(v, s.dIn, s.dOut);
    const counts = weightGradCounts(parts);
    const perSplit = weightGradWorkgroups(parts);
    const wg = [g.x, ...dyBufs];
    if (s.rank) wg.push(g.xa!, g.dxa!);
    wg.push(g.part!);
    out.push({ kernel: weightGradKernel(v), buffers: wg, params: [s.rows, s.dIn, s.dOut, sc.splits, sc.rowsPerSplit, sc.total, ...counts], workgroups: perSplit * sc.splits });
  }
  if (g.deferSum) {
    if (s.base || !s.rank) throw new Error('linear: only a frozen base\'s adapter leaves its gradient sums to the caller');
    return out;
  }
  const outs = [...(s.base ? [g.dw!, g.db!] : []), ...(s.rank ? [g.da!, g.dB!] : [])];
  out.push(...sharedSumDispatches(weightGradSums(s), [splitSumJob(s, [g.part!, ...outs])]));
  return out;
}

/** The input-gradient launch `host` (of variant `v`) with `rider`'s workgroups after its own. */
function rideAlong<B>(host: Dispatch<B>, v: Parameters<typeof inputGradKernel>[0], rider: Rider<B>): Dispatch<B> {
  const r = rider.dispatch;
  if (rider.spec.base || !rider.spec.rank || r.kernel.name !== 'linear.weight-grad') throw new Error('linear: only a frozen base\'s thin-gradient launch rides in another');
  return {
    kernel: inputGradKernel({ ...v, rider: { rank: rider.spec.rank, gelu: rider.spec.gelu } }),
    buffers: [...host.buffers, ...r.buffers],
    params: [...host.params, host.workgroups, ...r.params],
    workgroups: host.workgroups + r.workgroups,
  };
}

/**
 * Whether `rider` may ride in the input-gradient launch of `host` (the first of its
 * backward's launches, made without a rider): the two bind no buffer that either
 * writes, and the launch's bindings and workgroup memory fit the device.
 */
export function canRide<B>(hostSpec: BackwardSpec, host: Dispatch<B>, rider: Rider<B>, limits: { storageBuffers: number; sharedBytes: number }): boolean {
  // only inputGradKernel's launches run a rider's workgroups (a named one, of the same
  // kind, has none): its key says which kernel made it
  if (!host.kernel.key.startsWith('linear.input-grad/') || conflicts(host, rider.dispatch)) return false;
  const storage = host.kernel.bindings.length + rider.dispatch.kernel.bindings.length;
  const shared = gemmSharedBytes(inputGradLayout(hostSpec.rank, placeOf(hostSpec) === 'loads', rider.spec.rank, inputGradTile(hostSpec)));
  return storage <= limits.storageBuffers && shared <= limits.sharedBytes;
}

/** One frozen-base adapter's gradient sum: its split partials (weightGradScratch of its spec) and its dA and dB. */
export interface AdapterSumJob<B> { part: B; da: B; dB: B; spec: BackwardSpec }

/** Adapters an adapter-sum launch takes on a device with `storageBuffers` storage buffers a stage (three buffers each). */
export const adapterSumsPerLaunch = (storageBuffers: number) => sharedSumsPerLaunch(ADAPTER_SUMS, storageBuffers);

/**
 * The gradient sums of frozen-base adapters whose backward left them (deferSum), all of
 * `jobs` in one launch (the caller keeps it to adapterSumsPerLaunch): the same floats as
 * a sum launch each, which cost the compiled LoRA step a launch per linear (38 at tiny,
 * 0.34 ms at batch 32 and 128 on the H200, mostly launches). Five a launch: 0.14 ms at
 * tiny b128, 0.11 at b32, 0.19 at small (0.46); the LoRA step 7.46 -> 7.39 ms, 3.27 ->
 * 3.18, 25.13 -> 25.07 (H200, two runs each in one call).
 */
export function adapterSumDispatches<B>(jobs: AdapterSumJob<B>[]): Dispatch<B>[] {
  return sharedSumDispatches(ADAPTER_SUMS, jobs.map((j) => splitSumJob(j.spec, [j.part, j.da, j.dB])));
}

export interface FusedLinearOptions {
  gelu?: boolean;
  residual?: tf.Tensor2D;
  inputGrad?: boolean;
  /** LinearSpec.splitAmong */
  splitAmong?: number;
}

/**
 * Workgroup memory the linear kernels need at LoRA rank r: the forward's and the input
 * gradient's layouts (their side workgroups stage an A tile and TK rows of the factor),
 * and the weight gradient's (16 rows of the factor).
 */
export function loraSharedBytes(rank: number): number {
  return maxOf([forwardLayout, inputGradLayout, weightGradLayout].map((layout) => gemmSharedBytes(layout(rank))));
}

/**
 * The largest LoRA rank whose kernels fit `bytes` of workgroup memory (the device's
 * limit): 188 in WebGPU's default 16 KiB, 444 in 32 KiB, 700 in the 48 KiB an H200 offers.
 */
export function largestLoraRank(bytes: number): number {
  let r = 0;
  while (r < 4096 && loraSharedBytes(r + 1) <= bytes) r++;
  return r;
}

/** The device's largest LoRA rank for these kernels; the config check refuses a higher one before a run starts. */
export function deviceLoraRankLimit(): number {
  return largestLoraRank(webgpu().device.limits.maxComputeWorkgroupStorageSize);
}

/**
 * Where a LoRA linear's merged weight W + s A B is made: a launch of its own, a launch
 * the caller shares among adapters ahead of the forward (mergeDispatches), or in its
 * products' loads.
 */
export const LORA_MERGE_PLACES = ['launch', 'batch', 'loads'] as const;
export type LoraMergePlace = (typeof LORA_MERGE_PLACES)[number];

/** Each place in words, for a tuning run's log. */
export const MERGE_PLACE_WORDS: Record<LoraMergePlace, string> = {
  launch: 'by a launch each', batch: 'ahead of the forward, several a launch', loads: "in the products' loads",
};

/**
 * The compiled step's place (tunable: `npm run bench -- --lora-merge loads`). The
 * op-by-op path makes it in the loads wherever that fits (mergesInLoads).
 */
export const LORA_MERGE: { compiled: LoraMergePlace } = { compiled: 'batch' };

/** The setting `--lora-merge` gives, checked; an error names what to change. */
export function parseLoraMerge(text: string): typeof LORA_MERGE | string {
  const place = LORA_MERGE_PLACES.find((p) => p === text);
  return place ? { compiled: place } : `--lora-merge: use ${LORA_MERGE_PLACES.join(' or ')} (got "${text.slice(0, 40)}")`;
}

/**
 * Whether a LoRA linear's merged weight can be made in its products' loads: where the
 * staged factor (rank x 64 floats) fits beside the tiles, else it takes a launch of its
 * own (the rank limit stays the launch's). The op-by-op path is bound by each launch's
 * host cost, and a merge launch per adapter made its LoRA phase launch more kernels
 * than the full phase (36 at tiny); the compiled step shares launches among adapters
 * ahead of its forward (LORA_MERGE) unless tuned.
 */
function mergesInLoads(rank: number): boolean {
  const need = Math.max(gemmSharedBytes(forwardLayout(rank, true)), gemmSharedBytes(inputGradLayout(rank, true)));
  return need <= webgpu().device.limits.maxComputeWorkgroupStorageSize;
}

/** The place `wanted` for an adapter of this rank, or a launch of its own where the loads cannot take it. */
export function mergePlaceFor(rank: number, wanted: LoraMergePlace): LoraMergePlace {
  return wanted === 'loads' && !mergesInLoads(rank) ? 'launch' : wanted;
}

function checkShared(rank: number): void {
  const need = loraSharedBytes(rank);
  const have = webgpu().device.limits.maxComputeWorkgroupStorageSize;
  if (need > have) throw new Error(`LoRA rank ${rank} needs ${need} bytes of workgroup memory, the device has ${have}: use a rank of at most ${largestLoraRank(have)}`);
}

/** y = x W + b (+ s (x A) B) (GELU'd) (+ residual), with the hand-written backward above. */
export function linearFused(
  x: tf.Tensor2D, weight: tf.Tensor2D, bias: tf.Tensor1D, adapter: AdapterTensors | undefined, frozen: boolean, o: FusedLinearOptions,
): tf.Tensor2D {
  const [rows, dIn] = x.shape;
  const dOut = weight.shape[1];
  const rank = adapter ? adapter.A.shape[1] : 0;
  if (rank) checkShared(rank);
  if (o.gelu && o.residual) throw new Error('linear: GELU and a residual together are not supported');
  const spec: BackwardSpec = {
    rows, dIn, dOut, rank, scale: adapter?.scale ?? 0, gelu: !!o.gelu, residual: !!o.residual,
    inputGrad: o.inputGrad !== false, base: !frozen, merge: rank > 0 ? mergePlaceFor(rank, 'loads') : undefined, splitAmong: o.splitAmong,
  };
  // the op's differentiable inputs, in order; the rest are constants of the closure
  const inputs: tf.Tensor[] = [];
  if (spec.inputGrad) inputs.push(x);
  if (spec.base) inputs.push(weight, bias);
  if (adapter) inputs.push(adapter.A, adapter.B);
  if (o.residual) inputs.push(o.residual);

  const forward = () => {
    const y = alloc([rows, dOut]);
    const u = spec.gelu ? alloc([rows, dOut]) : null;
    const xa = rank ? alloc([rows, rank]) : null;
    const wm = rank && spec.merge !== 'loads' ? alloc([dIn, dOut]) : null;
    const f: ForwardBuffers<Ref> = {
      x, w: weight, b: bias, res: o.residual, loraA: adapter?.A, loraB: adapter?.B, xa: xa ?? undefined, wm: wm ?? undefined,
    };
    if (u) Object.assign(f, { u, g: y });
    else f.y = y;
    forwardDispatches(spec, f).forEach(run);
    return { y: y as tf.Tensor2D, u, xa, wm };
  };
  if (inputs.length === 0) {
    const { y, u, xa, wm } = forward();
    tf.dispose([u, xa, wm] as tf.Tensor[]);
    return y;
  }
  let restore: (saved: tf.Tensor[]) => tf.Tensor[];
  // x A and the merged weight wait for the backward in this closure, not on the tape:
  // tfjs clones every tensor it saves (an Identity kernel each: 36 more a tiny LoRA step
  // than a full one for x A alone)
  let kept: { xa: tf.Tensor; wm: tf.Tensor | null } | null = null;
  // what the input gradient reads besides x (and u): the weight; with an adapter the
  // merged weight (kept) and B, or merged in the loads the weight, A and B
  const weights = adapter ? (spec.merge === 'loads' ? [weight, adapter.A, adapter.B] : [adapter.B]) : [weight];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const { y, u, xa, wm } = forward();
    const before = tf.memory().numTensors;
    restore = saveForBackward(args[args.length - 1] as tf.GradSaveFunc, [x, ...weights, ...(u ? [u] : [])]);
    // tfjs saves (clones x) only while it records a tape, whose backward then runs: keep
    // x A and W' for it; otherwise the forward's scope frees them
    if (xa && tf.memory().numTensors > before) kept = { xa: tf.keep(xa), wm: wm && tf.keep(wm) };
    return { value: y, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => backward(dy, restore(saved)) };
  });
  const backward = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
    // x, then `weights` (the merged weight is kept above), then u
    const [sx, ...rest] = saved as [tf.Tensor, ...tf.Tensor[]];
    const ws = rest.splice(0, weights.length);
    if (rank && !kept) throw new Error('linear: the backward of a LoRA linear ran without its forward on a tape');
    const u = spec.gelu ? rest.shift() : undefined;
    const dx = spec.inputGrad || rank ? alloc([rows, dIn]) : null;
    const dxa = rank ? alloc([rows, rank]) : null;
    const grads = {
      dw: spec.base ? alloc([dIn, dOut]) : undefined, db: spec.base ? alloc([dOut]) : undefined,
      da: rank ? alloc([dIn, rank]) : undefined, dB: rank ? alloc([rank, dOut]) : undefined,
    };
    const part = spec.base || rank ? alloc([weightGradScratch(spec).floats]) : null;
    const b: BackwardBuffers<Ref> = {
      x: sx, dx: dx ?? undefined, dxa: dxa ?? undefined, part: part ?? undefined, ...grads,
      ...(!rank ? { w: ws[0] } : spec.merge === 'loads' ? { w: ws[0], loraA: ws[1], loraB: ws[2], xa: kept!.xa } : { wm: kept!.wm!, loraB: ws[0], xa: kept!.xa }),
    };
    if (spec.gelu) Object.assign(b, { dg: dy, u });
    else b.dy = dy;
    backwardDispatches(spec, b).forEach(run);
    tf.dispose([part, dxa, kept?.xa, kept?.wm] as tf.Tensor[]);
    kept = null;
    const out: tf.Tensor[] = [];
    if (spec.inputGrad) out.push(dx!);
    else dx?.dispose();
    if (spec.base) out.push(grads.dw!, grads.db!);
    if (rank) out.push(grads.da!, grads.dB!);
    // the residual's gradient is dy itself (the tape only reads it or adds to it)
    if (o.residual) out.push(dy);
    return out;
  };
  return (op as (...t: tf.Tensor[]) => tf.Tensor2D)(...inputs);
}
