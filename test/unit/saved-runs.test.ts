// The saved-runs store over IndexedDB (fake-indexeddb in Node): a run's latest
// checkpoint replaces the one before under the same entry (its name and first save
// kept), the listing is the latest first with each file's size and never reads the
// files, and renames and deletes touch only the run named.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { makeConfig } from '../../src/engine/config';
import { SavedRuns } from '../../src/worker/saved-runs';

const config = makeConfig('micro');
const info = (id: string, step: number, savedAt: number) =>
  ({ id, name: `run ${id}`, step, reason: 'interval' as const, savedAt, preset: 'micro', backend: 'wasm', config });

describe('saved runs in IndexedDB', () => {
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
});
