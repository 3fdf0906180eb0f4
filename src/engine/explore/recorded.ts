// What a replay needs from a run, read off its event log (the CLI's `--out` file, the
// page's store): the windows' statistics, the run's settings and length, and its real
// switches in the order they came among the windows. Pure, no tfjs.
import type { ModelConfig, PreLoRAConfig } from '../config';
import { switchCause, type EngineEvent, type PhaseChange, type SwitchCause } from '../events';
import type { WindowRecord } from '../policy';
import { minOf } from '../extremes';

/** A module leaving full training in the real run: by the policy, forced by the user, or static LoRA. */
export interface RealSwitch {
  module: string;
  step: number;
  rank: number | null;
  cause: SwitchCause;
  /** windows closed before it came: a forced switch applies between two windows */
  afterWindows: number;
  /**
   * the step its base froze, as recorded, or null while it trains jointly: the real
   * column's shares read it (switch + the current jointSteps, after a live change of the
   * window, put freezes where none came)
   */
  frozenAt: number | null;
}

export interface RecordedRun {
  /** every linear module, in the model's order */
  moduleIds: string[];
  windows: WindowRecord[];
  /** the schedule's length: no policy switch in its last window */
  totalSteps: number;
  /**
   * the run's PreLoRA settings: as it started in the CLI's log, as they are now on the
   * page (live changes included); each window records the length it closed under
   */
  prelora: PreLoRAConfig;
  model: ModelConfig;
  batchSize: number;
  real: RealSwitch[];
}

/** The parts of a run's config a replay reads. */
export interface RecordedConfig {
  model: ModelConfig;
  optim: { batchSize: number };
  schedule: { steps: number };
  prelora: PreLoRAConfig;
}

const realSwitch = (c: PhaseChange, afterWindows: number): RealSwitch =>
  ({ module: c.module, step: c.step, rank: c.rank, cause: switchCause(c.decidedBy), afterWindows, frozenAt: null });

/** Each switch's freeze, from the run's phase changes in order: the module's latest switch froze at it. */
function markFreezes(real: RealSwitch[], changes: Iterable<PhaseChange>): void {
  const latest = new Map<string, RealSwitch>(); // `real` is in step order: the last one kept per module
  for (const s of real) latest.set(s.module, s);
  for (const c of changes) {
    const s = c.from === 'joint' && c.to === 'lora' ? latest.get(c.module) : undefined;
    if (s && s.step <= c.step) s.frozenAt = c.step;
  }
}

/** From a run's event log, in order (the CLI's `--out` file). */
export function recordedRun(config: RecordedConfig, events: readonly EngineEvent[]): RecordedRun {
  const windows: WindowRecord[] = [];
  const real: RealSwitch[] = [];
  for (const e of events) {
    if (e.type === 'window') windows.push(e.window);
    else if (e.type === 'phase' && e.change.from === 'full') real.push(realSwitch(e.change, windows.length));
  }
  markFreezes(real, events.flatMap((e) => (e.type === 'phase' ? [e.change] : [])));
  return build(config, windows, real);
}

/**
 * From the windows and phase changes a view keeps apart (the page's store). A forced
 * switch at a window's step is taken to come before that window closed, as it does
 * while the run trains (one forced while paused right after a window is the exception).
 */
export function recordedFromParts(config: RecordedConfig, windows: readonly WindowRecord[], changes: readonly PhaseChange[]): RecordedRun {
  const real = changes.filter((c) => c.from === 'full').map((c) => {
    const policy = typeof c.decidedBy === 'object';
    return realSwitch(c, windows.filter((w) => (policy ? w.step <= c.step : w.step < c.step)).length);
  });
  markFreezes(real, changes);
  return build(config, [...windows], real);
}

function build(config: RecordedConfig, windows: WindowRecord[], real: RealSwitch[]): RecordedRun {
  return {
    moduleIds: windows[0] ? Object.keys(windows[0].modules) : [],
    windows,
    totalSteps: config.schedule.steps,
    prelora: config.prelora,
    model: config.model,
    batchSize: config.optim.batchSize,
    real,
  };
}

/**
 * The window length in force when window `i` closed: as recorded, or (a log or checkpoint
 * written before it was kept) its span since the window before, the length a fresh run cut
 * (the run's settings on the page are the live ones: their length put an older run's
 * first window off its multiples, and the exact part at step 0)
 */
export const windowLength = (run: Pick<RecordedRun, 'windows' | 'prelora'>, i: number): number => {
  const w = run.windows[i];
  if (!w) return run.prelora.windowSteps;
  return w.windowSteps ?? w.step - (run.windows[i - 1]?.step ?? 0);
};

/** What ends a replay's exact part: the run's first real switch, or a live change of its window. */
export type ExactBy = 'switch' | 'window';

/**
 * The last step up to which a replay is exact, and what ends it (both null when nothing
 * does: a full-training run with one window length replays exactly for its whole length).
 * - `switch`: the run's first real switch. The windows up to it were measured before any
 *   module left full training; after it, every module's statistics depend on that switch
 *   (its re-warm, its frozen base).
 * - `window`: the last window before a live change of the window's length. A fresh run
 *   cuts its windows at multiples of one length, and the windows after the change fall
 *   where none of its would, over other spans (update% over 10 steps is not over 25).
 */
export function exactness(run: Pick<RecordedRun, 'real' | 'windows' | 'prelora'>): { until: number | null; by: ExactBy | null } {
  const length = windowLength(run, 0);
  const k = run.windows.findIndex((w, i) => w.step !== (i + 1) * length);
  const cut = k < 0 ? null : (run.windows[k - 1]?.step ?? 0);
  const first = run.real.length ? minOf(run.real.map((r) => r.step)) : null;
  if (first !== null && (cut === null || first <= cut)) return { until: first, by: 'switch' };
  return cut === null ? { until: null, by: null } : { until: cut, by: 'window' };
}

/** Where a replay stops being exact and why, said the same way by every view (the page's what-if, `npm run explore`). */
export function exactEnd(until: number, by: ExactBy): string {
  return by === 'switch'
    ? `exact up to step ${until}, the run's first real switch: after it every module's statistics depend on that switch (its re-warm, its frozen base)`
    : `exact up to step ${until}, the last window before the window's length was changed live: a fresh run cuts its windows at multiples of one length, and those after it fall where none of its would, over other spans`;
}
