// The ViT: output shapes per preset, Hugging Face parameter names and counts,
// seeded initialisation, and ViT-L/16 sized without allocating it.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { PRESETS, type PresetName } from '../../src/engine/config';
import { countParams, countTensors, estimateMemory } from '../../src/engine/size';
import { FAMILIES, ViT } from '../../src/engine/vit';
import { seededNormal, useBackend } from '../helpers/tf';

describe('ViT', () => {
  it.each<PresetName>(['micro', 'nano', 'tiny', 'small'])('%s: logits are [batch, classes] and the parameter count is analytic', async (name) => {
    await useBackend('wasm');
    const m = PRESETS[name].model;
    const before = tf.memory();
    const vit = new ViT(m, 1);
    // one tensor per parameter, no orphaned initial values beside them
    expect(tf.memory().numTensors - before.numTensors).toBe(vit.namedVariables().length);
    const x = seededNormal([2, m.imageSize, m.imageSize, m.channels], 3) as tf.Tensor4D;
    const logits = tf.tidy(() => vit.forward(x));
    expect(logits.shape).toEqual([2, m.numClasses]);
    expect(Array.from(await logits.data()).every(Number.isFinite)).toBe(true);
    const total = vit.namedVariables().reduce((n, [, v]) => n + v.size, 0);
    expect(total).toBe(countParams(m));
    expect(vit.modules().size).toBe(6 * m.depth);
    expect(vit.trainableVariables()).toHaveLength(countTensors(m));
    tf.dispose([x, logits]);
    const adapter = vit.modules().get('blocks.0.query')!.addAdapter(4);
    expect(adapter.A.shape).toEqual([m.width, 4]);
    expect(vit.trainableVariables()).toHaveLength(countTensors(m, 1)); // the base trains beside A and B (joint)
    vit.dispose();
    expect(tf.memory().numTensors).toBe(before.numTensors); // adapters included
    expect(tf.memory().numBytes).toBe(before.numBytes);
  });

  it('names parameters as Hugging Face ViTForImageClassification does', () => {
    const vit = new ViT(PRESETS.nano.model, 1);
    const names = vit.namedVariables().map(([n]) => n);
    expect(names.slice(0, 4)).toEqual([
      'vit.embeddings.cls_token',
      'vit.embeddings.position_embeddings',
      'vit.embeddings.patch_embeddings.projection.weight',
      'vit.embeddings.patch_embeddings.projection.bias',
    ]);
    for (const suffix of [
      'layernorm_before.weight', 'attention.attention.query.weight', 'attention.attention.key.bias',
      'attention.attention.value.weight', 'attention.output.dense.weight', 'intermediate.dense.weight',
      'output.dense.bias', 'layernorm_after.bias',
    ]) expect(names).toContain(`vit.encoder.layer.3.${suffix}`);
    expect(names.slice(-4)).toEqual(['vit.layernorm.weight', 'vit.layernorm.bias', 'classifier.weight', 'classifier.bias']);
    expect([...vit.modules().keys()].slice(0, 6)).toEqual(FAMILIES.map((f) => `blocks.0.${f}`));
    vit.dispose();
  });

  it('initialises from the seed: truncated normal, std 0.02, within 2 std; biases zero', async () => {
    const model = { ...PRESETS.nano.model, initStd: 0.02 };
    const a = new ViT(model, 5);
    const b = new ViT(model, 5);
    const c = new ViT(model, 6);
    const w = (await a.blocks[0]!.linears.fc1.weight.data()) as Float32Array;
    expect(Buffer.from(w.buffer).equals(Buffer.from((await b.blocks[0]!.linears.fc1.weight.data()).buffer))).toBe(true);
    expect(Buffer.from(w.buffer).equals(Buffer.from((await c.blocks[0]!.linears.fc1.weight.data()).buffer))).toBe(false);
    const std = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(std).toBeGreaterThan(0.016); // a normal truncated at 2 std keeps ~88% of its std
    expect(std).toBeLessThan(0.02);
    expect(Math.max(...w.map(Math.abs))).toBeLessThanOrEqual(0.04 + 1e-7);
    expect(Array.from(await a.blocks[0]!.linears.fc1.bias.data()).every((v) => v === 0)).toBe(true);
    [a, b, c].forEach((v) => v.dispose());
  });

  it('sizes ViT-L/16 from its config alone: no tensor is allocated', () => {
    const before = tf.memory().numTensors;
    const est = estimateMemory(PRESETS['vit-l16']);
    expect(est.params).toBe(304_326_632);
    expect(est.totalBytes / 1024 ** 3).toBeGreaterThan(10); // batch 64 at 224 px: far over a tab
    expect(tf.memory().numTensors).toBe(before);
  });
});
