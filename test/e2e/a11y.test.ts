// The page by keyboard, at a small window and in what a run's row says, in Chromium
// against the production build (micro, wasm, a few steps): every core action reached
// with Tab and done with Enter, each control named; no sideways scroll at 800x600; a
// run from loaded weights says so on its row; a finished run's layer cells say that
// switching by hand needs a live run, and offer no switch; a full-training run's none.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FileChooser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRESETS } from '../../src/engine/config';
import { hubParameters } from '../../src/engine/io/hf-layout';
import { writeSafetensors } from '../../src/engine/io/safetensors';
import { mulberry32 } from '../../src/engine/random';
import { openPlayground, type Playground } from '../helpers/browser';
import { runState, startThenPause } from '../helpers/page-reads';
import { tempDir } from '../helpers/temp';


/** Press Tab from where the focus is until `target` has it: false if it never comes (not in the tab order). */
async function tabTo(page: Page, target: Locator, presses = 400): Promise<boolean> {
  const handle = await target.elementHandle({ timeout: 10_000 });
  for (let i = 0; i < presses; i++) {
    await page.keyboard.press('Tab');
    if (await handle!.evaluate((el) => el === document.activeElement)) return true;
  }
  return false;
}

/** From the top of the page: the first Tab goes to its first control. */
const fromTop = (page: Page) => page.evaluate(() => { (document.activeElement as HTMLElement | null)?.blur(); window.scrollTo(0, 0); });

let playground: Playground;
let page: Page;
let base: string;
const dir = tempDir('prelora-a11y-');

beforeAll(async () => {
  playground = await openPlayground();
  page = playground.page;
  base = page.url().replace(/#.*$/, '');
}, 180_000);

afterAll(() => playground?.close());

/** The page anew (no run) with a link's settings. */
async function open(hash: string): Promise<void> {
  await page.goto('about:blank');
  await page.goto(`${base}#v=1&preset=micro&backend=wasm&${hash}`);
  await expect.poll(() => page.getByTestId('preset').inputValue()).toBe('micro');
}

describe('keyboard access', () => {
  it('reaches the layer cells, the sweep, the what-if text boxes and the run rows with Tab, and acts on Enter', async () => {
    // a threshold no module meets: every cell stays full, to switch by hand
    await open('prelora.windowSteps=5&prelora.weightThreshold=0.01&schedule.steps=2000');
    await startThenPause(page, 12);

    // the what-if text boxes have names: one per slider
    for (const name of ['weight threshold %', 'loss threshold %', 'patience (windows)']) {
      expect(await page.getByRole('textbox', { name: `${name}, typed`, exact: true }).count(), name).toBe(1);
    }

    // a sweep column taken by keyboard: its value goes into the what-if settings
    const column = page.getByTestId('sweep-take').nth(2);
    const value = await column.getAttribute('data-value');
    await fromTop(page);
    expect(await tabTo(page, column)).toBe(true);
    expect(await column.getAttribute('aria-pressed')).toBe('false');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('what-if-weightThreshold-text').inputValue()).toBe(value);
    expect(await column.getAttribute('aria-pressed')).toBe('true');

    // a full module switched by keyboard
    const cell = page.locator('[data-testid="module-cell"][data-module="blocks.1.value"]');
    expect(await cell.getAttribute('data-phase')).toBe('full');
    const switcher = page.getByRole('button', { name: 'switch blocks.1.value to LoRA now', exact: true });
    await fromTop(page);
    expect(await tabTo(page, switcher)).toBe(true);
    await page.keyboard.press('Enter');
    await expect.poll(() => cell.getAttribute('data-phase'), { timeout: 30_000 }).not.toBe('full');

    // a second run, short (a long one would slow every key press after it); the first selected again by keyboard
    await page.getByTestId('steps').fill('6');
    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('run-row').count(), { timeout: 30_000 }).toBe(2);
    const first = page.getByTestId('run-table').getByRole('button', { name: /^#1 / });
    await expect.poll(() => first.getAttribute('aria-pressed')).toBe('false');
    await fromTop(page);
    expect(await tabTo(page, first)).toBe(true);
    await page.keyboard.press('Enter');
    await expect.poll(() => first.getAttribute('aria-pressed')).toBe('true');
    expect(await page.getByTestId('run-row').nth(0).getAttribute('class')).toBe('active');
  }, 180_000);

  it('opens the file pickers (data files, a data folder, weights) from the keyboard', async () => {
    writeFileSync(join(dir, 'notes.bin'), new Uint8Array(100));
    const emptyDir = join(dir, 'empty');
    mkdirSync(emptyDir, { recursive: true });
    // one listener for the whole test, taken before any key: a listener added with the key
    // press turns the browser's chooser interception on only as the press goes out, and a
    // chooser opened before that never showed as an event (the Enter seemed to do nothing,
    // in three runs of five)
    const choosers: FileChooser[] = [];
    const onChooser = (c: FileChooser) => { choosers.push(c); };
    page.on('filechooser', onChooser);
    try {
      await open('schedule.steps=6');
      for (const name of ['choose files', 'choose a folder', 'Load weights']) {
        const input = page.getByLabel(name, { exact: true });
        await fromTop(page);
        expect(await tabTo(page, input), name).toBe(true);
        const before = choosers.length;
        await page.keyboard.press('Enter');
        await expect.poll(() => choosers.length, { timeout: 10_000, message: name }).toBe(before + 1);
        const chooser = choosers.at(-1)!;
        if (name === 'choose files') {
          await chooser.setFiles(join(dir, 'notes.bin'));
          await expect.poll(() => page.getByTestId('error').textContent(), { timeout: 30_000 }).toContain('notes.bin');
          await page.getByTestId('error').click(); // dismissed
        } else {
          await chooser.setFiles(name === 'choose a folder' ? emptyDir : []); // as a user's Cancel (a folder's with an empty one)
        }
      }
    } finally {
      page.off('filechooser', onChooser);
    }
  }, 120_000);
});

describe('at an 800x600 window', () => {
  afterAll(() => page.setViewportSize({ width: 1280, height: 800 }));

  it('does not scroll sideways: the wide tables scroll in their own panels', async () => {
    await page.setViewportSize({ width: 800, height: 600 });
    await open('prelora.windowSteps=5&schedule.steps=20');
    await page.getByTestId('start').click();
    await expect.poll(() => runState(page, 0), { timeout: 120_000 }).toBe('done');
    await expect.poll(() => page.getByTestId('sweep-cell').count(), { timeout: 30_000 }).toBeGreaterThan(0);
    const widths = await page.evaluate(() => {
      // what sticks out past the window, for the message
      const wide = [...document.querySelectorAll('section, table')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
        .map((e) => `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`);
      return { page: document.documentElement.scrollWidth, window: window.innerWidth, wide };
    });
    expect(widths.page, widths.wide.join('; ')).toBeLessThanOrEqual(widths.window);
    // the sweep's table is whole inside its scroll box, which stays inside its panel
    const sweep = await page.getByTestId('sweep').evaluate((panel) => {
      const box = panel.querySelector('.scroll')!;
      return { panel: panel.getBoundingClientRect().right, box: box.getBoundingClientRect().right, scrolls: box.scrollWidth >= box.querySelector('table')!.scrollWidth };
    });
    expect(sweep.box).toBeLessThanOrEqual(sweep.panel);
    expect(sweep.scrolls).toBe(true);
  }, 180_000);
});

describe('a run from loaded weights', () => {
  it('says on its row which file it started from', async () => {
    // micro's every parameter, seeded small values, as a Hub model file
    const rand = mulberry32(7);
    const tensors = hubParameters(PRESETS.micro.model).map(([name, shape]): [string, { shape: number[]; data: Float32Array }] =>
      [name, { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 0.04 * (rand() - 0.5)) }]);
    writeFileSync(join(dir, 'model.safetensors'), writeSafetensors(tensors, { format: 'pt' }));
    await open('schedule.steps=6');
    await page.getByTestId('load-weights').setInputFiles(join(dir, 'model.safetensors'));
    await expect.poll(() => page.getByTestId('weights').textContent(), { timeout: 30_000 }).toMatch(/^next runs start from model\.safetensors/);
    await page.getByTestId('start').click();
    await expect.poll(() => runState(page, 0), { timeout: 120_000 }).toBe('done');
    expect(await page.getByTestId('run-row').nth(0).getByTestId('run-init').textContent()).toBe('started from model.safetensors');
    // a run from a fresh model says nothing of the kind
    await page.getByTestId('clear-weights').click();
    await expect.poll(() => page.getByTestId('weights').textContent()).toBe('next runs start from a fresh model');
    await page.getByTestId('start').click();
    await expect.poll(() => runState(page, 1), { timeout: 120_000 }).toBe('done');
    expect(await page.getByTestId('run-row').nth(1).getByTestId('run-init').count()).toBe(0);
  }, 180_000);
});

describe('a starting, then finished run\'s layer panel', () => {
  it('says while it starts that its cells come once it runs; finished, that switching by hand needs a live run, and offers no switch', async () => {
    await open('schedule.steps=6');
    const hint = page.getByTestId('layer-panel-hint');
    // every text the hint takes, seen in the page: polled from here, a read under load
    // (another file's Chromium and a busy core) once came after this 6-step run had ended
    await page.evaluate(() => {
      const panel = document.querySelector('[data-testid="layer-panel-hint"]')!.closest('section')!;
      const seen: string[] = [];
      const look = () => {
        const text = panel.querySelector('[data-testid="layer-panel-hint"]')?.textContent ?? '';
        if (seen.at(-1) !== text) seen.push(text);
      };
      look();
      new MutationObserver(look).observe(panel, { childList: true, characterData: true, subtree: true });
      (window as unknown as { hints: string[] }).hints = seen;
    });
    await page.getByTestId('start').click();
    await expect.poll(() => runState(page, 0), { timeout: 120_000 }).toBe('done');
    // while it started (a new worker, its backend and data: seconds here) it had no cells to click yet
    expect(await page.evaluate(() => (window as unknown as { hints: string[] }).hints)).toContain('once the run starts, click a full cell to switch it now');
    expect(await hint.textContent()).toContain('switching by hand needs a live run');
    expect(await hint.textContent()).not.toContain('click a full cell');
    expect(await page.getByTestId('module-cell').count()).toBe(12);
    expect(await page.getByTestId('layer-panel').getByRole('button').count()).toBe(0);
  }, 180_000);

  it('offers no switch in a live full-training run: the baseline keeps its one shape', async () => {
    // its full cells were buttons, and a click switched a module of the baseline
    await open('prelora.mode=full&schedule.steps=2000'); // long enough that a late pause still finds it live
    await startThenPause(page, 2);
    expect(await page.getByTestId('layer-panel-hint').textContent()).toBe('a full-training run is a baseline: its modules do not switch');
    expect(await page.getByTestId('layer-panel').getByRole('button').count()).toBe(0);
    await page.getByTestId('reset').click();
  }, 180_000);
});
