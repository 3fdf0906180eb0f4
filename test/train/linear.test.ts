// Linear with a LoRA adapter: adding it changes nothing, merging equals the adapter
// path, and a frozen base stays bit-identical through real training steps.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { makeConfig } from '../../src/engine/config';
import { syntheticDataset } from '../../src/engine/data/synthetic';
import { Linear } from '../../src/engine/linear';
import { Trainer } from '../../src/engine/trainer';
import { maxAbsError, seededNormal, useBackend } from '../helpers/tf';

function makeLinear(): Linear {
  const init = seededNormal([16, 24], 1, 0.3).dataSync() as Float32Array;
  return new Linear('test.dense', 16, 24, init, `lin${Math.random()}/`);
}

describe('Linear with a LoRA adapter (wasm)', () => {
  it('gives the same output right after the adapter is added (B = 0)', async () => {
    await useBackend('wasm');
    const lin = makeLinear();
    const x = seededNormal([10, 16], 2) as tf.Tensor2D;
    const before = await lin.apply(x).data();
    lin.addAdapter(8, 16, 3);
    expect(lin.adapter!.rank).toBe(8);
    expect(lin.adapter!.alpha).toBe(16);
    expect(maxAbsError(await lin.apply(x).data(), before)).toBeLessThan(1e-6);
    lin.dispose();
  });

  it('merging W + (alpha/r) A B gives the output of the adapter path', async () => {
    await useBackend('wasm');
    const lin = makeLinear();
    const x = seededNormal([10, 16], 2) as tf.Tensor2D;
    lin.addAdapter(4, 8, 5);
    lin.adapter!.B.assign(seededNormal([4, 24], 6, 0.5) as tf.Tensor2D); // a trained-looking B
    const viaAdapter = await lin.apply(x).data();
    const plain = await tf.matMul(x, lin.weight).add(lin.bias).data();
    expect(maxAbsError(viaAdapter, plain)).toBeGreaterThan(0.1); // the adapter does contribute
    lin.merge();
    expect(lin.adapter).toBeNull();
    expect(maxAbsError(await lin.apply(x).data(), viaAdapter)).toBeLessThan(1e-5);
    lin.dispose();
  });

  it('a frozen base does not change over 20 training steps, bit for bit, while A and B do', async () => {
    await useBackend('wasm');
    const cfg = makeConfig('nano', {
      model: { imageSize: 16, width: 32, depth: 2, heads: 2 },
      data: { trainSize: 200, testSize: 50 },
      optim: { batchSize: 16, lr: 1e-2 },
      schedule: { steps: 20, warmupSteps: 2, evalEvery: 1000, logEvery: 10 },
    });
    const data = syntheticDataset({ trainSize: 200, testSize: 50, imageSize: 16, channels: 3, numClasses: 10, difficulty: 0.3, seed: 1 });
    const trainer = new Trainer(cfg, data);
    const modules = [...trainer.model.modules().values()];
    modules.forEach((m, i) => { m.addAdapter(4, 4, i); m.freezeBase(); });
    const snapshot = async () => Promise.all(modules.map(async (m) => ({
      W: await m.weight.data(), b: await m.bias.data(), A: await m.adapter!.A.data(), B: await m.adapter!.B.data(),
    })));
    const before = await snapshot();
    const trainable = new Set(trainer.model.trainableVariables());
    for (const m of modules) {
      expect(trainable.has(m.weight) || trainable.has(m.bias)).toBe(false);
      expect(trainable.has(m.adapter!.A) && trainable.has(m.adapter!.B)).toBe(true);
    }
    await trainer.run(20);
    const after = await snapshot();
    before.forEach((b, i) => {
      const a = after[i]!;
      expect(Buffer.from(a.W.buffer).equals(Buffer.from(b.W.buffer))).toBe(true);
      expect(Buffer.from(a.b.buffer).equals(Buffer.from(b.b.buffer))).toBe(true);
      expect(maxAbsError(a.A, b.A)).toBeGreaterThan(0);
      expect(maxAbsError(a.B, b.B)).toBeGreaterThan(0);
    });
    trainer.dispose();
  });
});
