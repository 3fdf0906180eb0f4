// Replay: the pure stepper run over a recorded run's windows with any settings, to see
// where every module would have switched and at what rank, and what that would give.
// Exact up to the run's first real switch or a live change of its window (`exactUntil`);
// an estimate after it.
import type { PreLoRAConfig } from '../config';
import { parseModuleId } from '../policy';
import { initialState, stepForced, stepWindow, type StepperSettings, type Switch } from '../stepper';
import { exactness, windowLength, type ExactBy, type RecordedRun } from './recorded';
import type { ShapeChange } from '../flops';
import { predictShares, sharesOf, type PredictedShares } from './shares';

/** The settings a replay can change: the policy, the targets and the joint phase (windows are the run's). */
export const REPLAY_KEYS = [
  'rule', 'metric', 'weightThreshold', 'lossThreshold', 'useLossTest', 'patience', 'minFullSteps',
  'layerWeights', 'rankMetric', 'rankScope', 'minRank', 'maxRank', 'targets', 'jointSteps',
] as const satisfies readonly (keyof PreLoRAConfig)[];
export type ReplaySettings = Pick<PreLoRAConfig, (typeof REPLAY_KEYS)[number]>;

export interface Predicted extends Switch {
  /** at or before the run's first real switch: what a fresh run with these settings does */
  exact: boolean;
}

export interface Replay {
  switches: Predicted[];
  /** by module: the predicted switch, or undefined when it stays in full training */
  byModule: Record<string, Predicted | undefined>;
  /** the last step a prediction is exact at; null: all of it is exact (no switch, one window length) */
  exactUntil: number | null;
  /** what ends the exact part: the run's first real switch, or a live change of its window */
  exactBy: ExactBy | null;
  shares: PredictedShares;
}

/** The run's own settings as a replay takes them. */
export function runSettings(run: Pick<RecordedRun, 'prelora'>): ReplaySettings {
  return Object.fromEntries(REPLAY_KEYS.map((k) => [k, structuredClone(run.prelora[k])])) as ReplaySettings;
}

/** Steps the recorded run covers: its last window's end. */
export function recordedSteps(run: RecordedRun): number {
  return run.windows.at(-1)?.step ?? 0;
}

export function replay(run: RecordedRun, settings: ReplaySettings): Replay {
  const s: StepperSettings = { ...settings, windowSteps: run.prelora.windowSteps };
  const forced = run.real.filter((r) => r.cause === 'forced');
  const { until: boundary, by } = exactness(run);
  let state = initialState(run.moduleIds);
  const out: Switch[] = [];
  let f = 0;
  const applyForcedBefore = (windowsClosed: number) => {
    while (f < forced.length && forced[f]!.afterWindows <= windowsClosed) {
      const { step, afterWindows } = forced[f]!;
      const ids: string[] = [];
      for (; f < forced.length && forced[f]!.step === step && forced[f]!.afterWindows === afterWindows; f++) ids.push(forced[f]!.module);
      const r = stepForced(state, ids, run.windows[afterWindows - 1], s, step);
      state = r.state;
      out.push(...r.switches);
    }
  };
  for (let i = 0; i < run.windows.length; i++) {
    applyForcedBefore(i);
    // no policy switch where the window then in force would not end within the run: the
    // length this window closed under (a live change of the window set another than the run's first)
    const r = stepWindow(state, run.windows, { ...s, windowSteps: windowLength(run, i) }, run.totalSteps, i + 1);
    state = r.state;
    out.push(...r.switches);
  }
  applyForcedBefore(Infinity);
  const switches = out.map((sw) => ({ ...sw, exact: boundary === null || sw.step <= boundary }));
  const targeted = targetedCount(run, settings.targets);
  return {
    switches,
    byModule: Object.fromEntries(switches.map((sw) => [sw.module, sw])),
    exactUntil: boundary,
    exactBy: by,
    shares: predictShares(run.model, run.batchSize, recordedSteps(run), targeted, switches, settings.jointSteps),
  };
}

/** What the run's real switches gave, counted as a replay counts (null for static LoRA, which has no joint phase). */
export function realShares(run: RecordedRun): PredictedShares | null {
  if (run.prelora.mode === 'lora') return null;
  // its switches and freezes as they came: a live window change also set jointSteps, and
  // switch + that put the freezes at other steps than the run's
  const changes = run.real.flatMap((s): ShapeChange[] => [
    { module: s.module, to: 'joint', step: s.step, rank: s.rank ?? 0 },
    ...(s.frozenAt === null ? [] : [{ module: s.module, to: 'lora' as const, step: s.frozenAt, rank: s.rank ?? 0 }]),
  ]);
  return sharesOf(run.model, run.batchSize, recordedSteps(run), targetedCount(run, run.prelora.targets), changes);
}

function targetedCount(run: RecordedRun, targets: readonly string[]): number {
  const t = new Set(targets);
  return run.moduleIds.filter((id) => t.has(parseModuleId(id).family)).length;
}
