// Softmax cross-entropy with label smoothing, averaged over the batch.
import * as tf from '@tensorflow/tfjs';

/** labels: int32 class ids [B]; smoothing spreads that mass evenly over all classes. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, smoothing: number): tf.Scalar {
  const classes = logits.shape[1];
  const target = tf.add(tf.mul(tf.oneHot(labels, classes), 1 - smoothing), smoothing / classes);
  return tf.neg(tf.mean<tf.Scalar>(tf.sum(tf.mul(target, tf.logSoftmax(logits)), -1)));
}
