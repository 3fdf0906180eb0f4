// The hot ops, each checked against its plain composite (tfjs's own gradients):
// same values, same gradients, on cpu and wasm (wasm takes the explicit-transpose path).
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { layerNorm, layerNormComposite } from '../../src/engine/ops/layernorm';
import { linear, linearComposite } from '../../src/engine/ops/linear';
import { maxAbsError, seededNormal, useBackend } from '../helpers/tf';

async function gradsOf(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], dySeed: number) {
  const y = f(...inputs);
  const dy = seededNormal(y.shape, dySeed);
  const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), dy)))(inputs);
  return { y: await y.data(), grads: await Promise.all(grads.map((g) => g.data())) };
}

describe.each(['cpu', 'wasm'] as const)('ops on %s', (backend) => {
  it('layerNorm with its own gradient matches the composite (values and all three gradients)', async () => {
    await useBackend(backend);
    const x = seededNormal([24, 16], 1, 3);
    const gamma = seededNormal([16], 2);
    const beta = seededNormal([16], 3);
    const custom = await gradsOf((a, g, b) => layerNorm(a as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-6), [x, gamma, beta], 4);
    const plain = await gradsOf((a, g, b) => layerNormComposite(a as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-6), [x, gamma, beta], 4);
    expect(maxAbsError(custom.y, plain.y)).toBeLessThan(1e-5);
    custom.grads.forEach((g, i) => expect(maxAbsError(g, plain.grads[i]!)).toBeLessThan(1e-4));
  });

  it.each([
    ['plain', false, false],
    ['with adapter', true, false],
    ['frozen base with adapter', true, true],
  ])('linear %s matches the composite', async (_, withAdapter, frozen) => {
    await useBackend(backend);
    const x = seededNormal([20, 12], 5);
    const w = seededNormal([12, 7], 6);
    const b = seededNormal([7], 7);
    const A = seededNormal([12, 4], 8);
    const B = seededNormal([4, 7], 9);
    const scale = 0.5;
    const adapter = (a: tf.Tensor, bm: tf.Tensor) => (withAdapter ? { A: a as tf.Tensor2D, B: bm as tf.Tensor2D, scale } : undefined);
    // a frozen base is a constant: differentiate with respect to x, A and B only
    const inputs = frozen ? [x, A, B] : [x, w, b, A, B];
    const call = (impl: typeof linearComposite | typeof linear) => (...xs: tf.Tensor[]) => {
      const [xx, ww, bb, aa, bbm] = frozen ? [xs[0]!, w, b, xs[1]!, xs[2]!] : xs;
      return impl(xx as tf.Tensor2D, ww as tf.Tensor2D, bb as tf.Tensor1D, adapter(aa!, bbm!), frozen);
    };
    const custom = await gradsOf(call(linear), withAdapter ? inputs : inputs.slice(0, frozen ? 1 : 3), 10);
    const plain = await gradsOf(call(linearComposite), withAdapter ? inputs : inputs.slice(0, frozen ? 1 : 3), 10);
    expect(maxAbsError(custom.y, plain.y)).toBeLessThan(1e-4);
    expect(custom.grads).toHaveLength(plain.grads.length);
    custom.grads.forEach((g, i) => expect(maxAbsError(g, plain.grads[i]!)).toBeLessThan(1e-4));
  });
});
