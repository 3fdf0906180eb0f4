// Backends in Node: wasm (default), cpu, or webgpu through the npm package `webgpu`
// (Dawn), which needs a Vulkan driver. The WebGPU backend registers itself only if
// `navigator.gpu` exists when it is imported, so it is imported after Dawn is set up.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import os from 'node:os';
import { adapterDescription, isSwiftShader, NODE_BACKEND_CHOICES, nodeCandidates, WASM_HEAP_BYTES, type BackendChoice, type BackendInfo } from './backend';
import { orList } from './config';
import { activate } from './backend-activate';
import type { DeviceLimits } from './ops/webgpu/device';

/** How to give Dawn a Vulkan driver on Debian without a GPU: Chromium's SwiftShader. */
export const SWIFTSHADER_ENV = {
  LD_LIBRARY_PATH: '/usr/lib/chromium',
  VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json',
};

/** Dawn's instance flags in Node: timestamps to the nanosecond. */
const DAWN_FLAGS = ['disable-dawn-features=timestamp_quantization'];

/**
 * On SwiftShader (no GPU) only, unless asked to keep it: no zero-fill of workgroup memory.
 * SwiftShader's compile time grows with the workgroup memory to fill: the monitor's
 * window statistics took 601 ms with 4 KB of it, 67 ms with 1 KB, 25 ms with 64 bytes,
 * and 58 ms with 4 KB unfilled; a 64x64 GEMM tile 1,269 -> 67 ms. Compiling was 161.5 of
 * the device-loss script's 224 s (224 -> 61 s without the fill). What this gives up: a
 * kernel reading workgroup memory it never wrote would read what an earlier workgroup
 * left there, which can look right on SwiftShader, where zeros show the fault. No kernel
 * of ours does (each `var<workgroup>` audited), and the kernels' parity cases
 * (fused-ops-run.ts) keep the fill, so they run every kernel as WebGPU specifies. GPUs
 * keep it.
 */
const SWIFTSHADER_FLAGS = ['enable-dawn-features=disable_workgroup_init'];

async function setUpDawn(limits: DeviceLimits, keepWorkgroupFill: boolean): Promise<string> {
  const g = globalThis as unknown as { navigator?: { gpu?: GPU } };
  if (!g.navigator?.gpu) {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    // Dawn rounds timestamp queries down to 65,536 ns unless told not to (a guard against
    // timing attacks in browsers): every kernel of a step then timed 0 or 65.5 us, and a
    // step to within 65.5 us. This process times only its own work.
    let gpu = create(DAWN_FLAGS);
    const probe = await gpu.requestAdapter();
    if (probe && isSwiftShader(adapterDescription(probe.info)) && !keepWorkgroupFill) gpu = create([...DAWN_FLAGS, ...SWIFTSHADER_FLAGS]);
    // Node 21+ has a read-only global navigator; Node 20 has none.
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  }
  const adapter = await g.navigator!.gpu!.requestAdapter();
  if (!adapter) {
    throw new Error(
      'Dawn found no Vulkan adapter. With an NVIDIA driver set VK_ICD_FILENAMES to its ICD json; ' +
        `without a GPU run with LD_LIBRARY_PATH=${SWIFTSHADER_ENV.LD_LIBRARY_PATH} ` +
        `VK_ICD_FILENAMES=${SWIFTSHADER_ENV.VK_ICD_FILENAMES} (needs: apt-get install -y chromium)`,
    );
  }
  await import('@tensorflow/tfjs-backend-webgpu');
  (await import('./ops/webgpu/device')).registerWebGPU(limits);
  return adapterDescription(adapter.info);
}

export interface NodeBackendOptions {
  /** WebGPU: the adapter's limits (default), or the default device tfjs makes (8 storage buffers per stage) */
  deviceLimits?: DeviceLimits;
  /** WebGPU on SwiftShader: keep the zero-fill of workgroup memory (SWIFTSHADER_FLAGS) */
  keepWorkgroupFill?: boolean;
}

export async function initNodeBackend(choice: BackendChoice = 'auto', opts: NodeBackendOptions = {}): Promise<BackendInfo> {
  // Silences tfjs's banner urging tfjs-node, which cannot install here (it downloads).
  tf.enableProdMode();
  if (choice === 'webgl') throw new Error(`webgl is browser-only: use --backend ${orList(NODE_BACKEND_CHOICES)} in Node`);
  if (choice === 'webgpu' || choice === 'webgpu-fused' || choice === 'webgpu-composite') {
    const description = await setUpDawn(opts.deviceLimits ?? 'adapter', opts.keepWorkgroupFill ?? false);
    const composite = choice === 'webgpu' ? {} : { kernels: choice === 'webgpu-fused' ? 'fused' as const : 'composite' as const };
    const info = await activate([{ name: 'webgpu', reason: `${choice} through Dawn on ${description}`, ...composite }]);
    return { ...info, adapter: { description, isFallback: isSwiftShader(description) } };
  }
  const info = await activate(nodeCandidates(choice));
  // cpu tensors live in ordinary memory; half of it is a fair ceiling
  info.memoryBudgetBytes = info.name === 'wasm' ? WASM_HEAP_BYTES : os.totalmem() / 2;
  return info;
}
