// The what-if view in Debian's Chromium against the production build: a finished
// full-training micro run replayed with other settings. Moving the threshold slider
// changes the predicted switch steps in the layer panel within one frame; the sweep
// heat map renders; a bad value gets the live settings' message; a heat-map cell
// taken and applied starts a run with that setting. A PreLoRA run with checkpoints,
// branched with another threshold from its checkpoint before the first decision that
// differs: the branch trains beside it, named by what differs, and switches where the
// replay said.
import { mkdirSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPlayground, setField, type Playground } from '../helpers/browser';

const predicted = (page: Page) => page.locator('[data-testid="module-cell"]').evaluateAll(
  (cells) => cells.map((c) => c.getAttribute('data-predicted')));

/** The production build in a new Chromium for one describe block's tests, closed after them. */
function freshPlayground(): { page: Page } {
  const held = {} as { page: Page; playground?: Playground };
  beforeAll(async () => {
    held.playground = await openPlayground();
    held.page = held.playground.page;
  }, 180_000);
  afterAll(() => held.playground?.close());
  return held;
}

describe('the what-if view in Chromium', () => {
  const held = freshPlayground();
  let page: Page;
  beforeAll(() => { page = held.page; });

  it('shows the data preview\'s class names whole and apart at 1400x900', async () => {
    await page.setViewportSize({ width: 1400, height: 900 });
    await expect.poll(() => page.getByTestId('class-name').count(), { timeout: 60_000 }).toBe(10);
    const names = await page.getByTestId('class-name').evaluateAll((els) => els.map((e) => {
      const r = e.getBoundingClientRect();
      return { text: e.textContent, cut: e.scrollWidth > e.clientWidth, top: r.top, bottom: r.bottom, left: r.left, right: r.right };
    }));
    expect(names.map((n) => n.text)).toContain('diagonal-stripes');
    expect(names.filter((n) => n.cut)).toEqual([]);
    for (let i = 1; i < names.length; i++) expect(names[i]!.top).toBeGreaterThanOrEqual(names[i - 1]!.bottom - 0.5); // one row each, none over another
    // ten classes all in view, none behind the list's scroll
    const list = (await page.getByTestId('dataset-balance').boundingBox())!;
    expect(names.at(-1)!.bottom).toBeLessThanOrEqual(list.y + list.height + 0.5);
    mkdirSync('test/artifacts', { recursive: true });
    await page.getByTestId('dataset-info').screenshot({ path: 'test/artifacts/data-preview.png' });
  }, 120_000);

  it('replays a finished full run: exact for its whole length, and says so', async () => {
    await page.getByTestId('preset').selectOption('micro');
    await page.getByRole('combobox', { name: 'mode', exact: true }).selectOption('full');
    await page.getByTestId('steps').fill('100');
    await page.getByLabel('window (steps)').fill('10');
    await page.getByLabel('window (steps)').press('Enter');
    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('run-row').first().textContent(), { timeout: 240_000, interval: 1000 }).toMatch(/done/);
    expect(await page.getByTestId('exact-note').getAttribute('data-exact-until')).toBe('');
    expect(await page.getByTestId('exact-note').textContent()).toMatch(/^Exact for the whole run: a full-training run made no switch/);
    expect(await page.getByTestId('shares-horizon').textContent()).toBe('over steps 1 to 100, those its windows cover');
    expect(await page.locator('[data-testid="module-cell"]').count()).toBe(12);
  }, 300_000);

  it('draws the weight-change chart by the charts\' conventions: layers labelled at their ends, log or linear, smoothing, a read-out of every layer', async () => {
    const chart = page.getByTestId('weight-change-chart');
    expect(await chart.getByTestId('layer-end-label').allTextContents()).toEqual(['L0', 'L1']);
    expect(await chart.getAttribute('data-scale')).toBe('log');
    await page.getByTestId('weight-change-log').uncheck();
    expect(await chart.getAttribute('data-scale')).toBe('linear');
    await page.getByTestId('weight-change-smoothing').fill('0.5');
    // smoothing draws each layer's raw line faint behind it: two curves per layer
    await expect.poll(() => chart.locator('path.recharts-curve').count()).toBe(4);
    // hovered where the chart is at each try: the saved-runs panel above it appears when
    // the finished run's save lands, moving the chart down 102 px after a box read earlier
    const wrapper = chart.locator('.recharts-wrapper');
    const box = (await wrapper.boundingBox())!;
    const readOut = chart.getByTestId('read-out');
    await expect.poll(async () => {
      await wrapper.hover({ position: { x: box.width / 2, y: box.height / 3 } });
      return readOut.textContent({ timeout: 1_000 }).catch(() => '');
    }, { timeout: 15_000 }).toMatch(/^step \d+layer \d: [\d.]+ \(raw [\d.]+\)layer \d: [\d.]+ \(raw [\d.]+\)$/);
    await page.getByTestId('weight-change-smoothing').fill('0');
    await page.getByTestId('weight-change-log').check();
    // the efficiency strip's samples/s is smoothed too, its hover reads the run
    const speed = page.locator('[data-chart="samples-per-sec"]');
    expect(await speed.getByTestId('samples-per-sec-smoothing').inputValue()).toBe('0.6');
    await expect.poll(() => speed.locator('path.recharts-curve').count()).toBe(2);
  }, 60_000);

  it('moving the weight-threshold slider changes the predicted switch steps in the layer panel within one frame', async () => {
    const slider = page.getByTestId('what-if-weightThreshold');
    await slider.fill('0.05'); // nothing moves that little: no switch
    expect((await predicted(page)).every((p) => p === '')).toBe(true);
    // move it as a hand would (an input event), and read the panel at the next animation frame
    const after = await slider.evaluate((el: HTMLInputElement) => new Promise<(string | null)[]>((resolve) => {
      const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!;
      set.call(el, '10');
      el.dispatchEvent(new Event('input', { bubbles: true }));
      requestAnimationFrame(() => resolve([...document.querySelectorAll('[data-testid="module-cell"]')].map((c) => c.getAttribute('data-predicted'))));
    }));
    expect(after.filter((p) => p !== '').length).toBeGreaterThan(0);
    expect(Number(await page.getByTestId('what-if-summary').getAttribute('data-switches'))).toBe(after.filter((p) => p !== '').length);
    // and the weight chart marks them
    expect(await page.getByTestId('weight-change-chart').getAttribute('data-predicted')).not.toBe('');
  });

  it('renders the sweep heat map: every module against the threshold, with the shares under it', async () => {
    const cells = page.getByTestId('sweep-cell');
    expect(await cells.count()).toBe(12 * 13);
    const steps = await cells.evaluateAll((cs) => cs.map((c) => c.getAttribute('data-step')));
    expect(steps.some((s) => s !== '')).toBe(true);
    expect(await page.getByTestId('sweep-heatmap').locator('tfoot tr').count()).toBe(3);
    mkdirSync('test/artifacts', { recursive: true });
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.screenshot({ path: 'test/artifacts/what-if.png', fullPage: true });
  });

  it('a bad value in the what-if view gets the message the live setting gets', async () => {
    await setField(page, 'what-if-patience-text', '1');
    const whatIfMessage = await page.getByTestId('what-if-error').textContent();
    expect(whatIfMessage).toBe('prelora.patience must be a whole number >= 2 (got 1)');
    await setField(page, 'patience', '1'); // the live settings panel
    await expect.poll(() => page.getByTestId('error').textContent()).toContain(whatIfMessage);
    await page.getByTestId('error').click();
    await setField(page, 'what-if-patience-text', '3');
    expect(await page.getByTestId('what-if-error').count()).toBe(0);
  });

  it('a heat-map cell taken and applied starts a PreLoRA run with that setting', async () => {
    const cell = page.locator('[data-testid="sweep-cell"][data-module="blocks.0.fc1"]').nth(9);
    const value = await cell.getAttribute('data-value');
    await cell.click();
    expect(await page.getByTestId('what-if-weightThreshold-text').inputValue()).toBe(value);
    const runs = await page.getByTestId('run-row').count();
    await page.getByTestId('apply-what-if').click();
    await expect.poll(() => page.getByTestId('run-row').count()).toBe(runs + 1);
    await expect.poll(() => page.getByTestId('step-count').textContent().then(Number), { timeout: 120_000 }).toBeGreaterThan(0);
    // the new run is selected; its own settings are the applied ones
    await expect.poll(() => page.getByTestId('what-if-weightThreshold-text').inputValue(), { timeout: 60_000 }).toBe(value);
    expect(await page.getByTestId('weight-change-chart').getAttribute('data-threshold')).toBe(value);
    // the live settings show it too, and a click in and out sends nothing (it sent the field's stale value to the run)
    const field = page.getByTestId('weight-threshold');
    expect(await field.inputValue()).toBe(value);
    await field.click();
    await page.keyboard.press('Tab');
    await page.waitForTimeout(1000); // a live change is confirmed at once (the worker's policy event)
    expect(await page.getByTestId('weight-change-chart').getAttribute('data-threshold')).toBe(value);
  }, 180_000);
});

describe('a what-if branch in Chromium', () => {
  const held = freshPlayground();
  let page: Page;
  beforeAll(() => { page = held.page; });

  it('branches a finished run from its checkpoint before the first differing decision; the branch shows beside it, named by what differs, and switches where the replay said', async () => {
    // nothing meets the run's own threshold: it never switches, so its replay is exact throughout
    const link = 'v=1&preset=micro&backend=wasm&schedule.steps=60&schedule.checkpointEvery=10&prelora.weightThreshold=0.0001' +
      '&prelora.lossThreshold=1000&prelora.minFullSteps=25&prelora.patience=2&prelora.windowSteps=5';
    await page.goto(`${page.url().replace(/#.*$/, '')}#${link}`);
    await expect.poll(() => page.getByTestId('preset').inputValue()).toBe('micro');
    // the link's backend is a new worker: the data preview the first one had not sent yet still comes
    await expect.poll(() => page.getByTestId('dataset-info').count(), { timeout: 60_000 }).toBe(1);
    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('run-row').first().textContent(), { timeout: 240_000, interval: 1000 }).toMatch(/done/);
    expect(await page.getByTestId('exact-note').getAttribute('data-exact-until')).toBe('');
    await setField(page, 'what-if-weightThreshold-text', '100');
    const offer = page.getByTestId('branch-offer');
    await expect.poll(() => offer.count()).toBe(1);
    const from = Number(await offer.getAttribute('data-from'));
    const differs = Number(await offer.getAttribute('data-differs'));
    expect(differs).toBeGreaterThanOrEqual(25);
    expect(from % 10).toBe(0);
    expect(from).toBeLessThan(differs);
    expect(from).toBeGreaterThanOrEqual(differs - 10);
    const cells = page.locator('[data-testid="module-cell"]');
    const predictedFirst = (await cells.evaluateAll((cs) => cs.map((c) => [c.getAttribute('data-module'), c.getAttribute('data-predicted')])))
      .filter(([, p]) => p === String(differs)).map(([m]) => m).sort();
    expect(predictedFirst.length).toBeGreaterThan(0);

    await page.getByTestId('branch').click();
    const rows = page.getByTestId('run-row');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.nth(1).locator('td').nth(1).textContent()).toBe(`#2 branch of #1 @${from}`);
    await expect.poll(() => rows.nth(1).locator('td').nth(2).textContent(), { timeout: 240_000, interval: 1000 }).toBe('done');
    expect(await rows.nth(1).getByTestId('run-threshold').textContent()).toBe('100');
    // on the same charts, each named by what differs
    const legend = await page.getByTestId('loss-chart').locator('.recharts-legend-item-text').allTextContents();
    expect(legend).toEqual(['#1 prelora, module, w=0.0001', '#2 prelora, module, w=100']);
    // the branch (selected) switched where the replay predicted: the replay was exact
    const switchedFirst = (await cells.evaluateAll((cs) => cs.map((c) => [c.getAttribute('data-module'), c.getAttribute('title')])))
      .filter(([, t]) => t?.includes(`switched at step ${differs}`)).map(([m]) => m).sort();
    expect(switchedFirst).toEqual(predictedFirst);
    expect(await page.getByTestId('weight-change-chart').getAttribute('data-threshold')).toBe('100');
    // its saved run is listed beside the parent's, with branch points of its own
    expect(await page.getByTestId('saved-row').count()).toBe(2);
    mkdirSync('test/artifacts', { recursive: true });
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.screenshot({ path: 'test/artifacts/what-if-branch.png', fullPage: true });
  }, 420_000);
});
