// One AdamW update of one variable, in place (decoupled weight decay, as PyTorch's
// AdamW). Composite tfjs ops; on WebGPU the fused kernel (webgpu/adamw.ts) updates
// many variables per launch from the same per-parameter numbers (`adamwRow`).
import * as tf from '@tensorflow/tfjs';
import type { AdamWRow } from './webgpu/adamw';

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

/** What the update needs from the step's numbers: the fused kernel gets these as a table row. */
export function adamwRow(h: AdamWHyper): AdamWRow {
  return { stepSize: h.lr / (1 - h.beta1 ** h.step), decay: 1 - h.lr * h.weightDecay, bc2: Math.sqrt(1 - h.beta2 ** h.step) };
}

export function adamwUpdate(w: tf.Variable, g: tf.Tensor, m: tf.Variable, v: tf.Variable, h: AdamWHyper): void {
  const row = adamwRow(h);
  tf.tidy(() => {
    const m1 = tf.add(tf.mul(m, h.beta1), tf.mul(g, 1 - h.beta1));
    const v1 = tf.add(tf.mul(v, h.beta2), tf.mul(tf.square(g), 1 - h.beta2));
    const denom = tf.add(tf.div(tf.sqrt(v1), row.bc2), h.epsilon);
    const decayed = h.weightDecay > 0 ? tf.mul(w, row.decay) : w;
    w.assign(tf.sub(decayed, tf.mul(tf.div(m1, denom), row.stepSize)));
    m.assign(m1);
    v.assign(v1);
  });
}
