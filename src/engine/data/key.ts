// Which built-in set a config loads, as one string: the fields that shape it. The worker
// keeps one set by it; the page asks for a new preview when it changes. The synthetic
// set is drawn from its data settings, the seed and the model's image size, channels
// and classes; MNIST is its files whatever those are (keyed on them, a seed typed or a
// preset picked made the worker read and decode MNIST again).
import type { RunConfig } from '../config';

export function builtinDataKey(cfg: RunConfig): string {
  const { data, seed, model } = cfg;
  if (data.dataset === 'mnist') return JSON.stringify(['mnist', data.maxDataMB]);
  return JSON.stringify([data, seed, model.imageSize, model.channels, model.numClasses]);
}
