// What a user uploads, recognised by name and content: CIFAR-10 binary (loose
// batches or the published tar.gz), MNIST / Fashion-MNIST IDX (gzipped or not), or a
// zip / folder of images, one subfolder per class. Archives unpack within the data
// limit (inflate.ts, tar.ts); every name in a message is printable (errors.ts).
import { cifarDataset } from './cifar10';
import type { Dataset } from './dataset';
import { DatasetError } from './errors';
import { folderDataset, IMAGE_EXT, isNoDataFile, type ImageDecoder } from './folder';
import { idxDataset } from './idx';
import { DataBudget, isGzip, unzipBounded } from './inflate';
import { MAX_FILES, type DataLimit } from './limits';
import { untar } from './tar';

export interface UploadFile {
  name: string;
  /** path inside a folder upload or an archive, e.g. `cats/1.png` */
  path?: string;
  bytes: Uint8Array;
}

export interface UploadOptions {
  imageSize: number;
  seed: number;
  /** the most the files may take once unpacked (CLI: data.maxDataMB; page: the device's) */
  limit: DataLimit;
  decode?: ImageDecoder;
}

/**
 * Paths in code-unit order, the same on every system and in every browser (not the
 * locale's): the order a dataset's files are parsed in, and so its images' order.
 */
export const comparePaths = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const TAR = /\.(tar\.gz|tgz|tar)$/i;
const ARCHIVE = /\.(tar\.gz|tgz|tar|zip)$/i;

/** Archives opened, other files as they are; all of it counted against `budget`. */
function unpack(files: UploadFile[], budget: DataBudget): UploadFile[] {
  const out: UploadFile[] = [];
  for (const f of files) {
    if (TAR.test(f.name)) out.push(...untar(f.bytes, f.name, budget));
    else if (/\.zip$/i.test(f.name)) out.push(...unzipBounded(f.bytes, f.name, budget));
    else {
      if (!isGzip(f.bytes)) budget.take(f.bytes.length, `${f.name} takes`); // a gzipped IDX counts as it inflates
      out.push(f);
    }
    if (out.length > MAX_FILES) throw new DatasetError(`more than ${MAX_FILES} files once unpacked: a dataset has fewer`);
  }
  return out;
}

export async function datasetFromFiles(files: UploadFile[], o: UploadOptions): Promise<Dataset> {
  if (files.length === 0) throw new DatasetError('no files given');
  if (files.length > MAX_FILES) throw new DatasetError(`${files.length} files are more than the ${MAX_FILES} a dataset may have: pick the folder of one dataset`);
  const budget = new DataBudget(o.limit);
  // in path order, not the order given: the same files picked or dropped in another
  // order made other data (another CRC-32: not the same run again, nor resumable by it)
  const unpacked = unpack(files, budget).sort((a, b) => comparePaths(a.path ?? a.name, b.path ?? b.name));
  // no dataset file is hidden: a Finder zip's __MACOSX/._data_batch_1.bin (4,096 bytes of
  // resource fork) was parsed as a batch and refused as "truncated", naming a file Finder
  // does not show; an exFAT drive's folders carry the same ._ files
  const all = unpacked.filter((f) => !isNoDataFile(f.path ?? f.name));
  const cifar = all.filter((f) => /(data|test)_batch.*\.bin$/i.test(f.name));
  if (cifar.length) return cifarDataset(cifar, o.seed);
  const idx = all.filter((f) => /idx[13]-ubyte/i.test(f.name));
  if (idx.length) return idxDataset(idx, idx.some((f) => /fashion/i.test(f.path ?? '')) ? 'Fashion-MNIST' : 'MNIST', budget);
  const images = all.filter((f) => IMAGE_EXT.test(f.name));
  if (images.length) {
    if (!o.decode) throw new DatasetError('image folders are decoded in the browser: upload them in the page, or use CIFAR-10 or IDX files here');
    return folderDataset(all.map((f) => ({ path: f.path ?? f.name, bytes: f.bytes })), o.imageSize, o.seed, o.decode, budget);
  }
  const bin = all.find((f) => /\.bin$/i.test(f.name));
  if (bin) return cifarDataset([bin], o.seed); // a CIFAR-style batch under another name: the parser says if it is not
  // the files as given (an archive by its own name: its entries alone named the wrong file), then what an archive held
  const list = (names: string[]) => `${names.slice(0, 3).join(', ')}${names.length > 3 ? ` and ${names.length - 3} more` : ''}`;
  const archives = files.some((f) => ARCHIVE.test(f.name));
  const held = archives && unpacked.length ? ` (holding ${list(unpacked.map((f) => f.name))})` : '';
  // the page's own model export, given as data: say where it goes
  const model = all.some((f) => /(\.safetensors|adapter_config\.json)$/i.test(f.name))
    ? '; it is a model: start runs from it with Load weights in the page or --init in the CLI (an export\'s model/ folder)' : '';
  // image folders only where images can be decoded (the page): the CLI offered them too
  const folders = o.decode ? ', or a zip/folder of images with one subfolder per class' : ' (image folders: in the page)';
  throw new DatasetError(`${list(files.map((f) => f.name))}${held}: not a dataset the playground reads${model}: ` +
    `use CIFAR-10 binary (data_batch_*.bin, test_batch.bin or cifar-10-binary.tar.gz), MNIST IDX (*-idx3-ubyte, *-idx1-ubyte, .gz or not)${folders}`);
}
