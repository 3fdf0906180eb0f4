// The same seeded run on cpu, wasm and WebGPU (Dawn on Chromium's SwiftShader Vulkan,
// in a child process because the driver is chosen by environment at start-up; WebGPU
// replays its recorded step of fused kernels).
import { describe, expect, it } from 'vitest';
import { runOnDawn } from '../helpers/dawn';
import { maxRelError } from '../helpers/tf';
import { parityRun, type ParityResult } from '../helpers/parity-run';

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

  it('WebGPU through Dawn (the compiled step) matches cpu too', async () => {
    const webgpu = await runOnDawn<ParityResult>('test/helpers/parity-run.ts', ['webgpu'], 540_000);
    expect(webgpu.backend).toBe('webgpu');
    expect(webgpu.kernels).toBe('compiled');
    expect(maxRelError(webgpu.losses, cpu.losses)).toBeLessThan(1e-4);
    expect(Math.abs(webgpu.weightSum - cpu.weightSum) / cpu.weightSum).toBeLessThan(1e-4);
  }, 600_000);
});
