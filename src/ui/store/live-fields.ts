// The live PreLoRA settings the page shows, declared once: the defaults the page keeps
// for the next run, how typed text becomes a value, and the settings panel all derive
// from this list. (Which settings a run takes live is the engine's: live.ts.)
import { readNumber } from '../../engine/config';
import type { LiveKey, LiveSettings } from '../../engine/live';
import { LAYER_WEIGHTING_LABELS, METRIC_LABELS } from '../labels';

interface FieldSpec {
  key: LiveKey;
  label: string;
  hint: string;
  testid?: string;
  /** a choice among these values (value -> label); otherwise a number */
  choices?: Readonly<Record<string, string>>;
}

export const LIVE_FIELDS = [
  { key: 'weightThreshold', label: 'weight threshold %', testid: 'weight-threshold', hint: 'a module settles when its metric stays below this' },
  { key: 'lossThreshold', label: 'loss threshold %', testid: 'loss-threshold', hint: 'the loss must change by at most this between windows' },
  { key: 'patience', label: 'patience (windows)', testid: 'patience', hint: 'windows compared: patience - 1 changes between snapshots' },
  { key: 'windowSteps', label: 'window (steps)', hint: 'steps between statistics (a switched module trains jointly for one window)' },
  { key: 'minRank', label: 'min rank', hint: 'a power of two' },
  { key: 'maxRank', label: 'max rank', hint: 'a power of two' },
  { key: 'metric', label: 'metric', testid: 'metric', hint: 'what counts as a module\'s weight change', choices: METRIC_LABELS },
  { key: 'layerWeights', label: 'layer weighting', testid: 'layer-weights', hint: 'global rule: how the layers weigh in a family\'s mean', choices: LAYER_WEIGHTING_LABELS },
] as const satisfies readonly FieldSpec[];

export type PageLiveKey = (typeof LIVE_FIELDS)[number]['key'];
export type PagePolicy = Pick<LiveSettings, PageLiveKey>;

/** Typed text as the field's value, or what to type instead. */
export function parseField(key: PageLiveKey, raw: string): { value: PagePolicy[PageLiveKey]; error: null } | { value: null; error: string } {
  const field: FieldSpec = LIVE_FIELDS.find((f) => f.key === key)!;
  if (field.choices) {
    return Object.hasOwn(field.choices, raw)
      ? { value: raw as PagePolicy[PageLiveKey], error: null }
      : { value: null, error: `prelora.${key} takes one of ${Object.keys(field.choices).join(', ')} (got "${raw}")` };
  }
  const value = readNumber(raw);
  return Number.isNaN(value) ? { value: null, error: `prelora.${key} takes a number (got "${raw}")` } : { value, error: null };
}

/** The page's defaults from a preset's PreLoRA settings. */
export function pagePolicy(settings: LiveSettings): PagePolicy {
  return Object.fromEntries(LIVE_FIELDS.map((f) => [f.key, settings[f.key]])) as PagePolicy;
}
