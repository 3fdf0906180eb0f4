// tf.variable(t) shares t's data and leaves t alive: a model built from fresh tensors
// keeps one orphan tensor per parameter (its initial value) after it is disposed, and
// holds the initial weights' memory once training has assigned new values. Make the
// variable, then let go of the tensor it came from.
import * as tf from '@tensorflow/tfjs';

export function variableFrom<R extends tf.Rank>(initial: tf.Tensor<R>, trainable: boolean, name?: string): tf.Variable<R> {
  const v = tf.variable(initial, trainable, name);
  initial.dispose();
  return v;
}
