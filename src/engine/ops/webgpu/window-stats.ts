// The PreLoRA monitor's per-module statistics at a window's end, fused: for each module
// ||W||, ||W - S||, ||S|| and <W - S, W + S> (S: W's snapshot at the last window), a
// workgroup per module and a launch per group of modules that fit the device's storage
// buffers. The composite path (monitor.ts) spends 28 tfjs kernels a module on it (1,013
// at tiny, counted with tf.profile): every window end took 12-28 ms more than a window's
// other steps in the page on the H200 (tiny, batch 128 and 32); fused, 1-5 ms.
import * as tf from '@tensorflow/tfjs';
import { alloc, run, storageBufferLimit, type Ref } from './dispatch';
import { MAIN_ARGS, WID, makeKernel, memoKernel, type Dispatch, type Kernel } from './kernel';
import { reduceSumWgsl } from './wgsl';

const THREADS = 256;

/** Modules a launch takes: two bindings each beside the output, at most 8 (each is a case of the kernel's switch). */
const modulesPerLaunch = (storageBuffers: number) => Math.max(1, Math.min(8, Math.floor((storageBuffers - 1) / 2)));

function statsKernel(count: number): Kernel {
  const ids = Array.from({ length: count }, (_, i) => i);
  const key = `monitor.window-stats/${count}`;
  return memoKernel(key, () => makeKernel({
    name: 'monitor.window-stats', key,
    bindings: [{ name: 'OUT', access: 'rw' }, ...ids.flatMap((i) => [{ name: `W${i}`, access: 'read' as const }, { name: `S${i}`, access: 'read' as const }])],
    // OUT holds 4 rows of M (all modules); this launch's modules start at `first`
    params: [{ name: 'M', type: 'u32' }, { name: 'first', type: 'u32' }, ...ids.map((i) => ({ name: `n${i}`, type: 'u32' as const }))],
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
  let g = min(wid, ${count - 1}u);
  var acc = vec4<f32>(0.0);
  for (var i = t; i < sizes[g]; i += ${THREADS}u) { acc += terms(g, i); }
  let r = reduceSum(t, acc);
  if (t == 0u && wid < ${count}u) {
    let m = P.first + wid;
    OUT[m] = sqrt(r.x);
    OUT[P.M + m] = sqrt(r.y);
    OUT[2u * P.M + m] = sqrt(r.z);
    OUT[3u * P.M + m] = r.w;
  }
}`,
  }));
}

/**
 * The launches for modules (W, S) into OUT [4M]: rows ||W||, ||W - S||, ||S||, <W - S, W + S>.
 * A module without a snapshot is given W as S (its rows 2-4 are then 0, ||W|| and 0: its
 * caller reads only ||W||).
 */
export function windowStatsDispatches<B>(mods: { w: B; s: B; size: number }[], out: B, storageBuffers: number): Dispatch<B>[] {
  const per = modulesPerLaunch(storageBuffers);
  const launches: Dispatch<B>[] = [];
  for (let first = 0; first < mods.length; first += per) {
    const group = mods.slice(first, first + per);
    const kernel = statsKernel(per);
    // a last, smaller group repeats its last module in the unused bindings (never read: no workgroup for them)
    const padded = [...group, ...Array.from({ length: per - group.length }, () => group.at(-1)!)];
    launches.push({
      kernel, buffers: [out, ...padded.flatMap((m) => [m.w, m.s])],
      params: [mods.length, first, ...padded.map((m, i) => (i < group.length ? m.size : 0))],
      workgroups: group.length,
    });
  }
  return launches;
}

/** The four rows for these modules as one [4M] tensor (fused path; `snaps[i]` null: no snapshot). */
export function windowStatsFused(weights: tf.Tensor[], snaps: (tf.Tensor | null)[]): tf.Tensor1D {
  const out = alloc([4 * weights.length]);
  const mods = weights.map((w, i) => ({ w: w as Ref, s: (snaps[i] ?? w) as Ref, size: w.size }));
  windowStatsDispatches<Ref>(mods, out, storageBufferLimit()).forEach(run);
  return out as tf.Tensor1D;
}
