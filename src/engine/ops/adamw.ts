// One AdamW update of one variable, in place (decoupled weight decay, as PyTorch's
// AdamW). Composite tfjs ops; a fused kernel can replace it behind this signature.
import * as tf from '@tensorflow/tfjs';

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  /** 0 for variables that are not decayed (biases, norms, embeddings) */
  weightDecay: number;
  /** 1-based count of updates so far, for the bias corrections */
  step: number;
}

export function adamwUpdate(w: tf.Variable, g: tf.Tensor, m: tf.Variable, v: tf.Variable, h: AdamWHyper): void {
  tf.tidy(() => {
    const m1 = tf.add(tf.mul(m, h.beta1), tf.mul(g, 1 - h.beta1));
    const v1 = tf.add(tf.mul(v, h.beta2), tf.mul(tf.square(g), 1 - h.beta2));
    const stepSize = h.lr / (1 - h.beta1 ** h.step);
    const denom = tf.add(tf.div(tf.sqrt(v1), Math.sqrt(1 - h.beta2 ** h.step)), h.epsilon);
    const decayed = h.weightDecay > 0 ? tf.mul(w, 1 - h.lr * h.weightDecay) : w;
    w.assign(tf.sub(decayed, tf.mul(tf.div(m1, denom), stepSize)));
    m.assign(m1);
    v.assign(v1);
  });
}
