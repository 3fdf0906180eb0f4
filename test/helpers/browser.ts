// A real browser against the production build: build once, serve it with `vite
// preview` on 127.0.0.1, drive Debian's Chromium with playwright-core.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

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

/**
 * The build served by `vite preview` on a port it picks (port 0), at the URL it prints
 * once it listens. The e2e files run two at a time, each with a server of its own:
 * with a free port found here and then asked for, the other file's server could take it
 * in between, and the readiness check would have taken that server's answer for ours
 * (and lost it when that file ended). Vite also finds its port first and binds it after,
 * but then fails rather than answer for another; a server that fails, prints no URL in
 * 20 s or does not start is started again, twice at most.
 */
export async function buildAndServe(): Promise<Served> {
  buildPage();
  for (let attempt = 1; ; attempt++) {
    try {
      return await servePreview();
    } catch (e) {
      if (attempt >= 3) throw e;
    }
  }
}

function servePreview(): Promise<Served> {
  // NO_COLOR: with CI or FORCE_COLOR set, vite colours the URL and puts the port in bold
  const child: ChildProcess = spawn(process.execPath,
    ['node_modules/vite/bin/vite.js', 'preview', '--host', '127.0.0.1', '--port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  return new Promise((resolve, reject) => {
    let said = '';
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill();
      reject(new Error(`vite preview ${why}: ${said.slice(-400)}`));
    };
    const timer = setTimeout(() => fail('printed no URL in 20 s'), 20_000);
    // read to the end (a full pipe would stop the server); the URL once it is listening
    const hear = (chunk: Buffer) => {
      if (settled) return;
      said += chunk.toString();
      const url = /http:\/\/127\.0\.0\.1:\d+\//.exec(said)?.[0];
      if (!url) return;
      settled = true;
      clearTimeout(timer);
      resolve({ url, stop: () => child.kill() });
    };
    child.stdout!.on('data', hear);
    child.stderr!.on('data', hear);
    // 'close', not 'exit': by then what it printed has been read
    child.on('close', (code, signal) => fail(`ended (${signal ?? `exit code ${code}`}) before it served`));
    child.on('error', (e) => fail(`did not start (${e.message})`));
  });
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Debian's Chromium is missing: install it with: apt-get install -y chromium`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    // disable_workgroup_init (on whatever adapter this Chromium gets): WebGPU on SwiftShader
    // here compiles a kernel with 4 KB of workgroup memory 10-20x slower for that memory's
    // zero-fill (the page's compiled-step benchmark test: 123 -> 55 s). Node's Dawn leaves it
    // out on SwiftShader too; backend-node.ts gives the measurements and what that gives up,
    // and the kernels' parity cases keep the fill. Users' browsers keep it.
    args: [
      '--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--enable-dawn-features=disable_workgroup_init',
      '--disable-quic', '--no-first-run',
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
  let browser: Browser | undefined;
  try {
    browser = await launchChromium();
    // a context of its own, so that a test can open a second tab of the page in it
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    const consoleErrors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await beforeGoto?.(page);
    await page.goto(served.url);
    const opened = browser;
    return { page, consoleErrors, close: async () => { await opened.close(); served.stop(); } };
  } catch (e) {
    // the caller gets no close: what was started goes here
    await browser?.close();
    served.stop();
    throw e;
  }
}

/** Type into a field found by its test id and press Enter, as a user commits a setting. */
export async function setField(page: Page, testid: string, value: string): Promise<void> {
  const input = page.getByTestId(testid);
  await input.fill(value);
  await input.press('Enter');
}
