// What the e2e tests read off the playground page (the step counter, a run row's state),
// and the one way they start a run and pause it once it has trained a few steps.
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

export const stepCount = (page: Page) => page.getByTestId('step-count').textContent().then(Number);

/** The state cell of the run table's row `row`. */
export const runState = (page: Page, row: number) => page.getByTestId('run-row').nth(row).locator('td').nth(2).textContent();

/** Start the next run, let it pass `steps` steps, pause it and wait until it is paused (it is the table's first row). */
export async function startThenPause(page: Page, steps: number): Promise<void> {
  await page.getByTestId('start').click();
  await expect.poll(() => stepCount(page), { timeout: 60_000 }).toBeGreaterThanOrEqual(steps);
  // a page training on wasm beside another test file's, on two cores, once took its
  // click past Playwright's 30 s (the keyboard test, in a fresh clone's full run; alone it
  // passed twice in a row)
  await page.getByTestId('pause').click({ timeout: 90_000 });
  await expect.poll(() => runState(page, 0), { timeout: 30_000 }).toBe('paused');
}

/** The share of the next `ms` the page's main thread spent in long tasks (over 50 ms each). */
export const longTaskShare = (page: Page, ms: number) => page.evaluate((span) => new Promise<number>((resolve) => {
  let busy = 0;
  const seen = new PerformanceObserver((list) => { for (const e of list.getEntries()) busy += e.duration; });
  seen.observe({ type: 'longtask' });
  const start = performance.now();
  setTimeout(() => { seen.disconnect(); resolve(busy / (performance.now() - start)); }, span);
}), ms);
