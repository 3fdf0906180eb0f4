// The worker's events reach the store in batches: a batch makes the store the events make
// one at a time, a run's engine events in it are one update, and the coalescer holds only
// what feeds the charts (a state, an error flushes at once, after what came before it).
import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/engine/events';
import { receiveWorkerEvent, useStore } from '../../src/ui/store';
import { SavedRuns } from '../../src/worker/saved-runs';
import { buildConfig } from '../../src/ui/store/config';
import { EventCoalescer, FLUSH_SHARE, MIN_FLUSH_MS } from '../../src/ui/store/event-coalescer';
import type { ClientEvent } from '../../src/worker/protocol';

const progress = (step: number): EngineEvent => ({ type: 'progress', phase: 'full', samplesPerSec: 50, seconds: 0.1, records: [{ step, epoch: 0, loss: 2 / step, lr: 1e-3 }] });
const window = (step: number): EngineEvent => ({ type: 'window', window: { step, loss: 2 / step, 'lossChange%': null, modules: {} } });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Two runs' events as a worker interleaves them: engine events, ticks, a save, a switch, a divergence, states. */
function stream(a: string, b: string): ClientEvent[] {
  const out: ClientEvent[] = [{ type: 'state', runId: a, state: 'running', step: 0 }];
  for (let step = 1; step <= 40; step++) {
    out.push({ type: 'engine', runId: a, event: window(step) }, { type: 'engine', runId: a, event: progress(step) });
    if (step % 7 === 0) out.push({ type: 'tick', runId: a, step: step + 1 });
    if (step === 20) out.push({ type: 'engine', runId: a, event: { type: 'phase', change: { module: 'blocks.0.fc1', from: 'full', to: 'joint', step, rank: 8, decidedBy: 'forced' } } });
    if (step === 30) out.push({ type: 'engine', runId: b, event: progress(1) });
  }
  out.push({ type: 'engine', runId: b, event: { type: 'diverged', divergence: { step: 2, loss: Infinity, gradNorm: 3, message: 'diverged at step 2: lower optim.lr' } } });
  out.push({ type: 'state', runId: a, state: 'paused', step: 40 });
  return out;
}

describe('the worker\'s events in batches', () => {
  beforeEach(() => useStore.setState({ runs: [], activeId: null, error: null }));

  it('make the store the events make one at a time, in one update per run\'s engine events', () => {
    const drawn = () => useStore.getState().runs.map((r) => ({ ...r, id: '', label: '', color: '', startedAt: 0 }));
    const twoRuns = () => {
      useStore.setState({ runs: [], activeId: null, error: null });
      const s = useStore.getState();
      return [s.addRun(buildConfig(s)).id, useStore.getState().addRun(buildConfig(s)).id] as const;
    };
    const [a1, b1] = twoRuns();
    for (const e of stream(a1, b1)) useStore.getState().onWorkerEvent(e);
    const one = { runs: drawn(), error: useStore.getState().error };
    const [a2, b2] = twoRuns();
    const events = stream(a2, b2);
    let updates = 0;
    const stop = useStore.subscribe(() => { updates++; });
    useStore.getState().onWorkerEvents(events);
    stop();
    expect({ runs: drawn(), error: useStore.getState().error }).toEqual(one);
    expect(one.runs[0]!.windows).toHaveLength(40);
    expect(one.runs[0]!.state).toBe('paused');
    expect(one.error).toBe('diverged at step 2: lower optim.lr');
    // one update per stretch of one run's engine events, one per other event: the stream's 90 events are 16
    const stretches = events.filter((e, i) => e.type !== 'engine' || events[i - 1]?.type !== 'engine' || (events[i - 1] as { runId: string }).runId !== e.runId).length;
    expect([events.length, stretches]).toEqual([90, 16]);
    expect(updates).toBe(stretches + 1); // and the divergence's message
  });

  it('holds a run\'s engine events, ticks and saves until the next flush; anything else flushes them at once, in order', async () => {
    const batches: ClientEvent['type'][][] = [];
    const c = new EventCoalescer((events) => batches.push(events.map((e) => e.type)));
    c.push({ type: 'engine', runId: 'a', event: progress(1) });
    c.push({ type: 'tick', runId: 'a', step: 2 });
    expect(batches).toEqual([]);
    c.push({ type: 'state', runId: 'a', state: 'paused', step: 2 });
    expect(batches).toEqual([['engine', 'tick', 'state']]);
    const start = performance.now();
    c.push({ type: 'engine', runId: 'a', event: progress(3) });
    while (batches.length < 2) await sleep(5);
    expect(performance.now() - start).toBeGreaterThanOrEqual(MIN_FLUSH_MS - 1);
    expect(batches[1]).toEqual(['engine']);
  });

  it('a delete is not undone by a save that came before it, its event still waiting for its batch', async () => {
    const s = useStore.getState();
    const a = s.addRun(buildConfig(s));
    const db = await SavedRuns.open();
    const info = await db.save({ id: 'saved-r', name: 'as saved', step: 20, reason: 'done', savedAt: 1000, preset: null, backend: 'wasm', config: a.config }, new Uint8Array(8));
    receiveWorkerEvent({ type: 'saved', runId: a.id, info }); // waits for the next flush
    await useStore.getState().deleteSaved('saved-r');
    const row = () => useStore.getState().savedRuns.find((r) => r.id === 'saved-r');
    expect(row()).toBeUndefined();
    await sleep(2 * MIN_FLUSH_MS); // without the flush before the listing, the save's event landed here and the row came back
    expect(row()).toBeUndefined();
    expect(useStore.getState().runs[0]!.savedAs).toBe('saved-r'); // the event itself was applied
    db.close();
  });

  it('a rename is not undone by a save made before it whose event reaches the page after the rename\'s listing', async () => {
    const s = useStore.getState();
    const a = s.addRun(buildConfig(s));
    const db = await SavedRuns.open();
    const entry = { id: 'saved-late', step: 20, reason: 'interval', preset: null, backend: 'wasm', config: a.config } as const;
    const early = await db.save({ ...entry, name: 'as saved', savedAt: 1000 }, new Uint8Array(8));
    await db.save({ ...entry, name: 'as saved', step: 25, savedAt: 1500 }, new Uint8Array(8)); // its event is not sent here
    await useStore.getState().renameSaved('saved-late', 'renamed');
    const listed = () => useStore.getState().savedRuns.find((r) => r.id === 'saved-late');
    expect(listed()).toMatchObject({ name: 'renamed', step: 25 });
    const before = useStore.getState().savedRuns;
    receiveWorkerEvent({ type: 'saved', runId: a.id, info: early }); // posted before the rename, read after it
    useStore.getState().flushWorkerEvents();
    expect(listed()).toMatchObject({ name: 'renamed', step: 25 }); // before, the page said "as saved" again, at step 20
    expect(useStore.getState().savedRuns).toBe(before); // the listing untouched: nothing that shows it redraws
    expect(useStore.getState().runs[0]!.savedAs).toBe('saved-late');
    // a save after the rename keeps the new name, and its event is shown as it is
    const later = await db.save({ ...entry, name: 'as saved', step: 30, savedAt: 2000 }, new Uint8Array(8));
    expect(later.name).toBe('renamed');
    receiveWorkerEvent({ type: 'saved', runId: a.id, info: later });
    useStore.getState().flushWorkerEvents();
    expect(listed()).toMatchObject({ name: 'renamed', step: 30 });
    await db.remove('saved-late');
    db.close();
  });

  it('waits longer after a flush that took long: the page draws less often rather than doing nothing else', async () => {
    const took = 60;
    const at: number[] = [];
    const c = new EventCoalescer(() => {
      at.push(performance.now());
      const end = performance.now() + took;
      while (performance.now() < end); // a render this long
    });
    c.push({ type: 'state', runId: 'a', state: 'running', step: 0 }); // flushed at once: it took 60 ms
    await sleep(0);
    c.push({ type: 'engine', runId: 'a', event: progress(1) });
    while (at.length < 2) await sleep(5);
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(took + took * (1 / FLUSH_SHARE - 1) - 1);
  });
});
