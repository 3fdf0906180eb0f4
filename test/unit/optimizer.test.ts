// AdamW, clipping and the schedule, each against a plain-JS computation of the same thing.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { PRESETS } from '../../src/engine/config';
import { AdamW, clipByGlobalNorm } from '../../src/engine/optimizer';
import { learningRate } from '../../src/engine/schedule';
import { maxRelError, useBackend } from '../helpers/tf';

/** PyTorch's AdamW, one scalar at a time. */
function referenceAdamW(w: number[], gradsPerStep: number[][], lr: number, wd: number) {
  const [b1, b2, eps] = [0.9, 0.999, 1e-7];
  const m = w.map(() => 0), v = w.map(() => 0);
  gradsPerStep.forEach((g, s) => {
    const t = s + 1;
    for (let i = 0; i < w.length; i++) {
      w[i] = w[i]! * (1 - lr * wd);
      m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
      v[i] = b2 * v[i]! + (1 - b2) * g[i]! ** 2;
      const denom = Math.sqrt(v[i]!) / Math.sqrt(1 - b2 ** t) + eps;
      w[i] = w[i]! - (lr / (1 - b1 ** t)) * (m[i]! / denom);
    }
  });
  return w;
}

describe('AdamW', () => {
  it.each([['cpu'], ['wasm']] as const)('matches PyTorch-style AdamW over 5 steps, with and without decay (%s)', async (backend) => {
    await useBackend(backend);
    const start = [0.5, -1.5, 2, 0.01];
    const grads = [[0.1, -0.2, 0.3, 0], [1, 1, -1, 0.5], [-0.3, 0.2, 0.1, 2], [0.5, 0.5, 0.5, 0.5], [0, -1, 0, 1]];
    const decayed = tf.variable(tf.tensor2d(start, [2, 2]));
    const plain = tf.variable(tf.tensor1d(start));
    const opt = new AdamW({ ...PRESETS.nano.optim, weightDecay: 0.1 }, (v) => v.rank === 2);
    for (const g of grads) {
      tf.tidy(() => opt.apply({ [decayed.name]: tf.tensor2d(g, [2, 2]), [plain.name]: tf.tensor1d(g) }, [decayed, plain], 0.01));
    }
    expect(opt.step).toBe(5);
    expect(maxRelError(await decayed.data(), referenceAdamW([...start], grads, 0.01, 0.1))).toBeLessThan(1e-5);
    expect(maxRelError(await plain.data(), referenceAdamW([...start], grads, 0.01, 0))).toBeLessThan(1e-5);
    expect(opt.slotBytes()).toBe(2 * 2 * 4 * 4);
    opt.release([decayed]);
    expect(opt.slotBytes()).toBe(2 * 4 * 4);
    opt.dispose();
    expect(opt.slotBytes()).toBe(0);
  });
});

describe('global-norm clipping', () => {
  it('scales every gradient by maxNorm / ||g|| when over, and leaves them when under', async () => {
    await useBackend('wasm');
    const g = { a: tf.tensor1d([3, 0]), b: tf.tensor1d([0, 4]) }; // ||g|| = 5
    const over = clipByGlobalNorm(g, 1);
    expect((await over.norm.data())[0]).toBeCloseTo(5, 5);
    expect(Array.from(await over.grads.a!.data())).toEqual([expect.closeTo(0.6, 5), 0]);
    expect(Array.from(await over.grads.b!.data())).toEqual([0, expect.closeTo(0.8, 5)]);
    const under = clipByGlobalNorm(g, 10);
    expect(Array.from(await under.grads.b!.data())).toEqual([0, 4]);
  });
});

describe('learning-rate schedule', () => {
  const cfg = { optim: { ...PRESETS.nano.optim, lr: 1e-3 }, schedule: { ...PRESETS.nano.schedule, steps: 120, warmupSteps: 20, minLrRatio: 0.1 } };
  it('warms up linearly from lr/warmup to lr', () => {
    expect(learningRate(0, cfg)).toBeCloseTo(1e-3 / 20, 12);
    expect(learningRate(9, cfg)).toBeCloseTo(1e-3 / 2, 12);
    expect(learningRate(19, cfg)).toBeCloseTo(1e-3, 12);
  });
  it('then follows a cosine from lr to lr * minLrRatio', () => {
    expect(learningRate(20, cfg)).toBeCloseTo(1e-3, 12);
    expect(learningRate(70, cfg)).toBeCloseTo(0.55e-3, 12); // half-way: the mean of lr and the floor
    expect(learningRate(120, cfg)).toBeCloseTo(1e-4, 12);
    for (let s = 21; s < 120; s++) expect(learningRate(s, cfg)).toBeLessThan(learningRate(s - 1, cfg));
  });
});
