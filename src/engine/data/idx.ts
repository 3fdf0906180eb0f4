// MNIST / Fashion-MNIST IDX files (`*-images-idx3-ubyte`, `*-labels-idx1-ubyte`,
// gzipped or not). The bundled MNIST is stored in this format too, so one parser
// reads both.
import { formatCount } from '../config';
import { checkSplit, type Dataset, type Split } from './dataset';
import { DatasetError } from './errors';
import { DataBudget, gunzipExpecting, isGzip } from './inflate';

export interface IdxFile {
  kind: 'images' | 'labels';
  count: number;
  rows: number;
  cols: number;
  data: Uint8Array;
}

const IMAGES = 0x00000803;
const LABELS = 0x00000801;
/** the model needs at least 4x4 pixels (model.imageSize) */
const MIN_SIDE = 4;

/**
 * The bytes an IDX file says it holds (header and body), from its first 16 bytes,
 * checked against the budget before a gzipped body is inflated. An unknown magic
 * promises only its header: the parser then says what is wrong.
 */
function promised(head: Uint8Array, file: string, budget: DataBudget): number {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const magic = view.getUint32(0);
  if (magic !== IMAGES && magic !== LABELS) return head.length;
  const count = view.getUint32(4);
  const [rows, cols] = magic === IMAGES ? [view.getUint32(8), view.getUint32(12)] : [1, 1];
  const header = magic === IMAGES ? 16 : 8;
  const what = magic === IMAGES ? `${formatCount(count)} images of ${rows}x${cols}` : `${formatCount(count)} labels`;
  budget.take(header + count * rows * cols, `${file}: its header promises ${what}, that is`);
  return header + count * rows * cols;
}

/**
 * An IDX file's bytes: a gzipped one inflates only as far as its header promises, and
 * counts what it inflates to. An unpacked one was counted where it was read (a file as
 * given, a tar or zip entry): counted again here, the bundled MNIST unpacked took 15 MB
 * of the limit for its 7.5.
 */
function idxBytes(bytes: Uint8Array, file: string, budget: DataBudget): Uint8Array {
  return isGzip(bytes) ? gunzipExpecting(bytes, file, budget, 16, (head) => promised(head, file, budget)) : bytes;
}

export function parseIdx(bytes: Uint8Array, file: string): IdxFile {
  if (bytes.length < 8) throw new DatasetError(`${file}: only ${bytes.length} bytes, too short for an IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (magic !== IMAGES && magic !== LABELS) {
    const hex = `0x${magic.toString(16).padStart(8, '0')}`;
    throw new DatasetError(`${file}: wrong magic number ${hex}: an IDX file of unsigned bytes starts with 0x00000803 (images) or 0x00000801 (labels)`);
  }
  const kind = magic === IMAGES ? 'images' : 'labels';
  const header = kind === 'images' ? 16 : 8;
  if (bytes.length < header) throw new DatasetError(`${file}: the IDX header is cut short (${bytes.length} of ${header} bytes)`);
  const count = view.getUint32(4);
  const rows = kind === 'images' ? view.getUint32(8) : 1;
  const cols = kind === 'images' ? view.getUint32(12) : 1;
  const expected = count * rows * cols;
  const got = bytes.length - header;
  if (got < expected) {
    throw new DatasetError(`${file}: truncated: its header promises ${count} ${kind} (${expected} bytes) but only ${got} bytes follow`);
  }
  return { kind, count, rows, cols, data: bytes.subarray(header, header + expected) };
}

function role(name: string): 'train-images' | 'train-labels' | 'test-images' | 'test-labels' | null {
  const n = name.toLowerCase();
  const split = /t10k|test/.test(n) ? 'test' : /train/.test(n) ? 'train' : null;
  const kind = /images|idx3/.test(n) ? 'images' : /labels|idx1/.test(n) ? 'labels' : null;
  return split && kind ? (`${split}-${kind}` as const) : null;
}

const FASHION = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

function pair(images: IdxFile & { file: string }, labels: IdxFile, what: 'train' | 'test'): Split {
  if (images.kind !== 'images' || labels.kind !== 'labels') throw new DatasetError(`${what}: expected an images file and a labels file`);
  if (images.count !== labels.count) {
    throw new DatasetError(`${what}: ${images.count} images but ${labels.count} labels: upload the images and labels of the same split`);
  }
  const bad = labels.data.findIndex((l) => l > 9);
  if (bad >= 0) throw new DatasetError(`${what}: label ${labels.data[bad]} at index ${bad} is out of range 0-9`);
  const split = { images: images.data, labels: labels.data, count: images.count };
  checkSplit(split, images.file, what);
  return split;
}

const sameIdx = (a: IdxFile, b: IdxFile) =>
  a.kind === b.kind && a.count === b.count && a.rows === b.rows && a.cols === b.cols && a.data.length === b.data.length && a.data.every((v, i) => v === b.data[i]);

/** Four IDX files (train/test images/labels, names as published) -> a Dataset, within `budget` (gzipped ones counted here). */
export async function idxDataset(files: { name: string; path?: string; bytes: Uint8Array }[], name: string, budget: DataBudget): Promise<Dataset> {
  const found: Record<string, IdxFile & { file: string; path: string }> = {};
  for (const f of files) {
    const r = role(f.name);
    if (!r) throw new DatasetError(`${f.name}: not an MNIST file name (expected train-/t10k- and images-idx3 / labels-idx1)`);
    const parsed = parseIdx(idxBytes(f.bytes, f.name, budget), f.name);
    if (parsed.kind === 'images' && (parsed.rows !== parsed.cols || parsed.rows < MIN_SIDE)) {
      throw new DatasetError(`${f.name}: images of ${parsed.rows}x${parsed.cols}: the model takes square images of at least ${MIN_SIDE}x${MIN_SIDE}`);
    }
    // two files of one role: the same data twice (a .gz beside what it unpacks to) is one;
    // other data is refused (a folder holding mnist/ and fashion/ trained on the digits,
    // named and labelled as Fashion-MNIST)
    const had = found[r];
    if (had && !sameIdx(had, parsed)) {
      throw new DatasetError(`${r} given twice, with different data (${had.path}, ${f.path ?? f.name}): upload the four files of one dataset`);
    }
    found[r] = { ...parsed, file: f.name, path: f.path ?? f.name };
  }
  const missing = ['train-images', 'train-labels', 'test-images', 'test-labels'].filter((r) => !found[r]);
  if (missing.length) throw new DatasetError(`missing ${missing.join(', ')}: upload all four files (train-images, train-labels, t10k-images, t10k-labels)`);
  const train = pair(found['train-images']!, found['train-labels']!, 'train');
  const test = pair(found['test-images']!, found['test-labels']!, 'test');
  const { rows, cols } = found['train-images']!;
  const test0 = found['test-images']!;
  if (test0.rows !== rows || test0.cols !== cols) {
    throw new DatasetError(`${test0.file}: images of ${test0.rows}x${test0.cols}, but the training images are ${rows}x${cols}: upload the two splits of one dataset`);
  }
  const fashion = /fashion/i.test(name) || files.some((f) => /fashion/i.test(f.name));
  return {
    name: fashion ? 'Fashion-MNIST' : name,
    classes: fashion ? FASHION : Array.from({ length: 10 }, (_, d) => String(d)),
    shape: [rows, cols, 1],
    train,
    test,
    augment: { crop: 0, flip: false },
  };
}
