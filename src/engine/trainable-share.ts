// The trainable share, one definition for every view (the run table, the efficiency
// strip, the what-if view and sweep, the benchmark, `npm run explore`): trainable
// parameters over the base model's parameter count, as the paper and the benchmark
// report it. Adapters count as trainable but not in the base, so a run that adds them
// reads against the same model it started from (dividing by every variable alive, as
// the run table did, read 36% where the what-if view read 51% for the same run).
import type { ModelConfig } from './config';
import { countParams } from './size';

/** How every view names the share. */
export const TRAINABLE_SHARE_LABEL = 'trainable / base params';

export function trainableShare(model: ModelConfig, trainable: number): number {
  return trainable / countParams(model);
}

/** A share as the views print it: `51.2%`. */
export const formatShare = (share: number): string => `${(100 * share).toFixed(1)}%`;
