// Saved runs from the keyboard, in Chromium against the production build: a saved run
// (written straight into the page's IndexedDB, as a run's save leaves it) is renamed
// with Tab-reachable controls only, each with an accessible name.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPlayground, type Playground } from '../helpers/browser';

/** A saved run's listing put where the worker's save puts it (the stores made as the page makes them). */
async function seedSaved(page: Page, id: string, name: string): Promise<void> {
  await page.evaluate(async ({ id, name }) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('prelora-playground', 2);
      req.onupgradeneeded = () => {
        for (const [store, keyPath] of [['runs', 'id'], ['files', 'id'], ['points', 'key']] as const) {
          if (!req.result.objectStoreNames.contains(store)) req.result.createObjectStore(store, { keyPath });
        }
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const tx = db.transaction('runs', 'readwrite');
    tx.objectStore('runs').put({
      id, name, step: 10, reason: 'pause', createdAt: Date.now(), savedAt: Date.now(), preset: 'micro', backend: 'wasm',
      config: { schedule: { steps: 30 } }, bytes: 1024, points: [],
    });
    await new Promise((resolve) => { tx.oncomplete = resolve; });
    db.close();
  }, { id, name });
}

describe('saved runs from the keyboard', () => {
  let playground: Playground;
  let page: Page;

  beforeAll(async () => {
    playground = await openPlayground();
    ({ page } = playground);
  }, 180_000);

  afterAll(() => playground?.close());

  it('renames a saved run with the keyboard: a Rename button named for the run, Enter to keep the new name', async () => {
    await seedSaved(page, 'seeded-1', 'my run');
    await page.reload();
    // before: the name changed only on a double-click, and no control named it
    const rename = page.getByRole('button', { name: 'rename "my run"' });
    await rename.focus();
    await page.keyboard.press('Enter');
    const input = page.getByRole('textbox', { name: 'saved run name' });
    await expect.poll(() => input.evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.type('renamed by keyboard');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('saved-name').allTextContents()).toEqual(['renamed by keyboard']);
    await expect.poll(() => page.getByRole('button', { name: 'rename "renamed by keyboard"' }).count()).toBe(1);
    expect(playground.consoleErrors).toEqual([]);
  }, 60_000);
});
