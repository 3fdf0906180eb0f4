// LayerNorm over the last axis with a hand-written gradient. tfjs's own gradient of
// `tf.mean` (inside `tf.moments`) builds a full-size ones tensor in JavaScript and
// uploads it every step (37% of a ViT step on a real GPU); this one stays on device.
import * as tf from '@tensorflow/tfjs';
import { kernelPath } from '../kernel-path';
import { layerNormFused } from './webgpu/layernorm';

type LayerNormFn = (x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D) => tf.Tensor2D;

const byEpsilon = new Map<number, LayerNormFn>();

function makeLayerNorm(eps: number): LayerNormFn {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [x, gamma, beta, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    const mean = tf.mean(x, -1, true);
    const centred = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centred), -1, true);
    const rstd = tf.rsqrt(tf.add(variance, eps));
    const xhat = tf.mul(centred, rstd);
    save([xhat, rstd, gamma]);
    return {
      value: tf.add(tf.mul(xhat, gamma), beta) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sr, sg] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
        const dxhat = tf.mul(dy, sg);
        // d/dx of (x - mean) * rstd, with both the mean and rstd depending on x
        const dx = tf.mul(
          sr,
          tf.sub(tf.sub(dxhat, tf.mean(dxhat, -1, true)), tf.mul(sx, tf.mean(tf.mul(dxhat, sx), -1, true))),
        );
        return [dx, tf.sum(tf.mul(dy, sx), 0), tf.sum(dy, 0)];
      },
    };
  });
  return f as unknown as LayerNormFn;
}

/** y = (x - mean) / sqrt(var + eps) * gamma + beta, over the last axis of [N, D]. */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor2D {
  if (kernelPath() === 'fused') return layerNormFused(x, gamma, beta, eps);
  let f = byEpsilon.get(eps);
  if (!f) {
    f = makeLayerNorm(eps);
    byEpsilon.set(eps, f);
  }
  return f(x, gamma, beta);
}

/** The plain composite (tfjs's own gradients): the reference the custom gradient is tested against. */
export function layerNormComposite(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps: number): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
}
