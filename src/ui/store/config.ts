// Config slice: the next run's defaults (preset, mode, rule, seed, steps, dataset,
// backend, the live PreLoRA settings) and the chart's family. A run, once started,
// owns its own settings (RunView.config); these only shape the next one.
import type { StateCreator } from 'zustand';
import type { BackendChoice } from '../../engine/backend';
import { makeConfig, PRESETS, type DatasetSource, type Mode, type PresetName, type RunConfig } from '../../engine/config';
import { applyLive, resolveUpdate } from '../../engine/live';
import type { Rule } from '../../engine/policy';
import { proportionalWarmup } from '../../engine/schedule';
import type { Family } from '../../engine/vit-families';
import type { PlaygroundState } from './index';
import { pagePolicy, type PagePolicy } from './live-fields';

export interface ConfigSlice {
  preset: PresetName;
  mode: Mode;
  rule: Rule;
  seed: number;
  steps: number;
  dataset: DatasetSource;
  backendChoice: BackendChoice;
  policy: PagePolicy;
  /** the family the weight-change chart shows */
  family: Family;
  setConfig: (patch: Partial<Pick<ConfigSlice, 'preset' | 'mode' | 'rule' | 'seed' | 'steps' | 'family' | 'dataset'>>) => void;
}

export const presetPolicy = (preset: PresetName): PagePolicy => pagePolicy(PRESETS[preset].prelora);

/** The config of the next run: the preset, with the page's choices on top. */
export function buildConfig(s: Pick<ConfigSlice, 'preset' | 'mode' | 'rule' | 'seed' | 'steps' | 'dataset' | 'policy'>): RunConfig {
  const cfg = makeConfig(s.preset, {
    seed: s.seed,
    data: { dataset: s.dataset },
    schedule: { steps: s.steps },
    prelora: { mode: s.mode, rule: s.rule },
  });
  applyLive(cfg.prelora, resolveUpdate(s.policy)); // as a live change would apply
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
