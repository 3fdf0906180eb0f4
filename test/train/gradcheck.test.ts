// Gradient check of the whole ViT on the cpu backend: analytic gradients (custom
// LayerNorm and linear gradients included) against central finite differences.
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeConfig } from '../../src/engine/config';
import { crossEntropy } from '../../src/engine/ops/cross-entropy';
import { ViT } from '../../src/engine/vit';
import { seededNormal, useBackend } from '../helpers/tf';

describe('ViT gradients on cpu', () => {
  let model: ViT;
  let loss: () => tf.Scalar;
  beforeAll(async () => {
    await useBackend('cpu');
    const cfg = makeConfig('nano', { model: { imageSize: 8, patchSize: 4, width: 8, depth: 2, heads: 2, numClasses: 3 } });
    model = new ViT(cfg.model, 3);
    // Larger weights than the 0.02 init, so every path carries a gradient well above
    // float32 noise; a LoRA adapter on one module so A and B are checked too.
    const q = model.blocks[1]!.linears.query;
    q.addAdapter(2, 4, 11);
    let seed = 100;
    for (const [, v] of model.namedVariables()) v.assign(seededNormal(v.shape, seed++, 0.5));
    const x = seededNormal([2, 8, 8, 3], 7) as tf.Tensor4D;
    const y = tf.tensor1d([0, 2], 'int32');
    loss = () => crossEntropy(model.forward(x), y, 0.1);
  });
  afterAll(() => model.dispose());

  it('matches central differences for a few entries of every parameter', async () => {
    const variables = model.namedVariables();
    const { grads } = tf.variableGrads(loss, variables.map(([, v]) => v));
    const eps = 1e-2;
    let checked = 0;
    for (const [name, v] of variables) {
      const g = await grads[v.name]!.data();
      const original = await v.data();
      // the two largest entries: a gradient near zero says nothing about the math
      const order = Array.from(g.keys()).sort((a, b) => Math.abs(g[b]!) - Math.abs(g[a]!)).slice(0, 2);
      for (const i of order) {
        const at = async (delta: number) => {
          const w = Float32Array.from(original);
          w[i]! += delta;
          v.assign(tf.tensor(w, v.shape));
          return (await loss().data())[0]!;
        };
        const numeric = ((await at(eps)) - (await at(-eps))) / (2 * eps);
        v.assign(tf.tensor(original, v.shape));
        checked++;
        // the key bias has a true zero gradient (softmax ignores a shift of all scores)
        if (name.endsWith('key.bias')) {
          expect(Math.max(Math.abs(g[i]!), Math.abs(numeric))).toBeLessThan(1e-5);
          continue;
        }
        const rel = Math.abs(g[i]! - numeric) / Math.max(Math.abs(numeric), Math.abs(g[i]!));
        expect(rel, `${name}[${i}]: analytic ${g[i]} vs numeric ${numeric}`).toBeLessThan(1e-2);
      }
    }
    // class token, positions, patch projection, 2 blocks x (2 norms + 6 linears) + adapter, final norm, head
    expect(checked).toBe(2 * variables.length);
    expect(variables.map(([n]) => n)).toContain('vit.encoder.layer.1.attention.attention.query.lora_A');
  });
});
