// `--dataset PATH`: CIFAR-10 binary (batches, or the published tar.gz) or MNIST IDX
// files, from a file or a folder. Files too large are refused before they are read.
// A built-in set is read from the served public/ folder on disk.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { RunConfig } from '../engine/config';
import { loadBuiltin } from '../engine/data/builtin';
import type { Dataset } from '../engine/data/dataset';
import { DatasetError } from '../engine/data/errors';
import { datasetFromFiles, MAX_UPLOAD_BYTES, tooLarge } from '../engine/data/upload';

async function listFiles(path: string): Promise<string[]> {
  const s = await stat(path).catch(() => null);
  if (!s) throw new DatasetError(`${path}: no such file or folder`);
  if (s.isFile()) return [path];
  const out: string[] = [];
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const p = join(path, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(p)));
    else out.push(p);
  }
  return out;
}

export async function loadPath(path: string, cfg: RunConfig): Promise<Dataset> {
  const paths = await listFiles(path);
  let total = 0;
  for (const p of paths) total += (await stat(p)).size;
  if (total > MAX_UPLOAD_BYTES) throw new DatasetError(tooLarge(path, total));
  const files = await Promise.all(paths.map(async (p) => ({ name: basename(p), path: p, bytes: new Uint8Array(await readFile(p)) })));
  return datasetFromFiles(files, { imageSize: cfg.model.imageSize, seed: cfg.seed });
}

/** The built-in set a config names (synthetic, or MNIST from public/data/mnist). */
export function loadBuiltinFromDisk(config: RunConfig): Promise<Dataset> {
  return loadBuiltin(config, async (p) => new Uint8Array(await readFile(join('public', p))));
}
