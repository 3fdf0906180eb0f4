// `--dataset PATH`: CIFAR-10 binary (batches, or the published tar.gz) or MNIST IDX
// files, from a file or a folder, read within the config's data limit (read-folder.ts).
// A built-in set is read from the served public/ folder on disk.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunConfig } from '../engine/config';
import { loadBuiltin } from '../engine/data/builtin';
import type { Dataset } from '../engine/data/dataset';
import { configDataLimit } from '../engine/data/limits';
import { DatasetError } from '../engine/data/errors';
import { printable } from '../engine/data/names';
import { datasetFromFiles } from '../engine/data/upload';
import { readDatasetPath } from './read-folder';

export async function loadPath(path: string, cfg: RunConfig): Promise<Dataset> {
  const limit = configDataLimit(cfg.data.maxDataMB);
  const files = await readDatasetPath(path, limit);
  // an empty folder was "no files given", which named no folder
  if (files.length === 0) throw new DatasetError(`${printable(path)}: no files in it: give CIFAR-10 binary batches or MNIST IDX files, or the folder that holds them`);
  return datasetFromFiles(files, { imageSize: cfg.model.imageSize, seed: cfg.seed, limit });
}

/** The built-in set a config names (synthetic, or MNIST from public/data/mnist). */
export function loadBuiltinFromDisk(config: RunConfig): Promise<Dataset> {
  return loadBuiltin(config, async (p) => new Uint8Array(await readFile(join('public', p))));
}
