// AdamW, clipping and the schedule, each against a plain-JS computation of the same thing.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { PRESETS } from '../../src/engine/config';
import { AdamW, clipByGlobalNorm } from '../../src/engine/optimizer';
import { learningRate } from '../../src/engine/schedule';
import { adamwScenario, SHAPES } from '../helpers/adamw-scenario';
import { maxRelError, useBackend } from '../helpers/tf';

/** PyTorch's AdamW, one scalar at a time; `lr` per step or one for all. */
function referenceAdamW(w: number[], gradsPerStep: number[][], lrs: number | number[], wd: number) {
  const [b1, b2, eps] = [0.9, 0.999, 1e-7];
  const m = w.map(() => 0), v = w.map(() => 0);
  gradsPerStep.forEach((g, s) => {
    const t = s + 1;
    const lr = typeof lrs === 'number' ? lrs : lrs[s]!;
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

describe('AdamW state per parameter: its own step count, reset and learning-rate re-warm', () => {
  const start = [0.5, -1.5, 2, 0.01];
  const grad = (k: number) => [0.1 * k, -0.2, 0.3 / k, 0.5];
  const gradsFor = (from: number, n: number) => Array.from({ length: n }, (_, i) => grad(from + i));

  // Issue 11, item 3: with one global step counter a new adapter's first update was
  // 0.48x (10 earlier steps), 1.27x (175) or 2.52x (1000) the correct one.
  it.each([10, 175])('a variable that joins after %i updates is bias-corrected by its own steps (as PyTorch)', async (earlier) => {
    await useBackend('cpu');
    const old = tf.variable(tf.tensor1d(start));
    const fresh = tf.variable(tf.tensor1d(start));
    const opt = new AdamW(PRESETS.nano.optim, () => false);
    for (const g of gradsFor(1, earlier)) tf.tidy(() => opt.apply({ [old.name]: tf.tensor1d(g) }, [old], 0.01));
    const joint = gradsFor(earlier + 1, 3);
    for (const g of joint) tf.tidy(() => opt.apply({ [old.name]: tf.tensor1d(g), [fresh.name]: tf.tensor1d(g) }, [old, fresh], 0.01));
    expect(maxRelError(await fresh.data(), referenceAdamW([...start], joint, 0.01, 0))).toBeLessThan(1e-5);
    expect(maxRelError(await old.data(), referenceAdamW([...start], [...gradsFor(1, earlier), ...joint], 0.01, 0))).toBeLessThan(1e-4);
    opt.dispose();
    tf.dispose([old, fresh]);
  });

  it('reset restarts the moments and step count of the variables named, and only theirs', async () => {
    await useBackend('cpu');
    const kept = tf.variable(tf.tensor1d(start));
    const reset = tf.variable(tf.tensor1d(start));
    const opt = new AdamW(PRESETS.nano.optim, () => false);
    const step = (g: number[]) => tf.tidy(() => opt.apply({ [kept.name]: tf.tensor1d(g), [reset.name]: tf.tensor1d(g) }, [kept, reset], 0.01));
    gradsFor(1, 5).forEach(step);
    const atReset = Array.from(await reset.data());
    opt.reset([reset]);
    expect(opt.slotBytes()).toBe(2 * 4 * 4); // the reset variable's moments are gone until its next update
    gradsFor(6, 4).forEach(step);
    expect(maxRelError(await kept.data(), referenceAdamW([...start], gradsFor(1, 9), 0.01, 0))).toBeLessThan(1e-5);
    expect(maxRelError(await reset.data(), referenceAdamW(atReset, gradsFor(6, 4), 0.01, 0))).toBeLessThan(1e-5);
    opt.dispose();
    tf.dispose([kept, reset]);
  });

  it('re-warm ramps the learning rate of the variables named linearly over the steps, or of all of them', async () => {
    await useBackend('cpu');
    const calm = tf.variable(tf.tensor1d(start));
    const warm = tf.variable(tf.tensor1d(start));
    const opt = new AdamW(PRESETS.nano.optim, () => false);
    const step = (g: number[]) => tf.tidy(() => opt.apply({ [calm.name]: tf.tensor1d(g), [warm.name]: tf.tensor1d(g) }, [calm, warm], 0.01));
    gradsFor(1, 3).forEach(step);
    opt.rewarm([warm], 4);
    expect([opt.lrFactor(warm), opt.lrFactor(calm), opt.lrFactor()]).toEqual([0.25, 1, 1]); // of the next update
    gradsFor(4, 6).forEach(step);
    const lrs = [0.01, 0.01, 0.01, 0.0025, 0.005, 0.0075, 0.01, 0.01, 0.01];
    expect(maxRelError(await warm.data(), referenceAdamW([...start], gradsFor(1, 9), lrs, 0))).toBeLessThan(1e-5);
    expect(maxRelError(await calm.data(), referenceAdamW([...start], gradsFor(1, 9), 0.01, 0))).toBeLessThan(1e-5);
    opt.rewarm('all', 2);
    expect([opt.lrFactor(warm), opt.lrFactor(calm), opt.lrFactor()]).toEqual([0.5, 0.5, 0.5]);
    opt.dispose();
    tf.dispose([calm, warm]);
  });
});

describe('AdamW state export and import (a checkpoint)', () => {
  it.each([['cpu'], ['wasm']] as const)('a fresh optimiser given the exported state continues bit for bit (%s)', async (backend) => {
    await useBackend(backend);
    const r = await adamwScenario();
    expect(r.restoredDiff).toBe(0);
    expect(r.leaked).toBe(0); // exported tensors are the caller's, and the scenario disposes them
    // each variable's own t: 8 updates; reset after 2 (6 more, 5 for the one without a
    // gradient at step 3); joined at step 4 (5); released (no state)
    expect(r.params.map((p) => p?.t ?? null)).toEqual([null, 8, 6, 5, 8, 8, 5]);
    expect(r.params[1]!.rewarm).toEqual({ from: 1, steps: 3 });
    expect(r.params[2]!.rewarm).toBeNull();
    expect([r.updates, r.modelRewarm]).toEqual([8, { from: 2, steps: 2 }]);
    r.params.forEach((p, i) => {
      if (!p) return;
      const size = SHAPES[i]!.reduce((a, b) => a * b, 1);
      expect([p.m!.length, p.v!.length]).toEqual([size, size]); // m and v shaped as the variable, whatever the layout
      expect(p.v!.every((x) => x >= 0)).toBe(true);
    });
  });

  it('refuses a state that does not fit the model, naming the variable, and keeps its own', async () => {
    await useBackend('cpu');
    const w = tf.variable(tf.zeros([2, 2]), true, 'ckpt-fit/w');
    const opt = new AdamW(PRESETS.nano.optim, () => true);
    tf.tidy(() => opt.apply({ [w.name]: tf.ones([2, 2]) }, [w], 0.01));
    const m = tf.zeros([4]);
    const bad = (params: Parameters<AdamW['importState']>[0]['params']) => () => opt.importState({ updates: 3, modelRewarm: null, params }, [w]);
    expect(bad({ 'ckpt-fit/x': { t: 1, rewarm: null, m: null, v: null } })).toThrow(/"ckpt-fit\/x": the model has no such variable/);
    expect(bad({ 'ckpt-fit/w': { t: 1, rewarm: null, m, v: m } })).toThrow(/moments of shape \[4\], the variable is \[2, 2\]/);
    expect(bad({ 'ckpt-fit/w': { t: 1, rewarm: null, m: null, v: m } })).toThrow(/m and v are both tensors or both null/);
    expect(opt.step).toBe(1);
    expect(opt.slotBytes()).toBe(2 * 4 * 4);
    tf.dispose([w, m]);
    opt.dispose();
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
