// The memory estimate against the peak bytes tfjs really uses during a training step.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { makeConfig } from '../../src/engine/config';
import { syntheticDataset } from '../../src/engine/data/synthetic';
import { estimateMemory } from '../../src/engine/size';
import { Trainer } from '../../src/engine/trainer';
import { useBackend } from '../helpers/tf';

describe('training-memory estimate', () => {
  it.each([
    ['4 blocks, width 64, 4 heads, 32 px, batch 8', { width: 64, depth: 4, heads: 4, imageSize: 32 }, 8],
    ['2 blocks, width 32, 8 heads, 32 px, batch 8', { width: 32, depth: 2, heads: 8, imageSize: 32 }, 8],
  ])('is within 25 percent of the measured peak of a step: %s', async (_, model, batchSize) => {
    await useBackend('wasm');
    const cfg = makeConfig('nano', { model, optim: { batchSize }, data: { trainSize: 32, testSize: 8 } });
    const data = syntheticDataset({ trainSize: 32, testSize: 8, imageSize: model.imageSize, channels: 3, numClasses: 10, difficulty: 0.3, seed: 1 });
    const trainer = new Trainer(cfg, data);
    trainer.trainStep(); // creates the optimiser's moments, which the estimate counts
    await trainer.flush();
    const { peakBytes } = await tf.profile(() => trainer.trainStep());
    await trainer.flush();
    const ratio = estimateMemory(cfg).totalBytes / peakBytes;
    expect(ratio).toBeGreaterThan(0.75);
    expect(ratio).toBeLessThan(1.25);
    trainer.dispose();
  });
});
