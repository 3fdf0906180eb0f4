// The corpus of bad inputs, kept as generators (a 1 GB bomb is a few KB of code): each
// case builds its files in a fresh folder and says what the CLI must answer, exit code
// and message. Bombs are concatenated gzip members of zeros, so none is ever inflated
// here; tar headers and zip directories are written by hand so that they can lie.
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync, zipSync } from 'fflate';
import { cifarBatch } from './cifar';

export const MB = 2 ** 20;

/** An IDX file: magic, dimensions (big-endian), body. */
export function idxFile(magic: number, dims: number[], body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(body, 4 + 4 * dims.length);
  return out;
}

/** `count` IDX digits of `side` x `side` (pixel = (image + pixel) % 256) and their labels i % 10. */
export function idxPair(count: number, side = 28): { images: Uint8Array; labels: Uint8Array } {
  const pixels = Uint8Array.from({ length: count * side * side }, (_, k) => (Math.floor(k / (side * side)) + k) % 256);
  return { images: idxFile(0x803, [count, side, side], pixels), labels: idxFile(0x801, [count], Uint8Array.from({ length: count }, (_, i) => i % 10)) };
}

/** The four MNIST files (gzipped), with any of them replaced. */
export function mnistFiles(replace: Record<string, Uint8Array> = {}, train = 60, test = 20): Record<string, Uint8Array> {
  const a = idxPair(train), b = idxPair(test);
  return {
    'train-images-idx3-ubyte.gz': gzipSync(a.images), 'train-labels-idx1-ubyte.gz': gzipSync(a.labels),
    't10k-images-idx3-ubyte.gz': gzipSync(b.images), 't10k-labels-idx1-ubyte.gz': gzipSync(b.labels),
    ...replace,
  };
}

const ZERO_MEMBER = gzipSync(new Uint8Array(16 * MB), { level: 9 });

/** gzip of `head` then `zeros` zero bytes: one member for the head, one per 16 MB of zeros (~16 KB each). */
export function gzipThenZeros(head: Uint8Array, zeros: number): Uint8Array {
  const parts = [gzipSync(head)];
  for (let left = zeros; left > 0; left -= 16 * MB) parts.push(left >= 16 * MB ? ZERO_MEMBER : gzipSync(new Uint8Array(left)));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** A ustar header that may promise any size (octal, as tar writes up to 8 GB). */
export function tarHeader(name: string, size: number, type = '0'): Uint8Array {
  const h = new Uint8Array(512);
  const put = (at: number, s: string) => h.set(new TextEncoder().encode(s), at);
  put(0, name);
  put(100, '0000644\0');
  put(124, `${size.toString(8).padStart(11, '0')}\0`);
  put(136, '00000000000\0');
  h[156] = type.charCodeAt(0);
  put(257, 'ustar\x0000');
  put(148, '        ');
  put(148, `${h.reduce((a, b) => a + b, 0).toString(8).padStart(6, '0')}\0 `);
  return h;
}

/** A tar entry: header, data, padding to 512. */
export function tarEntry(name: string, data: Uint8Array, type = '0'): Uint8Array {
  const out = new Uint8Array(512 + Math.ceil(data.length / 512) * 512);
  out.set(tarHeader(name, data.length, type));
  out.set(data, 512);
  return out;
}

/** A zip of one entry whose directory (and local header) declare `declared` bytes, whatever the data. */
export function zipDeclaring(name: string, data: Uint8Array, declared: number): Uint8Array {
  const zip = zipSync({ [name]: data });
  const view = new DataView(zip.buffer);
  for (let at = 0; at + 4 <= zip.length; at++) {
    const sig = view.getUint32(at, true);
    if (sig === 0x04034b50) view.setUint32(at + 22, declared, true);
    if (sig === 0x02014b50) view.setUint32(at + 24, declared, true);
  }
  return zip;
}

export interface BadInput {
  name: string;
  /** builds the input under `dir` and returns what `--dataset` gets */
  make: (dir: string) => string;
  /** more CLI flags */
  flags?: string[];
  /** run the CLI with at most this many open files (`ulimit -n`) */
  maxOpenFiles?: number;
  code: number;
  /** in the CLI's stderr */
  message: string | RegExp;
}

const write = (dir: string, files: Record<string, Uint8Array>) => {
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  return dir;
};

/** The bombs: each stays far under its size in memory (the tests measure peak RSS). */
export const BOMBS: BadInput[] = [
  {
    name: 'a gzipped IDX whose header promises 4,000,000 images (2.9 GiB)',
    make: (dir) => write(dir, mnistFiles({ 'train-images-idx3-ubyte.gz': gzipThenZeros(idxFile(0x803, [4_000_000, 28, 28]), 256 * MB) })),
    code: 2,
    message: /train-images-idx3-ubyte\.gz: its header promises 4\.0M images of 28x28, that is 2\.9 GiB( \(after .* unpacked\))?, past the 1\.0 GiB limit on a dataset's unpacked data: raise it with --set data\.maxDataMB=2991 or more/,
  },
  {
    name: 'a tar.gz whose entry header promises 2 GiB',
    make: (dir) => write(dir, { 'cifar-10-binary.tar.gz': gzipThenZeros(tarHeader('cifar-10-batches-bin/data_batch_1.bin', 2 * 1024 * MB), 256 * MB) }),
    code: 2,
    message: 'cifar-10-binary.tar.gz: cifar-10-batches-bin/data_batch_1.bin takes 2.0 GiB, past the 1.0 GiB limit',
  },
  {
    name: 'a tar.gz of entries that pass the limit together (data.maxDataMB=64)',
    make: (dir) => {
      const entries = Array.from({ length: 8 }, (_, i) => tarHeader(`b/data_batch_${i}.bin`, 16 * MB));
      // each header, then its 16 MB of zeros: the tar stream itself, gzipped member by member
      const parts = entries.map((h) => gzipThenZeros(h, 16 * MB));
      return write(dir, { 'many.tar.gz': Buffer.concat(parts) });
    },
    flags: ['--set', 'data.maxDataMB=64'],
    code: 2,
    message: 'many.tar.gz: b/data_batch_3.bin takes 16 MiB (after 48 MiB unpacked), past the 64 MiB limit on a dataset\'s unpacked data: raise it with --set data.maxDataMB=128',
  },
  {
    name: 'a tar.gz whose link entry, passed over, promises 200 MiB (data.maxDataMB=64)',
    make: (dir) => write(dir, { 'links.tar.gz': gzipThenZeros(tarHeader('b/huge-link', 200 * MB, '2'), 200 * MB) }),
    flags: ['--set', 'data.maxDataMB=64'],
    code: 2,
    message: 'links.tar.gz: b/huge-link takes 200 MiB, past the 64 MiB limit',
  },
  {
    name: 'a zip whose directory declares a 900 MiB entry (data.maxDataMB=512)',
    make: (dir) => write(dir, { 'batches.zip': zipDeclaring('data_batch_1.bin', cifarBatch(10), 900 * MB) }),
    flags: ['--set', 'data.maxDataMB=512'],
    code: 2,
    message: 'batches.zip: data_batch_1.bin inflates to 900 MiB, past the 512 MiB limit',
  },
  {
    // (a zip cannot: past 65,535 entries it needs zip64, which fflate's writer lacks)
    name: 'a tar.gz of 100,001 empty entries',
    make: (dir) => write(dir, { 'many.tar.gz': gzipSync(Buffer.concat(Array.from({ length: 100_001 }, (_, i) => tarHeader(`c/${i}`, 0)))) }),
    code: 2,
    message: 'many.tar.gz: more than 100000 entries: a dataset has fewer files',
  },
];

/** Folders that must not be read as they are (item 2). */
export const FOLDERS: BadInput[] = [
  {
    name: 'a link to /dev/zero in the folder',
    make: (dir) => { write(dir, { 'data_batch_1.bin': cifarBatch(12) }); symlinkSync('/dev/zero', join(dir, 'data_batch_2.bin')); return dir; },
    code: 2,
    message: /data_batch_2\.bin: a link to \/dev\/zero, outside .*: only files inside the folder are read/,
  },
  {
    name: 'a FIFO in the folder',
    make: (dir) => { write(dir, { 'data_batch_1.bin': cifarBatch(12) }); execFileSync('mkfifo', [join(dir, 'test_batch.bin')]); return dir; },
    code: 2,
    message: /test_batch\.bin: a FIFO \(named pipe\): only regular files are read/,
  },
  {
    name: 'a link to a folder',
    make: (dir) => { mkdirSync(join(dir, 'real')); write(join(dir, 'real'), { 'data_batch_1.bin': cifarBatch(12) }); symlinkSync(join(dir, 'real'), join(dir, 'batches')); return dir; },
    code: 2,
    message: /batches: a link to a folder \(real\): only links to regular files are followed/,
  },
  {
    name: 'a character device given as the dataset',
    make: () => '/dev/zero',
    code: 2,
    message: '--dataset: /dev/zero: a character device: give a dataset file or a folder of them',
  },
  {
    name: 'a path through a file',
    make: (dir) => join(write(dir, { 'data_batch_1.bin': cifarBatch(12) }), 'data_batch_1.bin', 'more'),
    code: 2,
    message: /data_batch_1\.bin\/more: a path through something that is not a folder/,
  },
  {
    // 25,000 files opened at once ran out of descriptors (EMFILE); here 5,000 under a limit of 1,024
    name: '5,000 files under a limit of 1,024 open files (read 16 at a time)',
    make: (dir) => { for (let i = 0; i < 5000; i++) writeFileSync(join(dir, `${i}.png`), 'x'); return dir; },
    maxOpenFiles: 1024,
    code: 2,
    message: '--dataset: image folders are decoded in the browser: upload them in the page, or use CIFAR-10 or IDX files here',
  },
  {
    name: '100,001 files in a folder',
    make: (dir) => { for (let i = 0; i <= 100_000; i++) writeFileSync(join(dir, `${i}`), ''); return dir; },
    code: 2,
    message: /: more than 100000 files and folders: point --dataset at the folder of one dataset/,
  },
  {
    name: 'a folder with more bytes than data.maxDataMB=1',
    make: (dir) => write(dir, { 'data_batch_1.bin': cifarBatch(400) }),
    flags: ['--set', 'data.maxDataMB=1'],
    code: 2,
    message: /: 1\.2 MiB in 1 file\(s\), past the 1\.0 MiB limit on a dataset's unpacked data: raise it with --set data\.maxDataMB=2/,
  },
];

/** Data that parses but cannot train or test, and errors once found late or raw (items 4, 5). */
export const FILES: BadInput[] = [
  {
    name: 'IDX with 0 test images',
    make: (dir) => write(dir, mnistFiles({ 't10k-images-idx3-ubyte.gz': gzipSync(idxPair(0).images), 't10k-labels-idx1-ubyte.gz': gzipSync(idxPair(0).labels) })),
    code: 2,
    message: '--dataset: t10k-images-idx3-ubyte.gz: holds 0 images: the test split needs at least one',
  },
  {
    name: 'IDX with 0 training images',
    make: (dir) => write(dir, mnistFiles({ 'train-images-idx3-ubyte.gz': gzipSync(idxPair(0).images), 'train-labels-idx1-ubyte.gz': gzipSync(idxPair(0).labels) })),
    code: 2,
    message: '--dataset: train-images-idx3-ubyte.gz: holds 0 images: the training split needs at least one',
  },
  {
    name: 'an empty test_batch.bin',
    make: (dir) => write(dir, { 'data_batch_1.bin': cifarBatch(12), 'test_batch.bin': new Uint8Array(0) }),
    code: 2,
    message: '--dataset: test_batch.bin: empty (0 bytes): a CIFAR-10 batch holds 3,073-byte records',
  },
  {
    name: 'one CIFAR record and no test batch',
    make: (dir) => write(dir, { 'data_batch_1.bin': cifarBatch(1) }),
    code: 2,
    message: '--dataset: data_batch_1.bin: holds 1 record: without a separate test batch a sixth is held out for testing, so at least 2 are needed',
  },
  {
    name: 'a set of 12 training images for a batch of 16',
    make: (dir) => write(dir, mnistFiles({}, 12)),
    flags: ['--set', 'optim.batchSize=16'],
    code: 2,
    message: /optim\.batchSize: batch 16 is larger than the 12 training images of .+: lower it to 12 or fewer/,
  },
  {
    name: 'a file of zeros named *.bin',
    make: (dir) => write(dir, { 'zeros.bin': new Uint8Array(3073 * 20) }),
    code: 2,
    message: '--dataset: zeros.bin: every image is blank (all pixels 0): not image data (a zero-filled file?)',
  },
  {
    name: 'a non-square IDX',
    make: (dir) => write(dir, mnistFiles({ 'train-images-idx3-ubyte.gz': gzipSync(idxFile(0x803, [60, 28, 30], new Uint8Array(60 * 28 * 30).fill(7))) })),
    code: 2,
    message: '--dataset: train-images-idx3-ubyte.gz: images of 28x30: the model takes square images of at least 4x4',
  },
  {
    name: 'a file name with a terminal escape',
    make: (dir) => write(dir, { 'data_batch_\x1b[2J\x1b[31mred.bin': cifarBatch(3).subarray(0, 5000) }),
    code: 2,
    message: '--dataset: data_batch_\\x1b[2J\\x1b[31mred.bin: 5000 bytes is not a whole number of 3,073-byte CIFAR-10 records',
  },
  {
    name: 'an archive entry name with a direction override',
    make: (dir) => write(dir, { 'x.tar': Buffer.concat([tarEntry('evil\u202egnp.bin', cifarBatch(2).subarray(0, 100))]) }),
    code: 2,
    message: '--dataset: evil\\u202egnp.bin: 100 bytes is not a whole number',
  },
];

/** Flags and fields (item 5), no files needed. */
export const FLAGS: BadInput[] = [
  { name: '--steps 1e308', make: () => 'synthetic', flags: ['--steps', '1e308'], code: 2, message: 'schedule.steps must be a whole number in [1, 1000000] (got 1e+308)' },
  { name: 'a seed past 32 bits', make: () => 'synthetic', flags: ['--seed', '4294967296'], code: 2, message: 'seed must be a whole number in [0, 4294967295] (got 4294967296): seeds are 32-bit' },
  { name: 'data.trainSize past its bound', make: () => 'synthetic', flags: ['--set', 'data.trainSize=100000000'], code: 2, message: 'data.trainSize must be a whole number in [1, 1000000] (got 100000000)' },
  {
    name: 'a synthetic set larger than data.maxDataMB', make: () => 'synthetic', flags: ['--set', 'data.trainSize=1000000'], code: 2,
    message: 'data.trainSize: 1000000 + 1000 synthetic images of 32x32x3 take 2.9 GiB, more than data.maxDataMB (1024 MiB): lower data.trainSize or data.testSize, or raise data.maxDataMB',
  },
  {
    name: 'a run whose record would outgrow its checkpoint', make: () => 'synthetic', flags: ['--steps', '200000', '--set', 'prelora.windowSteps=1'], code: 2,
    message: 'prelora.windowSteps: a run of 200000 steps, a window every 1, a read-back every 10 and a save every 100, records up to',
  },
  { name: '--out in a folder that does not exist', make: () => 'synthetic', flags: ['--out', '/nonexistent-folder/run.json'], code: 2, message: '--out: /nonexistent-folder is not a folder: create it first, or write the log elsewhere' },
  { name: '--out naming a folder', make: () => 'synthetic', flags: ['--out', tmpdir()], code: 2, message: `--out: ${tmpdir()} is a folder: give a file name` },
  { name: 'a control character in a --set key', make: () => 'synthetic', flags: ['--set', 'optim.\x1b[31mlr=1'], code: 2, message: 'optim.\\x1b[31mlr: unknown config field' },
];

/** A run that diverges (item 3): NaN from step 11 on the micro preset. */
export const DIVERGING_RUN: BadInput = {
  name: 'a run that diverges (optim.lr=10, no clipping, beta2=0)',
  make: () => 'synthetic',
  // the warm-up named: a 60-step run's would be 12 steps (a fifth), and it diverges at step 6
  flags: ['--json', '--preset', 'micro', '--mode', 'full', '--set', 'schedule.steps=60', '--set', 'schedule.warmupSteps=20', '--set', 'optim.lr=10', '--set', 'optim.clipNorm=0', '--set', 'optim.beta2=0'],
  code: 3,
  message: 'training diverged at step 11: the loss is NaN (gradient norm NaN). The run stopped; what it recorded up to step 10 stands. ' +
    'Start again with optim.lr=1 (now 10), optim.clipNorm=1 (now 0: no clipping), optim.beta2=0.999 (now 0)',
};

