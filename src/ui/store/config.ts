// Config slice: what the next run will be (preset, mode, rule, seed, steps, backend)
// and the live PreLoRA settings, which also steer the running run.
import type { StateCreator } from 'zustand';
import type { BackendChoice } from '../../engine/backend';
import { makeConfig, PRESETS, type DataConfig, type PreLoRAConfig, type PresetName, type RunConfig } from '../../engine/config';
import { proportionalWarmup } from '../../engine/schedule';
import type { Family } from '../../engine/vit-families';
import type { PlaygroundState } from './index';

export type LivePolicy = Pick<PreLoRAConfig,
  'weightThreshold' | 'lossThreshold' | 'patience' | 'metric' | 'windowSteps' | 'minRank' | 'maxRank'>;
export type LivePolicyKey = keyof LivePolicy;

export interface ConfigSlice {
  preset: PresetName;
  mode: PreLoRAConfig['mode'];
  rule: PreLoRAConfig['rule'];
  seed: number;
  steps: number;
  dataset: DataConfig['dataset'];
  backendChoice: BackendChoice;
  policy: LivePolicy;
  /** the family the weight-change chart shows */
  family: Family;
  setConfig: (patch: Partial<Pick<ConfigSlice, 'preset' | 'mode' | 'rule' | 'seed' | 'steps' | 'family' | 'dataset'>>) => void;
}

export function presetPolicy(preset: PresetName): LivePolicy {
  const p = PRESETS[preset].prelora;
  return {
    weightThreshold: p.weightThreshold, lossThreshold: p.lossThreshold, patience: p.patience, metric: p.metric,
    windowSteps: p.windowSteps, minRank: p.minRank, maxRank: p.maxRank,
  };
}

/** The config of the next run: the preset, with the page's choices on top. */
export function buildConfig(s: ConfigSlice): RunConfig {
  const cfg = makeConfig(s.preset, {
    seed: s.seed,
    data: { dataset: s.dataset },
    schedule: { steps: s.steps },
    prelora: { ...s.policy, mode: s.mode, rule: s.rule, jointSteps: s.policy.windowSteps },
  });
  // keep the warm-up in proportion on short runs, as the CLI does
  cfg.schedule.warmupSteps = proportionalWarmup(cfg.schedule.warmupSteps, s.steps);
  return cfg;
}

export const createConfigSlice: StateCreator<PlaygroundState, [], [], ConfigSlice> = (set) => ({
  preset: 'nano',
  mode: 'prelora',
  rule: 'module',
  seed: 1,
  steps: PRESETS.nano.schedule.steps,
  dataset: 'synthetic',
  backendChoice: 'auto',
  policy: presetPolicy('nano'),
  family: 'query',
  setConfig: (patch) => set((s) => ({
    ...patch,
    ...(patch.preset && patch.preset !== s.preset
      ? { policy: presetPolicy(patch.preset), steps: PRESETS[patch.preset].schedule.steps }
      : {}),
  })),
});
