// Import a model.safetensors (one we exported, or a Hub ViTForImageClassification of
// the same config) into a model to train on from it. The file's tensors are checked
// against the model config first, from the header alone, and the first one that does
// not fit is named with the shape expected and the shape found; nothing is assigned
// unless everything fits.
import * as tf from '@tensorflow/tfjs';
import type { ModelConfig } from '../config';
import { fewNames, printable } from '../data/names';
import type { ViT } from '../vit';
import { ModelFileError } from './errors';
import { compareVitConfig } from './hf-config';
import { fromHub, hubParameters } from './hf-layout';
import { toFloat32, type StoredTensor, type TensorEntry } from './safetensors';

const FLOAT = new Set(['F32', 'F16', 'BF16', 'F64']);
const fmt = (shape: number[]) => `[${shape.join(', ')}]`;

/** A config.json that came with a file to import, against the run's model: heads and epsilon do not show in shapes. */
export function checkConfigJson(json: unknown, m: ModelConfig, file: string): void {
  const problems = compareVitConfig(json, m);
  if (problems.length) throw new ModelFileError(`${file} does not match this run's model: ${problems.join('; ')}: train with the config the file was made with`);
}

/**
 * Check a file's tensors (from its header) against a model config. Throws a
 * ModelFileError naming the first tensor that is missing, not floating point or of
 * another shape; returns the entries the model loads (in its order: what --init reads)
 * and the tensors it has no use for (a pooler...), as the page and the CLI show them: a
 * few names, printable, then how many more ('' for none). A file of 500,000 such tensors
 * was listed whole, 7.9 million characters.
 */
export function checkModelFile<E extends Pick<TensorEntry, 'name' | 'dtype' | 'shape'>>(entries: E[], m: ModelConfig, file: string): { loaded: E[]; ignored: string } {
  const byName = new Map(entries.map((e) => [e.name, e]));
  const adapterKey = entries.find((e) => /\.lora_[AB](\.weight)?$/.test(e.name));
  if (adapterKey) {
    throw new ModelFileError(`${file}: tensor "${adapterKey.name}" is a LoRA adapter's: import a whole model's model.safetensors (an export's model/ folder), not an adapter`);
  }
  const expected = hubParameters(m);
  const loaded: E[] = [];
  for (const [name, shape] of expected) {
    const e = byName.get(name);
    if (!e) {
      const has = entries.slice(0, 3).map((x) => `"${x.name}"`).join(', ');
      throw new ModelFileError(
        `${file}: tensor "${name}" (expected shape ${fmt(shape)}) is missing; the file has ${entries.length} tensors` +
        `${has ? ` (${has}, ...)` : ''}: give a ViTForImageClassification checkpoint with the Hub's names`);
    }
    if (!FLOAT.has(e.dtype)) throw new ModelFileError(`${file}: tensor "${name}" is ${e.dtype}: a weight must be F32, F16, BF16 or F64`);
    if (fmt(e.shape) !== fmt(shape)) {
      throw new ModelFileError(
        `${file}: tensor "${name}": expected shape ${fmt(shape)} for this run's model, got ${fmt(e.shape)}: ` +
        'train with the model config the file was made with (see its config.json), or give a file made for this one');
    }
    loaded.push(e);
  }
  const known = new Set(expected.map(([n]) => n));
  const ignored = entries.map((e) => e.name).filter((n) => !known.has(n));
  return { loaded, ignored: fewNames(ignored, printable) };
}

/** Assign a checked file's tensors to the model's variables (its adapters, if any, are left as they are). */
export function loadIntoModel(tensors: Map<string, StoredTensor>, model: ViT, file: string): void {
  checkModelFile([...tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })), model.config, file);
  for (const [name, v] of model.namedVariables()) {
    const stored = tensors.get(name);
    if (!stored) continue; // adapters: not in a model file
    const ours = fromHub(name, { shape: stored.shape, data: toFloat32(stored, name, file) });
    tf.tidy(() => v.assign(tf.tensor(ours.data, v.shape)));
  }
}
