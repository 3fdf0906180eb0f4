// CIFAR-10 in its official binary format: records of 3,073 bytes, a label byte then
// 1,024 red, 1,024 green and 1,024 blue bytes (rows of 32). Batches are
// `data_batch_1..5.bin` and `test_batch.bin`, loose or in `cifar-10-binary.tar.gz`.
import { deriveSeed, mulberry32, permutation } from '../random';
import type { Dataset, Split } from './dataset';
import { DatasetError } from './errors';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const RECORD = 3073;
const PIXELS = 1024;

export function parseCifarBatch(bytes: Uint8Array, file: string): Split {
  const count = Math.floor(bytes.length / RECORD);
  const rest = bytes.length % RECORD;
  if (count === 0 || rest !== 0) {
    throw new DatasetError(`${file}: ${bytes.length} bytes is not a whole number of 3,073-byte CIFAR-10 records ` +
      `(${count} records and ${rest} bytes over): the file is truncated or not CIFAR-10 binary`);
  }
  const images = new Uint8Array(count * PIXELS * 3);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const rec = bytes.subarray(i * RECORD, (i + 1) * RECORD);
    if (rec[0]! > 9) throw new DatasetError(`${file}: record ${i} has label ${rec[0]}, out of range 0-9`);
    labels[i] = rec[0]!;
    const out = images.subarray(i * PIXELS * 3, (i + 1) * PIXELS * 3);
    // planar (all red, all green, all blue) -> interleaved RGB
    for (let p = 0; p < PIXELS; p++) {
      out[3 * p] = rec[1 + p]!;
      out[3 * p + 1] = rec[1 + PIXELS + p]!;
      out[3 * p + 2] = rec[1 + 2 * PIXELS + p]!;
    }
  }
  return { images, labels, count };
}

function concat(splits: Split[]): Split {
  const count = splits.reduce((n, s) => n + s.count, 0);
  const images = new Uint8Array(count * PIXELS * 3);
  const labels = new Uint8Array(count);
  let at = 0;
  for (const s of splits) {
    images.set(s.images, at * PIXELS * 3);
    labels.set(s.labels, at);
    at += s.count;
  }
  return { images, labels, count };
}

function subset(s: Split, idx: ArrayLike<number>): Split {
  const images = new Uint8Array(idx.length * PIXELS * 3);
  const labels = new Uint8Array(idx.length);
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k]!;
    images.set(s.images.subarray(i * PIXELS * 3, (i + 1) * PIXELS * 3), k * PIXELS * 3);
    labels[k] = s.labels[i]!;
  }
  return { images, labels, count: idx.length };
}

/** Batches by file name; without `test_batch.bin` a seeded sixth of the data is held out. */
export function cifarDataset(files: { name: string; bytes: Uint8Array }[], seed: number): Dataset {
  const train: Split[] = [];
  let test: Split | null = null;
  for (const f of files) {
    const split = parseCifarBatch(f.bytes, f.name);
    if (/test_batch/.test(f.name)) test = split;
    else train.push(split);
  }
  let all = train.length ? concat(train) : null;
  let note = '';
  if (!test || !all) {
    const pool = all ?? test!;
    const order = permutation(pool.count, mulberry32(deriveSeed(seed, 'cifar-holdout')));
    const held = Math.max(1, Math.floor(pool.count / 6));
    test = subset(pool, order.subarray(0, held));
    all = subset(pool, order.subarray(held));
    note = ' (test: a held-out sixth)';
  }
  return {
    name: `CIFAR-10${note}`, classes: CIFAR10_CLASSES, shape: [32, 32, 3], train: all, test,
    augment: { crop: 4, flip: true },
  };
}
