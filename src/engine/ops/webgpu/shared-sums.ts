// Sums of several tensors' split partials in one launch: each tensor's outputs summed
// over its partial rows in order, on lanes of its own (sumLanes), so the floats are
// those of a sum launch each (splitSumWgsl's order). The compiled step gathers the LoRA
// adapters' and the LayerNorms' gradient sums so: their cost was the launches (~8 us
// each on the H200), not the adds.
import { MAIN_ARGS, WID, makeKernel, memoKernel, type Dispatch, type Kernel, type ParamSpec } from './kernel';
import { sumLanes, sumOutputsPerGroup } from './wgsl';

/** One family of sums: what a tensor binds after its partials, its own params, and how an output is stored. */
export interface SharedSum {
  /** the kernel's name (and key) */
  name: string;
  /** the buffers a tensor's sums are written to, after its PART (each suffixed with the tensor's index) */
  outputs: string[];
  /** params of a tensor after first, outputs, parts and lanes (suffixed likewise) */
  extra: ParamSpec[];
  /** WGSL that stores output `e`'s `total` for tensor i (P's fields and the bindings suffixed i) */
  store: (i: number) => string;
}

/** The kernel summing `count` tensors of a family, the first workgroup of each in its param `first`. */
export function sharedSumKernel(s: SharedSum, count: number): Kernel {
  const key = `${s.name}/shared-x${count}`;
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
  ${[...each].reverse().map((i) => `if (wid >= P.first${i}) { sum${i}(wid - P.first${i}, t); return; }`).join('\n  ')}
}
${each.map((i) => `fn sum${i}(w: u32, t: u32) {
  let SL = P.lanes${i};
  let SC = 256u / SL;
  let E = P.outputs${i};
  let e = w * SC + t % SC;
  var s = 0.0;
  if (e < E) {
    for (var p = t / SC; p < P.parts${i}; p += SL) { s += PART${i}[p * E + e]; }
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
  const params: number[] = [];
  let first = 0;
  for (const j of jobs) {
    const lanes = sumLanes(j.parts);
    params.push(first, j.outputs, j.parts, lanes, ...j.extra);
    first += Math.ceil(j.outputs / sumOutputsPerGroup(lanes));
  }
  return [{ kernel: sharedSumKernel(s, jobs.length), buffers: jobs.flatMap((j) => j.buffers), params, workgroups: first }];
}

/** Tensors a shared-sum launch of `s` takes on a device with `storageBuffers` storage buffers a stage. */
export const sharedSumsPerLaunch = (s: SharedSum, storageBuffers: number) => Math.max(1, Math.floor(storageBuffers / (1 + s.outputs.length)));
