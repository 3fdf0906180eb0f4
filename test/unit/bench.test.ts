// The benchmark's instruments: the FLOP counter (against a count by hand) and the
// kernel counter (against a computation whose kernels are known), plus seed combining.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { combineSeeds, type SeedResult } from '../../src/cli/bench-report';
import { makeConfig } from '../../src/engine/config';
import { flopsPerStep } from '../../src/engine/flops';
import { countKernels } from '../../src/engine/kernels';
import { useBackend } from '../helpers/tf';

describe('FLOPs per step', () => {
  // 8 px, patch 4 (4 patches, 5 tokens, patch 48 long), width 4, MLP 8, 1 block, 2 heads, 3 classes, batch 2
  const model = makeConfig('nano', { model: { imageSize: 8, width: 4, depth: 1, heads: 2, mlpRatio: 2, numClasses: 3 } }).model;

  it('counts by hand for full training', () => {
    const patch = 2 * (2 * 8 * 48 * 4); // forward + weight gradient, 8 patches
    const qkvo = 4 * 3 * (2 * 10 * 4 * 4); // 10 tokens: forward, input and weight gradients
    const mlp = 2 * 3 * (2 * 10 * 4 * 8);
    const attention = 3 * (2 * 20 * 2 * 5 + 2 * 20 * 5 * 2); // 20 = batch x heads x tokens
    const head = 3 * (2 * 2 * 4 * 3);
    expect(flopsPerStep(model, { batchSize: 2 })).toBe(patch + qkvo + mlp + attention + head);
    expect(patch + qkvo + mlp + attention + head).toBe(16368);
  });

  it('a frozen base drops its weight gradient; a rank-2 adapter adds its six thin matmuls', () => {
    const frozen = flopsPerStep(model, { batchSize: 2, frozen: new Set(['blocks.0.query']) });
    expect(frozen).toBe(16368 - 2 * 10 * 4 * 4);
    const lora = flopsPerStep(model, { batchSize: 2, frozen: new Set(['blocks.0.query']), ranks: { 'blocks.0.query': 2 } });
    expect(lora).toBe(frozen + 3 * (2 * 10 * 4 * 2 + 2 * 10 * 2 * 4));
  });
});

describe('kernel counter', () => {
  it('counts each kernel a computation launches, by name', async () => {
    await useBackend('cpu');
    const a = tf.tensor([1, 2, 3]), b = tf.tensor([4, 5, 6]);
    const count = await countKernels(() => { tf.tidy(() => tf.add(tf.mul(a, b), tf.square(a))); });
    expect(count.byName).toEqual({ Multiply: 1, Square: 1, Add: 1 });
    expect(count.total).toBe(3);
    expect(count.peakBytes).toBeGreaterThan(0);
    tf.dispose([a, b]);
  });
});

describe('seed combining', () => {
  it('averages per phase, keeps nulls for a phase never reached, and reports the spread of accuracy', () => {
    const r = (seed: number, accuracy: number, lora: number | null): SeedResult => ({
      mode: 'prelora', rule: 'module', seed, accuracy, wallSeconds: 10 * seed, trainableShare: 0.5, switchedAt: 100,
      samplesPerSec: { full: 100, lora }, memoryBytes: { full: 10, lora: 5, peak: 20 * seed },
      dispatchesPerStep: { full: 1000, lora: 800 }, flopsPerStep: { full: 2e9, lora: null },
    });
    const c = combineSeeds([r(1, 0.8, 150), r(2, 0.9, null), r(3, 0.85, 170)]);
    expect(c.accuracy.mean).toBeCloseTo(0.85, 12);
    expect(c.accuracy.spread).toBeCloseTo(0.05, 12); // sample standard deviation
    expect(c.samplesPerSec).toEqual({ full: 100, lora: 160 });
    expect(c.flopsPerStep.lora).toBeNull();
    expect(c.memoryBytes.peak).toBe(60);
    expect(c.seeds).toBe(3);
  });
});
