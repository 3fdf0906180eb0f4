// The saved-runs store over IndexedDB (fake-indexeddb in Node): a run's latest
// checkpoint replaces the one before under the same entry (its name and first save
// kept), the listing is the latest first with each file's size and never reads the
// files, and renames and deletes touch only the run named.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeConfig } from '../../src/engine/config';
import { openDB } from 'idb';
import { MAX_POINTS, SAVED_RUNS_DB, SavedRuns, savedBytes, thinPoints } from '../../src/worker/saved-runs';

const config = makeConfig('micro');
const info = (id: string, step: number, savedAt: number) =>
  ({ id, name: `run ${id}`, step, reason: 'interval' as const, savedAt, preset: 'micro', backend: 'wasm', config });

describe('saved runs in IndexedDB', () => {
  // an IndexedDB of its own: the unit files share one process, and another's database (the store's test) is of the latest version
  beforeAll(() => { globalThis.indexedDB = new IDBFactory(); });

  it('opens a store of the first version (no branch points) and keeps its runs, listed with none', async () => {
    const v1 = await openDB(SAVED_RUNS_DB, 1, { upgrade(d) { d.createObjectStore('runs', { keyPath: 'id' }); d.createObjectStore('files', { keyPath: 'id' }); } });
    await v1.put('runs', { ...info('old', 30, 500), createdAt: 500, bytes: 3 });
    await v1.put('files', { id: 'old', bytes: new Uint8Array(3) });
    v1.close();
    const store = await SavedRuns.open();
    expect((await store.list()).map((r) => [r.id, r.step, r.points])).toEqual([['old', 30, []]]);
    const next = await store.save(info('old', 40, 600), new Uint8Array(4), true); // it saves on, with points from now
    expect(next.points).toEqual([{ step: 40, bytes: 4 }]);
    await store.remove('old');
    store.close();
  });

  it('keeps each run\'s latest checkpoint, lists them by size, renames and deletes one at a time', async () => {
    const store = await SavedRuns.open();
    await store.save(info('a', 10, 1000), new Uint8Array(300).fill(1));
    await store.save(info('b', 5, 2000), new Uint8Array(50).fill(2));
    expect((await store.list()).map((r) => [r.id, r.step, r.bytes])).toEqual([['b', 5, 50], ['a', 10, 300]]);
    await store.rename('a', 'my run');
    const again = await store.save({ ...info('a', 20, 3000), reason: 'pause' }, new Uint8Array(400).fill(3));
    expect(again).toMatchObject({ id: 'a', name: 'my run', step: 20, reason: 'pause', createdAt: 1000, savedAt: 3000, bytes: 400 });
    expect((await store.list()).map((r) => r.id)).toEqual(['a', 'b']);
    expect([...(await store.read('a'))!.subarray(0, 2)]).toEqual([3, 3]);
    await store.remove('b');
    expect(await store.read('b')).toBeNull();
    expect((await store.list()).map((r) => r.name)).toEqual(['my run']);
    // a second connection (the page beside the worker) sees the same
    const page = await SavedRuns.open();
    expect((await page.list()).map((r) => r.bytes)).toEqual([400]);
    await page.remove('a');
    expect(await store.list()).toEqual([]);
    store.close();
    page.close();
  });

  it('keeps branch points beside the latest checkpoint, at most MAX_POINTS, thinned evenly, and deletes them with the run', async () => {
    const store = await SavedRuns.open();
    for (let step = 10; step <= 10 * (MAX_POINTS + 4); step += 10) await store.save(info('p', step, step), new Uint8Array(step).fill(step % 256), true);
    const [run] = await store.list();
    const steps = run!.points.map((p) => p.step);
    expect(steps).toHaveLength(MAX_POINTS);
    expect(steps[0]).toBe(10); // the first and the latest stay
    expect(steps.at(-1)).toBe(10 * (MAX_POINTS + 4));
    expect(run!.points.every((p) => p.bytes === p.step)).toBe(true);
    expect(savedBytes(run!)).toBe(run!.bytes + steps.reduce((n, s) => n + s, 0));
    // each kept point reads back its own file; a thinned one is gone
    for (const s of steps) expect((await store.readPoint('p', s))!.byteLength).toBe(s);
    const thinned = Array.from({ length: MAX_POINTS + 4 }, (_, i) => 10 * (i + 1)).filter((s) => !steps.includes(s));
    for (const s of thinned) expect(await store.readPoint('p', s)).toBeNull();
    // the last checkpoint (no point) replaces the latest only
    await store.save({ ...info('p', 999, 999), reason: 'done' }, new Uint8Array(5));
    expect((await store.list())[0]!.points.map((p) => p.step)).toEqual(steps);
    await store.remove('p');
    for (const s of steps) expect(await store.readPoint('p', s)).toBeNull();
    store.close();
  });
});

describe('thinPoints', () => {
  it('drops the inner point whose neighbours are closest until MAX_POINTS are left', () => {
    const even = Array.from({ length: MAX_POINTS }, (_, i) => ({ step: 10 * i }));
    expect(thinPoints(even)).toEqual(even);
    // one point squeezed between two: it goes first
    const squeezed = [...even.slice(0, 3), { step: 21 }, ...even.slice(3)];
    expect(thinPoints(squeezed).map((p) => p.step)).toEqual(even.map((p) => p.step));
  });
});
