// A nano ViT on the synthetic set, for real: the loss falls, held-out accuracy beats
// chance by a wide margin, and no tensor leaks between step 20 and step 200.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { makeConfig, validateConfig } from '../../src/engine/config';
import { syntheticDataset } from '../../src/engine/data/synthetic';
import { Trainer, type Evaluation, type StepRecord } from '../../src/engine/trainer';
import { useBackend } from '../helpers/tf';

describe('nano on the synthetic set (wasm)', () => {
  it('learns in 200 steps without leaking tensors', async () => {
    await useBackend('wasm');
    // 16 px (17 tokens, not 65): the same learning at a quarter of the cost; at 32 px
    // this test took 216-300 s of a full run on two cores
    const cfg = makeConfig('nano', {
      model: { imageSize: 16 },
      data: { trainSize: 2000, testSize: 500, difficulty: 0.3 },
      schedule: { steps: 200, warmupSteps: 20, evalEvery: 200, logEvery: 20 },
      // steps 20 and 200 are window ends, where the monitor holds no accumulators
      prelora: { mode: 'full', windowSteps: 20 },
    });
    expect(validateConfig(cfg)).toEqual([]);
    const data = syntheticDataset({
      trainSize: 2000, testSize: 500, imageSize: 16, channels: 3, numClasses: 10, difficulty: 0.3, seed: cfg.seed,
    });
    const records: StepRecord[] = [];
    const evaluations: Evaluation[] = [];
    const trainer = new Trainer(cfg, data, (e) => {
      if (e.type === 'progress') records.push(...e.records);
      if (e.type === 'evaluation') evaluations.push(e.evaluation);
    });
    const before = (await trainer.evaluate())!;
    await trainer.run(20);
    const tensorsAt20 = tf.memory().numTensors;
    await trainer.run(180);
    const tensorsAt200 = tf.memory().numTensors;
    expect(tensorsAt200).toBe(tensorsAt20);

    expect(records.map((r) => r.step)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    const mean = (xs: StepRecord[]) => xs.reduce((s, r) => s + r.loss, 0) / xs.length;
    const first = mean(records.slice(0, 20));
    const last = mean(records.slice(-20));
    expect(last).toBeLessThan(first - 0.3);

    const after = evaluations.at(-1)!;
    expect(after.step).toBe(200);
    expect(before.accuracy).toBeLessThan(0.2);
    expect(after.accuracy).toBeGreaterThan(0.3); // chance is 0.10
    expect(after.loss).toBeLessThan(before.loss);
    console.info(`nano, 200 steps: train loss ${first.toFixed(3)} -> ${last.toFixed(3)}, test accuracy ${before.accuracy} -> ${after.accuracy}`);
    trainer.dispose();
  }, 600_000);
});
