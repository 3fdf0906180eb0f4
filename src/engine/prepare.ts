// Preparing a run, the one way the CLI, the worker and the benchmark do it: check the
// config before any data is made (a model too large is refused at once), load the
// data, fit the model's input and head to it, check again. A problem a user can cause
// comes back as ConfigErrors (see formatErrors), never as a throw.
import type { KernelPath } from './backend';
import { validateConfig, type ConfigError, type RunConfig, type RunContext } from './config';
import { fitModelToData } from './data/builtin';
import type { Dataset } from './data/dataset';
import { DatasetError } from './data/errors';
import { deviceLimits } from './device-limits';

export interface PrepareOptions {
  /** the data a config names: a built-in set, or the user's files */
  load: (config: RunConfig) => Promise<Dataset>;
  /** memory a model may use on this backend, when known */
  memoryBudgetBytes?: number;
  /** the kernels that will train it (what a step keeps in memory differs): tfjs's composite when not given */
  kernels?: KernelPath;
  /** the name a data problem goes by: `--dataset` in the CLI, `data.dataset` by default */
  dataField?: string;
  /**
   * a saved run's settings as it ran (its checkpoint's config): its ranks and window are
   * as it ran, not held to the width and the record's bound a new run is (validateConfig)
   */
  ranWith?: RunContext['ranWith'];
}

export type Prepared =
  | { config: RunConfig; dataset: Dataset; errors: [] }
  | { config: null; dataset: null; errors: ConfigError[] };

const refused = (errors: ConfigError[]): Prepared => ({ config: null, dataset: null, errors });

/** The config that will really run (the model follows the data) and its data, or every problem. */
export async function prepareRun(requested: RunConfig, o: PrepareOptions): Promise<Prepared> {
  // what the device's kernels take (adapter ranks, tensors a step), read from the live backend
  const here: RunContext = { memoryBudgetBytes: o.memoryBudgetBytes, kernels: o.kernels, ...deviceLimits(), ranWith: o.ranWith };
  const early = validateConfig(requested, here);
  if (early.length) return refused(early);
  let dataset: Dataset;
  try {
    dataset = await o.load(requested);
  } catch (err) {
    if (!(err instanceof DatasetError)) throw err;
    return refused([{ path: o.dataField ?? 'data.dataset', message: err.message }]);
  }
  const config = fitModelToData(requested, dataset);
  const fitted = validateConfig(config, here);
  if (fitted.length) return refused(fitted);
  // data.trainSize sizes the synthetic set (validateConfig checks the batch against it);
  // a loaded set has its own count. A larger batch stopped the compiled step at its first
  // step (its plan holds a whole batch) and made the other paths' batches silently smaller.
  const images = dataset.train.count;
  if (config.optim.batchSize > images) {
    return refused([{ path: 'optim.batchSize', message: `batch ${config.optim.batchSize} is larger than the ${images} training images of ${dataset.name}: lower it to ${images} or fewer` }]);
  }
  return { config, dataset, errors: [] };
}
