// The page's store, driven by worker events as the worker sends them: a reset run's
// late events are dropped, a refused start leaves nothing, a crash keeps the charts,
// each run's settings come from the worker (started, confirmed live changes).
import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { RunConfig } from '../../src/engine/config';
import type { EngineEvent, RunPhase } from '../../src/engine/events';
import { summarize } from '../../src/engine/summary';
import { samplesPerSec } from '../../src/engine/throughput';
import { useStore } from '../../src/ui/store';
import { benchFieldError, checkBenchNumber } from '../../src/ui/store/bench';
import { buildConfig } from '../../src/ui/store/config';
import { builtinDataKey } from '../../src/engine/data/key';
import { latestMetric, selectLive, selectOpenBlocked, selectOpenNote } from '../../src/ui/store/selectors';
import type { DatasetInfo } from '../../src/engine/data/preview';
import { SavedRuns, wasInterrupted, type SavedRunInfo } from '../../src/worker/saved-runs';

const progress = (step: number): EngineEvent => ({
  type: 'progress', phase: 'full', samplesPerSec: 50, seconds: 1, records: [{ step, epoch: 0, loss: 2, lr: 1e-3 }],
});

describe('playground store', () => {
  beforeEach(() => useStore.setState({ runs: [], activeId: null, error: null, fieldErrors: {}, datasets: {}, dataset: 'synthetic', extra: {} }));

  it('fills a run from its events and drops the events of a run that was reset', () => {
    const s = useStore.getState();
    const a = s.addRun(buildConfig(s));
    s.onWorkerEvent({ type: 'engine', runId: a.id, event: progress(10) });
    s.onWorkerEvent({ type: 'engine', runId: a.id, event: { type: 'phase', change: { module: 'blocks.0.fc1', from: 'full', to: 'joint', step: 10, rank: 8, decidedBy: 'forced' } } });
    let run = useStore.getState().runs[0]!;
    expect(run.step).toBe(10);
    expect(run.losses).toEqual([{ step: 10, loss: 2 }]);
    expect(run.modules['blocks.0.fc1']).toMatchObject({ phase: 'joint', rank: 8, switchedAt: 10 });
    useStore.getState().removeRun(a.id);
    useStore.getState().onWorkerEvent({ type: 'engine', runId: a.id, event: progress(20) }); // late, from the reset run
    expect(useStore.getState().runs).toEqual([]);
    run = useStore.getState().addRun(buildConfig(useStore.getState()));
    expect(useStore.getState().activeId).toBe(run.id);
  });

  it('a refused start leaves no run, only the message', () => {
    const s = useStore.getState();
    const a = s.addRun(buildConfig(s));
    s.onWorkerEvent({ type: 'error', runId: a.id, message: 'model: too large' });
    expect(useStore.getState().runs).toEqual([]);
    expect(useStore.getState().error).toBe('model: too large');
  });

  it('a worker crash fails the worker\'s run but keeps what it drew, and says an upload must be loaded again', () => {
    const s = useStore.getState();
    const upload = { name: 'CIFAR-10', classes: [], shape: [32, 32, 3], train: 10, test: 2, balance: [], samples: [] } as DatasetInfo;
    useStore.setState({ datasets: { upload }, dataset: 'upload' });
    const done = s.addRun(buildConfig(s));
    s.onWorkerEvent({ type: 'state', runId: done.id, state: 'done', step: 300 });
    const a = useStore.getState().addRun(buildConfig(s));
    s.onWorkerEvent({ type: 'state', runId: a.id, state: 'running', step: 0 });
    s.onWorkerEvent({ type: 'engine', runId: a.id, event: progress(10) });
    s.onWorkerEvent({ type: 'crashed', message: 'out of memory' });
    const [first, run] = useStore.getState().runs;
    expect(first!.state).toBe('done'); // a finished run stays finished
    expect(run!.state).toBe('failed');
    expect(run!.losses).toHaveLength(1);
    expect(useStore.getState().datasets.upload).toBeUndefined();
    expect(useStore.getState().dataset).toBe('synthetic');
    expect(useStore.getState().error).toBe('the training worker crashed (out of memory); a new one starts with the next command. ' +
      'Your uploaded dataset (CIFAR-10) went with it: upload the files again (synthetic until then).');
  });

  it('a new backend means a new worker: the paused run stops (its saved run says so) and the upload must be loaded again', async () => {
    const s = useStore.getState();
    const upload = { name: 'MNIST', classes: [], shape: [28, 28, 1], train: 10, test: 2, balance: [], samples: [] } as DatasetInfo;
    useStore.setState({ datasets: { upload }, dataset: 'upload', backendChoice: 'auto' });
    const a = s.addRun(buildConfig(s));
    // the worker saved it at its pause (the page lists the saved run and knows it as a's)
    const db = await SavedRuns.open();
    const info = await db.save({ id: 'saved-a', name: 'a', step: 20, reason: 'pause', savedAt: 1000, preset: null, backend: 'wasm', config: a.config }, new Uint8Array(8));
    s.onWorkerEvent({ type: 'state', runId: a.id, state: 'paused', step: 20 });
    s.onWorkerEvent({ type: 'saved', runId: a.id, info });
    s.setBackend('cpu');
    expect(useStore.getState().runs[0]!.state).toBe('stopped');
    expect(useStore.getState().dataset).toBe('synthetic');
    expect(useStore.getState().error).toBe('the backend is now cpu: a new worker starts with the next command. ' +
      'Your uploaded dataset (MNIST) went with it: upload the files again (synthetic until then).');
    // before, it stayed unmarked, and the next visit offered it as interrupted
    await vi.waitFor(() => expect(useStore.getState().savedRuns.find((r) => r.id === 'saved-a')?.stopped).toEqual({ step: 20, by: 'backend' }));
    const [stored] = await db.list();
    expect(wasInterrupted(stored!)).toBe(false);
    await db.remove('saved-a');
    db.close();
    useStore.getState().setBackend('auto');
  });

  it('a slow run\'s tick moves its step count on; its progress, read back later, never moves it back', () => {
    const s = useStore.getState();
    const a = s.addRun(buildConfig(s));
    s.onWorkerEvent({ type: 'state', runId: a.id, state: 'running', step: 0 });
    s.onWorkerEvent({ type: 'tick', runId: a.id, step: 3 });
    expect(useStore.getState().runs[0]!.step).toBe(3);
    s.onWorkerEvent({ type: 'engine', runId: a.id, event: progress(2) }); // steps 1-2, read back after step 3 was counted
    expect(useStore.getState().runs[0]!.step).toBe(3);
    expect(useStore.getState().runs[0]!.losses).toEqual([{ step: 2, loss: 2 }]);
    s.onWorkerEvent({ type: 'engine', runId: a.id, event: progress(10) });
    expect(useStore.getState().runs[0]!.step).toBe(10);
    s.onWorkerEvent({ type: 'tick', runId: a.id, step: 7 }); // late: the count stays
    expect(useStore.getState().runs[0]!.step).toBe(10);
  });

  it('an error that names no run (a malformed message, a late change) touches no run', () => {
    const s = useStore.getState();
    const done = s.addRun(buildConfig(s));
    s.onWorkerEvent({ type: 'state', runId: done.id, state: 'done', step: 300 });
    const paused = useStore.getState().addRun(buildConfig(s));
    s.onWorkerEvent({ type: 'state', runId: paused.id, state: 'paused', step: 20 });
    s.onWorkerEvent({ type: 'error', runId: null, message: 'unknown command "foo": the worker takes init, start' });
    expect(useStore.getState().runs.map((r) => r.state)).toEqual(['done', 'paused']);
    expect(selectLive(useStore.getState())?.id).toBe(paused.id);
    expect(useStore.getState().error).toMatch(/^unknown command "foo"/);
  });

  it('a run\'s settings are the worker\'s: the config it started with, then each confirmed change; another run keeps its own', () => {
    const s = useStore.getState();
    const a = s.addRun(buildConfig(s));
    const ran = { ...a.config, model: { ...a.config.model, imageSize: 28, channels: 1 }, prelora: { ...a.config.prelora, weightThreshold: 7 } };
    s.onWorkerEvent({ type: 'started', runId: a.id, config: ran, init: null });
    expect(useStore.getState().runs[0]!.config.model.imageSize).toBe(28); // the fitted config, not the requested one
    s.onWorkerEvent({ type: 'policy', runId: a.id, step: 40, update: { weightThreshold: 50, metric: 'gradChange%' } });
    const b = useStore.getState().addRun(buildConfig(useStore.getState()));
    s.onWorkerEvent({ type: 'started', runId: b.id, config: b.config, init: null });
    const [runA, runB] = useStore.getState().runs;
    expect(runA!.config.prelora).toMatchObject({ weightThreshold: 50, metric: 'gradChange%' });
    expect(runA!.thresholds).toEqual([{ step: 0, value: 7 }, { step: 40, value: 50 }]);
    expect(runB!.config.prelora.weightThreshold).toBe(b.config.prelora.weightThreshold);
    expect(runB!.thresholds).toEqual([{ step: 0, value: b.config.prelora.weightThreshold }]);
    // the layer panel's latest value follows the run's metric now, as the chart does
    const window = { step: 50, loss: 2, 'lossChange%': 1, modules: { 'blocks.0.fc1': { norm: 1, 'normChange%': 0.5, 'update%': 0.25, gradNorm: 2, 'gradChange%': 12 } } };
    s.onWorkerEvent({ type: 'engine', runId: a.id, event: { type: 'window', window } });
    expect(latestMetric(useStore.getState().runs[0]!, 'blocks.0.fc1')).toBe(12);
    expect(latestMetric(useStore.getState().runs[1]!, 'blocks.0.fc1')).toBeNull();
  });

  it('the run table\'s samples/s per phase are the summary\'s, from the same events', () => {
    const s = useStore.getState();
    const a = s.addRun(buildConfig(s));
    const events: EngineEvent[] = [];
    const intervals: RunPhase[] = ['full', 'full', 'full', 'mixed', 'mixed', 'lora', 'lora', 'lora'];
    intervals.forEach((phase, i) => events.push({
      type: 'progress', phase, samplesPerSec: 0, seconds: i === 0 ? 0 : 0.5 + 0.1 * i,
      records: Array.from({ length: 10 }, (_, k) => ({ step: 10 * i + k + 1, epoch: 0, loss: 2, lr: 1e-3 })),
    }));
    for (const e of events) s.onWorkerEvent({ type: 'engine', runId: a.id, event: e });
    const batchSize = a.config.optim.batchSize;
    const summary = summarize(events, { backend: 'wasm', kernels: 'composite', mode: 'prelora', rule: 'module', seed: 1, batchSize, model: a.config.model, wallSeconds: 1 });
    const run = useStore.getState().runs[0]!;
    for (const phase of ['full', 'mixed', 'lora'] as const) {
      expect(samplesPerSec(run.throughput.phases[phase], batchSize)).toBe(summary.phases[phase]!.samplesPerSec);
    }
    // the first interval of each phase is left out: full is 20 steps over 0.6 + 0.7 s
    expect(summary.phases.full.samplesPerSec).toBeCloseTo((20 * batchSize) / 1.3, 9);
  });

  it('a run resumed on another backend counts that backend\'s intervals in its samples/s, and every step in its shares', () => {
    // wasm's 1 s intervals and the GPU's 0.1 s ones were summed into one figure
    const s = useStore.getState();
    const a = s.addRun(buildConfig(s));
    const interval = (i: number, seconds: number, more: Partial<Extract<EngineEvent, { type: 'progress' }>> = {}): EngineEvent => ({
      type: 'progress', phase: 'full', samplesPerSec: 0, seconds, ...more,
      records: Array.from({ length: 10 }, (_, k) => ({ step: 10 * i + k + 1, epoch: 0, loss: 2, lr: 1e-3 })),
    });
    const events = [
      interval(0, 0, { backend: 'wasm/composite' }), interval(1, 1), interval(2, 1),
      interval(3, 0.3, { cold: true, backend: 'webgpu/compiled' }), interval(4, 0.1), interval(5, 0.1),
    ];
    for (const e of events) s.onWorkerEvent({ type: 'engine', runId: a.id, event: e });
    const batchSize = a.config.optim.batchSize;
    const summary = summarize(events, { backend: 'webgpu', kernels: 'compiled', mode: 'prelora', rule: 'module', seed: 1, batchSize, model: a.config.model, wallSeconds: 1 });
    expect(summary.phases.full.samplesPerSec).toBeCloseTo((20 * batchSize) / 0.2, 9);
    expect(summary.phases.full.steps).toBe(60);
    expect(samplesPerSec(useStore.getState().runs[0]!.throughput.phases.full, batchSize)).toBe(summary.phases.full.samplesPerSec);
  });

  it('refuses a bad live setting with a message naming the fix, and keeps the last good value', () => {
    const s = useStore.getState();
    const before = s.policy.patience;
    s.setPolicyField('patience', 'two');
    expect(useStore.getState().fieldErrors.patience).toBe('prelora.patience takes a number (got "two")');
    expect(useStore.getState().policy.patience).toBe(before);
    s.setPolicyField('maxRank', '12');
    expect(useStore.getState().fieldErrors.maxRank).toMatch(/power of two/);
    useStore.getState().setPolicyField('patience', '4');
    expect(useStore.getState().policy.patience).toBe(4);
    expect(useStore.getState().fieldErrors.patience).toBeUndefined();
  });

  it('a bad window reports the window only, not the joint steps that follow it', () => {
    const s = useStore.getState();
    const before = s.policy.windowSteps;
    s.setPolicyField('windowSteps', '-1');
    // before: "prelora.windowSteps must be … (got -1); prelora.jointSteps must be … (got -1)"
    expect(useStore.getState().fieldErrors.windowSteps).toMatch(/^prelora\.windowSteps must be a whole number >= 1 \(got -1\)$/);
    expect(useStore.getState().error).not.toContain('jointSteps');
    expect(useStore.getState().policy.windowSteps).toBe(before);
    useStore.getState().setPolicyField('windowSteps', '10');
    expect(useStore.getState()).toMatchObject({ fieldErrors: {}, error: null });
    expect(useStore.getState().fieldErrors).toEqual({}); // toMatchObject's {} matches any object
    expect(buildConfig(useStore.getState()).prelora).toMatchObject({ windowSteps: 10, jointSteps: 10 }); // it still follows
    useStore.getState().setPolicyField('windowSteps', String(before));
  });

  it('refuses a typed seed or steps the config would refuse, with its range, and keeps the last good value', () => {
    useStore.setState({ seed: 1, steps: 300 });
    const s = useStore.getState();
    for (const [typed, message] of [
      ['', 'schedule.steps must be a whole number in [1, 1000000] (got "")'],
      ['3001000', 'schedule.steps must be a whole number in [1, 1000000] (got 3001000)'],
      ['12.5', 'schedule.steps must be a whole number in [1, 1000000] (got 12.5)'],
    ]) {
      s.setControl('steps', typed!);
      expect(useStore.getState().fieldErrors.steps).toBe(message);
      expect(useStore.getState().steps).toBe(300);
    }
    s.setControl('seed', '1e12');
    expect(useStore.getState().fieldErrors.seed).toBe('seed must be a whole number in [0, 4294967295] (got 1000000000000): seeds are 32-bit');
    useStore.getState().start(); // not with the last good values while the fields say otherwise
    expect(useStore.getState().runs).toEqual([]);
    expect(useStore.getState().error).toMatch(/^seed must be .*\nschedule\.steps must be/);
    useStore.getState().setControl('steps', '1000');
    useStore.getState().setControl('seed', '7');
    expect(useStore.getState()).toMatchObject({ steps: 1000, seed: 7, fieldErrors: {} });
    expect(useStore.getState().fieldErrors).toEqual({}); // toMatchObject's {} matches any object
    expect(buildConfig(useStore.getState()).schedule.steps).toBe(1000);
  });

  it('refuses steps or a window whose record would outgrow the run\'s checkpoint, at the field typed, naming what fits', () => {
    useStore.setState({ seed: 1, steps: 300, preset: 'nano' });
    const s = useStore.getState();
    const window = s.policy.windowSteps;
    s.setControl('steps', '1000000'); // no window holds every step's loss: named on schedule.steps
    expect(useStore.getState().fieldErrors.steps).toMatch(/^a run of 1000000 steps, .* more than a checkpoint's header holds .*: use schedule\.steps of \d+ or fewer$/);
    expect(useStore.getState().steps).toBe(300);
    s.setControl('steps', '200000'); // a longer window would hold it: named, at the steps typed
    expect(useStore.getState().fieldErrors.steps).toMatch(/^a run of 200000 steps, a window every 25, .*: use a prelora\.windowSteps of \d+ or more(, .*)? or schedule\.steps of \d+ or fewer$/);
    expect(useStore.getState().steps).toBe(300);
    s.setControl('steps', '100000');
    expect(useStore.getState()).toMatchObject({ steps: 100000, fieldErrors: {} });
    expect(useStore.getState().fieldErrors).toEqual({}); // toMatchObject's {} matches any object
    useStore.getState().setPolicyField('windowSteps', '1');
    expect(useStore.getState().fieldErrors.windowSteps).toMatch(/^a run of 100000 steps, a window every 1, .*: use a prelora\.windowSteps of \d+ or more/);
    expect(useStore.getState().policy.windowSteps).toBe(window);
    useStore.getState().setPolicyField('windowSteps', String(window));
    useStore.getState().setControl('steps', '300');
    expect(useStore.getState()).toMatchObject({ steps: 300, fieldErrors: {}, error: null });
    expect(useStore.getState().fieldErrors).toEqual({}); // toMatchObject's {} matches any object
    // a problem the steps cannot mend is Start's: a link's warm-up (no field of the page's) past them
    useStore.setState({ extra: { 'schedule.warmupSteps': '250' } });
    useStore.getState().setControl('steps', '200');
    expect(useStore.getState()).toMatchObject({ steps: 200, fieldErrors: {} });
    expect(useStore.getState().fieldErrors).toEqual({}); // toMatchObject's {} matches any object
    useStore.setState({ extra: {}, steps: 300 });
  });

  it("a refused seed holds the benchmark back too (it runs the page's seed); a preset that replaces it takes its banner with it", () => {
    useStore.setState({ seed: 1, steps: 300, benchStatus: { state: 'idle' }, benchErrors: {}, dataset: 'synthetic' });
    useStore.getState().setControl('seed', '-3');
    const refused = useStore.getState().fieldErrors.seed!;
    useStore.getState().startBench(); // not with seed 1 while the field says -3
    expect(useStore.getState().benchStatus).toEqual({ state: 'idle' });
    expect(useStore.getState().error).toBe(refused);
    useStore.getState().setConfig({ preset: useStore.getState().preset === 'micro' ? 'nano' : 'micro' });
    expect(useStore.getState()).toMatchObject({ fieldErrors: {}, error: null });
    expect(useStore.getState().fieldErrors).toEqual({}); // toMatchObject's {} matches any object
    // a banner about something else stays
    useStore.setState({ error: 'the worker says no' });
    useStore.getState().setConfig({ preset: useStore.getState().preset === 'micro' ? 'nano' : 'micro' });
    expect(useStore.getState().error).toBe('the worker says no');
  });

  it("a built-in set's preview answered while an upload decodes leaves the upload's reading indicator", () => {
    const info = { name: 'synthetic', classes: [], shape: [16, 16, 3], train: 1000, test: 200, balance: [], samples: [] } as DatasetInfo;
    useStore.setState({ uploading: true });
    useStore.getState().onWorkerEvent({ type: 'dataset', source: 'synthetic', info });
    expect(useStore.getState().uploading).toBe(true);
    useStore.getState().onWorkerEvent({ type: 'dataset', source: 'upload', info: { ...info, name: 'CIFAR-10' } });
    expect(useStore.getState()).toMatchObject({ uploading: false, dataset: 'upload' });
  });

  it('keeps the saved runs in the store\'s order, latest saved first: a run marked stopped stays in its place, a new save goes on top', () => {
    const saved = (id: string, savedAt: number) => ({ id, name: id, step: 10, reason: 'interval', savedAt, preset: null }) as unknown as SavedRunInfo;
    useStore.setState({ savedRuns: [saved('new', 200), saved('old', 100)] });
    useStore.getState().applySaved('r', { ...saved('old', 100), stopped: { step: 12, by: 'reset' } } as SavedRunInfo);
    expect(useStore.getState().savedRuns.map((r) => r.id)).toEqual(['new', 'old']);
    useStore.getState().applySaved('r', saved('old', 300));
    expect(useStore.getState().savedRuns.map((r) => r.id)).toEqual(['old', 'new']);
  });

  it('asks the worker for a new data preview when what shapes the built-in set changes, and only then', () => {
    const sent: { type: string; config?: RunConfig }[] = [];
    vi.stubGlobal('Worker', class { postMessage(m: { type: string }) { sent.push(m); } terminate() {} });
    try {
      useStore.setState({ preset: 'nano', previewed: {} });
      const previews = () => sent.filter((m) => m.type === 'previewDataset').map((m) => m.config!);
      useStore.getState().previewDataset();
      expect(previews().map((c) => c.data.trainSize)).toEqual([4000]);
      const nano = { name: 'synthetic', classes: [], shape: [32, 32, 3], train: 4000, test: 1000, balance: [], samples: [] } as DatasetInfo;
      useStore.getState().onWorkerEvent({ type: 'dataset', source: 'synthetic', info: nano });
      useStore.getState().previewDataset(); // the same set, described: nothing to ask
      expect(previews()).toHaveLength(1);
      useStore.getState().setConfig({ preset: 'micro' });
      useStore.getState().previewDataset();
      expect(previews().map((c) => [c.data.trainSize, c.data.testSize, c.model.imageSize])).toEqual([[4000, 1000, 32], [1000, 200, 16]]);
      expect(useStore.getState().datasets.synthetic).toBeUndefined(); // nano's description is not micro's
      useStore.getState().setConfig({ seed: 9 }); // another seed draws other images
      useStore.getState().previewDataset();
      expect(previews().at(-1)!.seed).toBe(9);
    } finally {
      vi.unstubAllGlobals();
      useStore.setState({ preset: 'nano', seed: 1 });
    }
  });

  it("drops a preview answering an older request: micro asked after nano, nano's answer coming last is not shown", () => {
    vi.stubGlobal('Worker', class { postMessage() {} terminate() {} });
    try {
      useStore.setState({ preset: 'nano', seed: 1, previewed: {}, datasets: {}, dataset: 'synthetic' });
      useStore.getState().previewDataset();
      const nanoKey = builtinDataKey(buildConfig(useStore.getState()));
      useStore.getState().setConfig({ preset: 'micro' });
      useStore.getState().previewDataset();
      const microKey = builtinDataKey(buildConfig(useStore.getState()));
      const info = (train: number) => ({ name: 'synthetic', classes: [], shape: [16, 16, 3], train, test: 0, balance: [], samples: [] }) as DatasetInfo;
      useStore.getState().onWorkerEvent({ type: 'dataset', source: 'synthetic', info: info(1000), key: microKey });
      useStore.getState().onWorkerEvent({ type: 'dataset', source: 'synthetic', info: info(4000), key: nanoKey }); // late, from nano's request
      expect(useStore.getState().datasets.synthetic!.train).toBe(1000);
    } finally {
      vi.unstubAllGlobals();
      useStore.setState({ preset: 'nano', seed: 1 });
    }
  });

  it('a saved run\'s Resume or Open names the paused run it would stop, and waits while a run trains', () => {
    const s = useStore.getState();
    expect([selectOpenNote(useStore.getState()), selectOpenBlocked(useStore.getState())]).toEqual([null, false]);
    const a = s.addRun(buildConfig(s));
    s.onWorkerEvent({ type: 'state', runId: a.id, state: 'running', step: 0 });
    // before: Open replaced a training run without a word; now it waits, as Start does
    expect(selectOpenBlocked(useStore.getState())).toBe(true);
    expect(selectOpenNote(useStore.getState())).toBe(`${a.label} is running: pause it first (this would stop it)`);
    const info = { id: 'saved-1', name: 'old', step: 300, reason: 'done', config: buildConfig(s), preset: null } as unknown as SavedRunInfo;
    useStore.setState({ savedRuns: [info] });
    useStore.getState().resumeSaved('saved-1'); // the action holds back too
    expect(useStore.getState().runs).toHaveLength(1);
    expect(useStore.getState().error).toBe(`${a.label} is running: pause it first (this would stop it)`);
    s.onWorkerEvent({ type: 'state', runId: a.id, state: 'paused', step: 130 });
    expect(selectOpenBlocked(useStore.getState())).toBe(false);
    expect(selectOpenNote(useStore.getState())).toBe(`stops ${a.label}, paused now, to bring this one back (its saved checkpoint stays listed here, to resume)`);
    s.onWorkerEvent({ type: 'state', runId: a.id, state: 'done', step: 300 });
    expect(selectOpenNote(useStore.getState())).toBeNull(); // a finished run is not stopped by it
  });

  it('numbers a new run after every run shown and saved (a reload started again at #1 beside a saved #1); a resumed run keeps its name and start', () => {
    vi.stubGlobal('Worker', class { postMessage() {} terminate() {} });
    try {
      const s = useStore.getState();
      const info = { id: 'saved-4', name: '#400 PreLoRA (module), micro, 12/5/2026, 12:39:42 AM', step: 30, reason: 'pause', createdAt: 1_000, savedAt: 2_000, config: buildConfig(s), preset: 'micro', points: [] } as unknown as SavedRunInfo;
      useStore.setState({ savedRuns: [info] });
      const fresh = s.addRun(buildConfig(s));
      expect(fresh.label).toMatch(/^#401 /); // the runs before it in this file took fewer numbers
      expect(fresh.named).toBe(false);
      useStore.getState().onWorkerEvent({ type: 'state', runId: fresh.id, state: 'done', step: 300 });
      useStore.getState().resumeSaved('saved-4');
      const resumed = useStore.getState().runs.at(-1)!;
      expect([resumed.label, resumed.named, resumed.startedAt]).toEqual([info.name, true, 1_000]);
      expect(useStore.getState().addRun(buildConfig(s)).label).toMatch(/^#402 /);
    } finally {
      vi.unstubAllGlobals();
      useStore.setState({ savedRuns: [] });
    }
  });

  it('keeps at most MAX_POINTS loss points, thinning the old ones', async () => {
    const { MAX_POINTS } = await import('../../src/ui/store/runs');
    const s = useStore.getState();
    const a = s.addRun(buildConfig(s));
    for (let i = 1; i <= 3 * MAX_POINTS; i++) useStore.getState().onWorkerEvent({ type: 'engine', runId: a.id, event: progress(i) });
    const losses = useStore.getState().runs[0]!.losses;
    expect(losses.length).toBeLessThanOrEqual(MAX_POINTS);
    expect(losses.at(-1)!.step).toBe(3 * MAX_POINTS); // the newest is always kept
  });
});

describe('benchmark slice', () => {
  beforeEach(() => useStore.setState({ benchStatus: { state: 'idle' }, benchReport: null, benchPreset: 'nano', benchSteps: 99, benchErrors: {}, error: null }));

  it('a preset brings its step budget; steps and seeds are checked with the fix in the message', () => {
    const s = useStore.getState();
    s.setBench({ benchPreset: 'micro' });
    expect(useStore.getState().benchSteps).toBe(300);
    s.setBench({ benchPreset: 'tiny', benchSteps: 40 });
    expect(useStore.getState()).toMatchObject({ benchPreset: 'tiny', benchSteps: 40 });
    expect(checkBenchNumber('steps', '40')).toBe(40);
    expect(checkBenchNumber('steps', '11')).toBe('benchmark steps takes a whole number in [12, 1000000] (got "11")');
    expect(checkBenchNumber('seeds', '1.5')).toBe('benchmark seeds takes a whole number >= 1 (got "1.5")');
    expect(checkBenchNumber('seeds', ' ')).toMatch(/whole number >= 1/);
  });

  it('a bad steps or seeds is refused and holds the benchmark back until it is good; a new preset brings good steps', () => {
    useStore.setState({ benchErrors: {} });
    const s = useStore.getState();
    s.setBenchField('steps', 'abc');
    expect(useStore.getState().benchErrors).toEqual({ steps: 'benchmark steps takes a whole number in [12, 1000000] (got "abc")' });
    expect(useStore.getState().benchSteps).toBe(99); // the last good value stays
    useStore.getState().startBench(); // not with 99 while the field says "abc"
    expect(useStore.getState().benchStatus).toEqual({ state: 'idle' });
    expect(useStore.getState().error).toBe('benchmark steps takes a whole number in [12, 1000000] (got "abc")');
    useStore.getState().setBenchField('steps', '40');
    expect(useStore.getState()).toMatchObject({ benchSteps: 40, benchErrors: {} });
    useStore.getState().setBenchField('steps', '5');
    useStore.getState().setBench({ benchPreset: 'micro' });
    expect(useStore.getState()).toMatchObject({ benchSteps: 300, benchErrors: {} });
  });

  it('refuses steps past the most a run takes in the steps field, not later under a name the page does not show', () => {
    useStore.getState().setBenchField('steps', '2000000');
    expect(useStore.getState().benchErrors).toEqual({ steps: 'benchmark steps takes a whole number in [12, 1000000] (got "2000000")' });
    expect(useStore.getState().benchSteps).toBe(99);
  });

  it('refuses seeds that run past the largest seed before asking the worker, on the seeds field', () => {
    useStore.setState({ seed: 2 ** 32 - 1, fieldErrors: {}, dataset: 'synthetic' });
    useStore.getState().setBenchField('seeds', '2');
    useStore.getState().startBench();
    const message = 'benchmark seeds 2 from seed 4294967295 run seeds past 4294967295, the largest seed: lower either';
    expect(useStore.getState().benchStatus).toEqual({ state: 'idle' });
    expect(useStore.getState().error).toBe(message);
    // the seeds field shows it (and the button waits) until either is lowered
    expect(benchFieldError(useStore.getState(), 'seeds')).toBe(message);
    useStore.getState().setControl('seed', '7');
    expect(benchFieldError(useStore.getState(), 'seeds')).toBeUndefined();
    useStore.setState({ seed: 1, benchSeeds: 1, error: null });
  });

  it('keeps the last report through a stopped, failed or crashed benchmark', () => {
    const s = useStore.getState();
    const report = { date: '2026-11-29', preset: 'micro', dataset: 'synthetic', backend: 'wasm', kernels: 'composite' as const, device: '', steps: 40, batchSize: 16, seeds: 1, runs: [], perSeed: [] };
    s.onWorkerEvent({ type: 'bench', status: { state: 'done', report } });
    s.onWorkerEvent({ type: 'bench', status: { state: 'running', done: 1, total: 4, label: 'seed 1 lora/global' } });
    s.onWorkerEvent({ type: 'bench', status: { state: 'stopped' } });
    expect(useStore.getState().benchReport).toBe(report);
    s.onWorkerEvent({ type: 'bench', status: { state: 'running', done: 0, total: 4, label: 'warm-up' } });
    s.onWorkerEvent({ type: 'crashed', message: 'x' });
    expect(useStore.getState().benchStatus).toEqual({ state: 'failed', message: 'the training worker crashed (x); a new one starts with the next command' });
    expect(useStore.getState().benchReport).toBe(report);
  });

  it('refuses to benchmark an upload, before asking the worker', () => {
    useStore.setState({ dataset: 'upload' });
    useStore.getState().startBench();
    expect(useStore.getState().error).toBe('dataset must be synthetic or mnist: the benchmark runs on the built-in sets');
    expect(useStore.getState().benchStatus).toEqual({ state: 'idle' });
    useStore.setState({ dataset: 'synthetic' });
  });
});
