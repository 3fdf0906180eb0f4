// The config's shape as a schema (valibot), for input from outside the engine: a
// worker message today, a URL later. It checks kinds and value sets, and refuses
// unknown fields; ranges and relations stay with validateConfig, which names the fix.
// Not in the config's index: only the modules that check input pay for valibot.
import * as v from 'valibot';
import { LAYER_WEIGHTINGS, METRICS, RANK_METRICS, RANK_SCOPES, RULES } from '../policy';
import { FAMILIES } from '../vit-families';
import { DATASETS, MODES, type RunConfig } from './types';

const num = v.number();

export const PRELORA_SCHEMA = v.strictObject({
  mode: v.picklist(MODES), rank: num, alpha: v.nullable(num), minRank: num, maxRank: num,
  rule: v.picklist(RULES), metric: v.picklist(METRICS), weightThreshold: num, lossThreshold: num, useLossTest: v.boolean(),
  patience: num, minFullSteps: num, layerWeights: v.picklist(LAYER_WEIGHTINGS), rankMetric: v.picklist(RANK_METRICS),
  rankScope: v.picklist(RANK_SCOPES), windowSteps: num, jointSteps: num, resetMoments: v.boolean(), rewarmSteps: num,
  targets: v.array(v.picklist(FAMILIES)),
});

export const RUN_CONFIG_SCHEMA = v.strictObject({
  model: v.strictObject({
    imageSize: num, patchSize: num, channels: num, width: num, depth: num, heads: num,
    mlpRatio: num, numClasses: num, layerNormEps: num, initStd: num,
  }),
  data: v.strictObject({ dataset: v.picklist(DATASETS), augment: v.boolean(), trainSize: num, testSize: num, difficulty: num, maxDataMB: num }),
  optim: v.strictObject({
    batchSize: num, lr: num, beta1: num, beta2: num, epsilon: num, weightDecay: num, clipNorm: num, labelSmoothing: num,
  }),
  schedule: v.strictObject({ steps: num, warmupSteps: num, minLrRatio: num, evalEvery: num, logEvery: num }),
  prelora: PRELORA_SCHEMA,
  seed: num,
});

// The schema and the RunConfig interface must describe the same thing: a field added
// to one and not the other fails the typecheck here.
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
const schemaMatchesRunConfig: Same<v.InferOutput<typeof RUN_CONFIG_SCHEMA>, RunConfig> = true;
void schemaMatchesRunConfig;
