// The bundled MNIST in Node, a CIFAR-10 file through the CLI, and the same batches
// (augmentation included) for the same seed whatever the backend.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { makeConfig } from '../../src/engine/config';
import { fitModelToData, loadBuiltin, previewSynthetic } from '../../src/engine/data/builtin';
import { Batcher, classBalance } from '../../src/engine/data/dataset';
import { describeDataset } from '../../src/engine/data/preview';
import type { EngineEvent } from '../../src/engine/events';
import type { RunSummary } from '../../src/engine/summary';
import { Trainer } from '../../src/engine/trainer';
import { cifarBatch, writeFixtures } from '../helpers/cifar';
import { useBackend } from '../helpers/tf';

const readPublic = async (p: string) => new Uint8Array(await readFile(join('public', p)));
const exec = promisify(execFile);

describe("a built-in set's description", () => {
  it.each([
    ['micro', {}], ['nano', {}], ['nano, 1,003 images and 7 classes', { data: { trainSize: 1003, testSize: 11 }, model: { numClasses: 7 } }],
    ['nano, 5 images', { data: { trainSize: 5, testSize: 2 } }],
  ] as const)('of a synthetic set, made from its first images only, is that of the whole set (%s)', async (preset, more) => {
    const cfg = makeConfig(preset.startsWith('micro') ? 'micro' : 'nano', more);
    expect(previewSynthetic(cfg)).toEqual(describeDataset(await loadBuiltin(cfg, readPublic)));
  });

  it("of vit-l16's 5,000 synthetic images of 224 px comes without making them (16 of them: 0.4 s here, where made whole they took minutes)", async () => {
    const info = previewSynthetic(makeConfig('vit-l16'));
    expect([info.train, info.test, info.shape, info.samples.length]).toEqual([4000, 1000, [224, 224, 3], 16]);
  }, 30_000);
});

describe('bundled MNIST', () => {
  it('loads in Node: 8,000 / 2,000 digits of 28x28x1, every digit present in both splits', async () => {
    const d = await loadBuiltin(makeConfig('nano', { data: { dataset: 'mnist' } }), readPublic);
    expect(d.name).toBe('MNIST');
    expect(d.shape).toEqual([28, 28, 1]);
    expect([d.train.count, d.test.count]).toEqual([8000, 2000]);
    const train = classBalance(d.train, 10), test = classBalance(d.test, 10);
    expect(train.reduce((a, b) => a + b) + test.reduce((a, b) => a + b)).toBe(10_000);
    for (const n of [...train, ...test]) expect(n).toBeGreaterThan(150);
    expect(d.augment.flip).toBe(false);
    // the model follows the data: 28 px, one channel, ten classes
    const cfg = fitModelToData(makeConfig('nano'), d);
    expect([cfg.model.imageSize, cfg.model.channels, cfg.model.numClasses]).toEqual([28, 1, 10]);
  });

  it('gives the same batches and the same first losses on cpu and wasm, augmentation on', async () => {
    const base = makeConfig('nano', { data: { dataset: 'mnist' }, optim: { batchSize: 8 }, model: { width: 32, depth: 1, heads: 2 } });
    const data = await loadBuiltin(base, readPublic);
    const cfg = fitModelToData(base, data);
    const augmented = { ...data, augment: { crop: 2, flip: true } };
    const a = new Batcher(augmented.train, 784, 8, 3, { shape: augmented.shape, aug: augmented.augment }).next();
    const b = new Batcher(augmented.train, 784, 8, 3, { shape: augmented.shape, aug: augmented.augment }).next();
    expect(Buffer.from(a.images.buffer).equals(Buffer.from(b.images.buffer))).toBe(true);
    const losses: number[][] = [];
    for (const backend of ['cpu', 'wasm'] as const) {
      await useBackend(backend);
      const seen: number[] = [];
      const t = new Trainer(cfg, augmented, (e: EngineEvent) => { if (e.type === 'progress') seen.push(...e.records.map((r) => r.loss)); });
      await t.run(3);
      t.dispose();
      losses.push(seen);
    }
    expect(losses[0]).toHaveLength(3);
    losses[0]!.forEach((l, i) => expect(Math.abs(l - losses[1]![i]!) / l).toBeLessThan(1e-4));
  }, 120_000);
});

describe('npm run train --dataset PATH', () => {
  it('trains on a CIFAR-10 batch file, and refuses a truncated one with the reason', async () => {
    const records = cifarBatch(120);
    const dir = writeFixtures('cifar-cli-', { 'data_batch_1.bin': records });
    const train = (file: string) => exec(process.execPath, ['--import', 'tsx', 'src/cli/train.ts', '--dataset', join(dir, file),
      '--preset', 'micro', '--mode', 'full', '--steps', '4', '--json', '--set', 'optim.batchSize=8'], { timeout: 120_000 });
    const { stdout, stderr } = await train('data_batch_1.bin');
    expect(stderr).toContain('dataset CIFAR-10 (test: a held-out sixth): 100 train / 20 test images of 32x32x3');
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as RunSummary;
    expect(summary.steps).toBe(4);
    writeFileSync(join(dir, 'data_batch_2.bin'), records.subarray(0, 4000));
    const err = await train('data_batch_2.bin').catch((e) => e);
    expect(err.code).toBe(2);
    expect(err.stderr).toContain('--dataset: data_batch_2.bin: 4000 bytes is not a whole number of 3,073-byte CIFAR-10 records');
  }, 120_000);
});
