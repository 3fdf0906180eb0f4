// The same seeded run on cpu, wasm and WebGPU (Dawn on Chromium's SwiftShader Vulkan,
// in a child process because the driver is chosen by environment at start-up).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SWIFTSHADER_ENV } from '../../src/engine/backend-node';
import { maxRelError } from '../helpers/tf';
import { parityRun, type ParityResult } from '../helpers/parity-run';

const run = promisify(execFile);

describe('cross-backend parity', () => {
  let cpu: ParityResult;

  it('20 steps on cpu and wasm give losses within 1e-4 relative', async () => {
    cpu = await parityRun('cpu');
    const wasm = await parityRun('wasm');
    expect(cpu.backend).toBe('cpu');
    expect(wasm.backend).toBe('wasm');
    expect(cpu.losses).toHaveLength(20);
    expect(maxRelError(wasm.losses, cpu.losses)).toBeLessThan(1e-4);
    expect(Math.abs(wasm.weightSum - cpu.weightSum) / cpu.weightSum).toBeLessThan(1e-4);
    // each step sees a new batch: twenty different losses, not one replayed
    expect(new Set(cpu.losses).size).toBe(20);
  });

  it('WebGPU through Dawn matches cpu too', async () => {
    if (!existsSync(SWIFTSHADER_ENV.VK_ICD_FILENAMES)) {
      throw new Error(`no Vulkan driver for Dawn: install Chromium's SwiftShader with: apt-get install -y chromium`);
    }
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'test/helpers/parity-run.ts', 'webgpu'], {
      env: { ...process.env, ...SWIFTSHADER_ENV },
      timeout: 240_000,
    });
    const webgpu = JSON.parse(stdout.trim().split('\n').pop()!) as ParityResult;
    expect(webgpu.backend).toBe('webgpu');
    expect(maxRelError(webgpu.losses, cpu.losses)).toBeLessThan(1e-4);
    expect(Math.abs(webgpu.weightSum - cpu.weightSum) / cpu.weightSum).toBeLessThan(1e-4);
  }, 300_000);
});
