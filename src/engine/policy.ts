// The PreLoRA policy as pure functions over plain numbers (no tfjs, no clock, no
// randomness): when modules switch from full training to LoRA, and at which rank.
// Both rules look at the last `patience` windows, i.e. `patience - 1` consecutive
// pairs of snapshots (the paper: 3 snapshots, 2 pairs).

/** What counts as a module's weight change: the true relative update, the norm's change (the paper), or the gradient norm's. */
export const METRICS = ['update%', 'normChange%', 'gradChange%'] as const;
export type Metric = (typeof METRICS)[number];
export const RANK_METRICS = ['gradChange%', 'update%'] as const;
export type RankMetric = (typeof RANK_METRICS)[number];
/** `global`: the paper's rule, every targeted module at once; `module`: each module on its own. */
export const RULES = ['global', 'module'] as const;
export type Rule = (typeof RULES)[number];
export const LAYER_WEIGHTINGS = ['uniform', 'deep'] as const;
export type LayerWeighting = (typeof LAYER_WEIGHTINGS)[number];
export const RANK_SCOPES = ['family', 'all'] as const;
export type RankScope = (typeof RANK_SCOPES)[number];

/** One module's statistics at the end of a window; changes are vs the previous window (null at the first). */
export interface ModuleWindow {
  norm: number;
  'normChange%': number | null;
  'update%': number | null;
  gradNorm: number;
  'gradChange%': number | null;
}

export interface WindowRecord {
  /** optimiser steps completed at the snapshot */
  step: number;
  /**
   * prelora.windowSteps when it closed (a live change may set another): the replay's
   * last-window rule reads it. Absent in logs and checkpoints written before it was kept.
   */
  windowSteps?: number;
  loss: number;
  'lossChange%': number | null;
  /** by module id `blocks.<l>.<family>` */
  modules: Record<string, ModuleWindow>;
}

export interface PolicySettings {
  rule: Rule;
  metric: Metric;
  weightThreshold: number;
  lossThreshold: number;
  /** per-module rule only: also require the global loss test */
  useLossTest: boolean;
  patience: number;
  /** per-module rule only: no switch before this many steps */
  minFullSteps: number;
  layerWeights: LayerWeighting;
  rankMetric: RankMetric;
  rankScope: RankScope;
  minRank: number;
  maxRank: number;
}

export interface ModuleRef {
  id: string;
  layer: number;
  family: string;
}

/** The id of a block's linear module, as the monitor, the events and the views name it. */
export function moduleId(layer: number, family: string): string {
  return `blocks.${layer}.${family}`;
}

export function parseModuleId(id: string): ModuleRef {
  const m = /^blocks\.(\d+)\.(\w+)$/.exec(id);
  if (!m) throw new Error(`not a module id: "${id}" (expected blocks.<layer>.<family>)`);
  return { id, layer: Number(m[1]), family: m[2]! };
}

/** Powers of two from minRank to maxRank: 4..32 -> [4, 8, 16, 32]. */
export function rankSet(minRank: number, maxRank: number): number[] {
  const out: number[] = [];
  for (let r = minRank; r <= maxRank; r *= 2) out.push(r);
  return out;
}

/** Less settled (x near 1) -> higher rank: index = max(0, ceil(x |R|) - 1). */
export function rankFor(x: number, ranks: number[]): number {
  return ranks[Math.min(ranks.length - 1, Math.max(0, Math.ceil(x * ranks.length) - 1))]!;
}

/** Min-max to [0, 1]; all equal -> all 0. */
export function minMaxNormalise(values: number[]): number[] {
  // a loop, not a spread (extremes.ts is the shared one; policy.ts imports nothing)
  const lo = values.reduce((a, b) => Math.min(a, b), Infinity), hi = values.reduce((a, b) => Math.max(a, b), -Infinity);
  return values.map((v) => (hi > lo ? (v - lo) / (hi - lo) : 0));
}

/**
 * Weights of layers 0..L-1 summing to 1. `deep` is the paper's variant: layer l (1-based)
 * below the last gets l^10, those normalised to 0.55; the last layer gets 0.45. That
 * split rises with depth only from depth 8 on (depth 7: 0.466 vs 0.45; depth 4: 0.541
 * vs 0.45; the authors' code asserts it and stops); shallower models weight every layer
 * by l^10 alone, which rises at every depth and keeps the paper's emphasis on the deep end.
 */
export function layerWeights(depth: number, kind: LayerWeighting): number[] {
  if (kind === 'uniform' || depth === 1) return Array.from({ length: depth }, () => 1 / depth);
  const raw = Array.from({ length: depth }, (_, i) => (i + 1) ** 10);
  const below = raw.slice(0, -1).reduce((a, b) => a + b, 0);
  const split = [...raw.slice(0, -1).map((w) => (0.55 * w) / below), 0.45];
  if (split[depth - 2]! < split[depth - 1]!) return split;
  const sum = below + raw[depth - 1]!;
  return raw.map((w) => w / sum);
}

/**
 * The windows a decision reads of the first `end` of `windows`: the last `patience` (the
 * kept pairs and the last window; all of them while there are fewer). A replay takes these
 * at each window, not a copy of every window so far, which made its time grow with the
 * square of the run's windows (60,000 windows: 23 s).
 */
export function decisionWindows(windows: readonly WindowRecord[], end: number, patience: number): WindowRecord[] {
  return windows.slice(Math.max(0, end - Math.max(1, patience)), end);
}

/** The windows whose values a rule tests, the last of `upTo`: `patience` snapshots make `patience - 1` changes. */
export const testedWindows = (upTo: readonly WindowRecord[], patience: number): WindowRecord[] => upTo.slice(-(patience - 1));

/** The kept windows' change values, or null while fewer than `patience` windows exist. */
function keptChanges(history: WindowRecord[], patience: number, value: (w: WindowRecord) => number | null): number[] | null {
  if (patience < 2 || history.length < patience) return null;
  const values = testedWindows(history, patience).map(value);
  return values.every((v): v is number => v !== null && Number.isFinite(v)) ? values : null;
}

/** Whether a decision holds the loss test: the global rule always does (the paper's); the per-module rule unless `useLossTest` is off. */
export const lossTestApplies = (s: Pick<PolicySettings, 'rule' | 'useLossTest'>): boolean => s.rule === 'global' || s.useLossTest;

/** Every kept pair's loss change is within the threshold. */
export function lossTestHolds(history: WindowRecord[], s: Pick<PolicySettings, 'patience' | 'lossThreshold'>): boolean {
  const changes = keptChanges(history, s.patience, (w) => w['lossChange%']);
  return changes !== null && changes.every((c) => c <= s.lossThreshold);
}

export interface Decision {
  /** modules to switch now */
  switching: string[];
  /**
   * what decided, per module switched: every value the rule compared with the threshold,
   * in the windows it tested, oldest first (the module's own metric under the per-module
   * rule, its family's layer-weighted mean under the global rule); the last is the switch's
   * statistic
   */
  tested: Record<string, number[]>;
}

const none: Decision = { switching: [], tested: {} };

/**
 * The paper's rule: the loss test and, per family, the layer-weighted metric of its
 * modules still in full training (`active`) below threshold; then all at once.
 */
export function globalRule(history: WindowRecord[], active: string[], s: PolicySettings): Decision {
  if (active.length === 0 || !lossTestHolds(history, s)) return none;
  const refs = active.map(parseModuleId);
  const depth = 1 + Object.keys(history.at(-1)!.modules).reduce((a, id) => Math.max(a, parseModuleId(id).layer), -Infinity);
  const weights = layerWeights(depth, s.layerWeights);
  const families = [...new Set(refs.map((r) => r.family))];
  const tested: Record<string, number[]> = {};
  for (const family of families) {
    // the family's modules still in full training: one already switched (by hand, or before
    // a live change to this rule) has a null gradChange% once frozen, which held the family
    // unsettled for good, and a frozen base's update% of 0 pulled its mean down
    const members = refs.filter((r) => r.family === family);
    const total = members.reduce((a, r) => a + weights[r.layer]!, 0);
    const weighted = keptChanges(history, s.patience, (w) => {
      let acc = 0;
      for (const r of members) {
        const v = w.modules[r.id]?.[s.metric];
        if (v === null || v === undefined) return null;
        acc += weights[r.layer]! * v;
      }
      return acc / total;
    });
    if (weighted === null || !weighted.every((v) => v < s.weightThreshold)) return none;
    // what was compared with the threshold at the last window: the family's mean, not the
    // module's own (one module at 1.2 in a family at 0.85 read as switched over a threshold of 1)
    for (const r of members) tested[r.id] = weighted;
  }
  return { switching: [...active], tested };
}

/** Ours: each module on its own, after minFullSteps, optionally with the loss test. */
export function moduleRule(history: WindowRecord[], active: string[], s: PolicySettings): Decision {
  const last = history.at(-1);
  if (!last || last.step < s.minFullSteps) return none;
  if (lossTestApplies(s) && !lossTestHolds(history, s)) return none;
  const tested: Record<string, number[]> = {};
  const switching = active.filter((id) => {
    const values = keptChanges(history, s.patience, (w) => w.modules[id]?.[s.metric] ?? null);
    if (values === null || !values.every((v) => v < s.weightThreshold)) return false;
    tested[id] = values;
    return true;
  });
  return { switching, tested };
}

export function decide(history: WindowRecord[], active: string[], s: PolicySettings): Decision {
  return s.rule === 'global' ? globalRule(history, active, s) : moduleRule(history, active, s);
}

/**
 * Ranks for the modules switching now. x = the rank metric at the last window,
 * min-max normalised over the family's modules still in full training (`full`, which
 * includes the switching ones), or over all of those with scope `all`; a missing value
 * counts as fully settled (0). A module already switched takes no part: its base
 * gradient is gone (a frozen module's gradChange% is 100, then null), so counting it
 * would set a module's rank by when its siblings froze.
 */
export function allocateRanks(last: WindowRecord, switching: string[], full: string[], s: PolicySettings): Record<string, number> {
  const ranks = rankSet(s.minRank, s.maxRank);
  const all = [...new Set([...full, ...switching])].map(parseModuleId);
  const out: Record<string, number> = {};
  for (const id of switching) {
    const { family } = parseModuleId(id);
    const pool = s.rankScope === 'all' ? all : all.filter((r) => r.family === family);
    const values = pool.map((r) => last.modules[r.id]![s.rankMetric] ?? 0);
    const x = minMaxNormalise(values)[pool.findIndex((r) => r.id === id)]!;
    out[id] = rankFor(x, ranks);
  }
  return out;
}
