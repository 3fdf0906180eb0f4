// The PreLoRA settings a run takes while it trains, declared once: which keys, the
// update's type, and how an update applies (the engine owns the windowSteps ->
// jointSteps coupling). No tfjs: the page and the worker's boundary use it too.
import type { PreLoRAConfig } from './config';

export const LIVE_KEYS = [
  'rule', 'metric', 'weightThreshold', 'lossThreshold', 'useLossTest', 'patience', 'minFullSteps',
  'layerWeights', 'rankMetric', 'rankScope', 'minRank', 'maxRank', 'windowSteps', 'jointSteps', 'rewarmSteps',
] as const satisfies readonly (keyof PreLoRAConfig)[];
export type LiveKey = (typeof LIVE_KEYS)[number];
export type LiveSettings = Pick<PreLoRAConfig, LiveKey>;
export type PolicyUpdate = Partial<LiveSettings>;

/** Set the live keys `update` has on `settings`, and nothing else (not `mode`, not `__proto__`). */
export function applyLive(settings: PolicyUpdate, update: PolicyUpdate): void {
  for (const key of LIVE_KEYS) {
    if (Object.hasOwn(update, key)) (settings as Record<string, unknown>)[key] = update[key];
  }
}

/**
 * An update as it applies to `current`: its live keys only, and a new window length
 * brings the joint phase along (a switched module trains base and adapter together for
 * one window, as the presets have it) and the re-warm in proportion (PRELORA.md: the
 * re-warm scales with the window; the presets re-warm over one window), unless the
 * update sets them itself. The re-warm kept the old length: a window of 10 on nano
 * (25, re-warm 25) re-warmed over two and a half windows.
 */
export function resolveUpdate(update: PolicyUpdate, current: Pick<LiveSettings, 'windowSteps' | 'rewarmSteps'>): PolicyUpdate {
  const out: PolicyUpdate = {};
  applyLive(out, update);
  if (out.windowSteps !== undefined && out.jointSteps === undefined) out.jointSteps = out.windowSteps;
  if (out.windowSteps !== undefined && out.rewarmSteps === undefined && Number.isFinite(out.windowSteps) && current.windowSteps > 0) {
    // at least one step where there was a re-warm: rounded to 0 on a short window, it stayed 0 on any later one
    const scaled = Math.round((current.rewarmSteps * out.windowSteps) / current.windowSteps);
    out.rewarmSteps = current.rewarmSteps > 0 ? Math.max(1, scaled) : 0;
  }
  return out;
}
