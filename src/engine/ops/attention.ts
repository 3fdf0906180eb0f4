// Multi-head scaled dot-product attention from matMul + softmax (tfjs's einsum has
// no gradient). Tokens travel as [batch * tokens, width] between ops. On the fused path
// one kernel forward and two backward (ops/webgpu/attention.ts).
import * as tf from '@tensorflow/tfjs';
import { kernelPath } from '../kernel-path';
import { attentionFused } from './webgpu/attention';

export interface AttentionShape {
  batch: number;
  tokens: number;
  heads: number;
}

/** q, k, v: [B*T, D]; returns softmax(q k^T / sqrt(dh)) v as [B*T, D]. */
export function attention(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, s: AttentionShape): tf.Tensor2D {
  if (kernelPath() === 'fused') return attentionFused(q, k, v, s);
  const width = q.shape[1];
  const headDim = width / s.heads;
  const split = (m: tf.Tensor2D) =>
    tf.transpose(tf.reshape(m, [s.batch, s.tokens, s.heads, headDim]), [0, 2, 1, 3]) as tf.Tensor4D;
  // scale q ([B*T, D]) rather than the scores ([B, H, T, T]): fewer elements to touch
  const scores = tf.matMul(split(tf.mul(q, 1 / Math.sqrt(headDim))), split(k), false, true);
  const mixed = tf.matMul(tf.softmax(scores), split(v));
  return tf.reshape(tf.transpose(mixed, [0, 2, 1, 3]), [s.batch * s.tokens, width]);
}
