// What the engine reports, as plain data: the worker forwards these as they are, the
// CLI writes them to the run log, the page's store turns them into charts. No tfjs:
// the page imports this vocabulary. They come in the order of the engine's step
// boundaries, not as read-backs land, so every host gets one sequence: a window read
// back a step later comes out as at its boundary, its event, then the interval's
// progress and memory, then the phases its decision changed.
import type { RankMetric, RankScope, Rule, WindowRecord } from './policy';

/** A module's phase: full training, base and adapter together, adapter only (base frozen). */
export const PHASES = ['full', 'joint', 'lora'] as const;
export type Phase = (typeof PHASES)[number];

/**
 * A policy switch: the value the rule compared with the threshold at the last window that
 * decided it, and the settings it was decided under (live changes may set others later):
 * the rule, the threshold the value was under, the windows the rule looked at and the loss
 * threshold their loss changes were under (null: the per-module rule with its loss test
 * off). Events recorded before these were kept have none of them (the loss threshold and
 * the rule came last; before the rule, a global-rule switch's value was the module's own).
 */
export interface PolicyDecision {
  metric: string;
  /** the module's own metric under the per-module rule, its family's layer-weighted mean under the global rule */
  value: number;
  rule?: Rule;
  /** each value the rule compared with the threshold, in the windows it tested, oldest first (`value` last) */
  tested?: number[];
  threshold?: number;
  patience?: number;
  lossThreshold?: number | null;
}

/** Why a module left full training, as a plan and a replay tell it: its policy, the user (`forced`) or static LoRA. */
export const SWITCH_CAUSES = ['policy', 'forced', 'static'] as const;
export type SwitchCause = (typeof SWITCH_CAUSES)[number];

/** The cause of the switch a change made (a module leaving full training). */
export const switchCause = (decidedBy: PhaseChange['decidedBy']): SwitchCause =>
  (decidedBy === 'forced' || decidedBy === 'static' ? decidedBy : 'policy');

export interface PhaseChange {
  module: string;
  from: Phase;
  to: Phase;
  step: number;
  rank: number | null;
  /** the policy's decision; `forced` by the user; `static` LoRA; `joint-done` */
  decidedBy: PolicyDecision | Exclude<SwitchCause, 'policy'> | 'joint-done';
  /**
   * what set `rank` at a policy or forced switch, as the settings were then, and the step
   * of the window whose statistics it read (absent in events recorded before they were
   * kept): a switch forced at a window's last step is ranked on the window before, since
   * that step's window closes after it
   */
  rankedBy?: { metric: RankMetric; scope: RankScope; window?: number };
  /** loss on a fixed probe batch just before and just after the adapter was added */
  lossBefore?: number;
  lossAfter?: number;
}

export interface StepRecord {
  /** 1-based count of completed steps */
  step: number;
  epoch: number;
  loss: number;
  lr: number;
}

export interface MemoryReading {
  numTensors: number;
  numBytes: number;
  /** WebGPU/WebGL only: bytes the backend holds on the GPU, pooled buffers included */
  numBytesInGPU?: number;
}

export interface Evaluation {
  step: number;
  loss: number;
  accuracy: number;
  count: number;
}

/** The first step whose loss or gradient norm was not finite; the run stops there. */
export interface Divergence {
  step: number;
  loss: number;
  gradNorm: number;
  /** names the step and the settings to change */
  message: string;
}

/** The WebGPU device was lost: the last step whose numbers were read back, and why. */
export interface DeviceLoss {
  step: number;
  message: string;
}

/** The run as a whole: `full` until a module leaves full training, `lora` once all targeted modules froze. */
export const RUN_PHASES = ['full', 'mixed', 'lora'] as const;
export type RunPhase = (typeof RUN_PHASES)[number];

export type EngineEvent =
  /**
   * steps since the last read-back; `seconds` of wall time they took, all in `phase`.
   * cold: the first interval after a restore (a resume or branch: a new worker compiles
   * its kernels again), or one that ran a module's new shapes first (a switch or freeze:
   * they compile in it), left out of the steady figure as a phase's first is. backend: the
   * backend and kernel path this trainer runs on, on its first interval (a run's first, a
   * restore's), so that a run resumed on another backend times its intervals apart
   */
  | { type: 'progress'; records: StepRecord[]; phase: RunPhase; samplesPerSec: number; seconds: number; cold?: true; backend?: string }
  | { type: 'memory'; step: number; phase: RunPhase; memory: MemoryReading }
  | { type: 'evaluation'; evaluation: Evaluation }
  | { type: 'window'; window: WindowRecord }
  | { type: 'phase'; change: PhaseChange }
  /** the run stopped: a step's loss or gradients were not finite (records after it are dropped) */
  | { type: 'diverged'; divergence: Divergence }
  /** the run stopped: the WebGPU device was lost (steps after `step`, the last read back, are gone with it) */
  | { type: 'deviceLost'; loss: DeviceLoss }
  /** parameter counts (adapters included in total) after every change */
  | { type: 'params'; step: number; total: number; trainable: number; optimizerBytes: number; memory: MemoryReading };
