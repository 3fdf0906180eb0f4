// Bad input in the page (production build, Debian's Chromium, wasm, micro): upload bombs
// are refused or cut with the tab's peak memory bounded (read from /proc, the
// renderer's high-water mark reset before them), empty splits are named, and a run that
// diverges is marked on its row while the worker goes on to train the next one.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gzipSync } from 'fflate';
import { openPlayground, type Playground } from '../helpers/browser';
import { gzipThenZeros, idxFile, idxPair, MB, mnistFiles, tarHeader, zipDeclaring } from '../helpers/bad-inputs';
import { tempDir } from '../helpers/temp';
import { cifarBatch } from '../helpers/cifar';

/** Three bombs and a cut one in a row raise no Chromium process's peak memory by more than this. */
const PEAK_RISE_MB = 200;

/** Chromium's processes: this test's descendants named chrom* (browser, renderers, GPU, utilities). */
function chromiumPids(root = process.pid): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* gone */ }
  }
  const all = [root];
  for (let i = 0; i < all.length; i++) for (const [pid, ppid] of parent) if (ppid === all[i]) all.push(pid);
  return all.filter((pid) => { try { return readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('chrom'); } catch { return false; } });
}

const statusKB = (pid: number, key: 'VmHWM' | 'VmRSS') => {
  try {
    return Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
};

async function upload(page: Page, files: Record<string, Uint8Array>): Promise<void> {
  const dir = tempDir('page-upload-');
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  await page.getByTestId('upload').setInputFiles(Object.keys(files).map((n) => join(dir, n)));
}

const errorText = (page: Page) => page.getByTestId('error').textContent({ timeout: 1000 }).catch(() => null);

describe('bad input in the page', () => {
  let playground: Playground;
  let page: Page;
  let consoleErrors: string[];

  beforeAll(async () => {
    // The page has no optimiser settings (a URL config is planned): the diverging run's
    // start command gets the CLI's recipe on its way to the worker, when asked to.
    playground = await openPlayground((p) => p.addInitScript(() => {
      const post = Worker.prototype.postMessage;
      Worker.prototype.postMessage = function (this: Worker, msg: { type?: string; config?: { optim: object } }, options?: StructuredSerializeOptions) {
        if (msg?.type === 'start' && (self as unknown as { divergeNext?: boolean }).divergeNext) {
          msg.config!.optim = { ...msg.config!.optim, lr: 10, clipNorm: 0, beta2: 0 };
        }
        return post.call(this, msg, options);
      } as typeof Worker.prototype.postMessage;
    }));
    ({ page, consoleErrors } = playground);
    await page.getByTestId('preset').selectOption('micro');
  }, 180_000);

  afterAll(() => playground?.close());

  it('refuses upload bombs by their headers, inflates a cut one only as far as promised, memory stays flat', async () => {
    await upload(page, { 'data_batch_1.bin': cifarBatch(120) }); // a dataset that stays loaded throughout
    await expect.poll(() => page.getByTestId('dataset-info').textContent(), { timeout: 60_000 }).toMatch(/^CIFAR-10 \(test: a held-out sixth\): 100 train/);
    const pids = chromiumPids();
    expect(pids.length).toBeGreaterThan(1);
    const before = new Map(pids.map((pid) => [pid, statusKB(pid, 'VmRSS')]));
    for (const pid of pids) try { writeFileSync(`/proc/${pid}/clear_refs`, '5'); } catch { /* not ours to reset */ }

    const bombs: [string, Record<string, Uint8Array>, RegExp][] = [
      ['IDX promising 4,000,000 images', mnistFiles({ 'train-images-idx3-ubyte.gz': gzipThenZeros(idxFile(0x803, [4_000_000, 28, 28]), 256 * MB) }),
        /train-images-idx3-ubyte\.gz: its header promises 4\.0M images of 28x28, that is 2\.9 GiB.*, past the .* limit on a dataset's unpacked data: the page takes at most a quarter of this device's memory/],
      ['a tar.gz entry promising 2 GiB', { 'cifar-10-binary.tar.gz': gzipThenZeros(tarHeader('b/data_batch_1.bin', 2048 * MB), 512 * MB) },
        /^cifar-10-binary\.tar\.gz: b\/data_batch_1\.bin takes 2\.0 GiB, past the/],
      ['a zip declaring 3 GiB', { 'batches.zip': zipDeclaring('data_batch_1.bin', cifarBatch(10), 3072 * MB) },
        /^batches\.zip: data_batch_1\.bin inflates to 3\.0 GiB, past the/],
    ];
    for (const [, files, message] of bombs) {
      await upload(page, files);
      await expect.poll(() => errorText(page), { timeout: 60_000 }).toMatch(message);
      expect(await page.getByTestId('dataset-info').textContent()).toMatch(/^CIFAR-10/); // the previous dataset stays
      await page.getByTestId('error').click(); // dismiss
    }
    // 1 GB of zeros after a header that promises 60 images: only those are inflated
    const a = idxPair(60);
    await upload(page, mnistFiles({ 'train-images-idx3-ubyte.gz': gzipThenZeros(a.images, 1024 * MB) }));
    await expect.poll(() => page.getByTestId('dataset-info').textContent(), { timeout: 60_000 }).toMatch(/^MNIST: 60 train \/ 20 test, 28x28x1/);

    const rises = pids.map((pid) => (statusKB(pid, 'VmHWM') - (before.get(pid) ?? 0)) / 1024);
    console.log(`peak memory rise over ${pids.length} Chromium processes: ${Math.max(...rises).toFixed(0)} MB (bound ${PEAK_RISE_MB})`);
    expect(Math.max(...rises)).toBeLessThan(PEAK_RISE_MB);
  }, 240_000);

  it('names the file of an empty split and keeps the dataset it had', async () => {
    await upload(page, mnistFiles({ 't10k-images-idx3-ubyte.gz': gzipSync(idxPair(0).images), 't10k-labels-idx1-ubyte.gz': gzipSync(idxPair(0).labels) }));
    await expect.poll(() => errorText(page), { timeout: 60_000 }).toBe('t10k-images-idx3-ubyte.gz: holds 0 images: the test split needs at least one');
    await upload(page, { 'data_batch_1.bin': cifarBatch(1) });
    await expect.poll(() => errorText(page), { timeout: 60_000 })
      .toBe('data_batch_1.bin: holds 1 record: without a separate test batch a sixth is held out for testing, so at least 2 are needed');
    expect(await page.getByTestId('dataset-info').textContent()).toMatch(/^MNIST: 60 train \/ 20 test/);
  }, 120_000);

  it('marks a diverged run on its row with the step and the fix; the next run trains', async () => {
    await page.getByTestId('dataset').selectOption('synthetic');
    await page.locator('label', { hasText: /^mode/ }).locator('select').selectOption('full');
    await page.evaluate(() => { (self as unknown as { divergeNext: boolean }).divergeNext = true; });
    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('diverged').textContent(), { timeout: 120_000 }).toBe('diverged at step 11');
    expect(await page.getByTestId('diverged').getAttribute('title')).toMatch(/^training diverged at step 11: the loss is NaN .* Start again with optim\.lr=1 \(now 10\)/);
    expect(await errorText(page)).toMatch(/^training diverged at step 11/);
    expect(await page.getByTestId('resume').isEnabled()).toBe(false);
    const points = Number(await page.getByTestId('loss-chart').getAttribute('data-points'));
    expect(points).toBe(10); // steps 1-10, no NaN charted

    await page.evaluate(() => { (self as unknown as { divergeNext: boolean }).divergeNext = false; });
    await page.getByTestId('start').click();
    await expect.poll(() => page.getByTestId('run-table').locator('tbody tr').count()).toBe(2);
    await expect.poll(() => page.getByTestId('step-count').textContent().then(Number), { timeout: 60_000 }).toBeGreaterThanOrEqual(15);
    expect(await page.getByTestId('diverged').count()).toBe(1); // only the first run
    expect(consoleErrors).toEqual([]);
  }, 240_000);
});
