// One zustand store of slices (config, runs, live status), with the actions that talk
// to the worker. Views select atoms from it; the worker's events are its only input.
import { create } from 'zustand';
import type { BackendChoice, BackendInfo } from '../../engine/backend';
import { validateConfig, type DataConfig } from '../../engine/config';
import type { DatasetInfo } from '../../engine/data/preview';
import { uploadProblem } from '../../engine/data/limits';
import { WorkerClient } from '../../worker/client';
import type { WorkerEvent } from '../../worker/protocol';
import { BENCH_VARIANTS } from '../../engine/bench/report';
import { createBenchSlice, type BenchSlice } from './bench';
import { buildConfig, createConfigSlice, presetPolicy, type ConfigSlice, type LivePolicy, type LivePolicyKey } from './config';
import { createRunsSlice, type RunsSlice } from './runs';
import { selectActive } from './selectors';

export interface LiveSlice {
  backend: BackendInfo | null;
  /** what the worker said of each dataset: sizes, balance, samples */
  datasets: Partial<Record<DataConfig['dataset'], DatasetInfo>>;
  uploading: boolean;
  error: string | null;
  /** the message for a live setting typed wrong, by field */
  fieldErrors: Partial<Record<LivePolicyKey, string>>;
}

export interface Actions {
  start: () => void;
  pause: () => void;
  resume: () => void;
  step: () => void;
  reset: () => void;
  forceSwitch: (module: string) => void;
  setBackend: (b: BackendChoice) => void;
  /** parse and check a live setting; a good one also goes to the running run */
  setPolicyField: (key: LivePolicyKey, raw: string) => void;
  onWorkerEvent: (e: WorkerEvent) => void;
  dismissError: () => void;
  chooseDataset: (d: DataConfig['dataset']) => void;
  /** read the user's files (refusing ones too large first) and hand them to the worker */
  uploadFiles: (files: { name: string; path: string; size: number; read: () => Promise<ArrayBuffer> }[]) => Promise<void>;
  /** run the benchmark in the worker: the bench preset and steps, the page's dataset, seed and (same preset) live policy */
  startBench: () => void;
  stopBench: () => void;
}

export type PlaygroundState = ConfigSlice & RunsSlice & BenchSlice & LiveSlice & Actions;

let client: WorkerClient | null = null;
const worker = () => (client ??= new WorkerClient((e) => useStore.getState().onWorkerEvent(e), useStore.getState().backendChoice));

export const useStore = create<PlaygroundState>()((set, get, api) => ({
  ...createConfigSlice(set, get, api),
  ...createRunsSlice(set, get, api),
  ...createBenchSlice(set, get, api),
  backend: null,
  error: null,
  fieldErrors: {},
  datasets: {},
  uploading: false,

  chooseDataset: (d) => {
    set({ dataset: d });
    if (d !== 'upload' && !get().datasets[d]) worker().send({ type: 'previewDataset', config: buildConfig({ ...get(), dataset: d }) });
  },
  uploadFiles: async (files) => {
    const problem = uploadProblem(files);
    if (problem) {
      set({ error: problem });
      return;
    }
    set({ uploading: true, error: null });
    try {
      const read = await Promise.all(files.map(async (f) => ({ name: f.name, path: f.path, bytes: await f.read() })));
      const cfg = buildConfig(get());
      worker().send({ type: 'loadDataset', files: read, imageSize: cfg.model.imageSize, seed: cfg.seed }, read.map((f) => f.bytes));
    } catch (err) {
      set({ uploading: false, error: `could not read the files: ${(err as Error).message}` });
    }
  },

  start: () => {
    const previous = selectActive(get());
    if (previous && (previous.state === 'paused' || previous.state === 'running')) get().setRunState(previous.id, 'stopped');
    const config = buildConfig(get());
    const run = get().addRun(config);
    set({ error: null });
    worker().send({ type: 'start', runId: run.id, config });
  },
  pause: () => worker().send({ type: 'pause' }),
  resume: () => worker().send({ type: 'resume' }),
  step: () => worker().send({ type: 'step' }),
  reset: () => {
    const id = get().activeId;
    worker().send({ type: 'reset' });
    if (id) get().removeRun(id);
  },
  forceSwitch: (module) => worker().send({ type: 'forceSwitch', module }),
  setBackend: (b) => {
    set({ backendChoice: b, backend: null });
    worker().setBackend(b);
  },
  setPolicyField: (key, raw) => {
    const s = get();
    const value = key === 'metric' ? raw : raw.trim() === '' ? Number.NaN : Number(raw);
    const policy = { ...s.policy, [key]: value } as LivePolicy;
    const problems = Number.isNaN(value)
      ? [{ path: `prelora.${key}`, message: `prelora.${key} takes a number (got "${raw}")` }]
      : validateConfig(buildConfig({ ...s, policy })).filter((p) => p.path.startsWith('prelora.'));
    if (problems.length) {
      const message = problems.map((p) => p.message).join('; ');
      set({ fieldErrors: { ...s.fieldErrors, [key]: message }, error: `${key}: ${message}` });
      return;
    }
    const rest = { ...s.fieldErrors };
    delete rest[key];
    set({ policy, fieldErrors: rest, error: Object.keys(rest).length ? s.error : null });
    const active = s.runs.find((r) => r.id === s.activeId);
    if (active && (active.state === 'running' || active.state === 'paused')) {
      worker().send({ type: 'setPolicy', update: key === 'windowSteps' ? { windowSteps: value as number, jointSteps: value as number } : { [key]: value } });
    }
  },
  dismissError: () => set({ error: null }),
  startBench: () => {
    const s = get();
    if (s.dataset === 'upload') {
      set({ error: 'the benchmark runs on the built-in sets: pick synthetic or mnist above' });
      return;
    }
    const preset = s.benchPreset;
    const config = buildConfig({ ...s, preset, steps: s.benchSteps, policy: preset === s.preset ? s.policy : presetPolicy(preset) });
    const problems = validateConfig(config);
    if (problems.length) {
      set({ error: problems.map((p) => `${p.path}: ${p.message}`).join('\n') });
      return;
    }
    set({ error: null, benchStatus: { state: 'running', done: 0, total: BENCH_VARIANTS.length * s.benchSeeds, label: 'starting' } });
    worker().send({ type: 'bench', config, preset, seeds: s.benchSeeds });
  },
  stopBench: () => worker().send({ type: 'stopBench' }),

  onWorkerEvent: (e) => {
    const s = get();
    switch (e.type) {
      case 'ready': set({ backend: e.backend }); return;
      case 'engine':
        s.applyEngineEvent(e.runId, e.event);
        if (e.event.type === 'diverged' && s.runs.some((r) => r.id === e.runId)) set({ error: e.event.divergence.message });
        return;
      case 'state': s.setRunState(e.runId, e.state, e.step); return;
      case 'policy': return;
      case 'bench': s.applyBenchStatus(e.status); return;
      case 'dataset':
        set({ datasets: { ...s.datasets, [e.source]: e.info }, uploading: false, ...(e.source === 'upload' ? { dataset: 'upload' as const, error: null } : {}) });
        return;
      case 'error': {
        const run = s.runs.find((r) => r.id === (e.runId ?? s.activeId));
        if (run?.state === 'starting') s.removeRun(run.id); // refused before it began: nothing to keep
        else if (run && e.fatal) s.setRunState(run.id, 'stopped');
        // a crashed worker takes a running benchmark with it (the last report stays)
        if (e.fatal && s.benchStatus.state === 'running') s.applyBenchStatus({ state: 'failed', message: e.message });
        set({ error: e.message, uploading: false });
      }
    }
  },
}));
