// What a user uploads, recognised by name and content: CIFAR-10 binary (loose
// batches or the published tar.gz), MNIST / Fashion-MNIST IDX (gzipped or not), or a
// zip / folder of images, one subfolder per class.
import { cifarDataset } from './cifar10';
import type { Dataset } from './dataset';
import { DatasetError, maybeGunzip } from './errors';
import { folderDataset, IMAGE_EXT, type ImageDecoder } from './folder';
import { idxDataset } from './idx';
import { formatBytes } from '../config';

/** Larger uploads are refused before they are read: a tab holds them in memory twice. */
export const MAX_UPLOAD_BYTES = 512 * 1024 ** 2;

export function tooLarge(name: string, bytes: number): string {
  return `${name} is ${formatBytes(bytes)}, more than the ${formatBytes(MAX_UPLOAD_BYTES)} a dataset may take here: upload fewer batches or a smaller set`;
}

export interface UploadFile {
  name: string;
  /** path inside a folder upload or an archive, e.g. `cats/1.png` */
  path?: string;
  bytes: Uint8Array;
}

export interface UploadOptions {
  imageSize: number;
  seed: number;
  decode?: ImageDecoder;
}

async function unpack(files: UploadFile[]): Promise<UploadFile[]> {
  const out: UploadFile[] = [];
  for (const f of files) {
    if (/\.(tar\.gz|tgz|tar)$/i.test(f.name)) {
      const { parseTar } = await import('nanotar');
      const tar = await maybeGunzip(f.bytes, f.name);
      let entries;
      try { entries = parseTar(tar); } catch (err) { throw new DatasetError(`${f.name}: not a readable tar archive (${(err as Error).message})`); }
      for (const e of entries) if (e.data && e.type !== 'directory') out.push({ name: e.name.split('/').pop()!, path: e.name, bytes: e.data });
    } else if (/\.zip$/i.test(f.name)) {
      const { unzipSync } = await import('fflate');
      let entries;
      try { entries = unzipSync(f.bytes); } catch (err) { throw new DatasetError(`${f.name}: not a readable zip file (${(err as Error).message})`); }
      for (const [path, bytes] of Object.entries(entries)) if (!path.endsWith('/')) out.push({ name: path.split('/').pop()!, path, bytes });
    } else out.push(f);
  }
  return out;
}

export async function datasetFromFiles(files: UploadFile[], o: UploadOptions): Promise<Dataset> {
  if (files.length === 0) throw new DatasetError('no files given');
  const all = await unpack(files);
  const cifar = all.filter((f) => /(data|test)_batch.*\.bin$/i.test(f.name));
  if (cifar.length) return cifarDataset(cifar, o.seed);
  const idx = all.filter((f) => /idx[13]-ubyte/i.test(f.name));
  if (idx.length) return idxDataset(idx, idx.some((f) => /fashion/i.test(f.path ?? '')) ? 'Fashion-MNIST' : 'MNIST');
  const images = all.filter((f) => IMAGE_EXT.test(f.name));
  if (images.length) {
    if (!o.decode) throw new DatasetError('image folders are decoded in the browser: upload them in the page, or use CIFAR-10 or IDX files here');
    return folderDataset(all.map((f) => ({ path: f.path ?? f.name, bytes: f.bytes })), o.imageSize, o.seed, o.decode);
  }
  const bin = all.find((f) => /\.bin$/i.test(f.name));
  if (bin) return cifarDataset([bin], o.seed); // a CIFAR-style batch under another name: the parser says if it is not
  throw new DatasetError(`${all.map((f) => f.name).slice(0, 3).join(', ')}: not a dataset this page reads: ` +
    'use CIFAR-10 binary (data_batch_*.bin, test_batch.bin or cifar-10-binary.tar.gz), MNIST IDX (*-idx3-ubyte, *-idx1-ubyte, .gz or not), or a zip/folder of images with one subfolder per class');
}
