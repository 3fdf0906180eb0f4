// Choosing a tfjs backend: the names, and the candidate order with the reason for
// each, as pure functions (no tfjs here, so the page can import it without the engine).

export const BACKEND_NAMES = ['webgpu', 'wasm', 'webgl', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/**
 * Whether a backend runs a step as it is enqueued (wasm, the CPU) rather than queueing it
 * on a device (WebGPU, WebGL): there a step is done when its enqueueing returns, so a
 * read-back interval ends at its boundary and an "enqueue" time is the whole step.
 */
export const runsAsEnqueued = (name: string): boolean => name !== 'webgpu' && name !== 'webgl';
/**
 * `webgpu-fused`: WebGPU running the fused kernels op by op through tfjs's tape instead of
 * a recorded step; `webgpu-composite`: WebGPU running tfjs's own kernels (the reference).
 */
export const BACKEND_CHOICES = ['auto', 'webgpu', 'webgpu-fused', 'webgpu-composite', 'wasm', 'webgl', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
/** webgl is browser-only */
export const NODE_BACKEND_CHOICES = BACKEND_CHOICES.filter((b): b is Exclude<BackendChoice, 'webgl'> => b !== 'webgl');

/**
 * The composite path is tfjs ops and autograd (every backend); the fused path is our WGSL
 * kernels op by op (WebGPU only); the compiled path replays them as a recorded step.
 */
export const KERNEL_PATHS = ['compiled', 'fused', 'composite'] as const;
export type KernelPath = (typeof KERNEL_PATHS)[number];

export interface Candidate {
  name: BackendName;
  reason: string;
  /** set only to choose the eager fused or the composite path on webgpu (else: compiled) */
  kernels?: 'fused' | 'composite';
}

/** What the page learnt from `navigator.gpu.requestAdapter()`. */
export interface AdapterProbe {
  /** e.g. "google swiftshader" or "nvidia ..." */
  description: string;
  /** a software (fallback) adapter: correct but slow */
  isFallback: boolean;
}

/** An adapter's words for people: its vendor, architecture and device, as many as it gives. */
export function adapterDescription(info: { vendor?: string; architecture?: string; device?: string }): string {
  return [info.vendor, info.architecture, info.device].filter(Boolean).join(' ') || 'unknown adapter';
}

/** SwiftShader (Chromium's Vulkan on the CPU) is software, whatever the adapter says of itself. */
export const isSwiftShader = (description: string): boolean => /swiftshader/i.test(description);

export interface BackendInfo {
  name: BackendName;
  reason: string;
  adapter?: AdapterProbe;
  /** memory a model may use here, when known (the wasm heap stops at 4 GiB) */
  memoryBudgetBytes?: number;
  /** which kernels a step runs: compiled on webgpu unless `webgpu-fused` or `webgpu-composite` was chosen, else composite */
  kernels: KernelPath;
}

export const WASM_HEAP_BYTES = 4 * 1024 ** 3;

/** Browser order: WebGPU on a hardware adapter, else wasm, else webgl, else cpu. */
export function browserCandidates(choice: BackendChoice, adapter: AdapterProbe | null): Candidate[] {
  const chain: Candidate[] = [];
  if (adapter && !adapter.isFallback) {
    chain.push({ name: 'webgpu', reason: `WebGPU on ${adapter.description}` });
  }
  chain.push({
    name: 'wasm',
    reason: adapter
      ? `WebGPU adapter is software (${adapter.description}); using wasm`
      : 'no WebGPU adapter in this browser; using wasm',
  });
  chain.push({ name: 'webgl', reason: 'wasm did not start; using webgl' });
  chain.push({ name: 'cpu', reason: 'no faster backend started; using plain JS (slow)' });
  return withChoiceFirst(choice, chain, adapter);
}

/** Node order: wasm (fastest on a CPU), else cpu; webgpu only when asked for. */
export function nodeCandidates(choice: BackendChoice): Candidate[] {
  const chain: Candidate[] = [
    { name: 'wasm', reason: 'wasm: the fastest CPU backend in Node' },
    { name: 'cpu', reason: 'wasm did not start; using plain JS (slow)' },
  ];
  return withChoiceFirst(choice, chain, null);
}

function withChoiceFirst(choice: BackendChoice, chain: Candidate[], adapter: AdapterProbe | null): Candidate[] {
  if (choice === 'auto') return chain;
  const name: BackendName = choice === 'webgpu-composite' || choice === 'webgpu-fused' ? 'webgpu' : choice;
  const soft = name === 'webgpu' && adapter?.isFallback ? ` (software adapter ${adapter.description}: slow)` : '';
  const first: Candidate = { name, reason: `${choice}, as chosen${soft}` };
  if (choice === 'webgpu-composite') first.kernels = 'composite';
  if (choice === 'webgpu-fused') first.kernels = 'fused';
  return [first, ...chain.filter((c) => c.name !== name)];
}
