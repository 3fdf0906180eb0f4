// MNIST / Fashion-MNIST IDX files (`*-images-idx3-ubyte`, `*-labels-idx1-ubyte`,
// gzipped or not). The bundled MNIST is stored in this format too, so one parser
// reads both.
import type { Dataset, Split } from './dataset';
import { DatasetError, maybeGunzip } from './errors';

export interface IdxFile {
  kind: 'images' | 'labels';
  count: number;
  rows: number;
  cols: number;
  data: Uint8Array;
}

const IMAGES = 0x00000803;
const LABELS = 0x00000801;

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

function pair(images: IdxFile, labels: IdxFile, what: string): Split {
  if (images.kind !== 'images' || labels.kind !== 'labels') throw new DatasetError(`${what}: expected an images file and a labels file`);
  if (images.count !== labels.count) {
    throw new DatasetError(`${what}: ${images.count} images but ${labels.count} labels: upload the images and labels of the same split`);
  }
  const bad = labels.data.findIndex((l) => l > 9);
  if (bad >= 0) throw new DatasetError(`${what}: label ${labels.data[bad]} at index ${bad} is out of range 0-9`);
  return { images: images.data, labels: labels.data, count: images.count };
}

/** Four IDX files (train/test images/labels, names as published) -> a Dataset. */
export async function idxDataset(files: { name: string; bytes: Uint8Array }[], name = 'MNIST'): Promise<Dataset> {
  const found: Record<string, IdxFile> = {};
  for (const f of files) {
    const r = role(f.name);
    if (!r) throw new DatasetError(`${f.name}: not an MNIST file name (expected train-/t10k- and images-idx3 / labels-idx1)`);
    found[r] = parseIdx(await maybeGunzip(f.bytes, f.name), f.name);
  }
  const missing = ['train-images', 'train-labels', 'test-images', 'test-labels'].filter((r) => !found[r]);
  if (missing.length) throw new DatasetError(`missing ${missing.join(', ')}: upload all four files (train-images, train-labels, t10k-images, t10k-labels)`);
  const train = pair(found['train-images']!, found['train-labels']!, 'train');
  const test = pair(found['test-images']!, found['test-labels']!, 'test');
  const { rows, cols } = found['train-images']!;
  if (found['test-images']!.rows !== rows || found['test-images']!.cols !== cols) throw new DatasetError('train and test images differ in size');
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
