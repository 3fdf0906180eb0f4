// Kernels as plain data: WGSL source, its binding layout and its uniform layout, and a
// dispatch as data too (which kernel, which buffers, which uniform values, how many
// workgroups). The eager executor (dispatch.ts) runs dispatches over tfjs tensors' GPU
// buffers; a recorded step plan can run the very same dispatches over buffers it owns.

/** How a shader sees a binding: a read-only or writable storage array, or a uniform struct. */
export type Access = 'read' | 'rw' | 'uniform';

export interface BindingSpec {
  name: string;
  access: Access;
  /** WGSL element type of a storage array (`f32` unless said), or the struct type of a uniform */
  type?: string;
}

export type ParamType = 'u32' | 'i32' | 'f32';

export interface ParamSpec {
  name: string;
  type: ParamType;
}

export interface Kernel {
  /** the op kind it belongs to, as counted per step (e.g. `linear.forward`) */
  name: string;
  /** unique per WGSL text: pipelines are cached by it */
  key: string;
  /** storage and uniform bindings, in binding order; the params struct `P` comes after them */
  bindings: BindingSpec[];
  /** scalar uniforms, packed 4 bytes each in this order into the struct `P` */
  params: ParamSpec[];
  wgsl: string;
}

export interface KernelSource {
  name: string;
  key: string;
  bindings: BindingSpec[];
  params: ParamSpec[];
  /** the shader's body: constants, workgroup arrays, functions and `main`; the header is made here */
  body: string;
  /** directives that must open the module (`enable subgroups;`) */
  directives?: string[];
}

const made = new Map<string, Kernel>();

/** The keys of the kernels made so far, in the order they were first used. */
export function kernelKeys(): string[] {
  return [...made.keys()];
}

/** The kernel of this key, made on first use: kernels that depend on shapes come in a few variants. */
export function memoKernel(key: string, make: () => Kernel): Kernel {
  let k = made.get(key);
  if (!k) {
    k = make();
    made.set(key, k);
  }
  return k;
}

/** The binding declarations and the params struct, generated from the layout so the two never disagree. */
export function makeKernel(src: KernelSource): Kernel {
  const lines = src.bindings.map((b, i) => {
    if (b.access === 'uniform') return `@group(0) @binding(${i}) var<uniform> ${b.name}: ${b.type};`;
    const access = b.access === 'rw' ? 'read_write' : 'read';
    return `@group(0) @binding(${i}) var<storage, ${access}> ${b.name}: array<${b.type ?? 'f32'}>;`;
  });
  if (src.params.length) {
    lines.unshift(`struct Params { ${src.params.map((p) => `${p.name}: ${p.type},`).join(' ')} }`);
    lines.push(`@group(0) @binding(${src.bindings.length}) var<uniform> P: Params;`);
  }
  lines.unshift(...(src.directives ?? []));
  return { name: src.name, key: src.key, bindings: src.bindings, params: src.params, wgsl: `${lines.join('\n')}\n${src.body}` };
}

/** The uniform bytes of a dispatch's params, padded to 16 bytes (a uniform binding's granularity). */
export function packParams(kernel: Kernel, values: number[]): ArrayBuffer {
  if (values.length !== kernel.params.length) {
    throw new Error(`${kernel.key}: ${values.length} param values for ${kernel.params.length} params`);
  }
  const bytes = new ArrayBuffer(Math.max(16, Math.ceil((4 * values.length) / 16) * 16));
  const view = new DataView(bytes);
  kernel.params.forEach((p, i) => {
    const v = values[i]!;
    if (p.type === 'f32') view.setFloat32(4 * i, v, true);
    else if (p.type === 'i32') view.setInt32(4 * i, v, true);
    else view.setUint32(4 * i, v, true);
  });
  return bytes;
}

/**
 * One launch: the kernel, one buffer per binding (in the kernel's order; `B` is a tfjs
 * tensor in the eager path, a GPUBuffer in a recorded plan), the params' values and the
 * number of workgroups (a flat count; the executor folds it into 2-D past 65,535).
 */
export interface Dispatch<B> {
  kernel: Kernel;
  buffers: B[];
  params: number[];
  workgroups: number;
  /** what the launch works on (a module's name), for the per-launch timing; none where it serves several modules or none */
  label?: string;
}

/** The linear workgroup index of a flat dispatch folded into x and y (every kernel's `main` uses it). */
export const MAIN_ARGS =
  '@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32';
export const WID = 'let wid = wg.x + wg.y * nwg.x;';

/**
 * Several jobs in one launch, each from its first workgroup (merges, transposes, shared
 * sums, weight gradients of one shape): `main`'s statements sending a workgroup to the
 * last job whose first it has reached, `call(i, w)` job i's statement for its own
 * workgroup index w, the jobs' firsts in params `first0`, `first1`, ... (jobParams).
 */
export const jobBranches = (count: number, call: (i: number, w: string) => string): string =>
  Array.from({ length: count }, (_, k) => count - 1 - k).map((i) => `if (wid >= P.first${i}) { ${call(i, `wid - P.first${i}`)} return; }`).join('\n  ');

/** The params of a launch of `jobs` (jobBranches): each job's first workgroup then `own(j)`; and the launch's workgroups, `workgroups(j)` each. */
export function jobParams<J>(jobs: readonly J[], workgroups: (j: J, i: number) => number, own: (j: J, i: number) => number[]): { params: number[]; workgroups: number } {
  const params: number[] = [];
  let first = 0;
  jobs.forEach((j, i) => {
    params.push(first, ...own(j, i));
    first += workgroups(j, i);
  });
  return { params, workgroups: first };
}

/** `jobs` in order, `perLaunch` at most a launch. */
export const inLaunches = <J>(jobs: readonly J[], perLaunch: number): J[][] =>
  Array.from({ length: Math.ceil(jobs.length / perLaunch) }, (_, k) => jobs.slice(k * perLaunch, (k + 1) * perLaunch));

/** The buffers a dispatch writes (its read-write bindings). */
const written = <B>(d: Dispatch<B>): B[] => d.buffers.filter((_, i) => d.kernel.bindings[i]?.access === 'rw');

/**
 * Whether two dispatches touch a buffer that one of them writes: then neither may move
 * past the other, nor may the two share a launch.
 */
export function conflicts<B>(a: Dispatch<B>, b: Dispatch<B>): boolean {
  const wa = new Set(written(a));
  const wb = new Set(written(b));
  return a.buffers.some((x) => wb.has(x)) || b.buffers.some((x) => wa.has(x));
}
