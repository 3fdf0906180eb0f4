// Fused softmax cross-entropy with label smoothing, averaged over the batch: the loss in
// one launch (a single workgroup: a step's batch is small), and its gradient
// dy * (softmax - target) / B in one launch from the logits, the labels and dy.
import * as tf from '@tensorflow/tfjs';
import { alloc, run, type Ref } from './dispatch';
import { MAIN_ARGS, WID, makeKernel, type Dispatch } from './kernel';
import { reduceSumWgsl } from './wgsl';

const params = [{ name: 'B', type: 'u32' as const }, { name: 'C', type: 'u32' as const }, { name: 'smoothing', type: 'f32' as const }];
const logits = [{ name: 'L', access: 'read' as const }, { name: 'Y', access: 'read' as const, type: 'i32' }];

/** log-sum-exp of row b, and the smoothed target's weight of class c. */
const rowHelpers = `
fn lse(b: u32) -> f32 {
  var mx = -3.0e38;
  for (var c = 0u; c < P.C; c++) { mx = max(mx, L[b * P.C + c]); }
  var s = 0.0;
  for (var c = 0u; c < P.C; c++) { s += exp(L[b * P.C + c] - mx); }
  return mx + log(s);
}
fn smoothed(b: u32, c: u32) -> f32 {
  let hit = select(0.0, 1.0, Y[b] == i32(c));
  return hit * (1.0 - P.smoothing) + P.smoothing / f32(P.C);
}`;

const lossKernel = makeKernel({
  name: 'cross-entropy.loss', key: 'cross-entropy.loss', params,
  bindings: [...logits, { name: 'OUT', access: 'rw' }],
  body: `${rowHelpers}
${reduceSumWgsl(256)}
@compute @workgroup_size(256)
fn main(${MAIN_ARGS}) {
  var s = 0.0;
  for (var b = t; b < P.B; b += 256u) {
    let z = lse(b);
    // -sum_c target_c * log softmax_c
    for (var c = 0u; c < P.C; c++) { s += smoothed(b, c) * (z - L[b * P.C + c]); }
  }
  let total = reduceSum(t, s);
  if (t == 0u) { OUT[0] = total / f32(P.B); }
}`,
});

const gradKernel = makeKernel({
  name: 'cross-entropy.grad', key: 'cross-entropy.grad', params,
  bindings: [...logits, { name: 'DY', access: 'read' }, { name: 'DL', access: 'rw' }],
  body: `${rowHelpers}
@compute @workgroup_size(64)
fn main(${MAIN_ARGS}) {
  ${WID}
  let b = wid * 64u + t;
  if (b >= P.B) { return; }
  let z = lse(b);
  let g = DY[0] / f32(P.B);
  for (var c = 0u; c < P.C; c++) { DL[b * P.C + c] = g * (exp(L[b * P.C + c] - z) - smoothed(b, c)); }
}`,
});

export interface CrossEntropySpec {
  batch: number;
  classes: number;
  smoothing: number;
}

const paramsOf = (s: CrossEntropySpec) => [s.batch, s.classes, s.smoothing];

export function lossDispatches<B>(s: CrossEntropySpec, b: { logits: B; labels: B; loss: B }): Dispatch<B>[] {
  return [{ kernel: lossKernel, buffers: [b.logits, b.labels, b.loss], params: paramsOf(s), workgroups: 1 }];
}

export function gradDispatches<B>(s: CrossEntropySpec, b: { logits: B; labels: B; dy: B; dlogits: B }): Dispatch<B>[] {
  return [{ kernel: gradKernel, buffers: [b.logits, b.labels, b.dy, b.dlogits], params: paramsOf(s), workgroups: Math.ceil(s.batch / 64) }];
}

export function crossEntropyFused(logitsT: tf.Tensor2D, labels: tf.Tensor1D, smoothing: number): tf.Scalar {
  const [batch, classes] = logitsT.shape;
  const spec = { batch, classes, smoothing };
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [l, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const loss = alloc([]);
    lossDispatches<Ref>(spec, { logits: l, labels, loss }).forEach(run);
    save([l, labels]);
    return {
      value: loss as tf.Scalar,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const dlogits = alloc([batch, classes]);
        gradDispatches<Ref>(spec, { logits: saved[0]!, labels: saved[1]!, dy, dlogits }).forEach(run);
        return [dlogits];
      },
    };
  });
  return (op as (l: tf.Tensor) => tf.Scalar)(logitsT);
}
