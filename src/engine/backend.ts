// Choosing a tfjs backend: the names, and the candidate order with the reason for
// each, as pure functions (no tfjs here, so the page can import it without the engine).

export const BACKEND_NAMES = ['webgpu', 'wasm', 'webgl', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export const BACKEND_CHOICES = ['auto', ...BACKEND_NAMES] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
/** webgl is browser-only */
export const NODE_BACKEND_CHOICES = BACKEND_CHOICES.filter((b): b is Exclude<BackendChoice, 'webgl'> => b !== 'webgl');

export interface Candidate {
  name: BackendName;
  reason: string;
}

/** What the page learnt from `navigator.gpu.requestAdapter()`. */
export interface AdapterProbe {
  /** e.g. "google swiftshader" or "nvidia ..." */
  description: string;
  /** a software (fallback) adapter: correct but slow */
  isFallback: boolean;
}

export interface BackendInfo {
  name: BackendName;
  reason: string;
  adapter?: AdapterProbe;
  /** memory a model may use here, when known (the wasm heap stops at 4 GiB) */
  memoryBudgetBytes?: number;
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
  const soft = choice === 'webgpu' && adapter?.isFallback ? ` (software adapter ${adapter.description}: slow)` : '';
  return [{ name: choice, reason: `${choice}, as chosen${soft}` }, ...chain.filter((c) => c.name !== choice)];
}
