// Saved runs through the worker's logic in Node (real tfjs on wasm, IndexedDB from
// fake-indexeddb): checkpoints every N steps and at a pause; a new worker (as after a
// reload or a crash) brings a run back paused where it was saved, with everything it
// reported, and finishes it with the losses of the run that never stopped; a corrupted
// or old checkpoint is refused with its message while the others still resume; a run
// on uploaded data resumes without an upload (the data kept with it), and data too large
// to keep is asked for by name and checked to be the same before the run goes on.
import 'fake-indexeddb/auto';
import * as tf from '@tensorflow/tfjs';
import { unzipSync } from 'fflate';
import { openDB } from 'idb';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/engine/backend-node';
import { makeConfig, validateConfig, type RunConfig } from '../../src/engine/config';
import { loadBuiltin } from '../../src/engine/data/builtin';
import type { EngineEvent } from '../../src/engine/events';
import { prepareRun } from '../../src/engine/prepare';
import { Trainer } from '../../src/engine/trainer';
import { TrainingHost } from '../../src/worker/host';
import type { Command, RunState, WorkerEvent } from '../../src/worker/protocol';
import { SAVED_RUNS_DB, SavedRuns, wasInterrupted, type SavedRunInfo } from '../../src/worker/saved-runs';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from '../../src/engine/checkpoint/format';
import { branchPoint, firstDifference } from '../../src/engine/explore/branch';
import { recordedRun } from '../../src/engine/explore/recorded';
import { replay, runSettings } from '../../src/engine/explore/replay';
import { cifarBatch } from '../helpers/cifar';

const readPublic = async (p: string) => new Uint8Array(await readFile(join('public', p)));

/** A worker as the page has it: a host that saves to this process's IndexedDB. */
function worker(keepDataUpTo?: number, onEvent?: (e: WorkerEvent, host: TrainingHost) => void, checkpointHeaderBytes?: number) {
  const events: WorkerEvent[] = [];
  const post = (e: WorkerEvent) => { events.push(e); onEvent?.(e, host); };
  const host: TrainingHost = new TrainingHost({ post, initBackend: (c) => initNodeBackend(c), readPublic, openSaved: () => SavedRuns.open(), keepDataUpTo, checkpointHeaderBytes });
  const waitFor = async <T extends WorkerEvent>(pred: (e: WorkerEvent) => e is T, from = 0): Promise<T> => {
    const end = Date.now() + 90_000;
    for (;;) {
      const hit = events.slice(from).find(pred);
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`no such event; got ${events.map((e) => e.type).join(', ')}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const stateOf = (runId: string, state: RunState) => (e: WorkerEvent): e is Extract<WorkerEvent, { type: 'state' }> =>
    e.type === 'state' && e.runId === runId && e.state === state;
  const saved = (runId: string, step: number) => (e: WorkerEvent): e is Extract<WorkerEvent, { type: 'saved' }> =>
    e.type === 'saved' && e.runId === runId && e.info.step === step;
  const engine = (runId: string) => events.flatMap((e) => (e.type === 'engine' && e.runId === runId ? [e.event] : []));
  return { host, events, waitFor, stateOf, saved, engine };
}

const config: RunConfig = makeConfig('micro', {
  data: { trainSize: 200, testSize: 40 },
  schedule: { steps: 30, warmupSteps: 2, evalEvery: 10, logEvery: 4, checkpointEvery: 8 },
  prelora: { mode: 'prelora', rule: 'module', windowSteps: 4, jointSteps: 4, patience: 2, weightThreshold: 1e3, lossThreshold: 1e3, minFullSteps: 8 },
});

/** Every saved run removed, for the next test. */
async function removeSaved(): Promise<void> {
  const store = await SavedRuns.open();
  for (const r of await store.list()) await store.remove(r.id);
  store.close();
}

/** A 3-step run saved as `name`, let go, and its checkpoint rewritten by `rewrite` (as another page or a live change left it): its saved id and the store. */
async function savedAs(name: string, rewrite: (c: Checkpoint) => Checkpoint): Promise<{ id: string; store: SavedRuns }> {
  const a = worker();
  await a.host.receive({ type: 'start', runId: name, config: { ...config, schedule: { ...config.schedule, steps: 3 } }, name });
  await a.waitFor(a.saved(name, 3));
  await a.host.receive({ type: 'reset', runId: name });
  const store = await SavedRuns.open();
  const id = (await store.list()).find((r) => r.name === name)!.id;
  const db = await openDB(SAVED_RUNS_DB);
  await db.put('files', { id, bytes: encodeCheckpoint(rewrite(decodeCheckpoint((await store.read(id))!, name))) });
  db.close();
  return { id, store };
}

/** A 6-step run started as `name` on a worker that sends `commands` for it as its end (state done) is posted: they wait behind its last save. */
async function atItsEnd(name: string, commands: Command[]) {
  const w = worker(undefined, (e, host) => {
    if (e.type === 'state' && e.runId === 'r' && e.state === 'done') for (const c of commands) void host.receive(c);
  });
  await w.host.receive({ type: 'start', runId: 'r', config: { ...config, schedule: { ...config.schedule, steps: 6, checkpointEvery: 0 } }, name });
  return w;
}

const losses = (es: EngineEvent[]) => es.flatMap((e) => (e.type === 'progress' ? e.records.map((r) => [r.step, r.loss]) : []));
const plain = (es: EngineEvent[]) => es.filter((e) => e.type === 'window' || e.type === 'phase' || e.type === 'evaluation');

describe('saved runs (Node, wasm, fake-indexeddb)', () => {
  const straight: EngineEvent[] = [];
  beforeAll(async () => {
    await initNodeBackend('wasm');
    const { config: ran, dataset } = await prepareRun(config, { load: (c) => loadBuiltin(c, readPublic) });
    const t = new Trainer(ran!, dataset!, (e) => straight.push(e));
    await t.run();
    t.dispose();
  }, 120_000);

  it('says once that a run\'s record outgrew a checkpoint, and trains on: no later save is tried (each was refused again, after seconds of encoding)', async () => {
    // a header limit of 4 KiB: the first save's (step 8) is over it
    const w = worker(undefined, undefined, 4096);
    await w.host.receive({ type: 'start', runId: 'o', config, name: 'outgrown' });
    const done = await w.waitFor(w.stateOf('o', 'done'));
    expect(done.step).toBe(30);
    const errors = w.events.filter((e) => e.type === 'error').map((e) => e.message);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^could not save the run at step 8: the run's record \(its events and window history, [\d.]+ KiB\) is more than a checkpoint holds \(4\.0 KiB\): its saved run, if it has one, stays as it was last saved; .* \(no later save of this run is tried: its record only grows\)$/);
    expect(w.events.filter((e) => e.type === 'saved')).toEqual([]);
    const store = await SavedRuns.open();
    expect((await store.list()).filter((r) => r.name === 'outgrown')).toEqual([]);
    store.close();
    await w.host.receive({ type: 'reset', runId: 'o' });
    await removeSaved();
  });

  it('saves every N steps and at a pause; a new worker resumes it where it was saved, and it ends as the run that never stopped', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const a = worker();
    await a.host.receive({ type: 'start', runId: 'a', config, name: 'first', preset: 'micro' });
    const interval = await a.waitFor(a.saved('a', 8));
    expect(interval.info).toMatchObject({ name: 'first', reason: 'interval', preset: 'micro', backend: 'wasm', config });
    await a.waitFor(a.saved('a', 16));
    await a.host.receive({ type: 'pause', runId: 'a' });
    const paused = await a.waitFor(a.stateOf('a', 'paused'));
    const atPause = await a.waitFor(a.saved('a', paused.step));
    expect(atPause.info.reason).toBe('pause');
    expect(atPause.info.id).toBe(interval.info.id); // one saved run, its latest checkpoint
    const store = await SavedRuns.open();
    const listed = await store.list();
    expect(listed.map((r) => [r.id, r.step, r.bytes])).toEqual([[atPause.info.id, paused.step, (await store.read(atPause.info.id))!.byteLength]]);
    await store.rename(atPause.info.id, 'renamed');
    const before = a.engine('a');
    // the page goes away: this worker's run with it
    await a.host.receive({ type: 'reset', runId: 'a' });

    const b = worker();
    await b.host.receive({ type: 'restore', runId: 'b', savedId: atPause.info.id });
    const restored = await b.waitFor((e): e is Extract<WorkerEvent, { type: 'restored' }> => e.type === 'restored');
    expect(restored.events).toEqual(before); // everything it reported, for the charts
    await b.waitFor(b.stateOf('b', 'paused'));
    expect(b.events.map((e) => e.type).slice(0, 5)).toEqual(['ready', 'started', 'restored', 'state', 'held']);
    expect(b.events[3]).toMatchObject({ type: 'state', runId: 'b', state: 'paused', step: paused.step });
    await b.host.receive({ type: 'resume', runId: 'b' });
    const done = await b.waitFor(b.stateOf('b', 'done'));
    expect(done.step).toBe(30);
    const all = [...restored.events, ...b.engine('b')];
    expect(losses(all)).toEqual(losses(straight));
    expect(plain(all)).toEqual(plain(straight));
    // the resumed run saves on under the same entry, with its new name kept
    const last = await b.waitFor(b.saved('b', 30));
    expect(last.info).toMatchObject({ id: atPause.info.id, name: 'renamed', reason: 'done' });
    await b.host.receive({ type: 'reset', runId: 'b' });
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    await store.remove(atPause.info.id);
    expect(await store.list()).toEqual([]);
    store.close();
  }, 240_000);

  it('a benchmark asked for the moment a run pauses waits for the pause\'s save, and the run resumes as the run that never stopped', async () => {
    const tensorsBefore = tf.memory().numTensors;
    const bench = { ...config, schedule: { ...config.schedule, steps: 12, checkpointEvery: 0 } };
    let benching: Promise<void> | null = null;
    // the page's benchmark button pressed as the pause lands, while the pause's save is under way
    const w = worker(undefined, (e, host) => {
      if (!benching && e.type === 'state' && e.runId === 'q' && e.state === 'paused') benching = host.receive({ type: 'bench', config: bench, preset: 'micro', seeds: 1 });
    });
    await w.host.receive({ type: 'start', runId: 'q', config, name: 'paused for a benchmark' });
    await w.waitFor(w.saved('q', 8));
    await w.host.receive({ type: 'pause', runId: 'q' });
    const paused = await w.waitFor(w.stateOf('q', 'paused'));
    const atPause = await w.waitFor(w.saved('q', paused.step));
    await w.waitFor((e): e is WorkerEvent => e.type === 'bench' && (e.status.state === 'done' || e.status.state === 'failed'));
    await benching;
    const benchStarted = w.events.findIndex((e) => e.type === 'bench' && e.status.state === 'running');
    expect(w.events.at(-1)).toMatchObject({ type: 'bench', status: { state: 'done' } });
    expect(w.events.indexOf(atPause)).toBeLessThan(benchStarted); // the save ended before the benchmark began
    await w.host.receive({ type: 'resume', runId: 'q' });
    await w.waitFor(w.stateOf('q', 'done'));
    expect(losses(w.engine('q'))).toEqual(losses(straight));
    expect(plain(w.engine('q'))).toEqual(plain(straight));
    expect(w.events.filter((e) => e.type === 'error')).toEqual([]);
    await w.host.receive({ type: 'reset', runId: 'q' });
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    const store = await SavedRuns.open();
    await store.remove(atPause.info.id);
    store.close();
  }, 240_000);

  it('a start waiting behind a pause\'s save when a benchmark is asked for is refused, and the paused run stays', async () => {
    const bench = { ...config, schedule: { ...config.schedule, steps: 12, checkpointEvery: 0 } };
    // the start is asked for as the pause lands (it waits for the save); the benchmark as the save ends, before the start's turn
    const w = worker(undefined, (e, host) => {
      if (e.type === 'state' && e.runId === 'q' && e.state === 'paused') void host.receive({ type: 'start', runId: 'n', config: bench });
      if (e.type === 'saved' && e.runId === 'q' && e.info.reason === 'pause') void host.receive({ type: 'bench', config: bench, preset: 'micro', seeds: 1 });
    });
    await w.host.receive({ type: 'start', runId: 'q', config, name: 'paused for a start' });
    await w.waitFor(w.saved('q', 8));
    await w.host.receive({ type: 'pause', runId: 'q' });
    await w.waitFor((e): e is WorkerEvent => e.type === 'bench' && (e.status.state === 'done' || e.status.state === 'failed'));
    expect(w.events.filter((e) => e.type === 'error')).toEqual([{ type: 'error', runId: 'n', message: 'a benchmark is running: stop it (or let it finish) first' }]);
    expect(w.events.filter((e) => e.type === 'bench').at(-1)).toMatchObject({ status: { state: 'done' } });
    expect(w.events.some((e) => 'runId' in e && e.runId === 'n' && e.type !== 'error')).toBe(false);
    expect(w.events.filter((e) => e.type === 'state').map((e) => (e as { state: string }).state)).toEqual(['running', 'paused']);
    await w.host.receive({ type: 'reset', runId: 'q' });
    await removeSaved();
  }, 240_000);

  it('a run the user reset, or replaced by another, is listed as stopped at its step, not interrupted, and still resumes from its checkpoint', async () => {
    const w = worker();
    await w.host.receive({ type: 'start', runId: 'x', config, name: 'reset me' });
    const atEight = await w.waitFor(w.saved('x', 8));
    await w.waitFor((e): e is WorkerEvent => e.type === 'engine' && e.runId === 'x' && e.event.type === 'progress' && e.event.records.some((r) => r.step >= 10));
    const from = w.events.length;
    await w.host.receive({ type: 'reset', runId: 'x' });
    const store = await SavedRuns.open();
    const [reset] = await store.list();
    // before: the record still said 'interval', and after a reload the page offered it as "interrupted (a reload, a crash or a lost GPU)"
    expect(reset!.stopped?.by).toBe('reset');
    expect(reset!.stopped!.step).toBeGreaterThanOrEqual(10);
    expect(reset!.step).toBe(8); // its checkpoint stays
    expect([wasInterrupted(atEight.info), wasInterrupted(reset!)]).toEqual([true, false]); // had the page gone at step 8, interrupted
    expect(w.events.slice(from).find((e) => e.type === 'saved')).toEqual({ type: 'saved', runId: 'x', info: reset }); // the list says so at once

    // resumed, paused and then replaced by a new start: stopped too; its next save (the resume's) would clear it
    await w.host.receive({ type: 'restore', runId: 'y', savedId: reset!.id });
    await w.waitFor(w.stateOf('y', 'paused'));
    await w.host.receive({ type: 'start', runId: 'z', config: { ...config, schedule: { ...config.schedule, checkpointEvery: 0 } }, name: 'next' });
    await w.waitFor(w.stateOf('y', 'stopped'));
    const replaced = (await store.list()).find((r) => r.id === reset!.id)!;
    expect(replaced.stopped).toEqual({ step: 8, by: 'replaced' });
    expect(wasInterrupted(replaced)).toBe(false);
    await w.host.receive({ type: 'reset', runId: 'z' });
    store.close();
    await removeSaved();
  }, 240_000);

  it('a reset of a finished run asked for as its end is posted lets it go once its last save has read it', async () => {
    const w = await atItsEnd('reset at its end', [{ type: 'reset', runId: 'r' }]);
    await w.waitFor((e): e is WorkerEvent => e.type === 'held' && e.run === null);
    // before, the reset let go of the trainer while the save was reading it, and the run's last save was lost without a word
    expect(w.events.filter((e) => e.type === 'error')).toEqual([]);
    const savedAt = w.events.findIndex(w.saved('r', 6));
    expect(savedAt).toBeGreaterThan(-1);
    expect(savedAt).toBeLessThan(w.events.findIndex((e) => e.type === 'held' && e.run === null));
    await removeSaved();
  }, 240_000);

  it('an export that waited behind a finished run\'s last save and a reset says the run was let go, and exports nothing', async () => {
    // both wait their turn behind the last save: the reset first
    const w = await atItsEnd('reset, then exported', [{ type: 'reset', runId: 'r' }, { type: 'exportModel', runId: 'r', naming: 'transformers5' }]);
    const error = await w.waitFor((e): e is Extract<WorkerEvent, { type: 'error' }> => e.type === 'error');
    expect(error).toEqual({ type: 'error', runId: 'r', message: 'the run was let go (reset, or a new run) before its export could read it: nothing was exported', about: 'exportModel' });
    expect(w.events.some((e) => e.type === 'model')).toBe(false);
    expect(w.events.findIndex(w.saved('r', 6))).toBeGreaterThan(-1);
    await removeSaved();
  }, 240_000);

  it('refuses a saved run whose settings as changed live do not run here before it lets go of the paused run, which goes on', async () => {
    // its settings as a live change left them, here a maxRank no device takes
    const { id, store } = await savedAs('changed', (c) => {
      c.state.controller.settings.maxRank = 6;
      return c;
    });

    const b = worker();
    await b.host.receive({ type: 'start', runId: 'p', config });
    await b.waitFor(b.stateOf('p', 'running'));
    await b.host.receive({ type: 'pause', runId: 'p' });
    const paused = await b.waitFor(b.stateOf('p', 'paused'));
    await b.waitFor(b.saved('p', paused.step));
    await b.host.receive({ type: 'restore', runId: 'r', savedId: id });
    expect(b.events.at(-1)).toEqual({ type: 'error', runId: 'r', message: 'saved run "changed" cannot run here: its settings as changed live do not run here: ' +
      'prelora.maxRank must be a power of two, e.g. 4, 8, 16 (got 6); the other saved runs are not affected' });
    expect(b.events.filter((e) => e.type === 'state' && e.runId === 'p').map((e) => (e as { state: string }).state)).toEqual(['running', 'paused']);
    await b.host.receive({ type: 'resume', runId: 'p' });
    expect((await b.waitFor(b.stateOf('p', 'done'))).step).toBe(30);
    await b.host.receive({ type: 'reset', runId: 'p' });
    for (const r of await store.list()) await store.remove(r.id);
    store.close();
  }, 240_000);

  it("leaves a pause and the saves out of the run's training time (its intervals' seconds, and so samples/s)", async () => {
    // every save made a little slower, so that its time would show in an interval
    const untimed: [number, number][] = [];
    const openSaved = async () => {
      const store = await SavedRuns.open();
      const save = store.save.bind(store);
      store.save = async (...args: Parameters<SavedRuns['save']>) => {
        const from = performance.now();
        await new Promise((r) => setTimeout(r, 300));
        return save(...args).finally(() => untimed.push([from, performance.now()]));
      };
      return store;
    };
    const events: WorkerEvent[] = [];
    let pausedAt = 0;
    const host = new TrainingHost({
      post: (e) => {
        events.push(e);
        if (e.type === 'state' && e.state === 'paused') pausedAt = performance.now();
      },
      initBackend: (c) => initNodeBackend(c), readPublic, openSaved,
    });
    const until = async (pred: (e: WorkerEvent) => boolean) => {
      while (!events.some(pred)) await new Promise((r) => setTimeout(r, 5));
    };
    const short = { ...config, schedule: { ...config.schedule, steps: 16, checkpointEvery: 4 } };
    await host.receive({ type: 'start', runId: 't', config: short });
    await until((e) => e.type === 'started');
    const from = performance.now();
    await until((e) => e.type === 'saved' && e.info.step === 8);
    await host.receive({ type: 'pause', runId: 't' });
    await until((e) => e.type === 'saved' && e.info.reason === 'pause');
    await new Promise((r) => setTimeout(r, 600));
    untimed.push([pausedAt, performance.now()]);
    await host.receive({ type: 'resume', runId: 't' });
    await until((e) => e.type === 'saved' && e.info.reason === 'done'); // posted after the state 'done'
    const wall = performance.now() - from;
    const seconds = events.flatMap((e) => (e.type === 'engine' && e.event.type === 'progress' ? [e.event.seconds] : []));
    expect(seconds.length).toBeGreaterThan(2);
    // the intervals lie between the untimed stretches: their sum fits in what is left of the wall time
    const merged = untimed.sort((a, b) => a[0] - b[0]).reduce<[number, number][]>((out, [a, b]) => {
      const last = out.at(-1);
      if (last && a <= last[1]) last[1] = Math.max(last[1], b);
      else out.push([a, b]);
      return out;
    }, []);
    const left = wall - merged.reduce((n, [a, b]) => n + (b - a), 0);
    expect(merged.length).toBeGreaterThan(2);
    expect(seconds.reduce((a, b) => a + b, 0) * 1000).toBeLessThanOrEqual(left + 1);
    await host.receive({ type: 'reset', runId: 't' });
    await removeSaved();
  }, 120_000);

  it('refuses a corrupted checkpoint and an old version with their messages, and still resumes the others', async () => {
    const a = worker();
    for (const [runId, name] of [['x', 'good'], ['y', 'bitrot'], ['z', 'old']] as const) {
      await a.host.receive({ type: 'start', runId, config: { ...config, schedule: { ...config.schedule, steps: 3 } }, name });
      await a.waitFor(a.saved(runId, 3));
    }
    await a.host.receive({ type: 'reset', runId: 'z' });
    const store = await SavedRuns.open();
    const byName = Object.fromEntries((await store.list()).map((r) => [r.name, r.id])) as Record<'good' | 'bitrot' | 'old', string>;
    const db = await openDB(SAVED_RUNS_DB);
    const bitrot = (await store.read(byName.bitrot))!.slice();
    bitrot[bitrot.length - 100]! ^= 1;
    await db.put('files', { id: byName.bitrot, bytes: bitrot });
    const old = (await store.read(byName.old))!.slice();
    const header = new TextDecoder().decode(old.subarray(0, 8 + Number(new DataView(old.buffer).getBigUint64(0, true))));
    old[header.indexOf('"version":"1"') + '"version":"'.length] = '0'.charCodeAt(0); // the header is ASCII: same offsets
    await db.put('files', { id: byName.old, bytes: old });
    db.close();

    const b = worker();
    await b.host.receive({ type: 'restore', runId: 'r1', savedId: byName.bitrot });
    expect(b.events.at(-1)).toMatchObject({ type: 'error', runId: 'r1' });
    expect((b.events.at(-1) as { message: string }).message).toMatch(/^saved run "bitrot": it is corrupted \(CRC-32 .*\): delete it; the other saved runs are not affected$/);
    await b.host.receive({ type: 'restore', runId: 'r2', savedId: byName.old });
    expect((b.events.at(-1) as { message: string }).message).toMatch(/^saved run "old": a checkpoint of version "0": this page resumes version 1 only/);
    await b.host.receive({ type: 'restore', runId: 'r3', savedId: byName.good });
    await b.waitFor(b.stateOf('r3', 'done')); // it had finished: it comes back done, its model held for export
    expect(b.events.filter((e) => e.type === 'held').at(-1)).toEqual({ type: 'held', run: 'r3' });
    await b.host.receive({ type: 'restore', runId: 'r4', savedId: 'no-such-run' });
    expect(b.events.at(-1)).toEqual({ type: 'error', runId: 'r4', message: 'saved run "no-such-run" is gone (deleted in another tab?)' });
    await b.host.receive({ type: 'reset', runId: 'r3' });
    for (const id of Object.values(byName)) await store.remove(id);
    store.close();
  }, 240_000);

  it('resumes a run of an older page that a new run\'s bounds refuse: its rank past the width, steps whose record outgrows a checkpoint', async () => {
    // as an older page saved it: a million steps (its record past what a checkpoint holds at
    // any window) and a maxRank past the model's width, both refused to a new run, in its
    // config and its live settings as it ran (what the resume checks a branch's change against)
    const { id, store } = await savedAs('older', (c) => {
      const maxRank = 4 * c.config.model.width;
      c.config = { ...c.config, schedule: { ...c.config.schedule, steps: 1_000_000 }, prelora: { ...c.config.prelora, maxRank } };
      c.state.controller.settings.maxRank = maxRank;
      expect(validateConfig(c.config).map((e) => e.path)).toEqual(['prelora.maxRank', 'schedule.steps']);
      return c;
    });
    const b = worker();
    await b.host.receive({ type: 'restore', runId: 'o2', savedId: id });
    // it was refused: "saved run "older" cannot run here: prelora.maxRank ...; schedule.steps ..."
    const came = await b.waitFor((e): e is WorkerEvent => (e.type === 'state' && e.runId === 'o2' && e.state === 'paused') || e.type === 'error');
    expect(came).toMatchObject({ type: 'state', state: 'paused' });
    await b.host.receive({ type: 'reset', runId: 'o2' });
    await store.remove(id);
    store.close();
  }, 240_000);

  it('branches a finished run from a branch point with other settings: its history up to there is the parent\'s, and it goes on as a run changed live there (1e-6)', async () => {
    // a PreLoRA run whose threshold nothing meets: no switch, so the replay is exact for all of it
    const parent: RunConfig = { ...config, schedule: { ...config.schedule, steps: 40, checkpointEvery: 10, logEvery: 5 }, prelora: { ...config.prelora, weightThreshold: 1e-4, minFullSteps: 15 } };
    const X = { weightThreshold: 1e3 };
    const a = worker();
    await a.host.receive({ type: 'start', runId: 'p', config: parent, name: 'parent' });
    await a.waitFor(a.stateOf('p', 'done'));
    const done = await a.waitFor(a.saved('p', 40));
    // every checkpoint but the last is kept as a branch point
    expect(done.info.points.map((p) => p.step)).toEqual([10, 20, 30]);
    const parentEvents = a.engine('p');
    expect(parentEvents.some((e) => e.type === 'phase')).toBe(false);
    // where the what-if view branches: before the first decision that differs
    const recorded = recordedRun(parent, parentEvents);
    const predicted = replay(recorded, { ...runSettings(recorded), ...X });
    const differs = firstDifference(recorded.real, predicted.switches)!;
    const at = branchPoint(done.info.points.map((p) => p.step), differs)!;
    expect(differs).toBeGreaterThan(at);
    expect(at).toBeGreaterThan(0);

    await a.host.receive({ type: 'branch', runId: 'b', savedId: done.info.id, step: at, update: X, name: 'branch' });
    const restored = await a.waitFor((e): e is Extract<WorkerEvent, { type: 'restored' }> => e.type === 'restored' && e.runId === 'b');
    expect(a.events.find((e) => e.type === 'policy' && e.runId === 'b')).toEqual({ type: 'policy', runId: 'b', step: at, update: X });
    await a.waitFor(a.stateOf('b', 'done'));
    // its history up to the branch point: the parent's own events
    expect(restored.events).toEqual(parentEvents.slice(0, restored.events.length));
    expect(losses(restored.events).at(-1)![0]).toBe(at);
    const branch = [...restored.events, ...a.engine('b')];

    // the reference: one trainer, the change made live at the same step
    const { config: ran, dataset } = await prepareRun(parent, { load: (c) => loadBuiltin(c, readPublic) });
    const live: EngineEvent[] = [];
    const t = new Trainer(ran!, dataset!, (e) => live.push(e));
    await t.run(at);
    expect(t.setPolicy(X).applied).toEqual(X);
    await t.run(40 - at);
    t.dispose();
    const got = losses(branch), want = losses(live);
    expect(got.map(([s]) => s)).toEqual(want.map(([s]) => s));
    got.forEach(([, l], i) => expect(Math.abs(l! - want[i]![1]!)).toBeLessThanOrEqual(1e-6 * Math.abs(want[i]![1]!)));
    const switches = (es: EngineEvent[]) => es.flatMap((e) => (e.type === 'phase' ? [e.change] : []));
    expect(switches(branch)).toEqual(switches(live));
    // and the branch switched where the replay said, exactly: the first decision that differs
    const firstReal = switches(branch).filter((c) => c.from === 'full' && c.step === differs).map((c) => [c.module, c.rank]).sort();
    expect(firstReal.length).toBeGreaterThan(0);
    expect(firstReal).toEqual(predicted.switches.filter((s) => s.step === differs).map((s) => [s.module, s.rank]).sort());

    // a saved run of its own, with branch points of its own; the parent's stay
    const store = await SavedRuns.open();
    const listed = await store.list();
    const own = listed.find((r) => r.name === 'branch')!;
    expect(own.id).not.toBe(done.info.id);
    // its own, every 10 steps after the branch point
    expect(own.points.map((p) => p.step)).toEqual([20, 30].filter((s) => s > at));
    expect(await store.readPoint(done.info.id, at)).not.toBeNull();
    // a branch point that is gone is refused with its name and step
    await a.host.receive({ type: 'branch', runId: 'c', savedId: done.info.id, step: 15, update: X, name: 'no' });
    expect(a.events.at(-1)).toEqual({ type: 'error', runId: 'c', message: 'saved run "parent" has no checkpoint at step 15 (deleted in another tab?)' });
    await a.host.receive({ type: 'reset', runId: 'b' });
    for (const r of listed) await store.remove(r.id);
    expect(await store.readPoint(done.info.id, at)).toBeNull(); // a run's points go with it
    store.close();
  }, 240_000);

  it('resumes a run on uploaded data without an upload; data too large to keep is asked for and must be the same', async () => {
    const upload = (count: number, name = 'data_batch_1.bin') => ({ type: 'loadDataset', files: [{ name, path: name, bytes: cifarBatch(count).slice().buffer }], imageSize: 16, seed: 1 });
    const onUpload = { ...config, data: { ...config.data, dataset: 'upload' as const }, schedule: { ...config.schedule, steps: 12 } };
    const store = await SavedRuns.open();
    for (const [name, limit] of [['kept', undefined], ['too large', 0]] as const) {
      const a = worker(limit);
      await a.host.receive(upload(120));
      await a.host.receive({ type: 'start', runId: 'u', config: onUpload, name });
      await a.host.receive(upload(30, 'data_batch_2.bin')); // the next run's data, before this one's first save: not this run's
      const first = await a.waitFor(a.saved('u', 8));
      await a.host.receive({ type: 'reset', runId: 'u' });
      expect(first.info.data).toMatchObject({ name: 'data_batch_1.bin', images: 120, kept: limit === undefined });
      expect(first.info.data!.bytes).toBe(limit === undefined ? 120 * (32 * 32 * 3 + 1) : 0); // the decoded images and labels
    }
    const byName = Object.fromEntries((await store.list()).map((r) => [r.name, r])) as Record<'kept' | 'too large', SavedRunInfo>;

    // a new worker, nothing uploaded: the kept data comes back with the run, which finishes
    const b = worker();
    await b.host.receive({ type: 'restore', runId: 'k', savedId: byName.kept.id });
    await b.waitFor(b.stateOf('k', 'paused'));
    await b.host.receive({ type: 'resume', runId: 'k' });
    expect((await b.waitFor(b.stateOf('k', 'done'))).step).toBe(12);
    await b.host.receive({ type: 'reset', runId: 'k' });
    expect(b.events.filter((e) => e.type === 'error')).toEqual([]);
    // its kept data gone since (another tab, the browser): said so, not "too large to keep"
    const db = await openDB(SAVED_RUNS_DB);
    await db.delete('files', `${byName.kept.id}/data`);
    db.close();
    const gone = worker();
    await gone.host.receive({ type: 'restore', runId: 'g', savedId: byName.kept.id });
    expect(gone.events.at(-1)).toEqual({ type: 'error', runId: 'g', message: 'saved run "kept" trained on uploaded files kept with it, now gone from this browser: upload data_batch_1.bin again (120 images), then resume it' });

    // too large to keep: named, and a different upload is refused before anything runs
    const c = worker();
    await c.host.receive({ type: 'restore', runId: 'x', savedId: byName['too large'].id });
    expect(c.events.at(-1)).toEqual({ type: 'error', runId: 'x', message: 'saved run "too large" trained on uploaded files too large to keep with it: upload data_batch_1.bin again (120 images), then resume it' });
    await c.host.receive(upload(60));
    await c.host.receive({ type: 'restore', runId: 'y', savedId: byName['too large'].id });
    expect((c.events.at(-1) as { message: string }).message).toMatch(
      new RegExp(`^saved run "too large" trained on other data than the upload there is now \\(data_batch_1.bin, 60 images, CRC-32 [0-9a-f]{8}; it trained on CRC-32 ${byName['too large'].data!.crc32}\\): upload data_batch_1.bin again`));
    await c.host.receive(upload(120));
    await c.host.receive({ type: 'restore', runId: 'z', savedId: byName['too large'].id });
    await c.waitFor(c.stateOf('z', 'paused'));
    await c.host.receive({ type: 'reset', runId: 'z' });
    for (const r of Object.values(byName)) await store.remove(r.id);
    expect(await store.readData(byName.kept.id)).toBeNull(); // deleting a saved run frees its data too
    store.close();
  }, 240_000);

  it('a run started from loaded weights says so again when resumed (its row lost "started from model.safetensors")', async () => {
    const a = atItsEnd('source', [{ type: 'exportModel', runId: 'r', naming: 'transformers5' }]);
    const w = await a;
    const exported = await w.waitFor((e): e is Extract<WorkerEvent, { type: 'model' }> => e.type === 'model');
    const model = unzipSync(new Uint8Array(exported.zip))['model/model.safetensors']!;
    await w.host.receive({ type: 'loadWeights', files: [{ name: 'model.safetensors', bytes: model.slice().buffer }], config });
    await w.host.receive({ type: 'start', runId: 'f', config, name: 'from weights' });
    expect(w.events.find((e) => e.type === 'started' && e.runId === 'f')).toMatchObject({ init: 'model.safetensors' });
    const first = await w.waitFor(w.saved('f', 8));
    await w.host.receive({ type: 'reset', runId: 'f' });
    expect(first.info.init).toBe('model.safetensors');
    const b = worker();
    await b.host.receive({ type: 'restore', runId: 'g', savedId: first.info.id });
    await b.waitFor(b.stateOf('g', 'paused'));
    expect(b.events.find((e) => e.type === 'started' && e.runId === 'g')).toMatchObject({ init: 'model.safetensors' });
    await b.host.receive({ type: 'reset', runId: 'g' });
    await removeSaved();
  }, 120_000);
});
