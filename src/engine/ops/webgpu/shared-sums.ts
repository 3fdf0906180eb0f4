// Sums of split partials, of one tensor or of several in one launch: each tensor's
// outputs summed over its partial rows in order, on lanes of its own (sumLanes), so the
// floats do not depend on which tensors share the launch. Every split sum of the
// linears and LayerNorms is this kernel; the compiled step gathers the LoRA adapters'
// and the LayerNorms' so: their cost was the launches (~8 us each on the H200), not the adds.
import { MAIN_ARGS, WID, jobBranches, jobParams, makeKernel, memoKernel, type Dispatch, type Kernel, type ParamSpec } from './kernel';
import { inOrderSumWgsl } from './wgsl';

/**
 * Lanes per output for an in-order sum of `parts` partials: each lane reads about eight.
 * One thread per output summing 130 partials (a LoRA weight gradient split 130 ways at
 * tiny batch 128) waits on 130 loads in a row; several lanes each summing every L-th
 * partial, then adding their sums in lane order, keep the order fixed and the loads in
 * flight.
 */
export function sumLanes(parts: number): number {
  let lanes = 1;
  while (lanes < MOST_SUM_LANES && lanes * 8 < parts) lanes *= 2;
  return lanes;
}

/**
 * The most lanes an output's sum takes. LayerNorm's (dgamma, dbeta) sums over 1,664
 * partial rows (tiny and small at batch 128) had 32, each lane waiting on 52 loads in
 * a row; with 64 the 13 (17) sums of a step took 0.189 ms instead of 0.246 at tiny b128,
 * 0.250 instead of 0.334 at small, 0.155 instead of 0.190 at tiny b32 (H200, one call);
 * with 256, 0.179, 0.281 and 0.154.
 */
const MOST_SUM_LANES = 64;

/**
 * Partials a lane loads before it adds them (in order): one load then one add at a
 * time, a lane's sum was a chain of waits on memory as long as its partials. Eight at
 * once took a full step's weight-gradient sums 0.412 -> 0.361 ms at tiny b128 (0.576
 * -> 0.501 on small), the LoRA phase's adapter sums 0.161 -> 0.147, the LayerNorms'
 * 0.075 -> 0.050 (H200, one call, launches timed one by one); the same floats.
 */
const SUM_LOADS = 8;

/** Outputs per 256-thread workgroup of an in-order split sum on `lanes` lanes. */
export const sumOutputsPerGroup = (lanes: number) => 256 / lanes;

/** One family of sums: what a tensor binds after its partials, its own params, and how an output is stored. */
export interface SharedSum {
  /** the kernel's name (the op kind it is counted as) */
  name: string;
  /** what tells this family's kernels from another family's of the same name (in the key) */
  variant?: string;
  /** the buffers a tensor's sums are written to, after its PART (each suffixed with the tensor's index) */
  outputs: string[];
  /** params of a tensor after first, outputs, parts and lanes (suffixed likewise) */
  extra: ParamSpec[];
  /** WGSL that stores output `e`'s `total` for tensor i (P's fields and the bindings suffixed i) */
  store: (i: number) => string;
}

/**
 * The kernel summing `count` tensors of a family, the first workgroup of each in its
 * param `first`; with `lanes`, every tensor's lanes are that constant (its param unread).
 * With the lanes a param, a linear's own weight-gradient sums took 6% longer than in a
 * kernel of constant lanes (tiny b128 on the H200: 0.396 -> 0.422 ms a full step).
 */
export function sharedSumKernel(s: SharedSum, count: number, lanes?: number): Kernel {
  const key = `${s.name}${s.variant ? `/${s.variant}` : ''}/shared-x${count}${lanes ? `/l${lanes}` : ''}`;
  const each = Array.from({ length: count }, (_, i) => i);
  return memoKernel(key, () => makeKernel({
    name: s.name, key,
    bindings: each.flatMap((i) => [{ name: `PART${i}`, access: 'read' as const }, ...s.outputs.map((o) => ({ name: `${o}${i}`, access: 'rw' as const }))]),
    params: each.flatMap((i) => [
      ...['first', 'outputs', 'parts', 'lanes'].map((p) => ({ name: `${p}${i}`, type: 'u32' as const })),
      ...s.extra.map((p) => ({ ...p, name: `${p.name}${i}` })),
    ]),
    body: `
var<workgroup> sumScratch: array<f32, 256>;
@compute @workgroup_size(256)
fn main(${MAIN_ARGS}) {
  ${WID}
  ${jobBranches(count, (i, w) => `sum${i}(${w}, t);`)}
}
${each.map((i) => `fn sum${i}(w: u32, t: u32) {
  let SL = ${lanes ? `${lanes}u` : `P.lanes${i}`};
  let SC = ${lanes ? `${256 / lanes}u` : '256u / SL'};
  let E = P.outputs${i};
  let e = w * SC + t % SC;
  var s = 0.0;
  if (e < E) {
    ${inOrderSumWgsl('s', 't / SC', 'SL', `P.parts${i}`, SUM_LOADS, (p) => `PART${i}[(${p}) * E + e]`)}
  }
  sumScratch[t] = s;
  workgroupBarrier();
  if (t < SC && e < E) {
    var total = 0.0;
    for (var l = 0u; l < SL; l++) { total += sumScratch[l * SC + t]; }
    ${s.store(i)}
  }
}`).join('\n')}`,
  }));
}

/** One tensor's sum: its partials then its outputs' buffers, its output and partial counts, its extra params. */
export interface SharedSumJob<B> { buffers: B[]; outputs: number; parts: number; extra: number[] }

/** One launch of `jobs` (the caller keeps them within the storage buffers a stage). */
export function sharedSumDispatches<B>(s: SharedSum, jobs: SharedSumJob<B>[]): Dispatch<B>[] {
  if (!jobs.length) return [];
  const lanes = jobs.map((j) => sumLanes(j.parts));
  const same = lanes.every((l) => l === lanes[0]) ? lanes[0] : undefined;
  return [{
    kernel: sharedSumKernel(s, jobs.length, same), buffers: jobs.flatMap((j) => j.buffers),
    ...jobParams(jobs, (j, i) => Math.ceil(j.outputs / sumOutputsPerGroup(lanes[i]!)), (j, i) => [j.outputs, j.parts, lanes[i]!, ...j.extra]),
  }];
}

/** Tensors a shared-sum launch of `s` takes on a device with `storageBuffers` storage buffers a stage. */
export const sharedSumsPerLaunch = (s: SharedSum, storageBuffers: number) => Math.max(1, Math.floor(storageBuffers / (1 + s.outputs.length)));
