// One typed config for a run (model, data, optimiser, schedule, seed, PreLoRA policy),
// the presets, and validation that names every problem by field path with a fix.
import type { PolicySettings } from './policy';
import { estimateMemory, type MemoryEstimate } from './size';
import { FAMILIES, type Family } from './vit-families';

export interface ModelConfig {
  imageSize: number;
  patchSize: number;
  channels: number;
  /** hidden size D (HF `hidden_size`) */
  width: number;
  /** number of transformer blocks (HF `num_hidden_layers`) */
  depth: number;
  heads: number;
  /** MLP hidden size = mlpRatio * width (HF `intermediate_size`) */
  mlpRatio: number;
  numClasses: number;
  layerNormEps: number;
  /** std of the truncated-normal initialisation (HF `initializer_range`) */
  initStd: number;
}

export interface DataConfig {
  /** built-in sets, or `upload` for files the user gave (CLI: a path) */
  dataset: 'synthetic' | 'mnist' | 'upload';
  /** random crop / flip of training batches, as suits the dataset (off for digits) */
  augment: boolean;
  trainSize: number;
  testSize: number;
  /** synthetic only: 0 (easy) .. 1 (hard): noise, contrast and clutter */
  difficulty: number;
}

export interface OptimConfig {
  batchSize: number;
  lr: number;
  beta1: number;
  beta2: number;
  /** pinned: tfjs would otherwise take the backend's epsilon (1e-4 on webgl) */
  epsilon: number;
  /** decoupled (AdamW) decay, applied to weight matrices only */
  weightDecay: number;
  /** global-norm gradient clipping; 0 turns it off */
  clipNorm: number;
  labelSmoothing: number;
}

export interface ScheduleConfig {
  steps: number;
  warmupSteps: number;
  /** the cosine decays to lr * minLrRatio at the last step */
  minLrRatio: number;
  evalEvery: number;
  /** losses are read back from the device in one batch every logEvery steps */
  logEvery: number;
}

/** PreLoRA: the mode, the switch policy (live-editable) and what happens at a switch. */
export interface PreLoRAConfig extends PolicySettings {
  mode: 'full' | 'lora' | 'prelora';
  /** rank of static LoRA (mode `lora`) */
  rank: number;
  /** LoRA alpha; `null` means alpha = rank (scale 1, as the paper's code) */
  alpha: number | null;
  /** optimiser steps per window: statistics are snapshotted at the end of each */
  windowSteps: number;
  /** steps a switched module trains base and adapter together before the base freezes */
  jointSteps: number;
  /** reset AdamW's moments at each phase change, as the paper (global rule: all; per-module rule: the changed modules' adapters); else only drop frozen slots */
  resetMoments: boolean;
  /** linear re-warm-up of the learning rate after a freeze (paper: 100 steps after 1000-step windows); the presets use one window */
  rewarmSteps: number;
  /** module families that may switch */
  targets: Family[];
}

export interface RunConfig {
  model: ModelConfig;
  data: DataConfig;
  optim: OptimConfig;
  schedule: ScheduleConfig;
  prelora: PreLoRAConfig;
  seed: number;
}

export type PresetName = 'micro' | 'nano' | 'tiny' | 'small' | 'vit-l16';

const base: RunConfig = {
  model: {
    imageSize: 32, patchSize: 4, channels: 3, width: 64, depth: 4, heads: 4,
    mlpRatio: 4, numClasses: 10, layerNormEps: 1e-6, initStd: 0.02,
  },
  data: { dataset: 'synthetic', augment: true, trainSize: 4000, testSize: 1000, difficulty: 0.5 },
  optim: {
    batchSize: 32, lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7,
    weightDecay: 0.05, clipNorm: 1, labelSmoothing: 0.1,
  },
  schedule: { steps: 300, warmupSteps: 20, minLrRatio: 0.1, evalEvery: 100, logEvery: 10 },
  prelora: {
    mode: 'full', rank: 8, alpha: null, minRank: 4, maxRank: 32,
    rule: 'global', metric: 'update%', weightThreshold: 5, lossThreshold: 10, useLossTest: true,
    patience: 3, minFullSteps: 0, layerWeights: 'uniform', rankMetric: 'gradChange%', rankScope: 'family',
    windowSteps: 50, jointSteps: 50, resetMoments: true, rewarmSteps: 50, targets: [...FAMILIES],
  },
  seed: 1,
};

type ModelOverrides = Pick<ModelConfig, 'width' | 'depth' | 'heads'> & Partial<ModelConfig>;

/**
 * HF's initializer_range of 0.02 suits width 768 and up (about 0.55 / sqrt(width)).
 * At width 64 it shrinks every linear's output 8x and a nano ViT sits on a loss
 * plateau for ~150 steps (measured, 200 steps on the synthetic set: loss 2.07 and
 * 24% test accuracy with 0.02, loss 1.50 and 44% with 1/sqrt(64)). So the small
 * presets start at the fan-in scale 1/sqrt(width); vit-l16 keeps the paper's 0.02.
 */
function preset(model: ModelOverrides, more: Partial<Omit<RunConfig, 'model'>> = {}): RunConfig {
  const initStd = model.initStd ?? 1 / Math.sqrt(model.width);
  return structuredClone({ ...base, ...more, model: { ...base.model, initStd, ...model } });
}

// nano's runs are a few hundred to a thousand steps: windows of 25 steps let PreLoRA
// act within them, and ranks stop at 16 (a rank-32 adapter on a 64x64 weight is as
// large as it). update% grows with the window: over 25 steps nano's modules move
// ~3.5% early on and ~0.35% at the end of a 1,000-step MNIST run (measured), so the
// paper's 5 would switch everything at the first chance; with 3 the global rule
// switched at step 325 of 1,000 there, 1.4 points below full training; 2.5 waits for
// step 450 (seed 1). The re-warm scales with the window (the paper: 100 steps after
// 1,000-step windows): 100 steps after 25-step windows re-warmed the rest of a short run.
const nanoPreLoRA: PreLoRAConfig = { ...base.prelora, windowSteps: 25, jointSteps: 25, rewarmSteps: 25, maxRank: 16, weightThreshold: 2.5 };

export const PRESETS: Record<PresetName, RunConfig> = {
  // for smoke tests and software GPUs: a nano step takes ~35 s on SwiftShader's
  // WebGPU, a micro step ~1.3 s (measured in Node through Dawn)
  micro: preset(
    { imageSize: 16, width: 32, depth: 2, heads: 2 },
    { optim: { ...base.optim, batchSize: 16 }, data: { ...base.data, trainSize: 1000, testSize: 200 }, prelora: nanoPreLoRA },
  ),
  nano: preset({ width: 64, depth: 4, heads: 4 }, { prelora: nanoPreLoRA }),
  tiny: preset({ width: 192, depth: 6, heads: 3 }),
  small: preset({ width: 384, depth: 8, heads: 6 }),
  // The paper's model: ViT-L/16 at 224 px on ImageNet-1k. Available for estimates; it
  // does not fit a browser tab or the wasm heap, and validation says so.
  'vit-l16': preset(
    { imageSize: 224, patchSize: 16, width: 1024, depth: 24, heads: 16, numClasses: 1000, layerNormEps: 1e-12, initStd: 0.02 },
    { optim: { ...base.optim, batchSize: 64, lr: 1e-2, weightDecay: 1e-4 } },
  ),
};

export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** A preset with overrides merged in; the result still needs `validateConfig`. */
export function makeConfig(name: PresetName, overrides: DeepPartial<RunConfig> = {}): RunConfig {
  const cfg = structuredClone(PRESETS[name]);
  for (const [section, values] of Object.entries(overrides)) {
    const key = section as keyof RunConfig;
    if (values !== null && typeof values === 'object' && typeof cfg[key] === 'object') {
      Object.assign(cfg[key] as object, values);
    } else {
      (cfg as unknown as Record<string, unknown>)[key] = values;
    }
  }
  return cfg;
}

export interface ConfigError {
  /** dotted field path, e.g. `model.patchSize` */
  path: string;
  message: string;
}

type Check = (errors: ConfigError[]) => void;

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function intAtLeast(path: string, v: unknown, min: number): Check {
  return (e) => {
    if (!isInt(v) || v < min) e.push({ path, message: `${path} must be a whole number >= ${min} (got ${String(v)})` });
  };
}

function numIn(path: string, v: unknown, lo: number, hi: number, loOpen = false, hiOpen = false): Check {
  return (e) => {
    const ok = isNum(v) && (loOpen ? v > lo : v >= lo) && (hiOpen ? v < hi : v <= hi);
    if (!ok) {
      const range = `${loOpen ? '(' : '['}${lo}, ${hi}${hiOpen ? ')' : ']'}`;
      e.push({ path, message: `${path} must be a number in ${range} (got ${String(v)})` });
    }
  };
}

function oneOf(path: string, v: unknown, options: unknown[]): Check {
  return (e) => {
    if (!options.includes(v)) e.push({ path, message: `${path} must be one of ${options.join(', ')} (got ${String(v)})` });
  };
}

const isPow2 = (n: number) => n > 0 && (n & (n - 1)) === 0;

/**
 * Every problem of a config, each with its field path and what to change. Never
 * throws, whatever the input: a config comes from a URL, a form or a CLI flag.
 * `memoryBudgetBytes`, when given, refuses a model whose training would not fit.
 */
export function validateConfig(cfg: RunConfig, memoryBudgetBytes?: number): ConfigError[] {
  const e: ConfigError[] = [];
  const m = cfg.model ?? ({} as ModelConfig);
  const d = cfg.data ?? ({} as DataConfig);
  const o = cfg.optim ?? ({} as OptimConfig);
  const s = cfg.schedule ?? ({} as ScheduleConfig);
  const p = cfg.prelora ?? ({} as PreLoRAConfig);
  const checks: Check[] = [
    intAtLeast('model.imageSize', m.imageSize, 4),
    intAtLeast('model.patchSize', m.patchSize, 1),
    intAtLeast('model.channels', m.channels, 1),
    intAtLeast('model.width', m.width, 1),
    intAtLeast('model.depth', m.depth, 1),
    intAtLeast('model.heads', m.heads, 1),
    numIn('model.mlpRatio', m.mlpRatio, 0, 16, true),
    intAtLeast('model.numClasses', m.numClasses, 2),
    numIn('model.layerNormEps', m.layerNormEps, 0, 1e-2, true),
    numIn('model.initStd', m.initStd, 0, 1, true),
    intAtLeast('data.trainSize', d.trainSize, 1),
    intAtLeast('data.testSize', d.testSize, 1),
    numIn('data.difficulty', d.difficulty, 0, 1),
    intAtLeast('optim.batchSize', o.batchSize, 1),
    numIn('optim.lr', o.lr, 0, 10, true),
    numIn('optim.beta1', o.beta1, 0, 1, false, true),
    numIn('optim.beta2', o.beta2, 0, 1, false, true),
    numIn('optim.epsilon', o.epsilon, 0, 1, true),
    numIn('optim.weightDecay', o.weightDecay, 0, 1),
    numIn('optim.clipNorm', o.clipNorm, 0, 1e6),
    numIn('optim.labelSmoothing', o.labelSmoothing, 0, 1, false, true),
    intAtLeast('schedule.steps', s.steps, 1),
    intAtLeast('schedule.warmupSteps', s.warmupSteps, 0),
    numIn('schedule.minLrRatio', s.minLrRatio, 0, 1),
    intAtLeast('schedule.evalEvery', s.evalEvery, 1),
    intAtLeast('schedule.logEvery', s.logEvery, 1),
    intAtLeast('prelora.rank', p.rank, 1),
    intAtLeast('prelora.minRank', p.minRank, 1),
    intAtLeast('prelora.maxRank', p.maxRank, 1),
    oneOf('prelora.rule', p.rule, ['global', 'module']),
    oneOf('prelora.metric', p.metric, ['update%', 'normChange%', 'gradChange%']),
    numIn('prelora.weightThreshold', p.weightThreshold, 0, 1e6, true),
    numIn('prelora.lossThreshold', p.lossThreshold, 0, 1e6, true),
    oneOf('prelora.useLossTest', p.useLossTest, [true, false]),
    intAtLeast('prelora.patience', p.patience, 2),
    intAtLeast('prelora.minFullSteps', p.minFullSteps, 0),
    oneOf('prelora.layerWeights', p.layerWeights, ['uniform', 'deep']),
    oneOf('prelora.rankMetric', p.rankMetric, ['gradChange%', 'update%']),
    oneOf('prelora.rankScope', p.rankScope, ['family', 'all']),
    intAtLeast('prelora.windowSteps', p.windowSteps, 1),
    intAtLeast('prelora.jointSteps', p.jointSteps, 0),
    oneOf('prelora.resetMoments', p.resetMoments, [true, false]),
    intAtLeast('prelora.rewarmSteps', p.rewarmSteps, 0),
    intAtLeast('seed', cfg.seed, 0),
  ];
  for (const check of checks) check(e);
  const bad = new Set(e.map((x) => x.path));
  const ok = (...paths: string[]) => paths.every((q) => !bad.has(q));

  if (ok('model.imageSize', 'model.patchSize') && m.imageSize % m.patchSize !== 0) {
    e.push({
      path: 'model.patchSize',
      message: `patch ${m.patchSize} does not divide image size ${m.imageSize}: pick a divisor of ${m.imageSize}`,
    });
  }
  if (ok('model.width', 'model.heads') && m.width % m.heads !== 0) {
    e.push({
      path: 'model.heads',
      message: `${m.heads} heads do not divide width ${m.width}: pick a divisor of ${m.width}`,
    });
  }
  if (ok('model.width', 'model.mlpRatio') && !Number.isInteger(m.width * m.mlpRatio)) {
    e.push({ path: 'model.mlpRatio', message: `mlpRatio ${m.mlpRatio} x width ${m.width} must be a whole number` });
  }
  if (!['synthetic', 'mnist', 'upload'].includes(d.dataset)) {
    e.push({ path: 'data.dataset', message: `unknown dataset "${String(d.dataset)}": use synthetic or mnist, or give files to upload` });
  }
  if (ok('optim.batchSize', 'data.trainSize') && o.batchSize > d.trainSize) {
    e.push({ path: 'optim.batchSize', message: `batch ${o.batchSize} is larger than the ${d.trainSize} training images: lower it` });
  }
  if (ok('schedule.warmupSteps', 'schedule.steps') && s.warmupSteps > s.steps) {
    e.push({ path: 'schedule.warmupSteps', message: `warm-up of ${s.warmupSteps} steps is longer than the run (${s.steps}): lower it` });
  }
  if (!['full', 'lora', 'prelora'].includes(p.mode)) {
    e.push({ path: 'prelora.mode', message: `unknown mode "${String(p.mode)}": use full, lora or prelora` });
  }
  if (!Array.isArray(p.targets) || p.targets.length === 0 || !p.targets.every((t) => FAMILIES.includes(t))) {
    e.push({ path: 'prelora.targets', message: `prelora.targets must list one or more of ${FAMILIES.join(', ')} (got ${String(p.targets)})` });
  }
  if (p.alpha !== null && !(isNum(p.alpha) && p.alpha > 0)) {
    e.push({ path: 'prelora.alpha', message: `prelora.alpha must be a positive number, or null for alpha = rank (got ${String(p.alpha)})` });
  }
  for (const key of ['minRank', 'maxRank'] as const) {
    if (ok(`prelora.${key}`) && !isPow2(p[key])) {
      e.push({ path: `prelora.${key}`, message: `prelora.${key} must be a power of two, e.g. 4, 8, 16 (got ${p[key]})` });
    }
  }
  if (ok('prelora.minRank', 'prelora.maxRank') && p.minRank > p.maxRank) {
    e.push({ path: 'prelora.maxRank', message: `maxRank ${p.maxRank} is below minRank ${p.minRank}: raise maxRank or lower minRank` });
  }
  if (e.length === 0 && memoryBudgetBytes !== undefined) {
    const est: MemoryEstimate = estimateMemory(cfg);
    if (est.totalBytes > memoryBudgetBytes) {
      e.push({
        path: 'model',
        message:
          `training this model needs about ${formatBytes(est.totalBytes)} (${formatCount(est.params)} parameters, ` +
          `batch ${o.batchSize}) but only ${formatBytes(memoryBudgetBytes)} is available here: ` +
          'choose a smaller preset or lower optim.batchSize',
      });
    }
  }
  return e;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(n < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}
