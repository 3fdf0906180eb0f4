// Softmax cross-entropy with label smoothing, averaged over the batch (fused on WebGPU:
// one kernel for the loss, one for its gradient).
import * as tf from '@tensorflow/tfjs';
import { kernelPath } from '../kernel-path';
import { crossEntropyFused } from './webgpu/cross-entropy';

/** labels: int32 class ids [B]; smoothing spreads that mass evenly over all classes. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, smoothing: number): tf.Scalar {
  if (kernelPath() === 'fused') return crossEntropyFused(logits, labels, smoothing);
  const classes = logits.shape[1];
  const target = tf.add(tf.mul(tf.oneHot(labels, classes), 1 - smoothing), smoothing / classes);
  return tf.neg(tf.mean<tf.Scalar>(tf.sum(tf.mul(target, tf.logSoftmax(logits)), -1)));
}
