// Backends in the browser (page or worker): WebGPU on a hardware adapter, else wasm
// (threaded where the page is cross-origin isolated), else webgl, else cpu. The wasm
// binaries are served by Vite from the package, never fetched from a CDN.
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { adapterDescription, browserCandidates, isSwiftShader, WASM_HEAP_BYTES, type AdapterProbe, type BackendChoice, type BackendInfo } from './backend';
import { activate } from './backend-activate';
import { registerWebGPU } from './ops/webgpu/device';

setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
});

async function probeAdapter(): Promise<AdapterProbe | null> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return null;
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return null;
    const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
    const description = adapterDescription(info);
    // `isFallbackAdapter` moved from the adapter to its info; SwiftShader is software either way
    const legacy = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
    const isFallback = Boolean(info.isFallbackAdapter ?? legacy) || isSwiftShader(description);
    return { description, isFallback };
  } catch {
    return null;
  }
}

export async function initBrowserBackend(choice: BackendChoice = 'auto'): Promise<BackendInfo> {
  const adapter = await probeAdapter();
  if (adapter) registerWebGPU();
  const info = await activate(browserCandidates(choice, adapter));
  if (adapter && info.name === 'webgpu') info.adapter = adapter;
  // The wasm heap stops at 4 GiB; a tab that holds more than that on the GPU (or in
  // JS memory for cpu/webgl) is not a realistic target either.
  info.memoryBudgetBytes = WASM_HEAP_BYTES;
  return info;
}
