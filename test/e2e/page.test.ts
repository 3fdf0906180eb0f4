// The page in a real browser: it loads cleanly, explains its backend choice on
// Chromium's software WebGPU adapter, and trains in the worker.
import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAndServe, launchChromium, type Served } from '../helpers/browser';

describe('the page in Chromium', () => {
  let served: Served;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    served = await buildAndServe();
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    served?.stop();
  });

  it('refuses vit-l16 with the reason and the fix, and stays usable', async () => {
    await page.goto(served.url);
    await page.getByLabel('preset').selectOption('vit-l16');
    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('error').textContent(), { timeout: 60_000 })
      .toMatch(/^model: training this model needs about .* GB .* choose a smaller preset/);
    await expect.poll(() => page.getByTestId('start').isEnabled()).toBe(true);
    await page.getByLabel('preset').selectOption('nano');
  }, 120_000);

  it('trains nano on the synthetic set in the worker, choosing wasm over the software WebGPU adapter', async () => {
    expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true); // wasm threads are allowed
    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('error').count()).toBe(0); // a new run clears the old message
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="step-count"]')?.textContent) >= 20, null, { timeout: 120_000 });
    const badge = await page.getByTestId('backend').textContent();
    expect(badge).toMatch(/^wasm: WebGPU adapter is software \(.*swiftshader.*\); using wasm/);
    expect(await page.locator('[data-testid="loss-chart"] path.recharts-curve').count()).toBeGreaterThan(0);
    mkdirSync('test/artifacts', { recursive: true });
    await page.screenshot({ path: 'test/artifacts/page.png' });
    await page.getByTestId('stop').click();
    await expect.poll(() => page.getByTestId('start').isEnabled(), { timeout: 30_000 }).toBe(true);
    expect(consoleErrors).toEqual([]);
  }, 180_000);
});
