// The config a benchmark runs, as its data make it: the model's input and head fitted to
// the data (fitModelToData, as every run's prepareRun does) and the data's own image
// counts (data.trainSize sizes the synthetic set only; MNIST has its own). `bench
// --print-config` prints it for the PyTorch reference: the preset's config said 32x32x3
// and 4,000 images where MNIST runs 28x28x1 and 8,000.
import type { RunConfig } from '../config';
import { fitModelToData } from '../data/builtin';
import type { Dataset } from '../data/dataset';

export function benchConfig(base: RunConfig, dataset: Dataset): RunConfig {
  const fitted = fitModelToData(base, dataset);
  return { ...fitted, data: { ...fitted.data, trainSize: dataset.train.count, testSize: dataset.test.count } };
}
