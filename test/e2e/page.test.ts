// The playground in Debian's Chromium against the production build: a PreLoRA run in
// the worker, its charts and layer panel, pause/resume, live thresholds (each run keeps
// its own), bad input, responsiveness, two runs side by side, the backend badge, the
// in-page benchmark, WebGPU when forced (training, and the benchmark of the compiled
// step with its launch-by-launch fold), and a worker crash. And what a first-time user
// met: the seed and steps typed, the data preview after a preset, the benchmark's
// fields, one trainable share, the strip's x range, a static-LoRA run in the what-if view.
import { decode } from 'fast-png';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../src/engine/bench/report';
import { openPlayground, setField, type Playground } from '../helpers/browser';
import { stepCount } from '../helpers/page-reads';
import { cifarBatch, writeFixtures } from '../helpers/cifar';

const phases = (page: Page) => page.locator('[data-testid="module-cell"]').evaluateAll(
  (cells) => cells.map((c) => ({ module: c.getAttribute('data-module'), phase: c.getAttribute('data-phase'), rank: c.getAttribute('data-rank') })));

describe('the playground in Chromium', () => {
  let playground: Playground;
  let page: Page;
  let consoleErrors: string[];

  beforeAll(async () => {
    playground = await openPlayground();
    ({ page, consoleErrors } = playground);
  }, 180_000);

  afterAll(() => playground?.close());

  it('refuses vit-l16 with the reason and the fix, and stays usable', async () => {
    await page.getByTestId('preset').selectOption('vit-l16');
    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('error').textContent(), { timeout: 60_000 })
      .toMatch(/^model: training this model needs about .* GiB .* choose a smaller preset/);
    await expect.poll(() => page.getByTestId('start').isEnabled()).toBe(true);
    expect(await page.getByTestId('run-table').count()).toBe(0); // a refused run leaves nothing behind
    await page.getByTestId('preset').selectOption('nano');
  }, 120_000);

  it('trains nano PreLoRA in the worker on wasm (the adapter is software), charts draw, modules switch to LoRA', async () => {
    expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true); // wasm threads are allowed
    await setField(page, 'weight-threshold', '100');
    await setField(page, 'patience', '2');
    await page.getByLabel('window (steps)').fill('5');
    await page.getByLabel('window (steps)').press('Enter');
    await page.getByTestId('start').click();
    await expect.poll(() => stepCount(page), { timeout: 60_000 }).toBeGreaterThanOrEqual(10);
    expect(await page.getByTestId('backend').textContent()).toMatch(/^wasm: WebGPU adapter is software \(.*swiftshader.*\); using wasm/);
    await expect.poll(() => page.getByTestId('weight-change-chart').getAttribute('data-points').then(Number), { timeout: 30_000 }).toBeGreaterThan(0);
    expect(await page.locator('[data-testid="weight-change-chart"] path.recharts-curve').count()).toBeGreaterThan(0);
    expect(Number(await page.getByTestId('loss-chart').getAttribute('data-points'))).toBeGreaterThan(0);
    expect(await page.locator('[data-testid="loss-chart"] path.recharts-curve').count()).toBeGreaterThan(0);
    await expect.poll(async () => (await phases(page)).filter((c) => c.phase === 'lora').length, { timeout: 60_000 }).toBeGreaterThan(0);
    const cells = await phases(page);
    expect(cells).toHaveLength(24);
    for (const c of cells.filter((x) => x.phase !== 'full')) expect(['4', '8', '16']).toContain(c.rank);
  }, 180_000);

  // one retry: on 2 cores beside another file's Chromium training, a fresh clone's run
  // once read a median click of 232 ms, and passed when the browser tests ran again; a
  // page whose main thread trains fails both tries
  it('keeps the page responsive while training: frames keep coming and clicks are handled within 200 ms', { retry: 1, timeout: 60_000 }, async () => {
    // 90th percentile of frame gaps over 3 s: one GC pause must not fail the run
    const gaps = await page.evaluate(() => new Promise<number[]>((resolve) => {
      const seen: number[] = [];
      let last = performance.now();
      const end = last + 3000;
      const tick = (t: number) => {
        seen.push(t - last);
        last = t;
        if (t < end) requestAnimationFrame(tick); else resolve(seen);
      };
      requestAnimationFrame(tick);
    }));
    gaps.sort((a, b) => a - b);
    expect(gaps[Math.floor(0.9 * gaps.length)]).toBeLessThan(200);
    // a click on the family selector, until the next frame shows it: median of five
    const latencies: number[] = [];
    for (const family of ['fc1', 'key', 'fc2', 'value', 'fc1']) {
      latencies.push(await page.evaluate((f) => new Promise<number>((resolve) => {
        const select = document.querySelector<HTMLSelectElement>('select[aria-label="family"]')!;
        const t0 = performance.now();
        select.value = f;
        select.dispatchEvent(new Event('change', { bubbles: true }));
        requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now() - t0)));
      }), family));
      await page.waitForTimeout(200);
    }
    latencies.sort((a, b) => a - b);
    expect(latencies[2]).toBeLessThan(200);
    expect(await page.locator('select[aria-label="family"]').inputValue()).toBe('fc1');
  });

  it('pause stops the step count and resume continues it', async () => {
    await page.getByTestId('pause').click();
    await expect.poll(() => page.getByTestId('resume').isEnabled(), { timeout: 30_000 }).toBe(true);
    const paused = await stepCount(page);
    await page.waitForTimeout(1500);
    expect(await stepCount(page)).toBe(paused);
    await page.getByTestId('step').click();
    await expect.poll(() => stepCount(page), { timeout: 30_000 }).toBe(paused + 1);
    await page.getByTestId('resume').click();
    await expect.poll(() => stepCount(page), { timeout: 60_000 }).toBeGreaterThan(paused + 1);
  }, 120_000);

  it('a bad value typed into a setting shows a message and the run keeps going', async () => {
    const before = await stepCount(page);
    await setField(page, 'patience', '-3');
    await expect.poll(() => page.getByTestId('error').textContent()).toBe('prelora.patience must be a whole number >= 2 (got -3)');
    await expect.poll(() => stepCount(page), { timeout: 60_000 }).toBeGreaterThan(before);
    await setField(page, 'patience', '2');
    await expect.poll(() => page.getByTestId('error').count()).toBe(0);
  }, 90_000);

  it('a second run shares the charts; raising the weight threshold mid-run switches modules that had not settled', async () => {
    await page.getByTestId('pause').click(); // run A (all switched) pauses; a new run may start
    await expect.poll(() => page.getByTestId('start').isEnabled(), { timeout: 30_000 }).toBe(true);
    await setField(page, 'weight-threshold', '0.0001');
    await page.getByTestId('start').click(); // run B: nothing settles at 0.0001
    await expect.poll(() => page.getByTestId('run-table').locator('tbody tr').count()).toBe(2);
    await expect.poll(() => stepCount(page), { timeout: 60_000 }).toBeGreaterThanOrEqual(20);
    expect((await phases(page)).every((c) => c.phase === 'full')).toBe(true);
    // a metric changed mid-run: the chart and the layer panel show the run's new metric, the same values
    const chart = page.getByTestId('weight-change-chart');
    // the worker confirms a change between two steps: allow for a slow step
    const confirmed = { timeout: 30_000 };
    await page.getByTestId('metric').selectOption('normChange%');
    await expect.poll(() => chart.getAttribute('data-metric'), confirmed).toBe('normChange%');
    expect(await page.getByTestId('layer-panel').getAttribute('data-metric')).toBe('normChange%');
    const family = await page.locator('select[aria-label="family"]').inputValue();
    // both read in one task, so no window arrives between them
    const shown = await page.evaluate((f) => ({
      last: document.querySelector('[data-testid="weight-change-chart"]')!.getAttribute('data-last')!,
      cells: [...document.querySelectorAll(`[data-module$=".${f}"]`)].map((c) => Number(c.getAttribute('data-latest'))),
    }), family);
    const last = JSON.parse(shown.last) as Record<string, number>;
    const layers = shown.cells.map((_, l) => last[`layer ${l}`]);
    expect(layers.filter((v) => v !== undefined).length).toBeGreaterThan(0);
    layers.forEach((v, l) => { if (v !== undefined) expect(shown.cells[l]).toBe(v); });
    await page.getByTestId('metric').selectOption('update%');
    await expect.poll(() => chart.getAttribute('data-metric'), confirmed).toBe('update%');
    // a click on a cell forces that module alone
    await page.locator('[data-module="blocks.3.fc2"]').click();
    await expect.poll(async () => (await phases(page)).filter((c) => c.phase !== 'full').map((c) => c.module), { timeout: 30_000 })
      .toEqual(['blocks.3.fc2']);
    const raisedAt = await stepCount(page);
    await setField(page, 'weight-threshold', '99');
    // the run's chart and its row show the change once the worker has made it
    await expect.poll(() => chart.getAttribute('data-threshold'), confirmed).toBe('99');
    const rows = page.getByTestId('run-row');
    expect(await rows.nth(1).getByTestId('run-threshold').textContent()).toBe('99');
    await expect.poll(async () => (await phases(page)).filter((c) => c.phase !== 'full').length, { timeout: 60_000 }).toBe(24);
    const switchedAt = await page.locator('[data-testid="module-cell"]').first().getAttribute('title');
    expect(Number(/switched at step (\d+)/.exec(switchedAt!)![1])).toBeGreaterThan(raisedAt - 1);
    expect(await page.locator('[data-testid="loss-chart"] path.recharts-curve').count()).toBe(4); // per run: smoothed, and raw faint behind
    // run A, selected again, shows its own threshold (it took 0.0001 while paused), then B its own
    await rows.nth(0).click();
    await expect.poll(() => chart.getAttribute('data-threshold')).toBe('0.0001');
    expect(await rows.nth(0).getByTestId('run-threshold').textContent()).toBe('0.0001');
    expect(await rows.nth(0).locator('td').nth(2).textContent()).toBe('stopped'); // B replaced it in the worker
    await rows.nth(1).click();
    await expect.poll(() => chart.getAttribute('data-threshold')).toBe('99');
  }, 180_000);

  it('trains on an uploaded CIFAR-10 batch; a corrupt upload shows why and the previous dataset still trains', async () => {
    await page.getByTestId('pause').click();
    await expect.poll(() => page.getByTestId('start').isEnabled(), { timeout: 30_000 }).toBe(true);
    const records = cifarBatch(600);
    const dir = writeFixtures('cifar-', { 'data_batch_1.bin': records, 'data_batch_2.bin': records.subarray(0, 5000) }); // 2: truncated
    await page.getByTestId('upload').setInputFiles(join(dir, 'data_batch_1.bin'));
    await expect.poll(() => page.getByTestId('dataset-info').textContent(), { timeout: 60_000 })
      .toMatch(/^CIFAR-10 \(test: a held-out sixth\): 500 train \/ 100 test, 32x32x3, 10 classes/);
    expect(await page.getByTestId('dataset').inputValue()).toBe('upload');
    await page.getByTestId('upload').setInputFiles(join(dir, 'data_batch_2.bin'));
    await expect.poll(() => page.getByTestId('error').textContent(), { timeout: 30_000 })
      .toMatch(/data_batch_2.bin: 5000 bytes is not a whole number of 3,073-byte CIFAR-10 records/);
    expect(await page.getByTestId('dataset-info').textContent()).toMatch(/^CIFAR-10 \(test: a held-out sixth\): 500 train/);
    const rows = await page.getByTestId('run-table').locator('tbody tr').count();
    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('run-table').locator('tbody tr').count()).toBe(rows + 1);
    await expect.poll(() => stepCount(page), { timeout: 60_000 }).toBeGreaterThanOrEqual(10);
    await page.getByTestId('pause').click();
  }, 180_000);

  it('saves a screenshot of the playground, showing its runs and charts', async () => {
    mkdirSync('test/artifacts', { recursive: true });
    expect(await page.getByRole('heading', { name: 'PreLoRA Playground' }).isVisible()).toBe(true);
    expect(await page.getByTestId('run-row').count()).toBe(3);
    expect(await page.getByTestId('error').count()).toBe(0);
    const png = decode(await page.screenshot({ path: 'test/artifacts/playground.png' }));
    expect([png.width, png.height]).toEqual([1280, 800]);
    // a drawn page, not a blank one: many colours (curves, swatches, layer cells)
    const colours = new Set<number>();
    for (let i = 0; i < png.data.length; i += png.channels * 7) colours.add((png.data[i]! << 16) | (png.data[i + 1]! << 8) | png.data[i + 2]!);
    expect(colours.size).toBeGreaterThan(100);
    expect(consoleErrors).toEqual([]);
  });

  it('loads the bundled MNIST in the browser', async () => {
    await expect.poll(() => page.getByTestId('start').isEnabled(), { timeout: 30_000 }).toBe(true);
    await page.getByTestId('dataset').selectOption('mnist');
    await expect.poll(() => page.getByTestId('dataset-info').textContent(), { timeout: 60_000 })
      .toMatch(/^MNIST: 8000 train \/ 2000 test, 28x28x1, 10 classes/);
  }, 90_000);

  it('benchmarks full, static LoRA and PreLoRA in the page and hands over the same numbers as JSON', async () => {
    await expect.poll(() => page.getByTestId('start').isEnabled(), { timeout: 30_000 }).toBe(true);
    await page.getByTestId('dataset').selectOption('synthetic');
    // the page's live policy goes with the benchmark when the presets match: settle fast
    await page.getByTestId('preset').selectOption('micro');
    await setField(page, 'weight-threshold', '100');
    await setField(page, 'patience', '2');
    await page.getByLabel('window (steps)').fill('5');
    await page.getByLabel('window (steps)').press('Enter');
    const panel = page.getByTestId('bench-panel');
    await page.getByTestId('bench-preset').selectOption('micro');
    await page.getByTestId('bench-steps').fill('4');
    expect(await panel.locator('label.invalid').getAttribute('title')).toBe('benchmark steps takes a whole number in [12, 1000000] (got "4")');
    await page.getByTestId('bench-steps').fill('40');
    expect(await panel.locator('label.invalid').count()).toBe(0);
    await page.getByTestId('bench-run').click();
    await expect.poll(() => page.getByTestId('bench-status').textContent(), { timeout: 30_000 }).toMatch(/^run \d of 4/);
    expect(await page.getByTestId('start').isEnabled()).toBe(false); // one thing on the device at a time
    await expect.poll(() => page.getByTestId('bench-row').count(), { timeout: 240_000 }).toBe(4);
    expect(await page.getByTestId('bench-status').textContent()).toBe('');
    expect(await page.getByTestId('bench-title').textContent()).toMatch(/^micro on synthetic, 40 steps at batch 16, 1 seed\(s\), backend wasm/);
    const cells = await page.getByTestId('bench-row').evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((c) => c.textContent ?? '')));
    expect(cells.map((r) => r[0])).toEqual(['full', 'lora', 'prelora (global)', 'prelora (module)']);
    expect(Number(cells[0]![2])).toBeGreaterThan(0); // full: samples/s in the full phase
    expect(cells[0]![3]).toBe('–'); // and no LoRA phase
    expect(cells[1]![4]).toMatch(/^\d+\.\d\dx$/); // static LoRA against full
    expect(Number(cells[2]![1])).toBeGreaterThan(0); // PreLoRA switched
    expect(Number(cells[2]![3])).toBeGreaterThan(0); // and trained in the LoRA phase

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('bench-download').click()]);
    expect(download.suggestedFilename()).toMatch(/^prelora-bench-micro-wasm-\d{4}-\d\d-\d\d\.json$/);
    const report = JSON.parse(readFileSync(await download.path(), 'utf8')) as BenchReport;
    expect(report.runs.map((r) => r.mode)).toEqual(['full', 'lora', 'prelora', 'prelora']);
    expect(report.runs[0]!.samplesPerSec.full!.toFixed(1)).toBe(cells[0]![2]);
    expect(report.runs[2]!.switchedAt!.toFixed(0)).toBe(cells[2]![1]);

    // a longer one, stopped midway: it ends at once and the finished table stays
    await page.getByTestId('bench-steps').fill('400');
    await page.getByTestId('bench-run').click();
    await expect.poll(() => page.getByTestId('bench-status').textContent(), { timeout: 30_000 }).toMatch(/^run \d of 4/);
    await page.getByTestId('bench-stop').click();
    await expect.poll(() => page.getByTestId('bench-status').textContent(), { timeout: 30_000 }).toBe('stopped');
    expect(await page.getByTestId('bench-row').count()).toBe(4);
    expect(await page.getByTestId('bench-title').textContent()).toMatch(/^micro on synthetic, 40 steps/);
    expect(await page.getByTestId('start').isEnabled()).toBe(true);
    expect(consoleErrors).toEqual([]);
  }, 300_000);

  it('runs the engine on WebGPU (SwiftShader, the compiled step) in the worker when forced, and says so', async () => {
    await expect.poll(() => page.getByTestId('start').isEnabled(), { timeout: 30_000 }).toBe(true);
    await page.getByTestId('dataset').selectOption('synthetic');
    await page.getByLabel('backend').selectOption('webgpu'); // a new worker with that backend
    await page.getByTestId('preset').selectOption('micro'); // software WebGPU: ~1.3 s a micro step, ~35 s a nano one
    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('backend').textContent(), { timeout: 60_000 })
      .toMatch(/^webgpu: webgpu, as chosen \(software adapter .*swiftshader.*: slow\) · compiled kernels$/);
    // software WebGPU is slow: take a few steps, then pause, which reads them back
    await page.waitForTimeout(10_000);
    await page.getByTestId('pause').click();
    await expect.poll(() => stepCount(page), { timeout: 120_000 }).toBeGreaterThan(0);
    expect(Number(await page.getByTestId('loss-chart').getAttribute('data-points'))).toBeGreaterThan(0);
    expect(consoleErrors).toEqual([]);
  }, 240_000);

  it('benchmarks the compiled step on WebGPU in the page and shows where each phase\'s device time goes, launch by launch', async () => {
    // on the WebGPU worker of the test before (selected again so this test stands alone)
    await page.getByTestId('dataset').selectOption('synthetic');
    await page.getByLabel('backend').selectOption('webgpu');
    await page.getByTestId('preset').selectOption('micro');
    await page.getByTestId('bench-preset').selectOption('micro');
    await page.getByTestId('bench-steps').fill('12');
    await expect.poll(() => page.getByTestId('bench-run').isEnabled(), { timeout: 60_000 }).toBe(true);
    await page.getByTestId('bench-run').click();
    await expect.poll(() => page.getByTestId('bench-status').textContent(), { timeout: 60_000 }).toMatch(/^run \d of 4/);
    // done, stopped or failed: a failure's message shows in the status, and fails here
    await expect.poll(() => page.getByTestId('bench-status').textContent(), { timeout: 300_000 }).not.toMatch(/^run /);
    expect(await page.getByTestId('bench-status').textContent()).toBe('');
    expect(await page.getByTestId('bench-title').textContent()).toMatch(/^micro on synthetic, 12 steps at batch 16, 1 seed\(s\), backend webgpu/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('bench-download').click()]);
    const report = JSON.parse(readFileSync(await download.path(), 'utf8')) as BenchReport;
    // how attention ran: lanes a row, a row a thread in each kernel (batch 16 keeps too
    // few workgroups for two) and the default's staged keys a step
    expect(report.device).toMatch(/; attention rows on \d lanes?( \(.+\))?, 1\/1\/1 rows a thread, 1\/2\/2 keys a step$/);
    const full = report.runs[0]!.deviceMsByLaunch!.full!;
    const lora = report.runs[1]!.deviceMsByLaunch!.lora!;
    // every launch of the timed step, each with its time: as many as the step's kernels
    expect(full).toHaveLength(report.runs[0]!.dispatchesPerStep.full!);
    expect(lora).toHaveLength(report.runs[1]!.dispatchesPerStep.lora!);
    for (const launch of [...full, ...lora]) expect(launch.ms).toBeGreaterThan(0);

    // the fold opens on a table of groups: every linear family, attention, LayerNorm,
    // the embedding, the classifier, shared, then the total; each cell is the report's
    // launches summed here by the module names' own endings
    await page.getByText('device ms per step by what the launches work on').click();
    await expect.poll(() => page.getByTestId('bench-launch-groups').isVisible()).toBe(true);
    const groups = await page.getByTestId('bench-launch-group-row').evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((c) => c.textContent ?? '')));
    const names = ['query', 'key', 'value', 'output', 'fc1', 'fc2', 'attention', 'layernorm', 'patch embedding', 'classifier', 'shared'];
    expect(groups.map((g) => g[0])).toEqual([...names, 'total']);
    const endings: [RegExp, string][] = [
      [/attention\.attention\.query$/, 'query'], [/attention\.attention\.key$/, 'key'], [/attention\.attention\.value$/, 'value'],
      [/attention\.output\.dense$/, 'output'], [/intermediate\.dense$/, 'fc1'], [/\d\.output\.dense$/, 'fc2'],
      [/attention\.attention$/, 'attention'], [/layernorm(_before|_after)?$/, 'layernorm'],
      [/patch_embeddings\.projection$/, 'patch embedding'], [/^classifier$/, 'classifier'],
    ];
    const groupOf = (module: string | null) => (module === null ? 'shared' : endings.find(([re]) => re.test(module.split(' + ')[0]!))?.[1] ?? 'none');
    const sums = (ls: { module: string | null; ms: number }[]) => {
      const by = new Map<string, number>(names.map((n) => [n, 0]));
      for (const l of ls) by.set(groupOf(l.module), (by.get(groupOf(l.module)) ?? 0) + l.ms);
      return by;
    };
    const [f, l] = [sums(full), sums(lora)];
    expect(f.has('none') || l.has('none')).toBe(false);
    names.forEach((n, i) => expect(groups[i]!.slice(1, 3), n).toEqual([f.get(n)!.toFixed(2), l.get(n)!.toFixed(2)]));
    const total = (by: Map<string, number>) => [...by.values()].reduce((a, b) => a + b, 0).toFixed(2);
    expect(groups.at(-1)!.slice(1, 3)).toEqual([total(f), total(l)]);
    expect(consoleErrors).toEqual([]);
  }, 540_000);

  it('after a worker crash the page says what went with it, and the next run gets a fresh worker', async () => {
    // the worker the backend's change brings, not the one it let go: page.workers() may list
    // that one until its close is heard, and an evaluate in it never returned (under load,
    // the test ran out its 180 s at no step of its own)
    const spawned = page.waitForEvent('worker', { predicate: (w) => w.url().includes('train.worker'), timeout: 60_000 });
    await page.getByLabel('backend').selectOption('wasm'); // a new worker, a fast one
    const dir = writeFixtures('cifar-crash-', { 'data_batch_1.bin': cifarBatch(120) });
    await page.getByTestId('upload').setInputFiles(join(dir, 'data_batch_1.bin'));
    await expect.poll(() => page.getByTestId('dataset').inputValue(), { timeout: 60_000 }).toBe('upload');
    await page.getByTestId('start').click();
    await expect.poll(() => stepCount(page), { timeout: 60_000 }).toBeGreaterThan(0);
    const worker = await spawned;
    await worker.evaluate(() => { setTimeout(() => { throw new Error('test crash'); }); });
    await expect.poll(() => page.getByTestId('error').textContent(), { timeout: 30_000 }).toMatch(
      /^the training worker crashed \(.*test crash\); a new one starts with the next command\. Your uploaded dataset \(CIFAR-10.*\) went with it: upload the files again \(synthetic until then\)\.$/);
    const rows = page.getByTestId('run-row');
    expect(await rows.last().locator('td').nth(2).textContent()).toBe('failed');
    expect(await page.getByTestId('dataset').inputValue()).toBe('synthetic');
    expect(await page.locator('[data-testid="dataset"] option[value="upload"]').isDisabled()).toBe(true);
    const runs = await rows.count();
    await page.getByTestId('start').click(); // spawns a fresh worker
    await expect.poll(() => rows.count()).toBe(runs + 1);
    await expect.poll(() => page.getByTestId('backend').textContent(), { timeout: 60_000 }).toMatch(/^wasm: wasm, as chosen/);
    await expect.poll(() => stepCount(page), { timeout: 60_000 }).toBeGreaterThan(0);
  }, 180_000);
});

describe('a first-time user\'s page', () => {
  let playground: Playground;
  let page: Page;

  beforeAll(async () => {
    playground = await openPlayground();
    ({ page } = playground);
  }, 180_000);

  afterAll(() => playground?.close());

  const linked = (key: string) => new URLSearchParams(new URL(page.url()).hash.slice(1)).get(key);
  const control = (name: string) => page.locator('section.controls').getByLabel(name, { exact: true });
  const errorText = () => page.getByTestId('error').textContent({ timeout: 1000 }).catch(() => null);

  it('the data panel describes what the next run loads: another preset brings its own set', async () => {
    const about = page.getByTestId('dataset-info');
    await expect.poll(() => about.textContent(), { timeout: 60_000 }).toMatch(/: 4000 train \/ 1000 test, 32x32x3,/);
    await page.getByTestId('preset').selectOption('micro');
    await expect.poll(() => about.textContent(), { timeout: 30_000 }).toMatch(/: 1000 train \/ 200 test, 16x16x3,/);
  }, 120_000);

  it('the seed and steps fields keep what is typed; a bad value is named with its range and reaches neither the config nor the link', async () => {
    const steps = control('steps');
    await steps.click();
    await steps.press('ControlOrMeta+a');
    await steps.press('Backspace');
    expect(await steps.inputValue()).toBe('');
    await steps.pressSequentially('1000');
    expect(await steps.inputValue()).toBe('1000');
    await expect.poll(() => linked('schedule.steps')).toBe('1000');
    for (const [field, typed, message] of [
      [steps, '1e12', 'schedule.steps must be a whole number in [1, 1000000] (got 1000000000000)'],
      [control('seed'), '-5', 'seed must be a whole number in [0, 4294967295] (got -5): seeds are 32-bit'],
      [control('seed'), '12.5', 'seed must be a whole number in [0, 4294967295] (got 12.5): seeds are 32-bit'],
    ] as const) {
      await field.fill(typed);
      expect(await field.inputValue()).toBe(typed);
      await expect.poll(errorText).toBe(message);
      expect(await page.getByTestId('start').isDisabled()).toBe(true);
    }
    expect(linked('schedule.steps')).toBe('1000');
    expect(linked('seed')).toBe(null);
    await control('seed').fill('7');
    await steps.fill('300');
    await expect.poll(() => linked('seed')).toBe('7');
    await expect.poll(() => linked('schedule.steps')).toBe(null);
    expect(await errorText()).toBe(null);
    expect(await page.getByTestId('start').isEnabled()).toBe(true);
  });

  it('the benchmark waits for its fields to be valid, and says why', async () => {
    const run = page.getByTestId('bench-run');
    await page.getByTestId('bench-steps').fill('abc');
    expect(await run.isDisabled()).toBe(true);
    expect(await run.getAttribute('title')).toBe('benchmark steps takes a whole number in [12, 1000000] (got "abc")');
    await page.getByTestId('bench-steps').fill('40');
    expect(await run.isEnabled()).toBe(true);
  });

  it('a finished PreLoRA run: one trainable share in the run table, the strip and the what-if view, named the same', async () => {
    const link = 'v=1&preset=micro&backend=wasm&schedule.steps=40&prelora.weightThreshold=100&prelora.lossThreshold=1000' +
      '&prelora.patience=2&prelora.windowSteps=5';
    await page.goto(`${page.url().replace(/#.*$/, '')}#${link}`);
    await expect.poll(() => page.getByTestId('preset').inputValue()).toBe('micro');
    await page.getByTestId('start').click();
    const row = page.getByTestId('run-row').first();
    await expect.poll(() => row.textContent(), { timeout: 180_000, interval: 1000 }).toMatch(/done/);
    // the run table's last cell, the what-if view's real share at the end (its second row), the strip's title
    const share = await row.locator('td').last().textContent();
    expect(share).toMatch(/^\d+\.\d%$/);
    // modules switched (the thresholds were set for it), so the views had something to disagree on
    expect(Number.parseFloat(share!)).toBeLessThan(100);
    const shares = page.getByTestId('what-if').locator('table.shares tbody tr');
    expect(await shares.nth(1).locator('td').first().textContent()).toBe(share);
    expect(await page.locator('[data-chart="trainable"] h3').textContent()).toContain(share);
    // and each names it the same way
    expect(await shares.nth(1).locator('th').textContent()).toBe('trainable / base params (end)');
    expect(await page.getByTestId('run-table').locator('th').last().textContent()).toBe('trainable / base params');
    expect(await page.locator('[data-chart="trainable"] h3').textContent()).toContain(`trainable / base params: ${share}`);
  }, 240_000);

  it('the trainable-parameter and tensor-memory charts span the run, as samples/s does', async () => {
    const lastTick = (chart: string) => page.locator(`[data-chart="${chart}"] .recharts-xAxis-tick-labels .recharts-cartesian-axis-tick-value`).last().textContent();
    expect(await lastTick('samples-per-sec')).toBe('40');
    expect(await lastTick('trainable')).toBe('40');
    expect(await lastTick('tensor-memory')).toBe('40');
  });

  it('a finished static-LoRA run: the what-if view says it cannot be replayed, and why', async () => {
    await page.getByRole('combobox', { name: 'mode', exact: true }).selectOption('lora');
    await page.getByTestId('start').click();
    const row = page.getByTestId('run-row').nth(1);
    await expect.poll(() => row.textContent(), { timeout: 180_000, interval: 1000 }).toMatch(/done/);
    expect(await page.getByTestId('what-if').textContent()).toMatch(/A static-LoRA run cannot be replayed: its mode is fixed at its start/);
  }, 240_000);
});

