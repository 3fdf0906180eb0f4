// What-if slice: settings to replay the selected run with (changes from its own), the
// problems of what was typed (the live settings' messages), and the heat map's axis.
// The replay itself is a pure function of the run and these (src/ui/what-if/).
import type { StateCreator } from 'zustand';
import { pow2AtMost, readNumber, type RunConfig } from '../../engine/config';
import { runSettings, type ReplaySettings } from '../../engine/explore/replay';
import { applyLive } from '../../engine/live';
import { rankSet } from '../../engine/policy';
import { checkSettings } from '../../engine/explore/sweep';
import { LAYER_WEIGHTING_LABELS, METRIC_LABELS, RULE_LABELS } from '../labels';
import type { PlaygroundState } from './index';
import { runHandle, type RunView } from './runs';
import { selectActive } from './selectors';

/** The largest rank the view offers for a run whose own ranks are smaller. */
const RANKS_UP_TO = 64;

/** The ranks the view offers for a run: powers of two (the rank rule validation keeps) from 1, up to 64 within the model's width, and up to the run's own largest. */
export function rankChoices(config: RunConfig): number[] {
  return rankSet(1, Math.max(config.prelora.maxRank, Math.min(pow2AtMost(config.model.width), RANKS_UP_TO)));
}

/** The settings the what-if view moves: a slider (min, max, step), a choice, or a rank (rankChoices). */
export const WHAT_IF_FIELDS = [
  { key: 'weightThreshold', label: 'weight threshold %', slider: [0.05, 10, 0.05] },
  { key: 'lossThreshold', label: 'loss threshold %', slider: [0.5, 50, 0.5] },
  { key: 'patience', label: 'patience (windows)', slider: [2, 8, 1] },
  { key: 'rule', label: 'rule', choices: RULE_LABELS },
  { key: 'metric', label: 'metric', choices: METRIC_LABELS },
  { key: 'layerWeights', label: 'layer weighting', choices: LAYER_WEIGHTING_LABELS },
  { key: 'minRank', label: 'min rank', ranks: true },
  { key: 'maxRank', label: 'max rank', ranks: true },
] as const;

export type WhatIfKey = (typeof WHAT_IF_FIELDS)[number]['key'];
export type WhatIfSettings = Partial<Pick<ReplaySettings, WhatIfKey>>;
export const SWEEP_AXES = ['weightThreshold', 'lossThreshold'] as const;
export type SweepAxisKey = (typeof SWEEP_AXES)[number];

export interface WhatIfSlice {
  whatIf: WhatIfSettings;
  whatIfErrors: Partial<Record<WhatIfKey, string>>;
  sweepAxis: SweepAxisKey;
  /** parse and check a what-if value against the selected run's config; a bad one is refused with its message */
  setWhatIf: (key: WhatIfKey, raw: string) => void;
  resetWhatIf: () => void;
  /**
   * Branch the selected run: a new run from its branch point at `step` with the what-if
   * settings (applied there as a live change), training at once, beside it on the charts
   */
  branchWhatIf: (step: number) => void;
  setSweepAxis: (axis: SweepAxisKey) => void;
}

/** The replay's settings for a run: its own, with the what-if changes on top. */
export function whatIfSettings(run: RunView, whatIf: WhatIfSettings): ReplaySettings {
  return { ...runSettings(run.config), ...whatIf };
}

/** A value as typed, checked as the live settings are (validateConfig's words), or its problem. */
export function checkWhatIf(config: RunConfig, settings: ReplaySettings, key: WhatIfKey, raw: string): { value: WhatIfSettings[WhatIfKey]; error: null } | { value: null; error: string } {
  const field = WHAT_IF_FIELDS.find((f) => f.key === key)!;
  let value: string | number;
  if ('choices' in field) {
    if (!Object.hasOwn(field.choices, raw)) return { value: null, error: `prelora.${key} takes one of ${Object.keys(field.choices).join(', ')} (got "${raw}")` };
    value = raw;
  } else { // a number: a rank's rule is validation's (checkSettings)
    value = readNumber(raw);
    if (Number.isNaN(value)) return { value: null, error: `prelora.${key} takes a number (got "${raw}")` };
  }
  const problems = checkSettings(config, { ...settings, [key]: value });
  return problems.length ? { value: null, error: problems.map((p) => p.message).join('; ') } : { value: value as WhatIfSettings[WhatIfKey], error: null };
}

export const createWhatIfSlice: StateCreator<PlaygroundState, [], [], WhatIfSlice> = (set, get) => ({
  whatIf: {},
  whatIfErrors: {},
  sweepAxis: 'weightThreshold',
  setWhatIf: (key, raw) => {
    const s = get();
    const run = s.runs.find((r) => r.id === s.activeId);
    if (!run) return;
    const checked = checkWhatIf(run.config, whatIfSettings(run, s.whatIf), key, raw);
    const errors = { ...s.whatIfErrors };
    delete errors[key];
    if (checked.error !== null) set({ whatIfErrors: { ...errors, [key]: checked.error } });
    else set({ whatIf: { ...s.whatIf, [key]: checked.value }, whatIfErrors: errors });
  },
  resetWhatIf: () => set({ whatIf: {}, whatIfErrors: {} }),
  branchWhatIf: (step) => {
    const s = get();
    const from = selectActive(s);
    if (!from?.savedAs) return;
    const update = { ...s.whatIf }; // every what-if key is a live one
    // until the worker's `started`, the parent's config with the change (its legend names what differs)
    const config = structuredClone(from.config);
    applyLive(config.prelora, update);
    const run = s.addRun(config, from.preset ?? undefined);
    const label = `${runHandle(run.label)} branch of ${runHandle(from.label)} @${step}`; // a renamed parent by its whole name
    set((st) => ({ runs: st.runs.map((r) => (r.id === run.id ? { ...r, label } : r)), whatIf: {}, whatIfErrors: {}, error: null }));
    s.send({ type: 'branch', runId: run.id, savedId: from.savedAs, step, update, name: `${label}, ${from.preset ?? 'custom'}, ${new Date(run.startedAt).toLocaleString()}` });
  },
  setSweepAxis: (axis) => set({ sweepAxis: axis }),
});
