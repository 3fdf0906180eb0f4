// CIFAR-10 in its official binary format: records of 3,073 bytes, a label byte then
// 1,024 red, 1,024 green and 1,024 blue bytes (rows of 32). Batches are
// `data_batch_1..5.bin` and `test_batch.bin`, loose or in `cifar-10-binary.tar.gz`.
import { deriveSeed, mulberry32, permutation } from '../random';
import { checkSplit, type Dataset, type Split } from './dataset';
import { DatasetError } from './errors';

export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const RECORD = 3073;
const PIXELS = 1024;

function recordCount(bytes: Uint8Array, file: string): number {
  const count = Math.floor(bytes.length / RECORD);
  const rest = bytes.length % RECORD;
  if (bytes.length === 0) throw new DatasetError(`${file}: empty (0 bytes): a CIFAR-10 batch holds 3,073-byte records`);
  if (count === 0 || rest !== 0) {
    throw new DatasetError(`${file}: ${bytes.length} bytes is not a whole number of 3,073-byte CIFAR-10 records ` +
      `(${count} records and ${rest} bytes over): the file is truncated or not CIFAR-10 binary`);
  }
  return count;
}

/** Parse one batch into `into` (interleaved RGB, from `at` images on); returns its records. */
function parseInto(bytes: Uint8Array, file: string, into: Split, at: number): number {
  const count = recordCount(bytes, file);
  for (let i = 0; i < count; i++) {
    const rec = bytes.subarray(i * RECORD, (i + 1) * RECORD);
    if (rec[0]! > 9) throw new DatasetError(`${file}: record ${i} has label ${rec[0]}, out of range 0-9`);
    into.labels[at + i] = rec[0]!;
    const out = into.images.subarray((at + i) * PIXELS * 3, (at + i + 1) * PIXELS * 3);
    // planar (all red, all green, all blue) -> interleaved RGB
    for (let p = 0; p < PIXELS; p++) {
      out[3 * p] = rec[1 + p]!;
      out[3 * p + 1] = rec[1 + PIXELS + p]!;
      out[3 * p + 2] = rec[1 + 2 * PIXELS + p]!;
    }
  }
  checkSplit({ images: into.images.subarray(at * PIXELS * 3, (at + count) * PIXELS * 3), labels: into.labels, count }, file, 'train');
  return count;
}

const emptySplit = (count: number): Split => ({ images: new Uint8Array(count * PIXELS * 3), labels: new Uint8Array(count), count });

/** Batches into one split, written once into arrays of the final size (no concatenation copy). */
function parseBatches(files: { name: string; bytes: Uint8Array }[]): Split {
  const split = emptySplit(files.reduce((n, f) => n + recordCount(f.bytes, f.name), 0));
  let at = 0;
  for (const f of files) at += parseInto(f.bytes, f.name, split, at);
  return split;
}

export function parseCifarBatch(bytes: Uint8Array, file: string): Split {
  return parseBatches([{ name: file, bytes }]);
}

function subset(s: Split, idx: ArrayLike<number>): Split {
  const out = emptySplit(idx.length);
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k]!;
    out.images.set(s.images.subarray(i * PIXELS * 3, (i + 1) * PIXELS * 3), k * PIXELS * 3);
    out.labels[k] = s.labels[i]!;
  }
  return out;
}

/** Batches by file name; without `test_batch.bin` a seeded sixth of the data is held out. */
export function cifarDataset(files: { name: string; bytes: Uint8Array }[], seed: number): Dataset {
  const testFiles = files.filter((f) => /test_batch/.test(f.name));
  const trainFiles = files.filter((f) => !/test_batch/.test(f.name));
  let train = trainFiles.length ? parseBatches(trainFiles) : null;
  let test = testFiles.length ? parseBatches(testFiles) : null;
  let note = '';
  if (!test || !train) {
    const pool = (train ?? test)!;
    const from = (train ? trainFiles : testFiles).map((f) => f.name).join(', ');
    if (pool.count < 2) {
      throw new DatasetError(`${from}: holds 1 record: without a separate test batch a sixth is held out for testing, so at least 2 are needed`);
    }
    const order = permutation(pool.count, mulberry32(deriveSeed(seed, 'cifar-holdout')));
    const held = Math.max(1, Math.floor(pool.count / 6));
    test = subset(pool, order.subarray(0, held));
    train = subset(pool, order.subarray(held));
    note = ' (test: a held-out sixth)';
  }
  return {
    name: `CIFAR-10${note}`, classes: CIFAR10_CLASSES, shape: [32, 32, 3], train, test,
    augment: { crop: 4, flip: true },
  };
}
