// Keep and take away, in Chromium against the production build (micro, wasm): a link
// sets the controls (bad fields named, nothing of it run), the URL follows the
// controls; a finished run's metrics (JSON, CSV tables), plan, every chart (SVG, PNG)
// and its model (zip) download and parse; the model loads back into a new run, which
// starts where the first ended; older and diverged runs say why their model does not
// export; a link's prelora.targets greys the families it leaves out in the layer panel;
// a reload names the loaded weights it dropped.
import { decode } from 'fast-png';
import { unzipSync } from 'fflate';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Download, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors } from '../../src/engine/io/safetensors';
import type { RunRecord } from '../../src/engine/run-record';
import { openPlayground, type Playground } from '../helpers/browser';
import { runState, startThenPause, stepCount } from '../helpers/page-reads';
import { tempDir } from '../helpers/temp';


/** Click, and the file it downloads: its name and bytes. */
async function download(page: Page, testid: string): Promise<{ name: string; bytes: Buffer }> {
  const [d] = await Promise.all([page.waitForEvent('download', { timeout: 60_000 }), page.getByTestId(testid).click()]) as [Download, unknown];
  return { name: d.suggestedFilename(), bytes: readFileSync(await d.path()) };
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const STEM = /^prelora-\d+-prelora-module-micro-\d{4}-\d\d-\d\d-\d{4}/;

describe('keep and take away in the page', () => {
  let playground: Playground;
  let page: Page;
  let consoleErrors: string[];
  let base: string;
  const dir = tempDir('prelora-keep-');
  /** run 1's final evaluation loss, from its JSON */
  let finalLoss = 0;

  // settles fast: every module switches at its first chance
  const fast = 'preset=micro&backend=wasm&prelora.weightThreshold=100&prelora.patience=2&prelora.windowSteps=5&schedule.steps=30';
  const open = async (hash: string) => {
    await page.goto('about:blank');
    await page.goto(`${base}#${hash}`);
    await expect.poll(() => page.getByTestId('preset').inputValue()).not.toBe('');
  };

  beforeAll(async () => {
    playground = await openPlayground();
    ({ page, consoleErrors } = playground);
    base = page.url().replace(/#.*$/, '');
  }, 180_000);

  afterAll(() => playground?.close());

  it('opens a link: the controls show it, bad fields are named (nothing of them runs), the URL follows the controls', async () => {
    const hostile = encodeURIComponent('<img src=x onerror="window.pwned=1">');
    await open(`v=1&${fast}&optim.lr=0.002&prelora.rule=%3Cscript%3Ewindow.pwned%3D1%3C%2Fscript%3E&${hostile}=1&schedule.evalEvery=two&prelora.patience=3`);
    expect(await page.getByTestId('preset').inputValue()).toBe('micro');
    expect(await page.getByLabel('backend').inputValue()).toBe('wasm');
    expect(await page.getByTestId('weight-threshold').inputValue()).toBe('100');
    expect(await page.getByLabel('window (steps)').inputValue()).toBe('5');
    expect(await page.getByTestId('steps').inputValue()).toBe('30');
    expect(await page.getByTestId('link-extra').textContent()).toBe('from the link: optim.lr = 0.002×');
    const problems = await page.getByTestId('link-problems').textContent();
    expect(problems?.split('\n')).toEqual([
      'The link asked for what this page cannot take (the rest applies):',
      'prelora.patience is given twice: the first value (2) applies',
      '<img src=x onerror="window.pwned=1">: unknown setting "<img src=x onerror="window.pwned=1">"',
      'schedule.evalEvery takes a number (got "two")',
      'prelora.rule must be one of global, module (got <script>window.pwned=1</script>) (the link\'s prelora.rule=<script>window.pwned=1</script> is not applied)',
    ]);
    expect(await page.locator('[data-testid="link-panel"] img, script:not([src])').count()).toBe(0); // shown as text only
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    // the page kept what applies and dropped the rest from its address
    const params = new URLSearchParams(new URL(page.url()).hash.slice(1));
    expect(Object.fromEntries(params)).toEqual({
      v: '1', preset: 'micro', backend: 'wasm', 'schedule.steps': '30', 'optim.lr': '0.002',
      'prelora.weightThreshold': '100', 'prelora.patience': '2', 'prelora.windowSteps': '5',
    });
    // a control changed: the address follows, in place (no history entry)
    const entries = await page.evaluate(() => history.length);
    await page.getByTestId('seed').fill('7');
    await expect.poll(() => new URLSearchParams(new URL(page.url()).hash.slice(1)).get('seed')).toBe('7');
    expect(await page.evaluate(() => history.length)).toBe(entries);
    await page.getByTestId('seed').fill('1');
    await expect.poll(() => new URLSearchParams(new URL(page.url()).hash.slice(1)).has('seed')).toBe(false);
    await page.getByTestId('link-problems').click(); // dismissed
    expect(await page.getByTestId('link-problems').count()).toBe(0);
  }, 120_000);

  it('exports a finished run: metrics and events (JSON, CSV tables), plan, every chart (SVG, PNG), the model (zip)', async () => {
    await page.getByTestId('start').click();
    await expect.poll(() => runState(page, 0), { timeout: 120_000 }).toBe('done');

    const json = await download(page, 'export-json');
    expect(json.name).toMatch(new RegExp(`${STEM.source}-run\\.json$`));
    const record = JSON.parse(text(json.bytes)) as RunRecord;
    expect(record).toMatchObject({ format: 'prelora-run', version: 2, run: { preset: 'micro', backend: 'wasm', state: 'done', init: null } });
    expect(record.config.optim.lr).toBe(0.002); // the link's field ran
    const steps = record.events.flatMap((e) => (e.type === 'progress' ? e.records.map((r) => r.step) : []));
    expect(steps).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(record.summary.switches.length).toBeGreaterThan(0);
    finalLoss = record.events.flatMap((e) => (e.type === 'evaluation' ? [e.evaluation.loss] : [])).at(-1)!;

    const csv = await download(page, 'export-csv');
    expect(csv.name).toMatch(new RegExp(`${STEM.source}-tables\\.zip$`));
    const tables = unzipSync(new Uint8Array(csv.bytes));
    const lines = (name: string) => text(tables[name]!).trimEnd().split('\r\n');
    expect(lines('losses.csv')).toHaveLength(31);
    expect(lines('losses.csv')[0]).toBe('step,epoch,loss,lr');
    const windows = record.events.flatMap((e) => (e.type === 'window' ? [e.window] : []));
    expect(windows.length).toBeGreaterThan(0);
    expect(lines('module-windows.csv').length - 1).toBe(windows.reduce((n, w) => n + Object.keys(w.modules).length, 0));
    expect(lines('phases.csv').length - 1).toBe(record.events.filter((e) => e.type === 'phase').length);

    const plan = await download(page, 'export-plan');
    expect(plan.name).toMatch(new RegExp(`${STEM.source}-plan\\.json$`));
    expect(JSON.parse(text(plan.bytes))).toMatchObject({ format: 'prelora-plan', run: { steps: 30, completed: 30 } });

    const charts = ['weight-change-query', 'loss', 'accuracy', 'samples-per-sec', 'trainable', 'tensor-memory'];
    for (const chart of charts) {
      const svg = await download(page, `${chart}-svg`);
      expect(svg.name).toMatch(chart === 'loss' || chart === 'accuracy' ? new RegExp(`^prelora-all-runs-.*-${chart}\\.svg$`) : new RegExp(`${STEM.source}-${chart}\\.svg$`));
      const doc = text(svg.bytes);
      expect(doc).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="\d+" height="\d+"/);
      expect(doc).toContain('class="recharts-layer recharts-line"');
      if (chart === 'loss') {
        expect(doc).toContain('recharts-curve');
        expect(doc).toContain('#1 prelora, module</text>'); // the legend drawn in
      }
      const png = await download(page, `${chart}-png`);
      const image = decode(png.bytes);
      const width = Number(/width="(\d+)"/.exec(doc)![1]);
      expect(image.width).toBe(2 * width);
      const colours = new Set<number>();
      for (let i = 0; i < image.data.length; i += image.channels * 3) colours.add((image.data[i]! << 16) | (image.data[i + 1]! << 8) | image.data[i + 2]!);
      expect(colours.size, chart).toBeGreaterThan(8); // drawn, not blank
    }

    const model = await download(page, 'export-model');
    expect(model.name).toMatch(new RegExp(`${STEM.source}-model\\.zip$`));
    const files = unzipSync(new Uint8Array(model.bytes));
    const weights = readSafetensors(files['model/model.safetensors']!, 'model.safetensors');
    expect(weights.metadata).toEqual({ format: 'pt' });
    expect(weights.tensors.get('vit.embeddings.patch_embeddings.projection.weight')!.shape).toEqual([32, 3, 4, 4]);
    const config = JSON.parse(text(files['model/config.json']!)) as { architectures: string[]; hidden_size: number; id2label: object };
    expect(config).toMatchObject({ architectures: ['ViTForImageClassification'], hidden_size: 32 });
    expect(Object.keys(config.id2label)).toHaveLength(10);
    const adapter = JSON.parse(text(files['adapter/adapter_config.json']!)) as { peft_type: string; target_modules: string[] };
    expect(adapter.peft_type).toBe('LORA');
    expect(adapter.target_modules[0]).toMatch(/^layers\.\d\.(attention|mlp)\./); // transformers 5's names
    expect([...readSafetensors(files['interop.safetensors']!, 'interop').tensors.keys()].sort()).toEqual(['images', 'labels', 'logits', 'pixel_values']);
    writeFileSync(join(dir, 'model.safetensors'), files['model/model.safetensors']!);
    writeFileSync(join(dir, 'config.json'), files['model/config.json']!);
    writeFileSync(join(dir, 'cut.safetensors'), files['model/model.safetensors']!.subarray(0, 4000));
    expect(consoleErrors).toEqual([]);
  }, 240_000);

  it('loads the model back: a bad file is named and the loaded weights stay; the next run starts where the first ended', async () => {
    await page.getByTestId('load-weights').setInputFiles([join(dir, 'model.safetensors'), join(dir, 'config.json')]);
    await expect.poll(() => page.getByTestId('weights').textContent(), { timeout: 30_000 })
      .toMatch(/^next runs start from model\.safetensors \(\d+ tensors, .*, config\.json checked\)/);
    await page.getByTestId('load-weights').setInputFiles(join(dir, 'cut.safetensors'));
    await expect.poll(() => page.getByTestId('error').textContent(), { timeout: 30_000 }).toMatch(/^cut\.safetensors: /);
    expect(await page.getByTestId('weights').textContent()).toMatch(/^next runs start from model\.safetensors/);
    // another model is refused at its start, naming what does not fit; nothing else changes
    await page.getByTestId('preset').selectOption('nano');
    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('error').textContent(), { timeout: 60_000 })
      .toMatch(/^the loaded weights do not fit this run: config\.json does not match this run's model: hidden_size is 32 but this run has 64/);
    expect(await page.getByTestId('run-row').count()).toBe(1);
    // a full run at a learning rate of almost nothing, from the weights: its evaluation is the first run's
    await page.goto(`${base}#v=1&preset=micro&backend=wasm&prelora.mode=full&schedule.steps=12&optim.lr=1e-9`);
    await expect.poll(() => page.getByTestId('preset').inputValue()).toBe('micro');
    await page.getByTestId('start').click();
    await expect.poll(() => runState(page, 1), { timeout: 120_000 }).toBe('done');
    expect(await page.getByTestId('export-panel').textContent()).toContain('started from model.safetensors');
    const record = JSON.parse(text((await download(page, 'export-json')).bytes)) as RunRecord;
    expect(record.run.init).toBe('model.safetensors');
    const loss = record.events.flatMap((e) => (e.type === 'evaluation' ? [e.evaluation.loss] : [])).at(-1)!;
    expect(Math.abs(loss - finalLoss)).toBeLessThan(1e-4);
  }, 240_000);

  it('says why an older run\'s model does not export (its metrics do), and a diverged run\'s', async () => {
    await page.getByTestId('run-row').nth(0).click();
    expect(await page.getByTestId('export-model').isDisabled()).toBe(true);
    expect(await page.getByTestId('export-model-why').textContent()).toMatch(/^the worker no longer holds this run's model: it keeps only the latest run/);
    expect((await download(page, 'export-json')).name).toMatch(/^prelora-1-/);
    await page.getByTestId('clear-weights').click();
    await expect.poll(() => page.getByTestId('weights').textContent()).toBe('next runs start from a fresh model');
    // the recipe for a divergence, by link
    await page.goto(`${base}#v=1&preset=micro&backend=wasm&prelora.mode=full&optim.lr=10&optim.clipNorm=0&optim.beta2=0`);
    await expect.poll(() => page.getByTestId('link-extra').textContent()).toContain('optim.lr = 10');
    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('diverged').count(), { timeout: 120_000 }).toBe(1);
    expect(await page.getByTestId('export-model-why').textContent()).toMatch(/^diverged at step \d+: its weights are not finite, so only its metrics and plan export$/);
    const record = JSON.parse(text((await download(page, 'export-json')).bytes)) as RunRecord;
    expect(record.run.state).toBe('diverged');
    expect(record.summary.diverged).not.toBeNull();
    expect(await stepCount(page)).toBeGreaterThan(0);
  }, 240_000);

  it('a link\'s prelora.targets greys the other families in the layer panel: they take no click, a targeted one switches', async () => {
    // no window closes before step 1000, so no switch but the click's: under a fresh
    // clone's load the pause once landed after micro's 25-step windows had switched value
    await open('v=1&preset=micro&backend=wasm&prelora.targets=query,value&schedule.steps=2000&prelora.windowSteps=1000');
    await startThenPause(page, 1);
    const cells = await page.locator('[data-testid="module-cell"]').evaluateAll((els) => els.map((e) => [e.getAttribute('data-module')!, e.classList.contains('untargeted')] as const));
    expect(cells).toHaveLength(12);
    for (const [id, greyed] of cells) expect(greyed).toBe(!/\.(query|value)$/.test(id));
    // the layer panel's cell (the explorer's sweep cells carry data-module too once a window closed)
    const cell = (id: string) => page.locator(`[data-testid="module-cell"][data-module="${id}"]`);
    expect(await cell('blocks.0.fc1').getAttribute('title')).toBe('blocks.0.fc1: full, not in prelora.targets: it trains fully');
    const phaseOf = (id: string) => cell(id).getAttribute('data-phase');
    expect(await phaseOf('blocks.1.value')).toBe('full'); // its switch below is the click's
    await cell('blocks.0.fc1').click();
    await cell('blocks.1.value').click();
    await expect.poll(() => phaseOf('blocks.1.value'), { timeout: 30_000 }).not.toBe('full');
    expect(await phaseOf('blocks.0.fc1')).toBe('full'); // clicked first: its switch would have come with the other
    // and the page sent nothing for it: the worker, which refuses such a switch, said nothing
    expect(await page.getByTestId('error').count()).toBe(0);
    expect(consoleErrors).toEqual([]);
  }, 120_000);

  it('after a reload, names the weights it no longer holds until weights are loaded again; cleared ones leave no note', async () => {
    const weightsLine = () => page.getByTestId('weights').textContent();
    const load = async () => {
      await page.getByTestId('load-weights').setInputFiles([join(dir, 'model.safetensors'), join(dir, 'config.json')]);
      await expect.poll(weightsLine, { timeout: 30_000 }).toMatch(/^next runs start from model\.safetensors \(/);
    };
    await load();
    await page.reload();
    await expect.poll(weightsLine, { timeout: 30_000 })
      .toBe('next runs start from a fresh model: model.safetensors, loaded before the page reloaded, is not kept over a reload (load it again)');
    await load();
    await page.getByTestId('clear-weights').click();
    await expect.poll(weightsLine, { timeout: 30_000 }).toBe('next runs start from a fresh model');
    await page.reload();
    await expect.poll(() => page.getByTestId('preset').inputValue()).not.toBe('');
    expect(await weightsLine()).toBe('next runs start from a fresh model');
    expect(consoleErrors).toEqual([]);
  }, 120_000);
});
