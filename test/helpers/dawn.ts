// Running a test script on WebGPU through Dawn: in a child process, because Dawn's
// Vulkan driver (Chromium's SwiftShader here) is chosen by environment at start-up.
// The script prints its result as JSON on its last line of stdout.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { SWIFTSHADER_ENV } from '../../src/engine/backend-node';

const run = promisify(execFile);

/**
 * `crashAtExit`: a child that destroyed a device may die in Dawn's teardown after its
 * reply is out (seen: SIGSEGV, exit 139, once the reply was written); its reply counts.
 */
export async function runOnDawn<T>(script: string, args: string[], timeoutMs: number, opts: { crashAtExit?: boolean } = {}): Promise<T> {
  let stdout: string;
  try {
    stdout = await stdoutOnDawn(script, args, timeoutMs);
  } catch (err) {
    const e = err as { code?: number | string; signal?: string | null; stdout?: string };
    const crashed = e.code === 139 || e.signal === 'SIGSEGV';
    if (!opts.crashAtExit || !crashed || !e.stdout?.trim()) throw err;
    stdout = e.stdout;
  }
  return JSON.parse(stdout.trim().split('\n').pop()!) as T;
}

/** The child's whole stdout: its own lines and whatever Dawn writes there (its shader dumps). */
export async function stdoutOnDawn(script: string, args: string[], timeoutMs: number): Promise<string> {
  if (!existsSync(SWIFTSHADER_ENV.VK_ICD_FILENAMES)) {
    throw new Error(`no Vulkan driver for Dawn: install Chromium's SwiftShader with: apt-get install -y chromium`);
  }
  const { stdout } = await run(process.execPath, ['--import', 'tsx', script, ...args], {
    env: { ...process.env, ...SWIFTSHADER_ENV },
    timeout: timeoutMs,
    maxBuffer: 256 * 1024 * 1024,
  });
  return stdout;
}

/** The child's side: its result as the last line of stdout, written out in full before it exits. */
export function reply(result: unknown): void {
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}
