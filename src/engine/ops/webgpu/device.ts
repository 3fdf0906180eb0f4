// The WebGPU backend on a device that asks for what the fused kernels can use. tfjs's own
// factory leaves `maxStorageBuffersPerShaderStage` at the WebGPU default of 8, while the
// H200's adapter offers 16 (SwiftShader 12): kernels that bind many tensors at once
// (AdamW over several parameters, the gradient norms) then need fewer launches. It also
// asks for subgroups where the adapter has them (the attention kernels share a head's
// row among a few threads that add their partial dot products by shuffles).
import * as tf from '@tensorflow/tfjs';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { probeSubgroupLanes } from './subgroups';

/** `adapter`: every storage buffer the adapter offers; `default`: the device tfjs makes itself (8). */
export type DeviceLimits = 'adapter' | 'default';

async function makeBackend(limits: DeviceLimits): Promise<WebGPUBackend> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) throw new Error('no navigator.gpu');
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('no WebGPU adapter');
  const l = adapter.limits;
  // the limits tfjs's own factory asks for, so its kernels behave as they do there
  const requiredLimits: Record<string, number> = {
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
    maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
  };
  if (limits === 'adapter') requiredLimits.maxStorageBuffersPerShaderStage = l.maxStorageBuffersPerShaderStage;
  const requiredFeatures = (['timestamp-query', 'bgra8unorm-storage', 'subgroups'] as GPUFeatureName[]).filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  await probeSubgroupLanes(device, adapter.info);
  return new WebGPUBackend(device, adapter.info);
}

let registered: DeviceLimits | null = null;

/**
 * Registers `webgpu` (replacing the stock registration) so that its device gets the
 * adapter's limits. Registering again with other limits replaces the backend (and
 * its tensors); with the same limits it keeps the one there is.
 */
export function registerWebGPU(limits: DeviceLimits = 'adapter'): void {
  if (registered === limits && tf.findBackendFactory('webgpu')) return;
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => makeBackend(limits), 3);
  registered = limits;
}
