// A real browser against the production build: build once, serve it with `vite
// preview` on 127.0.0.1, drive Debian's Chromium with playwright-core.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface Served {
  url: string;
  stop: () => void;
}

/**
 * The production build into dist/ (with its chunk report, dist/.vite/chunks.json).
 * NODE_ENV is set: vitest's `test` would otherwise give React's development build
 * (970 KB against 730 KB for the main chunk, measured).
 */
export function buildPage(): void {
  if (process.env.E2E_BUILT === '1') return; // the e2e project's global set-up built it
  execFileSync(process.execPath, ['scripts/build-mnist.mjs'], { stdio: 'inherit' });
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'],
    { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
}

export async function buildAndServe(): Promise<Served> {
  buildPage();
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath,
    ['node_modules/vite/bin/vite.js', 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'],
    { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(url)).ok) return { url, stop: () => child.kill() };
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill();
  throw new Error(`vite preview did not answer on ${url}`);
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Debian's Chromium is missing: install it with: apt-get install -y chromium`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

export interface Playground {
  page: Page;
  /** console errors and uncaught exceptions of the page, as they come */
  consoleErrors: string[];
  close: () => Promise<void>;
}

/** The production build served, Chromium launched, the page opened (after `beforeGoto`, e.g. an init script). */
export async function openPlayground(beforeGoto?: (page: Page) => Promise<unknown>): Promise<Playground> {
  const served = await buildAndServe();
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const consoleErrors: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  await beforeGoto?.(page);
  await page.goto(served.url);
  return { page, consoleErrors, close: async () => { await browser.close(); served.stop(); } };
}

/** Type into a field found by its test id and press Enter, as a user commits a setting. */
export async function setField(page: Page, testid: string, value: string): Promise<void> {
  const input = page.getByTestId(testid);
  await input.fill(value);
  await input.press('Enter');
}
