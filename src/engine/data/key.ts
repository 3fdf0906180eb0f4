// Which built-in set a config loads, as one string: the fields that shape it (its data
// settings, the seed, the model's image size, channels and classes). The worker keeps
// one set by it; the page asks for a new preview when it changes.
import type { RunConfig } from '../config';

export function builtinDataKey(cfg: RunConfig): string {
  const { data, seed, model } = cfg;
  return JSON.stringify([data, seed, model.imageSize, model.channels, model.numClasses]);
}
