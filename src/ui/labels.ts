// How the page names the engine's value sets. One Record per set: a value added to a
// set without a label here fails the typecheck.
import type { BuiltinDataset, Mode } from '../engine/config';
import type { LayerWeighting, Metric, Rule } from '../engine/policy';

export const MODE_LABELS: Record<Mode, string> = { full: 'full', lora: 'static LoRA', prelora: 'PreLoRA' };

export const RULE_LABELS: Record<Rule, string> = { module: 'per module', global: 'global (paper)' };

export const METRIC_LABELS: Record<Metric, string> = {
  'update%': 'update% (true change)',
  'normChange%': 'normChange% (paper)',
  'gradChange%': 'gradChange%',
};

export const LAYER_WEIGHTING_LABELS: Record<LayerWeighting, string> = { uniform: 'uniform', deep: 'deep (paper: l^10)' };

export const DATASET_LABELS: Record<BuiltinDataset, string> = {
  synthetic: 'synthetic shapes (built in)',
  mnist: 'MNIST digits (built in)',
};

/** A Record's keys in its declared order, typed. */
export const keysOf = <K extends string>(labels: Record<K, string>) => Object.keys(labels) as K[];
