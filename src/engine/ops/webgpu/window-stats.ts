// The PreLoRA monitor's per-module statistics at a window's end, fused: for each module
// ||W||, ||W - S||, ||S|| and <W - S, W + S> (S: W's snapshot at the last window). The
// composite path (monitor.ts) spends 28 tfjs kernels a module on it (1,013 at tiny,
// counted with tf.profile): every window end took 12-28 ms more than a window's other
// steps in the page on the H200 (tiny, batch 128 and 32). Fused with a workgroup per
// module, it was 1-5 ms there, and the page's interval holding a window end still ran
// about 3 ms (tiny) and 8-9 ms (small) longer than the others on the H100: 48 workgroups
// (small) streamed 57 MB of weights and as much of snapshots, one SM each. Now in two
// passes: each module's elements in chunks of CHUNK, a workgroup a chunk (the modules of
// a launch as many as the device's storage buffers bind), their partial sums then added
// up per module in one launch: with a window every 10 steps (H100, Node + Dawn, one call)
// small b128's read-back intervals 25.28-25.31 -> 24.57-24.58 ms a step (its step 24.44),
// tiny b128's 7.18-7.20 -> 7.06-7.08; in the page the window's interval ran as the others.
import * as tf from '@tensorflow/tfjs';
import { alloc, run, storageBufferLimit, type Ref } from './dispatch';
import { MAIN_ARGS, WID, makeKernel, memoKernel, type Dispatch, type Kernel } from './kernel';
import { reduceSumWgsl } from './wgsl';
import { maxOf } from '../../extremes';

const THREADS = 256;
/** Elements a workgroup of the first pass sums: 16 a thread (small's fc1 weight is 144 chunks). */
export const CHUNK = 16 * THREADS;

/** Modules a launch takes: two bindings each beside the partials, at most 8 (each is a case of the kernel's switch). */
const modulesPerLaunch = (storageBuffers: number) => Math.max(1, Math.min(8, Math.floor((storageBuffers - 1) / 2)));

/** Pass 1: a workgroup per chunk of a module, its four sums into PART[module * chunks + chunk] (0 past the module's end). */
function chunkKernel(count: number): Kernel {
  const ids = Array.from({ length: count }, (_, i) => i);
  const key = `monitor.window-stats/${count}`;
  return memoKernel(key, () => makeKernel({
    name: 'monitor.window-stats', key,
    bindings: [{ name: 'PART', access: 'rw', type: 'vec4<f32>' }, ...ids.flatMap((i) => [{ name: `W${i}`, access: 'read' as const }, { name: `S${i}`, access: 'read' as const }])],
    // this launch's `mods` modules start at module `first`; each has `chunks` slots of partials
    params: [{ name: 'first', type: 'u32' }, { name: 'mods', type: 'u32' }, { name: 'chunks', type: 'u32' }, ...ids.map((i) => ({ name: `n${i}`, type: 'u32' as const }))],
    body: `
${reduceSumWgsl(THREADS, 'reduceSum', 'vec4<f32>')}
// w^2, (w - s)^2, s^2 and (w - s)(w + s) of element i of module g
fn terms(g: u32, i: u32) -> vec4<f32> {
  var w = 0.0; var s = 0.0;
  switch g {
    ${ids.map((i) => `case ${i}u: { w = W${i}[i]; s = S${i}[i]; }`).join('\n    ')}
    default: {}
  }
  let d = w - s;
  return vec4<f32>(w * w, d * d, s * s, d * (w + s));
}
@compute @workgroup_size(${THREADS})
fn main(${MAIN_ARGS}) {
  ${WID}
  var sizes = array<u32, ${count}>(${ids.map((i) => `P.n${i}`).join(', ')});
  let g = min(wid / P.chunks, ${count - 1}u);
  let c = wid % P.chunks;
  let end = min(sizes[g], (c + 1u) * ${CHUNK}u);
  var acc = vec4<f32>(0.0);
  for (var i = c * ${CHUNK}u + t; i < end; i += ${THREADS}u) { acc += terms(g, i); }
  let r = reduceSum(t, acc);
  // a launch folded past 65,535 workgroups has more than its modules' (none writes past them)
  if (t == 0u && wid < P.mods * P.chunks) { PART[(P.first + g) * P.chunks + c] = r; }
}`,
  }));
}

/** Pass 2: a workgroup per module, its chunks' partials added up into OUT's four rows. */
function sumKernel(): Kernel {
  const key = 'monitor.window-stats-sum';
  return memoKernel(key, () => makeKernel({
    name: 'monitor.window-stats', key,
    bindings: [{ name: 'OUT', access: 'rw' }, { name: 'PART', access: 'read', type: 'vec4<f32>' }],
    params: [{ name: 'M', type: 'u32' }, { name: 'chunks', type: 'u32' }],
    body: `
${reduceSumWgsl(THREADS, 'reduceSum', 'vec4<f32>')}
@compute @workgroup_size(${THREADS})
fn main(${MAIN_ARGS}) {
  ${WID}
  let m = min(wid, P.M - 1u);
  var acc = vec4<f32>(0.0);
  for (var c = t; c < P.chunks; c += ${THREADS}u) { acc += PART[m * P.chunks + c]; }
  let r = reduceSum(t, acc);
  if (t == 0u && wid < P.M) {
    OUT[m] = sqrt(r.x);
    OUT[P.M + m] = sqrt(r.y);
    OUT[2u * P.M + m] = sqrt(r.z);
    OUT[3u * P.M + m] = r.w;
  }
}`,
  }));
}

/** The partials' chunks a module has: the largest module's (every module has as many slots). */
const windowStatsChunks = (sizes: number[]): number => maxOf(sizes.map((n) => Math.ceil(n / CHUNK)), 1);

/**
 * The launches for modules (W, S) into OUT [4M]: rows ||W||, ||W - S||, ||S||, <W - S, W + S>,
 * through PART, [4 M windowStatsChunks] floats. A module without a snapshot is given W
 * as S (its rows 2-4 are then 0, ||W|| and 0: its caller reads only ||W||).
 */
export function windowStatsDispatches<B>(mods: { w: B; s: B; size: number }[], out: B, part: B, storageBuffers: number): Dispatch<B>[] {
  const per = modulesPerLaunch(storageBuffers);
  const chunks = windowStatsChunks(mods.map((m) => m.size));
  const launches: Dispatch<B>[] = [];
  for (let first = 0; first < mods.length; first += per) {
    const group = mods.slice(first, first + per);
    // a last, smaller group repeats its last module in the unused bindings (never read: no workgroup for them)
    const padded = [...group, ...Array.from({ length: per - group.length }, () => group.at(-1)!)];
    launches.push({
      kernel: chunkKernel(per), buffers: [part, ...padded.flatMap((m) => [m.w, m.s])],
      params: [first, group.length, chunks, ...padded.map((m, i) => (i < group.length ? m.size : 0))],
      workgroups: group.length * chunks,
    });
  }
  launches.push({ kernel: sumKernel(), buffers: [out, part], params: [mods.length, chunks], workgroups: mods.length });
  return launches;
}

/** The four rows for these modules as one [4M] tensor (fused path; `snaps[i]` null: no snapshot). */
export function windowStatsFused(weights: tf.Tensor[], snaps: (tf.Tensor | null)[]): tf.Tensor1D {
  const out = alloc([4 * weights.length]);
  const mods = weights.map((w, i) => ({ w: w as Ref, s: (snaps[i] ?? w) as Ref, size: w.size }));
  const part = alloc([4 * weights.length * windowStatsChunks(mods.map((m) => m.size))]);
  windowStatsDispatches<Ref>(mods, out, part, storageBufferLimit()).forEach(run);
  part.dispose(); // its buffer goes back to tfjs's pool once the launches that use it are submitted
  return out as tf.Tensor1D;
}
