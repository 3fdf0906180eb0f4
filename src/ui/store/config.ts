// Config slice: the next run's defaults (preset, mode, rule, seed, steps, dataset,
// backend, the live PreLoRA settings, and fields a link set that have no control) and
// the chart's family. A run, once started, owns its own settings (RunView.config);
// these only shape the next one.
import type { StateCreator } from 'zustand';
import type { BackendChoice } from '../../engine/backend';
import { makeConfig, PRESETS, readNumber, validateConfig, type DatasetSource, type Mode, type PresetName, type RunConfig } from '../../engine/config';
import { applyLive, resolveUpdate } from '../../engine/live';
import { assignField, setField } from '../../engine/overrides';
import type { Rule } from '../../engine/policy';
import { fitWarmup } from '../../engine/schedule';
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
  /** config fields without a control here (a link set them), as `--set` takes them: path -> text */
  extra: Readonly<Record<string, string>>;
  /** the family the weight-change chart shows */
  family: Family;
  setConfig: (patch: Partial<Pick<ConfigSlice, 'preset' | 'mode' | 'rule' | 'seed' | 'steps' | 'family' | 'dataset'>>) => void;
}

/** What the next run is made of. */
export type NextRun = Pick<ConfigSlice, 'preset' | 'mode' | 'rule' | 'seed' | 'steps' | 'dataset' | 'policy' | 'extra'>;

/** The config field each of the page's run controls sets (the live settings set `prelora.<key>`). */
export const CONTROL_FIELDS = {
  mode: 'prelora.mode',
  rule: 'prelora.rule',
  seed: 'seed',
  steps: 'schedule.steps',
  dataset: 'data.dataset',
} as const satisfies Partial<Record<keyof NextRun, string>>;
export type ControlKey = keyof typeof CONTROL_FIELDS;

/** The preset and backend the page opens with. */
export const DEFAULT_PRESET: PresetName = 'nano';
export const DEFAULT_BACKEND: BackendChoice = 'auto';

export const presetPolicy = (preset: PresetName): PagePolicy => pagePolicy(PRESETS[preset].prelora);

/** The page's next run for a preset, before anyone changes it (PreLoRA with the per-module rule). */
export function pageDefaults(preset: PresetName): NextRun {
  const p = PRESETS[preset];
  return { preset, mode: 'prelora', rule: 'module', seed: p.seed, steps: p.schedule.steps, dataset: 'synthetic', policy: presetPolicy(preset), extra: {} };
}

/** The config of the next run: the preset, with the page's choices on top, then the link's fields. */
export function buildConfig(s: NextRun): RunConfig {
  const cfg = makeConfig(s.preset);
  for (const [key, path] of Object.entries(CONTROL_FIELDS)) assignField(cfg, path, s[key as ControlKey]);
  applyLive(cfg.prelora, resolveUpdate(s.policy, cfg.prelora)); // as a live change would apply
  // the warm-up in proportion to the run, as the CLIs keep it (a link's warm-up by name wins below)
  fitWarmup(cfg.schedule, false);
  // a field set by name is set last, as the CLI's --set: it wins over what the page derives
  for (const [path, raw] of Object.entries(s.extra)) setField(cfg, path, raw);
  return cfg;
}

/**
 * Every field's refusal dropped (its field shows a good value again), and the banner with
 * it where it showed one of them: a preset or a link replaced a refused seed, and the
 * banner still said "seed must be ..." beside a good seed.
 */
export function dropFieldErrors(s: Pick<PlaygroundState, 'fieldErrors' | 'error'>): Pick<PlaygroundState, 'fieldErrors' | 'error'> {
  const stale = s.error !== null && Object.values(s.fieldErrors).some((m) => m !== undefined && s.error!.includes(m));
  return { fieldErrors: {}, error: stale ? null : s.error };
}

/** The run controls typed as text: a whole number each. */
export type TypedControl = 'seed' | 'steps';

/**
 * Typed text as the next run's seed or steps, or what to type instead: the config's own
 * check of that field (its range, in its words), and a problem on another field this one
 * alone mends (its fixedBy: steps whose record would outgrow a checkpoint at this
 * window, named on prelora.windowSteps; typed here, the steps were taken and the data
 * panel's next preview, at a seed or backend change, refused the whole config). Never a
 * value the config refuses so, so neither the config nor the link holds one. A problem
 * this field cannot mend (a link's warm-up longer than the typed steps: the page has no
 * warm-up field) is Start's to name.
 */
export function checkControl(next: NextRun, key: TypedControl, raw: string): { value: number; error: null } | { value: null; error: string } {
  const path = CONTROL_FIELDS[key];
  const value = readNumber(raw);
  const numeric = Number.isFinite(value);
  const cfg = buildConfig(numeric ? { ...next, [key]: value } : next);
  // text that is no number goes in as itself, quoted, so the check names what was typed
  if (!numeric) assignField(cfg, path, `"${raw}"`);
  const problems = validateConfig(cfg).filter((p) => p.path === path || p.fixedBy?.includes(path));
  return problems.length ? { value: null, error: problems.map((p) => p.message).join('; ') } : { value, error: null };
}

export const createConfigSlice: StateCreator<PlaygroundState, [], [], ConfigSlice> = (set) => ({
  ...pageDefaults(DEFAULT_PRESET),
  backendChoice: DEFAULT_BACKEND,
  family: 'query',
  setConfig: (patch) => set((s) => ({
    ...patch,
    ...(patch.preset && patch.preset !== s.preset
      // every typed field shows the preset's values again: what was refused in them goes
      ? { policy: presetPolicy(patch.preset), steps: PRESETS[patch.preset].schedule.steps, ...dropFieldErrors(s) }
      : {}),
  })),
});
