// Exact GELU (erf form, as HF ViT's "gelu"), composite of tfjs ops: the reference a
// fused kernel must match.
import * as tf from '@tensorflow/tfjs';

export function gelu<T extends tf.Tensor>(x: T): T {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}
