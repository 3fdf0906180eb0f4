// Backend choice: the order and the reasons (pure), and real activation in Node.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { adapterDescription, browserCandidates, isSwiftShader, nodeCandidates } from '../../src/engine/backend';
import { activate } from '../../src/engine/backend-activate';
import { initNodeBackend } from '../../src/engine/backend-node';

const hardware = { description: 'nvidia ampere', isFallback: false };
const software = { description: 'google swiftshader', isFallback: true };

describe('browser candidates', () => {
  it('auto takes WebGPU on a hardware adapter, then wasm, webgl, cpu', () => {
    const c = browserCandidates('auto', hardware);
    expect(c.map((x) => x.name)).toEqual(['webgpu', 'wasm', 'webgl', 'cpu']);
    expect(c[0]!.reason).toBe('WebGPU on nvidia ampere');
  });

  it('auto prefers wasm over a software WebGPU adapter and says why', () => {
    const c = browserCandidates('auto', software);
    expect(c.map((x) => x.name)).toEqual(['wasm', 'webgl', 'cpu']);
    expect(c[0]!.reason).toBe('WebGPU adapter is software (google swiftshader); using wasm');
  });

  it('auto without any adapter starts with wasm', () => {
    expect(browserCandidates('auto', null)[0]).toEqual({ name: 'wasm', reason: 'no WebGPU adapter in this browser; using wasm' });
  });

  it('a manual choice goes first, even WebGPU on a software adapter, with a warning', () => {
    const c = browserCandidates('webgpu', software);
    expect(c.map((x) => x.name)).toEqual(['webgpu', 'wasm', 'webgl', 'cpu']);
    expect(c[0]!.reason).toMatch(/as chosen \(software adapter google swiftshader: slow\)/);
    expect(browserCandidates('cpu', hardware).map((x) => x.name)).toEqual(['cpu', 'webgpu', 'wasm', 'webgl']);
  });

  it('webgpu-composite is WebGPU with tfjs\'s own kernels: the fused path stays off', () => {
    const c = browserCandidates('webgpu-composite', hardware);
    expect(c.map((x) => x.name)).toEqual(['webgpu', 'wasm', 'webgl', 'cpu']);
    expect(c[0]).toEqual({ name: 'webgpu', reason: 'webgpu-composite, as chosen', kernels: 'composite' });
    expect(browserCandidates('webgpu', hardware)[0]!.kernels).toBeUndefined();
    expect(nodeCandidates('webgpu-composite')[0]).toMatchObject({ name: 'webgpu', kernels: 'composite' });
  });

  it('Node defaults to wasm, then cpu', () => {
    expect(nodeCandidates('auto').map((x) => x.name)).toEqual(['wasm', 'cpu']);
    expect(nodeCandidates('cpu').map((x) => x.name)).toEqual(['cpu', 'wasm']);
  });
});

describe('an adapter\'s description', () => {
  it.each([
    [{ vendor: 'google', architecture: 'swiftshader', device: 'swiftshader-device-subzero-' }, 'google swiftshader swiftshader-device-subzero-', true],
    [{ vendor: 'nvidia', architecture: '', device: '' }, 'nvidia', false],
    [{ vendor: 'Google', architecture: 'SwiftShader' }, 'Google SwiftShader', true],
    [{}, 'unknown adapter', false],
  ])('%j reads "%s", software: %s', (info, description, software) => {
    expect(adapterDescription(info)).toBe(description);
    expect(isSwiftShader(adapterDescription(info))).toBe(software);
  });
});

describe('activation in Node', () => {
  it('auto starts wasm with its reason and the 4 GiB heap as the budget', async () => {
    const info = await initNodeBackend('auto');
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.reason).toMatch(/wasm/);
    expect(info.memoryBudgetBytes).toBe(4 * 1024 ** 3);
    expect(info.kernels).toBe('composite'); // fused kernels are WebGPU's alone
  });

  it('passes over a backend that is not registered and says so in the reason', async () => {
    const info = await activate([{ name: 'webgl', reason: 'webgl first' }, { name: 'cpu', reason: 'then cpu' }]);
    expect(info.name).toBe('cpu');
    expect(info.reason).toMatch(/^then cpu \(webgl: .*\)$/);
  });

  it('refuses webgl in Node with a message naming the alternatives', async () => {
    await expect(initNodeBackend('webgl')).rejects.toThrow('webgl is browser-only: use --backend auto, webgpu, webgpu-fused, webgpu-composite, wasm or cpu in Node');
  });
});
