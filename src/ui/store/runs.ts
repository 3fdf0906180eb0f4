// Runs slice: every run the page started, as the charts need it, filled from the
// worker's events alone. A run's settings are the worker's: the config it reports at
// `started` and each live change it confirms. Events of a run that was reset are dropped.
import type { StateCreator } from 'zustand';
import type { KernelPath } from '../../engine/backend';
import type { PresetName, RunConfig } from '../../engine/config';
import type { Divergence, EngineEvent, Evaluation, Phase, PhaseChange, RunPhase } from '../../engine/events';
import { applyLive, type PolicyUpdate } from '../../engine/live';
import type { WindowRecord } from '../../engine/policy';
import { NO_TALLIES, tally, type Tallies } from '../../engine/throughput';
import type { RunState } from '../../worker/protocol';
import type { PlaygroundState } from './index';
import { runLog } from './run-log';
import { maxOf } from '../../engine/extremes';

/** Loss points kept per run; older ones are thinned so long runs stay smooth. */
export const MAX_POINTS = 400;
const COLORS = ['#3b6fd8', '#d8553b', '#2e9e5b', '#8c4fd1', '#c79a1e', '#1fa3b5'];

export interface ModuleCell {
  phase: Phase;
  rank: number | null;
  switchedAt: number | null;
}

export interface EfficiencyPoint {
  step: number;
  samplesPerSec: number;
  phase: RunPhase;
}

export interface RunView {
  id: string;
  /** `#3 PreLoRA (module)` as the page names it, or a saved run's name (`named`) */
  label: string;
  /** the label is a saved run's name (it says its preset and start, or what the user called it) */
  named: boolean;
  color: string;
  /** the preset the page started it from (null when not known) */
  preset: PresetName | null;
  /** when it started (ms since the epoch): a resumed run's first save */
  startedAt: number;
  /** the backend the worker ran it on, and the weights it started from: as the worker reported at `started` */
  backend: string | null;
  kernels: KernelPath | null;
  init: string | null;
  /** the config asked for until the worker's `started`; then the one that runs, with its confirmed live changes */
  config: RunConfig;
  state: RunState | 'starting';
  step: number;
  losses: { step: number; loss: number }[];
  evaluations: Evaluation[];
  windows: WindowRecord[];
  modules: Record<string, ModuleCell>;
  changes: PhaseChange[];
  efficiency: EfficiencyPoint[];
  /** read-back intervals by run phase, for samples/s by the engine's one rule */
  throughput: Tallies;
  /** the weight threshold over the run: each value and the step from which it counted */
  thresholds: { step: number; value: number }[];
  /** parameter counts at each change point (the run's start, each switch and freeze) */
  params: { step: number; total: number; trainable: number }[];
  /**
   * tensor memory at each read-back (every log interval): the run's steady figure. The
   * change points are no reading of it: the full phase's first one came before any
   * optimizer moment and each later one just after a switch reset them, so the chart drew
   * the LoRA phase above the full one (256 against 210 KB on micro) where the read-backs
   * put it at 0.63x (272 against 434 KB).
   */
  memory: { step: number; bytes: number }[];
  /** seconds spent training (the read-back intervals summed): pauses, evaluations and saves left out */
  seconds: number;
  /** the run stopped on a non-finite loss or gradient */
  diverged: Divergence | null;
  /** the saved run (IndexedDB) its checkpoints go to, once the worker saved one or it was resumed from one */
  savedAs: string | null;
}

export interface RunsSlice {
  runs: RunView[];
  activeId: string | null;
  addRun: (config: RunConfig, preset?: PresetName, label?: string) => RunView;
  selectRun: (runId: string) => void;
  applyStarted: (runId: string, config: RunConfig, about?: Pick<RunView, 'backend' | 'kernels' | 'init'>) => void;
  applyPolicy: (runId: string, step: number, update: PolicyUpdate) => void;
  /** a run's events in order (a batch from the worker, a restored run's history): one store update, one copy of the run's arrays */
  applyEngineEvents: (runId: string, events: readonly EngineEvent[]) => void;
  setRunState: (runId: string, state: RunState | 'starting', step?: number) => void;
  /** the worker's word that run `runId` reached `step` (a slow step's tick): the count moves on, never back */
  applyTick: (runId: string, step: number) => void;
  removeRun: (runId: string) => void;
}

function thin<T>(points: T[]): T[] {
  return points.length <= MAX_POINTS ? points : points.filter((_, i) => i % 2 === 0 || i >= points.length - MAX_POINTS / 4);
}

let counter = 0;
/** the last number a run was given (`#N`): numbers go up within a page's life, past every saved run's */
let numbered = 0;

/** A run's short handle, for legends and branch names: its `#N`, or its whole name where it has none (a renamed saved run). */
export const runHandle = (label: string) => label.match(/^#\d+/)?.[0] ?? label;

/** The highest `#N` among names: a new run's number comes after it (a reload started again at #1 beside a saved #1). */
const highestNumber = (names: string[]) => maxOf(names.map((l) => Number(l.match(/^#(\d+)/)?.[1] ?? 0)), 0);

/**
 * The run with fresh copies of the arrays (and modules) events append to: the one copy an
 * update makes. One event copies what it touches; a restore's events share one copy of
 * all (one copy per event made a long run's restore quadratic: 2.4 s for 20,000 windows).
 */
function owned(run: RunView, e?: EngineEvent): RunView {
  const all = e === undefined;
  const t = e?.type;
  return {
    ...run,
    ...(all || t === 'progress' ? { losses: [...run.losses], efficiency: [...run.efficiency] } : {}),
    ...(all || t === 'evaluation' ? { evaluations: [...run.evaluations] } : {}),
    ...(all || t === 'window' ? { windows: [...run.windows] } : {}),
    ...(all || t === 'phase' ? { changes: [...run.changes], modules: { ...run.modules } } : {}),
    ...(all || t === 'params' ? { params: [...run.params] } : {}),
    ...(all || t === 'memory' ? { memory: [...run.memory] } : {}),
  };
}

/** Apply one event to a run whose arrays this update owns (owned), in place. */
function applyOwned(r: RunView, e: EngineEvent): void {
  switch (e.type) {
    case 'progress': {
      const last = e.records.at(-1);
      r.step = Math.max(r.step, last?.step ?? 0); // a tick may have counted a step still on its way back
      r.seconds += e.seconds;
      for (const rec of e.records) r.losses.push({ step: rec.step, loss: rec.loss });
      r.losses = thin(r.losses);
      if (e.samplesPerSec > 0 && last) {
        r.efficiency.push({ step: last.step, samplesPerSec: e.samplesPerSec, phase: e.phase });
        r.efficiency = thin(r.efficiency);
      }
      r.throughput = tally(r.throughput, e.phase, e.records.length, e.seconds, e.cold, e.backend);
      return;
    }
    case 'evaluation': r.evaluations.push(e.evaluation); return;
    case 'window': r.windows.push(e.window); return;
    case 'phase': {
      const c = e.change;
      const cell = r.modules[c.module] ?? { phase: 'full', rank: null, switchedAt: null };
      const switchedAt = c.from === 'full' ? c.step : cell.switchedAt;
      r.changes.push(c);
      r.modules[c.module] = { phase: c.to, rank: c.rank, switchedAt };
      return;
    }
    case 'params': r.params.push({ step: e.step, total: e.total, trainable: e.trainable }); return;
    case 'memory':
      r.memory.push({ step: e.step, bytes: e.memory.numBytes });
      r.memory = thin(r.memory);
      return;
    case 'diverged': r.diverged = e.divergence; return;
    case 'deviceLost': return; // the worker's message says what happened and which checkpoint resumes it
  }
}

/** The run after `events`, as a new object (the store's views compare by reference); one copy of its arrays for them all. */
function reduce(run: RunView, events: readonly EngineEvent[]): RunView {
  // nothing the page draws: the run stays the same object, and no view re-renders
  if (events.every((e) => e.type === 'deviceLost')) return run;
  const r = owned(run, events.length === 1 ? events[0] : undefined);
  for (const e of events) applyOwned(r, e);
  return r;
}

function withPolicy(run: RunView, step: number, update: PolicyUpdate): RunView {
  const prelora = { ...run.config.prelora };
  applyLive(prelora, update);
  const thresholds = update.weightThreshold === undefined ? run.thresholds : [...run.thresholds, { step, value: update.weightThreshold }];
  return { ...run, config: { ...run.config, prelora }, thresholds };
}

export const createRunsSlice: StateCreator<PlaygroundState, [], [], RunsSlice> = (set, get) => {
  const update = (runId: string, f: (r: RunView) => RunView) => set((s) => {
    if (!s.runs.some((r) => r.id === runId)) return {}; // a reset run: drop what it still sends
    return { runs: s.runs.map((r) => (r.id === runId ? f(r) : r)) };
  });
  return {
    runs: [],
    activeId: null,
    addRun: (config, preset, named) => {
      const n = counter++;
      const p = config.prelora;
      let label = named;
      if (label === undefined) {
        const s = get();
        numbered = Math.max(numbered, highestNumber([...s.runs.map((r) => r.label), ...s.savedRuns.map((r) => r.name)])) + 1;
        label = `#${numbered} ${p.mode === 'prelora' ? `PreLoRA (${p.rule})` : p.mode === 'lora' ? `LoRA r${p.rank}` : 'full'}`;
      }
      const startedAt = Date.now();
      const run: RunView = {
        id: `run-${startedAt}-${n}`, label, named: named !== undefined, color: COLORS[n % COLORS.length]!, preset: preset ?? null, startedAt, backend: null, kernels: null, init: null,
        config, state: 'starting', step: 0,
        losses: [], evaluations: [], windows: [], modules: {}, changes: [], efficiency: [], throughput: NO_TALLIES,
        thresholds: [{ step: 0, value: p.weightThreshold }], params: [], memory: [], seconds: 0, diverged: null, savedAs: null,
      };
      set((s) => ({ runs: [...s.runs, run], activeId: run.id }));
      return run;
    },
    selectRun: (runId) => set((s) => (s.runs.some((r) => r.id === runId) ? { activeId: runId } : {})),
    applyStarted: (runId, config, about) => update(runId, (r) => ({ ...r, ...about, config, thresholds: [{ step: 0, value: config.prelora.weightThreshold }] })),
    applyPolicy: (runId, step, change) => update(runId, (r) => {
      runLog.policy(runId, { step, update: change });
      return withPolicy(r, step, change);
    }),
    applyEngineEvents: (runId, events) => update(runId, (r) => {
      for (const e of events) runLog.event(runId, e);
      return reduce(r, events);
    }),
    setRunState: (runId, state, step) => update(runId, (r) => ({ ...r, state, step: step ?? r.step })),
    applyTick: (runId, step) => update(runId, (r) => (step > r.step ? { ...r, step } : r)),
    removeRun: (runId) => set((s) => {
      runLog.drop(runId);
      return {
        runs: s.runs.filter((r) => r.id !== runId),
        activeId: s.activeId === runId ? (s.runs.filter((r) => r.id !== runId).at(-1)?.id ?? null) : s.activeId,
      };
    }),
  };
};
