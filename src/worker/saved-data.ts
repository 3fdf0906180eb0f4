// An uploaded dataset kept with a saved run, so that the run resumes without the files
// being uploaded again: the decoded splits (the bytes a run trains on, not the files
// they came from) in one file: a 4-byte little-endian header length, a JSON header
// (name, classes, shape, augmentation, each split's count, the CRC-32 of the bytes),
// then the train and test images and labels. The CRC-32 is also the data's identity:
// a saved run too large to keep its data names it, and a new upload must match it.
import { crc32 } from '../engine/checkpoint/format';
import type { Dataset, Split } from '../engine/data/dataset';
import { fewNames } from '../engine/data/names';
import { comparePaths } from '../engine/data/upload';

/**
 * The largest decoded dataset kept with a saved run: all of CIFAR-10 is 184 MB decoded,
 * MNIST 55 MB; a larger set, kept once per saved run, would fill a browser's quota fast.
 */
export const MAX_KEPT_DATA_BYTES = 256 * 2 ** 20;

/** What a saved run knows of the uploaded data it trained on. */
export interface DataIdentity {
  /** the files it came from, as a person would upload them again */
  name: string;
  /** training and test images */
  images: number;
  crc32: string;
  /** whether its bytes are kept with the saved run (false: too large, upload it again) */
  kept: boolean;
}

interface Header {
  format: 'prelora-dataset';
  version: 1;
  name: string;
  classes: string[];
  shape: [number, number, number];
  augment: Dataset['augment'];
  train: number;
  test: number;
  crc32: string;
}

const parts = (d: Dataset) => [d.train.images, d.train.labels, d.test.images, d.test.labels];
const hex = (n: number) => n.toString(16).padStart(8, '0');

/** The data's identity: the files it came from, its size and the CRC-32 of its images and labels. */
export function identify(d: Dataset, files: string): Omit<DataIdentity, 'kept'> {
  return { name: files, images: d.train.count + d.test.count, crc32: hex(crc32(...parts(d))) };
}

/** The files of an upload by name, in the order the data is read (path order): a few, then how many more. */
export function describeFiles(files: { name: string; path?: string }[]): string {
  return fewNames([...files].sort((a, b) => comparePaths(a.path ?? a.name, b.path ?? b.name)).map((f) => f.name));
}

/** The bytes the kept file takes, before it is made. */
export function keptBytes(d: Dataset): number {
  return parts(d).reduce((n, p) => n + p.byteLength, 0);
}

/** The kept file; `crc32` is the data's identity where the caller has it already (a CRC of every image is not free). */
export function encodeDataset(d: Dataset, crc32 = identify(d, '').crc32): Uint8Array {
  const header: Header = {
    format: 'prelora-dataset', version: 1, name: d.name, classes: d.classes, shape: d.shape, augment: d.augment,
    train: d.train.count, test: d.test.count, crc32,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(4 + json.length + keptBytes(d));
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  let at = 4 + json.length;
  for (const p of parts(d)) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** The largest label, read in a loop: a spread of 60,000 arguments may overflow the call stack. */
const largest = (labels: Uint8Array) => labels.reduce((a, b) => (b > a ? b : a), 0);
const isCount = (n: unknown, min: number) => Number.isSafeInteger(n) && (n as number) >= min;

/**
 * What is wrong with a header of the right format, read before any field is used: a
 * header of JSON null threw "Cannot read properties of null", one without its shape
 * "(reading '0')", and the page showed that TypeError on restore.
 */
function headerProblem(h: Partial<Record<keyof Header, unknown>>): string | null {
  if (!Array.isArray(h.shape) || h.shape.length !== 3 || !h.shape.every((n) => isCount(n, 1))) return "its header's shape is not 3 whole numbers of 1 or more";
  for (const split of ['train', 'test'] as const) {
    if (!isCount(h[split], 1)) return `its header's ${split} is not a whole number of 1 or more`;
  }
  if (!Array.isArray(h.classes) || h.classes.length < 2 || !h.classes.every((c) => typeof c === 'string')) return "its header's classes are not a list of 2 or more names";
  if (typeof h.name !== 'string') return "its header's name is not text";
  const augment = h.augment as Partial<Record<keyof Dataset['augment'], unknown>> | null | undefined;
  if (!isCount(augment?.crop, 0) || typeof augment?.flip !== 'boolean') return "its header's augment is not a crop of 0 or more and a flip";
  return null;
}

/** Read a kept dataset back whole; refused with a message naming `what` when it is truncated or corrupted. */
export function decodeDataset(bytes: Uint8Array, what: string): Dataset {
  const refuse = (why: string): never => {
    throw new Error(`${what}: the uploaded data kept with it ${why}; delete it, or upload the data again`);
  };
  if (bytes.length < 4) refuse('is empty');
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  if (4 + length > bytes.length) refuse('is truncated');
  let h: Header;
  try {
    h = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + length))) as Header;
  } catch {
    return refuse('has an unreadable header');
  }
  if (h === null || typeof h !== 'object' || Array.isArray(h)) return refuse('is corrupted (its header is not an object)');
  if (h.format !== 'prelora-dataset' || h.version !== 1) refuse(`is of another format (${JSON.stringify(h.format)} version ${JSON.stringify(h.version)})`);
  const problem = headerProblem(h);
  if (problem) refuse(`is corrupted (${problem})`);
  const pixels = h.shape[0] * h.shape[1] * h.shape[2];
  const sizes = [h.train * pixels, h.train, h.test * pixels, h.test];
  if (4 + length + sizes.reduce((a, b) => a + b, 0) !== bytes.length) refuse('is truncated');
  let at = 4 + length;
  const [trainImages, trainLabels, testImages, testLabels] = sizes.map((n) => {
    const part = bytes.slice(at, at + n);
    at += n;
    return part;
  }) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  const split = (images: Uint8Array, labels: Uint8Array, count: number): Split => ({ images, labels, count });
  const d: Dataset = {
    name: h.name, classes: h.classes, shape: h.shape, augment: h.augment,
    train: split(trainImages, trainLabels, h.train), test: split(testImages, testLabels, h.test),
  };
  if (identify(d, '').crc32 !== h.crc32) refuse('is corrupted (its CRC-32 does not match)');
  // the CRC-32 covers no class names: a label past them would train on a class that is not there
  const top = Math.max(largest(trainLabels), largest(testLabels));
  if (top >= h.classes.length) refuse(`is corrupted (a label of ${top}, and ${h.classes.length} classes)`);
  return d;
}
