// The benchmark's warm-up on WebGPU through Dawn: the kernels made by the warm-up runs
// and those the measured full and static-LoRA runs make after them. Run as a script in
// a child process (node --import tsx bench-warm-run.ts), it prints one JSON line.
import { initNodeBackend } from '../../src/engine/backend-node';
import { BenchStopped, runBench } from '../../src/engine/bench/run';
import { makeConfig, type RunConfig } from '../../src/engine/config';
import { loadBuiltin } from '../../src/engine/data/builtin';
import { kernelKeys } from '../../src/engine/ops/webgpu/kernel';
import { BENCH_MIN_STEPS } from '../../src/engine/bench/report';
import { reply } from './dawn';

export interface WarmUpKernels {
  kernels: string;
  /** the kernels made when the first measured run starts */
  afterWarmUp: string[];
  /** the kernels made when the static-LoRA run has ended */
  afterLora: string[];
  /** the runs measured before the benchmark was stopped */
  measured: string[];
}

const info = await initNodeBackend('webgpu');
const base = makeConfig('micro', { data: { dataset: 'synthetic', trainSize: 64, testSize: 32 } });
base.schedule = { ...base.schedule, steps: BENCH_MIN_STEPS, warmupSteps: 2 };
const load = (cfg: RunConfig) => loadBuiltin(cfg, () => Promise.reject(new Error('the synthetic set reads no files')));
let afterWarmUp: string[] | null = null;
let afterLora: string[] | null = null;
const measured: string[] = [];
try {
  await runBench({
    base, preset: 'micro', seeds: 1, backend: info.name, kernels: info.kernels, load,
    onProgress: (p) => {
      if (p.label !== 'warm-up') afterWarmUp ??= kernelKeys();
      if (!p.result) return;
      measured.push(`${p.result.mode}/${p.result.rule}`);
      if (p.result.mode === 'lora') afterLora = kernelKeys();
    },
    // the PreLoRA runs after it would not leave the full phase in so few steps
    shouldStop: () => afterLora !== null,
  });
} catch (err) {
  if (!(err instanceof BenchStopped)) throw err;
}
reply({ kernels: info.kernels, afterWarmUp, afterLora, measured } satisfies Record<keyof WarmUpKernels, unknown>);
