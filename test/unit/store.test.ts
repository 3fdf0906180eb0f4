// The page's store, driven by worker events as the worker sends them: a reset run's
// late events are dropped, a refused start leaves nothing, a crash keeps the charts.
import { beforeEach, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/engine/events';
import { useStore } from '../../src/ui/store';
import { checkBenchNumber } from '../../src/ui/store/bench';
import { buildConfig } from '../../src/ui/store/config';

const progress = (step: number): EngineEvent => ({
  type: 'progress', phase: 'full', samplesPerSec: 50, seconds: 1, records: [{ step, epoch: 0, loss: 2, lr: 1e-3 }],
});

describe('playground store', () => {
  beforeEach(() => useStore.setState({ runs: [], activeId: null, error: null, fieldErrors: {} }));

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
    s.onWorkerEvent({ type: 'error', runId: a.id, message: 'model: too large', fatal: false });
    expect(useStore.getState().runs).toEqual([]);
    expect(useStore.getState().error).toBe('model: too large');
  });

  it('a worker crash stops the run but keeps what it drew', () => {
    const s = useStore.getState();
    const a = s.addRun(buildConfig(s));
    s.onWorkerEvent({ type: 'state', runId: a.id, state: 'running', step: 0 });
    s.onWorkerEvent({ type: 'engine', runId: a.id, event: progress(10) });
    s.onWorkerEvent({ type: 'error', runId: null, message: 'the training worker crashed', fatal: true });
    const run = useStore.getState().runs[0]!;
    expect(run.state).toBe('stopped');
    expect(run.losses).toHaveLength(1);
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
  beforeEach(() => useStore.setState({ benchStatus: { state: 'idle' }, benchReport: null, benchPreset: 'nano', benchSteps: 99, error: null }));

  it('a preset brings its step budget; steps and seeds are checked with the fix in the message', () => {
    const s = useStore.getState();
    s.setBench({ benchPreset: 'micro' });
    expect(useStore.getState().benchSteps).toBe(300);
    s.setBench({ benchPreset: 'tiny', benchSteps: 40 });
    expect(useStore.getState()).toMatchObject({ benchPreset: 'tiny', benchSteps: 40 });
    expect(checkBenchNumber('steps', '40')).toBe(40);
    expect(checkBenchNumber('steps', '11')).toBe('benchmark steps takes a whole number >= 12 (got "11")');
    expect(checkBenchNumber('seeds', '1.5')).toBe('benchmark seeds takes a whole number >= 1 (got "1.5")');
    expect(checkBenchNumber('seeds', ' ')).toMatch(/whole number >= 1/);
  });

  it('keeps the last report through a stopped, failed or crashed benchmark', () => {
    const s = useStore.getState();
    const report = { date: '2026-11-29', preset: 'micro', dataset: 'synthetic', backend: 'wasm', device: '', steps: 40, batchSize: 16, seeds: 1, runs: [], perSeed: [] };
    s.onWorkerEvent({ type: 'bench', status: { state: 'done', report } });
    s.onWorkerEvent({ type: 'bench', status: { state: 'running', done: 1, total: 4, label: 'seed 1 lora/global' } });
    s.onWorkerEvent({ type: 'bench', status: { state: 'stopped' } });
    expect(useStore.getState().benchReport).toBe(report);
    s.onWorkerEvent({ type: 'bench', status: { state: 'running', done: 0, total: 4, label: 'warm-up' } });
    s.onWorkerEvent({ type: 'error', runId: null, message: 'the training worker crashed (x)', fatal: true });
    expect(useStore.getState().benchStatus).toEqual({ state: 'failed', message: 'the training worker crashed (x)' });
    expect(useStore.getState().benchReport).toBe(report);
  });

  it('refuses to benchmark an upload, before asking the worker', () => {
    useStore.setState({ dataset: 'upload' });
    useStore.getState().startBench();
    expect(useStore.getState().error).toBe('the benchmark runs on the built-in sets: pick synthetic or mnist above');
    expect(useStore.getState().benchStatus).toEqual({ state: 'idle' });
    useStore.setState({ dataset: 'synthetic' });
  });
});
