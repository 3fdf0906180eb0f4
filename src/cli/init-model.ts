// `--init FILE|DIR`: start a run from a model.safetensors (an export's model/ folder, or
// a Hub ViTForImageClassification of the same config). Checked before training: the
// config.json beside it (heads and epsilon do not show in shapes), then the header
// against the run's model, all before the tensors are read; a large or broken file is
// refused with a message that names it.
import { open, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ModelConfig } from '../engine/config';
import { ModelFileError } from '../engine/io/errors';
import { checkConfigJson, checkModelFile, loadIntoModel } from '../engine/io/import';
import { headerLength, parseHeader, readSafetensors } from '../engine/io/safetensors';
import type { ViT } from '../engine/vit';
import { readJsonFile } from './read-report';

const CONFIG_HOW = 'give the config.json written beside the model.safetensors (an export\'s, or the Hub\'s), or remove it';

/** Node reads a file into one buffer: far more than any model this engine can train. */
export const MAX_INIT_BYTES = 2 ** 31 - 1;

export interface InitModel {
  file: string;
  /** tensors of the file the model has no use for (e.g. a pooler): a few named, then how many more; '' for none */
  ignored: string;
  /** loads the weights into a fresh model: the Trainer's `prepareModel` */
  prepare: (model: ViT) => void;
}

async function readHead(file: string, size: number): Promise<Uint8Array> {
  const handle = await open(file, 'r');
  try {
    const first = new Uint8Array(Math.min(8, size));
    await handle.read(first, 0, first.length, 0);
    const n = headerLength(first, size, file);
    const head = new Uint8Array(8 + n);
    await handle.read(head, 0, head.length, 0);
    return head;
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
  const { size } = found;
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
  if (size > MAX_INIT_BYTES) throw new ModelFileError(`${file}: ${size} bytes is more than this reader takes (${MAX_INIT_BYTES}); no model trained here is that large`);
  const header = parseHeader(await readHead(file, size), size, file);
  const { ignored } = checkModelFile(header.entries, model, file);
  const { tensors } = readSafetensors(new Uint8Array(await readFile(file)), file);
  return { file, ignored, prepare: (vit) => loadIntoModel(tensors, vit, file) };
}
