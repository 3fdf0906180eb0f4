// Tensors to and from a checkpoint's host arrays: all of them read back in one stacked
// read (at a step boundary, never mid-step), and made again with their shapes checked.
import * as tf from '@tensorflow/tfjs';
import type { HostArray } from './format';

/** Every named tensor's values, in one read-back. */
export async function readTensors(named: [string, tf.Tensor][]): Promise<Map<string, HostArray>> {
  const out = new Map<string, HostArray>();
  if (!named.length) return out;
  const flat = tf.tidy(() => tf.concat(named.map(([, t]) => tf.reshape(tf.cast(t, 'float32'), [-1]))));
  const values = (await flat.data()) as Float32Array;
  flat.dispose();
  let at = 0;
  for (const [name, t] of named) {
    out.set(name, { shape: [...t.shape], data: values.slice(at, at + t.size) });
    at += t.size;
  }
  return out;
}

/** A checkpoint's tensor as a tfjs tensor of `shape`; a missing or misshapen one is named. */
export function takeTensor(tensors: ReadonlyMap<string, HostArray>, name: string, shape: readonly number[]): tf.Tensor {
  const t = tensors.get(name);
  if (!t) throw new Error(`the checkpoint has no tensor "${name}"`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`tensor "${name}" is [${t.shape.join(', ')}] in the checkpoint but [${shape.join(', ')}] in this run's model`);
  }
  return tf.tensor(t.data, [...shape], 'float32');
}
