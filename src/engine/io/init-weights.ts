// Weights to start a run from, given as files in memory (the page's "Load weights"): a
// model.safetensors (an export's model/, or a Hub ViTForImageClassification of the same
// config), with the config.json beside it when given. Read whole and checked when given
// (a truncated or corrupted file is named with its first bad entry), and checked again
// against each run's model before it starts; nothing is assigned unless all of it fits.
import type { ModelConfig } from '../config';
import { fewNames, printable } from '../data/names';
import type { ViT } from '../vit';
import { ModelFileError } from './errors';
import { checkConfigJson, checkModelFile, loadIntoModel } from './import';
import { readSafetensors, type StoredTensor } from './safetensors';

export interface InitWeights {
  /** the file's name as shown (printable): the page, a run's row and its saved record show it */
  file: string;
  bytes: number;
  tensors: Map<string, StoredTensor>;
  /** the config.json given with it, parsed, and its name (printable) */
  config: { file: string; json: unknown } | null;
}

const isWeights = (name: string) => name.toLowerCase().endsWith('.safetensors');
// config.json as a browser saves a second copy too: "config (1).json", "config-1.json"
const isConfig = (name: string) => /^config\b[^/]*\.json$/i.test(name);

/** A model.safetensors (and its config.json, if given) read and checked; a ModelFileError names what is wrong. */
export function readInitWeights(files: { name: string; bytes: Uint8Array }[]): InitWeights {
  const weights = files.filter((f) => isWeights(f.name));
  const configs = files.filter((f) => isConfig(f.name));
  const other = files.find((f) => !isWeights(f.name) && !isConfig(f.name));
  const names = fewNames(files.map((f) => f.name)); // a folder's thousands of files: a few named
  const archive = files.find((f) => /\.(zip|tar|tgz|tar\.gz)$/i.test(f.name));
  if (archive) throw new ModelFileError(`${archive.name} is an archive: unzip it and give its model/model.safetensors (and model/config.json beside it)`);
  if (weights.length !== 1 || configs.length > 1 || other) {
    throw new ModelFileError(`${names || 'no files'}: give one model.safetensors, and the config.json beside it if you have it`);
  }
  const [model] = weights as [(typeof files)[number]];
  let config: InitWeights['config'] = null;
  if (configs[0]) {
    const text = new TextDecoder().decode(configs[0].bytes);
    try {
      config = { file: printable(configs[0].name), json: JSON.parse(text) };
    } catch (err) {
      throw new ModelFileError(`${configs[0].name}: not valid JSON (${(err as Error).message})`);
    }
  }
  const { tensors } = readSafetensors(model.bytes, model.name);
  // escaped once, here: it went raw into the page's weights line, each run's "started from" and its saved record
  return { file: printable(model.name), bytes: model.bytes.byteLength, tensors, config };
}

/** Check loaded weights against a run's model (its config.json first, then every tensor's shape); returns the file's unused tensors, a few named. */
export function checkInitWeights(w: InitWeights, m: ModelConfig): { ignored: string } {
  if (w.config) checkConfigJson(w.config.json, m, w.config.file);
  return checkModelFile([...w.tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })), m, w.file);
}

/** The Trainer's `prepareModel`: the weights into a fresh model (checked again there). */
export const initModel = (w: InitWeights) => (model: ViT): void => loadIntoModel(w.tensors, model, w.file);
