// One zustand store of slices (the next run's config, the runs, the benchmark, live
// status) with the actions that talk to the worker. Views select atoms from it; the
// worker's events are its only input about runs.
import { create } from 'zustand';
import type { BackendChoice, BackendInfo } from '../../engine/backend';
import { resolveUpdate } from '../../engine/live';
import { BENCH_VARIANTS } from '../../engine/bench/report';
import { formatErrors, validateConfig, type ConfigError, type DatasetSource } from '../../engine/config';
import { builtinDataKey } from '../../engine/data/key';
import type { DatasetInfo } from '../../engine/data/preview';
import type { EngineEvent } from '../../engine/events';
import { uploadProblem } from '../../engine/data/limits';
import { WorkerClient } from '../../worker/client';
import type { AwaitedCommand, ClientEvent, Command } from '../../worker/protocol';
import { benchProblems, createBenchSlice, type BenchSlice } from './bench';
import { buildConfig, checkControl, createConfigSlice, presetPolicy, type ConfigSlice, type TypedControl } from './config';
import { createKeepSlice, type KeepSlice } from './keep';
import { createLinkSlice, type LinkSlice } from './link';
import { parseField, type PageLiveKey } from './live-fields';
import { EventCoalescer } from './event-coalescer';
import { createRunsSlice, type RunsSlice } from './runs';
import { createSavedSlice, type SavedSlice } from './saved';
import { selectActive, selectLive } from './selectors';
import { createWhatIfSlice, whatIfSettings, type WhatIfSlice } from './what-if';

export interface LiveSlice {
  backend: BackendInfo | null;
  /** what the worker said of each dataset: sizes, balance, samples */
  datasets: Partial<Record<DatasetSource, DatasetInfo>>;
  /** what each built-in set's preview was last asked for (builtinDataKey of the next run) */
  previewed: Partial<Record<DatasetSource, string>>;
  uploading: boolean;
  error: string | null;
  /** the message for a live setting, the seed or the steps typed wrong, by field */
  fieldErrors: Partial<Record<PageLiveKey | TypedControl, string>>;
}

export interface Actions {
  /** start the next run; refused while its seed or steps field holds a bad value */
  start: () => void;
  /** start the selected run again as PreLoRA with the what-if settings (same data, seed, steps); they become the next run's */
  applyWhatIf: () => void;
  pause: () => void;
  resume: () => void;
  step: () => void;
  /** stop the worker's run if it is the one shown, and drop it from the page */
  reset: () => void;
  forceSwitch: (module: string) => void;
  setBackend: (b: BackendChoice) => void;
  /** parse and check the typed seed or steps: a good value becomes the next run's, a bad one is refused with its message */
  setControl: (key: TypedControl, raw: string) => void;
  /** parse and check a live setting for the next run; a good one also goes to the worker's run */
  setPolicyField: (key: PageLiveKey, raw: string) => void;
  onWorkerEvent: (e: ClientEvent) => void;
  /** the worker's events in the order they came: a run's consecutive engine events are one store update */
  onWorkerEvents: (events: readonly ClientEvent[]) => void;
  /** apply the worker's events still waiting for their batch, now (what the page reads next must not be older) */
  flushWorkerEvents: () => void;
  dismissError: () => void;
  chooseDataset: (d: DatasetSource) => void;
  /**
   * ask the worker to describe the built-in set the next run would load, unless it was
   * asked for that set already and answered (a new preset, seed or link field shapes another)
   */
  previewDataset: () => void;
  /** read the user's files (refusing ones too large first) and hand them to the worker */
  uploadFiles: (files: { name: string; path: string; size: number; read: () => Promise<ArrayBuffer> }[]) => Promise<void>;
  /** run the benchmark in the worker: the bench preset and steps, the page's dataset, seed and (same preset) live policy */
  startBench: () => void;
  stopBench: () => void;
  /** a command to the worker (spawned with the first one) */
  send: (cmd: Command, transfer?: Transferable[]) => void;
}

export type PlaygroundState = ConfigSlice & RunsSlice & BenchSlice & LinkSlice & KeepSlice & SavedSlice & WhatIfSlice & LiveSlice & Actions;

let client: WorkerClient | null = null;
const coalescer = new EventCoalescer((events) => useStore.getState().onWorkerEvents(events));
/** Where the worker's events come in: batched (EventCoalescer), then onWorkerEvents. */
export const receiveWorkerEvent = (e: ClientEvent) => coalescer.push(e);
const worker = () => (client ??= new WorkerClient(receiveWorkerEvent, useStore.getState().backendChoice));

/** The run the worker holds, when it is running or paused (not while it starts). */
const liveRun = (s: PlaygroundState) => {
  const run = selectLive(s);
  return run && (run.state === 'running' || run.state === 'paused') ? run : undefined;
};

/**
 * The worker went away (a crash, or a new backend) and its run, its benchmark and the
 * uploaded dataset with it. The page keeps what it drew and says what to do again.
 */
function workerGone(s: PlaygroundState, runEnds: 'failed' | 'stopped', message: string): Partial<PlaygroundState> {
  const live = selectLive(s);
  if (live) s.setRunState(live.id, runEnds);
  if (s.benchStatus.state === 'running') s.applyBenchStatus({ state: 'failed', message });
  const { upload: lost, ...datasets } = s.datasets;
  const held = { backend: null, heldRunId: null, exporting: null, weights: null, loadingWeights: false, uploading: false };
  if (!lost && !live && !s.weights && runEnds === 'stopped') return held; // nothing was lost
  const gone = [
    lost && `Your uploaded dataset (${lost.name}) went with it: upload the files again (synthetic until then).`,
    s.weights && `The loaded weights (${s.weights.file}) went with it: load them again, or the next run starts from a fresh model.`,
  ].filter(Boolean);
  return {
    ...held, datasets, uploading: false,
    dataset: s.dataset === 'upload' ? 'synthetic' : s.dataset,
    error: gone.length ? `${message}. ${gone.join(' ')}` : message,
  };
}

/**
 * The PreLoRA settings' problems a typed field is refused with: a field that follows it
 * (jointSteps and rewarmSteps follow the window, resolveUpdate) has its problem only through it, so where
 * the typed field has one of its own, the follower's is left out: a window of -1 also
 * reported "prelora.jointSteps must be … (got -1)", a field no one typed.
 */
function typedProblems(key: PageLiveKey, problems: ConfigError[]): ConfigError[] {
  const prelora = problems.filter((p) => p.path.startsWith('prelora.'));
  const own = `prelora.${key}`;
  if (!prelora.some((p) => p.path === own)) return prelora;
  const followers = new Set(Object.keys(resolveUpdate({ [key]: 1 }, { windowSteps: 1, rewarmSteps: 1 })).filter((k) => k !== key).map((k) => `prelora.${k}`));
  return prelora.filter((p) => !followers.has(p.path));
}

/** What the page shows while it waits on each awaited command: an error in its place ends it. */
const WAIT_ENDS: Record<AwaitedCommand, Partial<PlaygroundState>> = {
  loadDataset: { uploading: false },
  loadWeights: { loadingWeights: false },
  exportModel: { exporting: null },
};

export const useStore = create<PlaygroundState>()((set, get, api) => ({
  ...createConfigSlice(set, get, api),
  ...createRunsSlice(set, get, api),
  ...createBenchSlice(set, get, api),
  ...createLinkSlice(set, get, api),
  ...createKeepSlice(set, get, api),
  ...createSavedSlice(set, get, api),
  ...createWhatIfSlice(set, get, api),
  backend: null,
  error: null,
  fieldErrors: {},
  datasets: {},
  previewed: {},
  uploading: false,

  chooseDataset: (d) => {
    set({ dataset: d });
    get().previewDataset();
  },
  previewDataset: () => {
    const s = get();
    const d = s.dataset;
    if (d === 'upload') return;
    const config = buildConfig(s);
    const key = builtinDataKey(config);
    // asked again without an answer: the worker that was asked may have gone (a new backend)
    if (s.previewed[d] === key && s.datasets[d]) return;
    // what the panel showed was another set's: it goes until the answer comes
    const datasets = s.previewed[d] === key ? s.datasets : Object.fromEntries(Object.entries(s.datasets).filter(([k]) => k !== d));
    set({ previewed: { ...s.previewed, [d]: key }, datasets });
    worker().send({ type: 'previewDataset', config });
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
    // the field shows what was typed, not the last good value: that is not what to run
    const typed = (['seed', 'steps'] as const).map((k) => get().fieldErrors[k]).filter((m) => m !== undefined);
    if (typed.length) {
      set({ error: typed.join('\n') });
      return;
    }
    const config = buildConfig(get());
    const run = get().addRun(config, get().preset);
    set({ error: null });
    worker().send({ type: 'start', runId: run.id, config, name: `${run.label}, ${run.preset ?? 'custom'}, ${new Date(run.startedAt).toLocaleString()}`, preset: run.preset });
  },
  applyWhatIf: () => {
    const s = get();
    const from = selectActive(s);
    if (!from) return;
    const settings = whatIfSettings(from, s.whatIf);
    const config = structuredClone(from.config);
    Object.assign(config.prelora, settings, { mode: 'prelora' });
    const pick = Object.fromEntries(Object.keys(s.policy).map((k) => [k, config.prelora[k as keyof typeof s.policy]]));
    set({ policy: { ...s.policy, ...pick }, rule: settings.rule, mode: 'prelora', whatIf: {}, whatIfErrors: {}, error: null });
    const run = get().addRun(config);
    worker().send({ type: 'start', runId: run.id, config });
  },
  pause: () => { const run = liveRun(get()); if (run) worker().send({ type: 'pause', runId: run.id }); },
  resume: () => { const run = liveRun(get()); if (run) worker().send({ type: 'resume', runId: run.id }); },
  step: () => { const run = liveRun(get()); if (run) worker().send({ type: 'step', runId: run.id }); },
  reset: () => {
    const s = get();
    const run = selectLive(s) ?? selectActive(s);
    if (!run) return;
    if (run === selectLive(s) || run.id === s.heldRunId) worker().send({ type: 'reset', runId: run.id });
    s.removeRun(run.id);
  },
  forceSwitch: (module) => { const run = liveRun(get()); if (run) worker().send({ type: 'forceSwitch', runId: run.id, module }); },
  setBackend: (b) => {
    if (b === get().backendChoice) return;
    const live = selectLive(get());
    worker().setBackend(b);
    set({ backendChoice: b, ...workerGone(get(), 'stopped', `the backend is now ${b}: a new worker starts with the next command`) });
    // the worker that would record it went: its saved run says it was stopped, not interrupted (a reload offered it as interrupted)
    if (live?.savedAs) void get().markSavedStopped(live.savedAs, { step: live.step, by: 'backend' });
  },
  setControl: (key, raw) => {
    const s = get();
    const checked = checkControl(s, key, raw);
    const rest = { ...s.fieldErrors };
    delete rest[key];
    // the banner shows this field's message until the field is good again; another message stays
    const ours = s.error !== null && s.error === s.fieldErrors[key];
    if (checked.error !== null) set({ fieldErrors: { ...rest, [key]: checked.error }, error: checked.error });
    else set({ [key]: checked.value, fieldErrors: rest, ...(ours ? { error: null } : {}) });
  },
  setPolicyField: (key, raw) => {
    const s = get();
    const parsed = parseField(key, raw);
    const policy = parsed.error === null ? { ...s.policy, [key]: parsed.value } : s.policy;
    const problems = parsed.error !== null
      ? [{ path: `prelora.${key}`, message: parsed.error }]
      : typedProblems(key, validateConfig(buildConfig({ ...s, policy })));
    if (problems.length) {
      set({ fieldErrors: { ...s.fieldErrors, [key]: problems.map((p) => p.message).join('; ') }, error: formatErrors(problems) });
      return;
    }
    const rest = { ...s.fieldErrors };
    delete rest[key];
    set({ policy, fieldErrors: rest, error: Object.keys(rest).length ? s.error : null });
    // the worker's run takes it too, and its views change when the worker confirms
    const run = liveRun(s);
    if (run) worker().send({ type: 'setPolicy', runId: run.id, update: { [key]: parsed.value } });
  },
  dismissError: () => set({ error: null }),
  startBench: () => {
    const s = get();
    // the fields show what was typed, not the last good values: that is not what to run
    // (the page's seed, which the benchmark takes, included)
    const typed = [...Object.values(s.benchErrors), ...(s.fieldErrors.seed ? [s.fieldErrors.seed] : [])];
    if (typed.length) {
      set({ error: typed.join('\n') });
      return;
    }
    // the values the fields took, together: the seeds they run from the page's seed, its dataset
    const refused = benchProblems(s);
    if (refused.length) {
      set({ error: refused.map((p) => p.message).join('\n') });
      return;
    }
    const preset = s.benchPreset;
    const config = buildConfig({ ...s, preset, steps: s.benchSteps, policy: preset === s.preset ? s.policy : presetPolicy(preset) });
    const problems = validateConfig(config);
    if (problems.length) {
      set({ error: formatErrors(problems) });
      return;
    }
    set({ error: null, benchStatus: { state: 'running', done: 0, total: BENCH_VARIANTS.length * s.benchSeeds, label: 'starting' } });
    worker().send({ type: 'bench', config, preset, seeds: s.benchSeeds });
  },
  stopBench: () => worker().send({ type: 'stopBench' }),
  send: (cmd, transfer) => worker().send(cmd, transfer),

  flushWorkerEvents: () => coalescer.flush(),
  onWorkerEvents: (events) => {
    for (let i = 0; i < events.length;) {
      const e = events[i]!;
      if (e.type !== 'engine') {
        get().onWorkerEvent(e);
        i += 1;
        continue;
      }
      const batch: EngineEvent[] = [];
      for (let n = e as ClientEvent | undefined; n?.type === 'engine' && n.runId === e.runId; n = events[++i]) batch.push(n.event);
      get().applyEngineEvents(e.runId, batch);
      const diverged = batch.find((d) => d.type === 'diverged');
      if (diverged && get().runs.some((r) => r.id === e.runId)) set({ error: diverged.divergence.message });
    }
  },
  onWorkerEvent: (e) => {
    const s = get();
    switch (e.type) {
      case 'ready': set({ backend: e.backend }); return;
      case 'started': s.applyStarted(e.runId, e.config, { backend: s.backend?.name ?? null, kernels: s.backend?.kernels ?? null, init: e.init }); return;
      case 'engine': s.onWorkerEvents([e]); return;
      case 'state':
        s.setRunState(e.runId, e.state, e.step);
        if (e.state === 'failed') s.markInterrupted(e.runId); // its last checkpoint is offered
        return;
      case 'tick': s.applyTick(e.runId, e.step); return;
      case 'policy': s.applyPolicy(e.runId, e.step, e.update); return;
      case 'bench': s.applyBenchStatus(e.status); return;
      case 'held': case 'model': case 'weights': s.applyKeepEvent(e); return;
      case 'saved': s.applySaved(e.runId, e.info); return;
      case 'restored': s.applyRestored(e.runId, e.events, e.policyChanges); return;
      case 'dataset':
        // an answer to an older preview (another preset's, asked before this one) is not what the next run loads
        if (e.source !== 'upload' && e.key !== undefined && e.key !== s.previewed[e.source]) return;
        // a built-in set's preview (asked at every preset, seed or link) is no answer to an upload still decoding
        set({ datasets: { ...s.datasets, [e.source]: e.info }, ...(e.source === 'upload' ? { dataset: 'upload' as const, error: null, uploading: false } : {}) });
        return;
      case 'error': {
        const run = e.runId === null ? undefined : s.runs.find((r) => r.id === e.runId);
        if (run?.state === 'starting') s.removeRun(run.id); // refused before it began: nothing to keep
        // only the wait it answers ends: a save's full quota while an export waits its turn
        // behind that save, or an upload decodes, is no answer to either
        set({ error: e.message, ...(e.about ? WAIT_ENDS[e.about] : {}) });
        return;
      }
      case 'crashed': {
        const live = selectLive(s);
        set(workerGone(s, 'failed', `the training worker crashed (${e.message}); a new one starts with the next command`));
        if (live) s.markInterrupted(live.id);
        return;
      }
    }
  },
}));
