// The synthetic set and the batcher: seeded, balanced, class-dependent, reshuffled per epoch.
import { describe, expect, it } from 'vitest';
import { Batcher, toBatch } from '../../src/engine/data/dataset';
import { SYNTHETIC_CLASSES, syntheticDataset, type SyntheticOptions } from '../../src/engine/data/synthetic';
import { makeConfig, type DeepPartial, type RunConfig } from '../../src/engine/config';
import { builtinDataKey } from '../../src/engine/data/key';

const opts: SyntheticOptions = { trainSize: 200, testSize: 50, imageSize: 16, channels: 3, numClasses: 10, difficulty: 0.5, seed: 7 };

describe('synthetic dataset', () => {
  it('is the same for the same seed and different for another', () => {
    const a = syntheticDataset(opts);
    const b = syntheticDataset(opts);
    const c = syntheticDataset({ ...opts, seed: 8 });
    expect(Buffer.from(a.train.images).equals(Buffer.from(b.train.images))).toBe(true);
    expect(Buffer.from(a.test.images).equals(Buffer.from(b.test.images))).toBe(true);
    expect(Buffer.from(a.train.images).equals(Buffer.from(c.train.images))).toBe(false);
  });

  it('has balanced labels, the right shapes, and train differs from test', () => {
    const d = syntheticDataset(opts);
    expect(d.shape).toEqual([16, 16, 3]);
    expect(d.classes).toEqual([...SYNTHETIC_CLASSES]);
    expect(d.train.images.length).toBe(200 * 16 * 16 * 3);
    const counts = new Array(10).fill(0);
    for (const l of d.train.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(20));
    expect(Buffer.from(d.train.images.subarray(0, 768)).equals(Buffer.from(d.test.images.subarray(0, 768)))).toBe(false);
  });

  it('draws stripes in their orientation: h-stripes vary down a column, v-stripes along a row', () => {
    const d = syntheticDataset({ ...opts, difficulty: 0, imageSize: 32, trainSize: 100 });
    // mean |difference| between vertical neighbours vs horizontal neighbours, per class
    const variation = (label: number) => {
      let vert = 0, horiz = 0;
      for (let i = 0; i < d.train.count; i++) {
        if (d.train.labels[i] !== label) continue;
        const img = d.train.images.subarray(i * 3072, (i + 1) * 3072);
        for (let y = 0; y < 31; y++) for (let x = 0; x < 31; x++) {
          vert += Math.abs(img[((y + 1) * 32 + x) * 3]! - img[(y * 32 + x) * 3]!);
          horiz += Math.abs(img[(y * 32 + x + 1) * 3]! - img[(y * 32 + x) * 3]!);
        }
      }
      return vert / horiz;
    };
    expect(variation(SYNTHETIC_CLASSES.indexOf('h-stripes'))).toBeGreaterThan(1.5);
    expect(variation(SYNTHETIC_CLASSES.indexOf('v-stripes'))).toBeLessThan(1 / 1.5);
  });

  it('refuses more classes than it has, saying how many it has', () => {
    expect(() => syntheticDataset({ ...opts, numClasses: 12 })).toThrow('the synthetic set has 10 classes; 12 were asked for');
  });
});

describe('batches', () => {
  it('normalise pixels to [-1, 1] as (x / 255 - 0.5) / 0.5', () => {
    const split = { images: Uint8Array.from([0, 255, 51, 204]), labels: Uint8Array.from([3, 1]), count: 2 };
    const b = toBatch(split, [1, 0], 2);
    expect(Array.from(b.labels)).toEqual([1, 3]);
    expect(Array.from(b.images).map((v) => +v.toFixed(4))).toEqual([-0.6, 0.6, -1, 1]);
  });

  it('are seeded, cover each image once per epoch, and reshuffle the next epoch', () => {
    const d = syntheticDataset(opts);
    const seen = (seed: number, batches: number) => {
      const batcher = new Batcher(d.train, 16 * 16 * 3, 20, seed);
      return Array.from({ length: batches }, () => batcher.next());
    };
    const a = seen(1, 20);
    const b = seen(1, 20);
    expect(a.map((x) => Array.from(x.labels))).toEqual(b.map((x) => Array.from(x.labels)));
    expect(Buffer.from(a[3]!.images.buffer).equals(Buffer.from(b[3]!.images.buffer))).toBe(true);
    // epoch 1 = batches 0..9: every label count equals the dataset's (20 per class)
    const epochCounts = (from: number) => {
      const counts = new Array(10).fill(0);
      for (const batch of a.slice(from, from + 10)) for (const l of batch.labels) counts[l]++;
      return counts;
    };
    expect(epochCounts(0)).toEqual(new Array(10).fill(20));
    expect(epochCounts(10)).toEqual(new Array(10).fill(20));
    expect(a.slice(0, 10).map((x) => Array.from(x.labels))).not.toEqual(a.slice(10, 20).map((x) => Array.from(x.labels)));
    expect(seen(2, 1)[0]!.labels).not.toEqual(a[0]!.labels);
  });
});

describe('the key a built-in set is kept and previewed by', () => {
  it("changes with what draws the synthetic set, and with nothing MNIST's files ignore", () => {
    const key = (preset: 'micro' | 'nano', more: DeepPartial<RunConfig>) => builtinDataKey(makeConfig(preset, more));
    expect(key('nano', { seed: 2 })).not.toBe(key('nano', { seed: 3 }));
    expect(key('nano', {})).not.toBe(key('micro', {}));
    const mnist = { data: { dataset: 'mnist' as const } };
    expect(key('nano', { ...mnist, seed: 2 })).toBe(key('micro', { ...mnist, seed: 3 }));
    expect(key('nano', { data: { dataset: 'mnist', maxDataMB: 8 } })).not.toBe(key('nano', mnist));
  });
});
