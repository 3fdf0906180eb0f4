// The shape of a run's config (model, data, optimiser, schedule, PreLoRA) and the
// value sets of its choice fields, declared once: types and validators derive from them.
import type { PolicySettings } from '../policy';
import type { Family } from '../vit-families';

/** The sets a run can train on without an upload. */
export const BUILTIN_DATASETS = ['synthetic', 'mnist'] as const;
export type BuiltinDataset = (typeof BUILTIN_DATASETS)[number];
/** ... and `upload`: the files the user gave (the page's upload, the CLI's `--dataset PATH`). */
export const DATASETS = [...BUILTIN_DATASETS, 'upload'] as const;
export type DatasetSource = (typeof DATASETS)[number];

/** full training, static LoRA from step 0, or PreLoRA (full, then LoRA module by module). */
export const MODES = ['full', 'lora', 'prelora'] as const;
export type Mode = (typeof MODES)[number];

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
  dataset: DatasetSource;
  /** random crop / flip of training batches, as suits the dataset (off for digits) */
  augment: boolean;
  trainSize: number;
  testSize: number;
  /** synthetic only: 0 (easy) .. 1 (hard): noise, contrast and clutter */
  difficulty: number;
  /** most MB a dataset may take once unpacked (files read, archives inflated, images generated) */
  maxDataMB: number;
}

export interface OptimConfig {
  batchSize: number;
  lr: number;
  beta1: number;
  beta2: number;
  /** AdamW's epsilon, the same on every backend */
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
  /** the page saves the whole training state (IndexedDB) every this many steps, and at each pause; 0: only at pauses */
  checkpointEvery: number;
}

/** PreLoRA: the mode, the switch policy (live-editable) and what happens at a switch. */
export interface PreLoRAConfig extends PolicySettings {
  mode: Mode;
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

/**
 * How large a run may be, one owner for each bound: past them a value is a typo or a
 * hostile input, not a plan, and would fail late (a typed array too long) or silently.
 */
export const RUN_LIMITS = {
  /**
   * 5 days of `tiny` on an H200 (2.2 steps/s): past it a typo. A run keeps every step's
   * loss, so the record's bound (record-size.ts) stops each run below it, at its window
   * and read-back: nano's defaults near 172,000 steps, the longest windows near 988,000
   */
  steps: 1_000_000,
  /** images in a synthetic split (data.trainSize, data.testSize) */
  splitImages: 1_000_000,
  /** seeds feed 32-bit generators, so 2^32 would repeat seed 0 */
  seed: 2 ** 32 - 1,
  /** data.maxDataMB: a Uint8Array holds at most 4 GiB in V8 */
  dataMB: 4096,
  /**
   * schedule.logEvery: the compiled step keeps each step's loss and gradient norm on the
   * GPU until a read-back, in a ring of this many steps (8 bytes a step)
   */
  logEvery: 4096,
} as const;

/**
 * data.maxDataMB's default: 5x the full CIFAR-10 (184 MB unpacked). Loading peaks at
 * 1.9x the data (loose batches) to 3.2x (the .tar.gz): 357 and 581 MB over Node's own
 * for CIFAR-10 (measured), so the default fits a machine with 4 GB free.
 */
export const DEFAULT_DATA_MB = 1024;

export interface RunConfig {
  model: ModelConfig;
  data: DataConfig;
  optim: OptimConfig;
  schedule: ScheduleConfig;
  prelora: PreLoRAConfig;
  seed: number;
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };
