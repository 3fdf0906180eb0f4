// The microbenchmarks' GPU harness (Node + Dawn): the device with exact timestamps and
// the workgroup memory and buffer sizes the adapter allows, seeded data, buffers,
// read-backs, pipelines (cached by their code) and a launch timed REPS times in one pass.
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const gpu = create(['disable-dawn-features=timestamp_quantization']);
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
export const limits = adapter.limits;
const l = limits;
export const device = await adapter.requestDevice({
  requiredFeatures: ['timestamp-query'],
  requiredLimits: { maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize, maxStorageBufferBindingSize: l.maxStorageBufferBindingSize, maxBufferSize: l.maxBufferSize, maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup, maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX },
});
// Dawn's GPU object must stay reachable: collected, it took the device down mid-run
globalThis.keepDawn = { gpu, adapter, device };
console.log('adapter', adapter.info.vendor, adapter.info.architecture, adapter.info.device, 'shared', l.maxComputeWorkgroupStorageSize);

/** Buffers and read-backs kept reachable to the end of the run. */
export const keep = [];

/** n floats in [-0.5, 0.5) from a seed. */
export function rand(n, seed) { const a = new Float32Array(n); let s = seed >>> 0; for (let i = 0; i < n; i++) { s = (s * 1664525 + 1013904223) >>> 0; a[i] = (s / 2 ** 32 - 0.5); } return a; }
export function buf(data, usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST) {
  const b = device.createBuffer({ size: Math.max(16, data.byteLength), usage }); device.queue.writeBuffer(b, 0, data); keep.push(b); return b;
}
export async function readBack(b, bytes) {
  const r = device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const e = device.createCommandEncoder(); e.copyBufferToBuffer(b, 0, r, 0, bytes); device.queue.submit([e.finish()]);
  await r.mapAsync(GPUMapMode.READ); const out = new Float32Array(r.getMappedRange().slice(0)); r.unmap(); r.destroy(); return out;
}
const pipes = new Map();
/** The compute pipeline of `code` (entry `main`), or an error with the compiler's messages. */
export async function pipeline(code) {
  if (pipes.has(code)) return pipes.get(code);
  const module = device.createShaderModule({ code });
  const info = await module.getCompilationInfo(); const bad = info.messages.filter((m) => m.type === 'error'); if (bad.length) throw new Error(bad.map((m) => m.message).join('; '));
  const p = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  pipes.set(code, p); return p;
}
const qs = device.createQuerySet({ type: 'timestamp', count: 2 });
const qb = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
const qr = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
/** us a launch of `groups` workgroups, `reps` launches in one pass timed at its ends. */
export async function timeIt(p, bg, groups, reps) {
  const e = device.createCommandEncoder();
  const pass = e.beginComputePass({ timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } });
  pass.setPipeline(p); pass.setBindGroup(0, bg);
  const x = Math.min(groups, 65535), y = Math.ceil(groups / x);
  for (let i = 0; i < reps; i++) pass.dispatchWorkgroups(x, y);
  pass.end(); e.resolveQuerySet(qs, 0, 2, qb, 0); e.copyBufferToBuffer(qb, 0, qr, 0, 16);
  device.queue.submit([e.finish()]);
  await qr.mapAsync(GPUMapMode.READ); const t = new BigUint64Array(qr.getMappedRange().slice(0)); qr.unmap();
  return Number(t[1] - t[0]) / 1e3 / reps;
}
