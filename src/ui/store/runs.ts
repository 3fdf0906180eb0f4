// Runs slice: every run the page started, as the charts need it, filled from the
// worker's events. Events of a run that was reset are dropped.
import type { StateCreator } from 'zustand';
import type { RunConfig } from '../../engine/config';
import type { Divergence, EngineEvent, Evaluation, RunPhase } from '../../engine/events';
import type { PhaseChange, Phase } from '../../engine/prelora';
import type { WindowRecord } from '../../engine/policy';
import type { RunState } from '../../worker/protocol';
import type { PlaygroundState } from './index';

/** Loss points kept per run; older ones are thinned so long runs stay smooth. */
export const MAX_POINTS = 400;
const COLORS = ['#3b6fd8', '#d8553b', '#2e9e5b', '#8c4fd1', '#c79a1e', '#1fa3b5'];

export interface ModuleCell {
  phase: Phase;
  rank: number | null;
  switchedAt: number | null;
  /** the metric at the last window */
  latest: number | null;
}

export interface EfficiencyPoint {
  step: number;
  samplesPerSec: number;
  phase: RunPhase;
}

export interface RunView {
  id: string;
  label: string;
  color: string;
  config: RunConfig;
  state: RunState | 'starting';
  step: number;
  losses: { step: number; loss: number }[];
  evaluations: Evaluation[];
  windows: WindowRecord[];
  modules: Record<string, ModuleCell>;
  changes: PhaseChange[];
  efficiency: EfficiencyPoint[];
  params: { step: number; total: number; trainable: number; bytes: number }[];
  /** wall seconds spent running, pauses excluded */
  seconds: number;
  /** the run stopped on a non-finite loss or gradient */
  diverged: Divergence | null;
}

export interface RunsSlice {
  runs: RunView[];
  activeId: string | null;
  addRun: (config: RunConfig) => RunView;
  applyEngineEvent: (runId: string, e: EngineEvent) => void;
  setRunState: (runId: string, state: RunState | 'starting', step?: number) => void;
  removeRun: (runId: string) => void;
}

function thin<T>(points: T[]): T[] {
  return points.length <= MAX_POINTS ? points : points.filter((_, i) => i % 2 === 0 || i >= points.length - MAX_POINTS / 4);
}

let counter = 0;

function reduce(run: RunView, e: EngineEvent): RunView {
  switch (e.type) {
    case 'progress': {
      const last = e.records.at(-1);
      return {
        ...run,
        step: last?.step ?? run.step,
        seconds: run.seconds + e.seconds,
        losses: thin([...run.losses, ...e.records.map((r) => ({ step: r.step, loss: r.loss }))]),
        efficiency: e.samplesPerSec > 0 && last ? thin([...run.efficiency, { step: last.step, samplesPerSec: e.samplesPerSec, phase: e.phase }]) : run.efficiency,
      };
    }
    case 'evaluation': return { ...run, evaluations: [...run.evaluations, e.evaluation] };
    case 'window': {
      const metric = run.config.prelora.metric;
      const modules = { ...run.modules };
      for (const [id, m] of Object.entries(e.window.modules)) {
        const cell = modules[id] ?? { phase: 'full', rank: null, switchedAt: null, latest: null };
        modules[id] = { ...cell, latest: cell.phase === 'lora' ? cell.latest : m[metric] };
      }
      return { ...run, windows: [...run.windows, e.window], modules };
    }
    case 'phase': {
      const c = e.change;
      const cell = run.modules[c.module] ?? { phase: 'full', rank: null, switchedAt: null, latest: null };
      const switchedAt = c.from === 'full' ? c.step : cell.switchedAt;
      return { ...run, changes: [...run.changes, c], modules: { ...run.modules, [c.module]: { ...cell, phase: c.to, rank: c.rank, switchedAt } } };
    }
    case 'params':
      return { ...run, params: [...run.params, { step: e.step, total: e.total, trainable: e.trainable, bytes: e.memory.numBytes }] };
    case 'memory': return run;
    case 'diverged': return { ...run, diverged: e.divergence };
  }
}

export const createRunsSlice: StateCreator<PlaygroundState, [], [], RunsSlice> = (set) => ({
  runs: [],
  activeId: null,
  addRun: (config) => {
    const n = counter++;
    const p = config.prelora;
    const label = `#${n + 1} ${p.mode === 'prelora' ? `PreLoRA (${p.rule})` : p.mode === 'lora' ? `LoRA r${p.rank}` : 'full'}`;
    const run: RunView = {
      id: `run-${Date.now()}-${n}`, label, color: COLORS[n % COLORS.length]!, config, state: 'starting', step: 0,
      losses: [], evaluations: [], windows: [], modules: {}, changes: [], efficiency: [], params: [], seconds: 0, diverged: null,
    };
    set((s) => ({ runs: [...s.runs, run], activeId: run.id }));
    return run;
  },
  applyEngineEvent: (runId, e) => set((s) => {
    if (!s.runs.some((r) => r.id === runId)) return {}; // a reset run: drop what it still sends
    return { runs: s.runs.map((r) => (r.id === runId ? reduce(r, e) : r)) };
  }),
  setRunState: (runId, state, step) => set((s) => ({
    runs: s.runs.map((r) => (r.id === runId ? { ...r, state, step: step ?? r.step } : r)),
  })),
  removeRun: (runId) => set((s) => ({
    runs: s.runs.filter((r) => r.id !== runId),
    activeId: s.activeId === runId ? (s.runs.filter((r) => r.id !== runId).at(-1)?.id ?? null) : s.activeId,
  })),
});
