// Fused AdamW, in place: each launch updates as many parameters as the device's
// storage buffers allow (3 per parameter: the weights, its moments m and v interleaved
// in one tensor, its gradient; 2 per launch on the default device, 5 on the H200's
// 16). Everything that changes from step to step (learning rate, bias corrections per
// parameter, decay) comes from one small table written once per step; the gradient
// clip factor is read on the device. No scalar is uploaded per parameter.
import * as tf from '@tensorflow/tfjs';
import { copyOf, isExclusive, run, stepUniform, storageBufferLimit, webgpu, type Ref } from './dispatch';
import { MAIN_ARGS, WID, makeKernel, memoKernel, type Dispatch, type Kernel } from './kernel';

const THREADS = 256;
/** The table's rows come in blocks of this many, so a few shader variants cover every model. */
const ROW_BLOCK = 64;

/** One parameter's row of the per-step table. */
export interface AdamWRow {
  /** lr / (1 - beta1^t) */
  stepSize: number;
  /** 1 - lr * weightDecay */
  decay: number;
  /** sqrt(1 - beta2^t) */
  bc2: number;
}

function adamwKernel(count: number, rows: number): Kernel {
  const key = `adamw.step/${count}/${rows}`;
  const ids = Array.from({ length: count }, (_, i) => i);
  return memoKernel(key, () => makeKernel({
    name: 'adamw.step', key,
    bindings: [
      { name: 'FACTOR', access: 'read' },
      { name: 'TABLE', access: 'uniform', type: 'Table' },
      ...ids.flatMap((i) => [
        { name: `W${i}`, access: 'rw' as const }, { name: `MV${i}`, access: 'rw' as const, type: 'vec2<f32>' },
        { name: `G${i}`, access: 'read' as const },
      ]),
    ],
    params: [
      ...ids.flatMap((i) => [{ name: `n${i}`, type: 'u32' as const }, { name: `row${i}`, type: 'u32' as const }, { name: `first${i}`, type: 'u32' as const }]),
      // 1 - beta as the composite path has it (rounded from double): 1 - f32(0.999) is 1.3e-5 off
      { name: 'beta1', type: 'f32' }, { name: 'beta2', type: 'f32' }, { name: 'oneMinusBeta1', type: 'f32' }, { name: 'oneMinusBeta2', type: 'f32' },
      { name: 'eps', type: 'f32' },
    ],
    body: `
struct Table { rows: array<vec4<f32>, ${rows}> }
fn update(w: f32, mv: vec2<f32>, graw: f32, row: u32) -> vec3<f32> {
  let g = graw * FACTOR[0];
  let m = mv.x * P.beta1 + g * P.oneMinusBeta1;
  let v = mv.y * P.beta2 + g * g * P.oneMinusBeta2;
  let h = TABLE.rows[row];
  let denom = sqrt(v) / h.z + P.eps;
  return vec3<f32>(w * h.y - (m / denom) * h.x, m, v);
}
@compute @workgroup_size(${THREADS})
fn main(${MAIN_ARGS}) {
  ${WID}
  ${ids.map((i) => `${i ? 'else ' : ''}if (wid >= P.first${i} && wid < P.first${i} + (P.n${i} + ${THREADS - 1}u) / ${THREADS}u) {
    let e = (wid - P.first${i}) * ${THREADS}u + t;
    if (e < P.n${i}) {
      let r = update(W${i}[e], MV${i}[e], G${i}[e], P.row${i});
      W${i}[e] = r.x;
      MV${i}[e] = r.yz;
    }
  }`).join('\n  ')}
}`,
  }));
}

export interface AdamWParam<B> {
  weights: B;
  /** m and v interleaved, twice the weights' size */
  moments: B;
  grad: B;
  size: number;
  /** this parameter's row in the step's table */
  row: number;
}

export interface AdamWConstants {
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** Parameters per launch on this device: 3 storage buffers each, plus the clip factor. */
export function paramsPerLaunch(storageBuffers: number): number {
  return Math.max(1, Math.floor((storageBuffers - 1) / 3));
}

/**
 * The most parameters one step's table holds on this device: it is a uniform binding,
 * at most maxUniformBufferBindingSize bytes (WebGPU's default, 64 KiB: 4,096 rows).
 * Past it every bind group of the step is invalid and the device drops the step (micro
 * at depth 256, 4,104 parameters, on Dawn): the config check refuses that model
 * (device-limits.ts), and the trainer stops a run whose work the device refused.
 */
export function deviceTableCapacity(): number {
  return Math.floor(webgpu().device.limits.maxUniformBufferBindingSize / 16 / ROW_BLOCK) * ROW_BLOCK;
}

export function tableRows(params: number): number {
  return Math.ceil(Math.max(1, params) / ROW_BLOCK) * ROW_BLOCK;
}

/** The step's table: one vec4 per parameter. */
export function adamwTable(rows: AdamWRow[]): Float32Array {
  const t = new Float32Array(4 * tableRows(rows.length));
  rows.forEach((r, i) => t.set([r.stepSize, r.decay, r.bc2, 0], 4 * i));
  return t;
}

export function adamwDispatches<B>(params: AdamWParam<B>[], c: AdamWConstants, perLaunch: number, b: { factor: B; table: B }): Dispatch<B>[] {
  const rows = tableRows(params.length);
  const out: Dispatch<B>[] = [];
  for (let at = 0; at < params.length; at += perLaunch) {
    const group = params.slice(at, at + perLaunch);
    let first = 0;
    const values: number[] = [];
    for (const p of group) {
      values.push(p.size, p.row, first);
      first += Math.ceil(p.size / THREADS);
    }
    out.push({
      kernel: adamwKernel(group.length, rows),
      buffers: [b.factor, b.table, ...group.flatMap((p) => [p.weights, p.moments, p.grad])],
      params: [...values, c.beta1, c.beta2, 1 - c.beta1, 1 - c.beta2, c.epsilon],
      workgroups: first,
    });
  }
  return out;
}

/**
 * One AdamW step of every parameter, in place, eagerly on tfjs's device. A tensor that
 * shares its data with another (tf.clone) gets its own copy first, so only it changes.
 */
export function adamwFused(
  params: { variable: tf.Variable; moments: tf.Variable; grad: tf.Tensor; row: AdamWRow }[],
  c: AdamWConstants,
  gradScale: tf.Tensor | undefined,
  one: tf.Tensor,
): void {
  if (params.length === 0) return;
  for (const p of params) {
    // e.g. the monitor's snapshot of W (tf.clone shares the data): W gets a copy to update
    if (!isExclusive(p.variable)) {
      const copy = copyOf(p.variable);
      p.variable.assign(copy);
      copy.dispose();
    }
  }
  const table = stepUniform(adamwTable(params.map((p) => p.row)));
  const list: AdamWParam<Ref>[] = params.map((p, i) => ({ weights: p.variable, moments: p.moments, grad: p.grad, size: p.variable.size, row: i }));
  adamwDispatches<Ref>(list, c, paramsPerLaunch(storageBufferLimit()), { factor: gradScale ?? one, table }).forEach(run);
}
