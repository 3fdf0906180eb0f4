// `--init FILE|DIR`: start a run from a model.safetensors (an export's model/ folder, or
// a Hub ViTForImageClassification of the same config). Checked before training: the
// config.json beside it (heads and epsilon do not show in shapes), then the header
// against the run's model, all before the tensors are read; a broken file is refused
// with a message that names it. Then only the tensors the model loads are read, each
// from its own byte range on one file handle: an ignored tensor (a pooler) is never
// read, so what comes into memory is the header (the format's limit) and the model's
// own tensors (its shapes, at most 8 bytes a value), whatever the file's size.
import { open, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ModelConfig } from '../engine/config';
import { ModelFileError } from '../engine/io/errors';
import { checkConfigJson, checkModelFile, loadIntoModel } from '../engine/io/import';
import { headerLength, parseHeader, type StoredTensor } from '../engine/io/safetensors';
import type { ViT } from '../engine/vit';
import { readJsonFile } from './read-report';

const CONFIG_HOW = 'give the config.json written beside the model.safetensors (an export\'s, or the Hub\'s), or remove it';

export interface InitModel {
  file: string;
  /** tensors of the file the model has no use for (e.g. a pooler): a few named, then how many more; '' for none */
  ignored: string;
  /** loads the weights into a fresh model: the Trainer's `prepareModel` */
  prepare: (model: ViT) => void;
}

/**
 * `length` bytes at `position` of the file, which its header (checked against the
 * file's size) says are there: a file that ends sooner changed after it was checked.
 */
async function readAt(handle: FileHandle, length: number, position: number, file: string): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  for (let at = 0; at < length;) {
    const { bytesRead } = await handle.read(bytes, at, length - at, position + at);
    if (bytesRead === 0) {
      throw new ModelFileError(`${file}: it ends at byte ${position + at}, short of the ${position + length} its header needs: ` +
        'it changed while it was read: give it again once it is written');
    }
    at += bytesRead;
  }
  return bytes;
}

/** The header, checked against the run's model, then the tensors the model loads, each read from its own range. */
async function readModelFile(file: string, model: ModelConfig): Promise<{ ignored: string; tensors: Map<string, StoredTensor> }> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const n = headerLength(await readAt(handle, Math.min(8, size), 0, file), size, file);
    const header = parseHeader(await readAt(handle, 8 + n, 0, file), size, file);
    const { loaded, ignored } = checkModelFile(header.entries, model, file);
    const tensors = new Map<string, StoredTensor>();
    for (const e of loaded) {
      tensors.set(e.name, { dtype: e.dtype, shape: e.shape, bytes: await readAt(handle, e.end - e.begin, header.dataStart + e.begin, file) });
    }
    return { ignored, tensors };
  } finally {
    await handle.close();
  }
}

export async function readInitModel(path: string, model: ModelConfig): Promise<InitModel> {
  const s = await stat(path).catch(() => null);
  if (!s) throw new ModelFileError(`${path}: no such file or folder`);
  const file = s.isDirectory() ? join(path, 'model.safetensors') : path;
  const found = await stat(file).catch(() => null);
  if (!found) throw new ModelFileError(`${file}: no such file: give a model.safetensors or the folder that holds it`);
  // a pipe, a device or a folder named model.safetensors: its open waited for a writer forever
  if (!found.isFile()) throw new ModelFileError(`${file}: not a regular file (a pipe, a device or a folder): give a model.safetensors or the folder that holds it`);
  const configPath = join(dirname(file), 'config.json');
  // absent, it is not checked; there but unreadable (a folder, no permission, a pipe, too
  // large, not JSON), it is refused by name: a read error used to count as absent, and
  // the heads and epsilon went unchecked
  const present = await stat(configPath).then(() => true, (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return false;
    throw new ModelFileError(`${configPath}: cannot read it (${err.code ?? err.message}): ${CONFIG_HOW}`);
  });
  if (present) {
    let json: unknown;
    try {
      json = readJsonFile(configPath, CONFIG_HOW);
    } catch (err) {
      throw new ModelFileError((err as Error).message);
    }
    checkConfigJson(json, model, configPath);
  }
  const { ignored, tensors } = await readModelFile(file, model);
  return { file, ignored, prepare: (vit) => loadIntoModel(tensors, vit, file) };
}
