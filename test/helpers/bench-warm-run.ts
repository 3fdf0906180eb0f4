// The benchmark's warm-up on WebGPU through Dawn: the pipelines made by the warm-up runs
// (our kernels' and tfjs's own programs') and those the measured full and static-LoRA
// runs make after them. Run as a script in a child process (node --import tsx
// bench-warm-run.ts), it prints one JSON line.
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../../src/engine/backend-node';
import { BenchStopped, runBench } from '../../src/engine/bench/run';
import { makeConfig, type RunConfig } from '../../src/engine/config';
import { loadBuiltin } from '../../src/engine/data/builtin';
import { pipelineKeys } from '../../src/engine/ops/webgpu/dispatch';
import { BENCH_MIN_STEPS } from '../../src/engine/bench/report';
import { reply } from './dawn';

export interface WarmUpKernels {
  kernels: string;
  /** the pipelines made when the first measured run starts: ours, then tfjs's (`tfjs:` and its shader key) */
  afterWarmUp: string[];
  /** the pipelines made when the static-LoRA run has ended */
  afterLora: string[];
  /** the runs measured before the benchmark was stopped */
  measured: string[];
}

const info = await initNodeBackend('webgpu');
const base = makeConfig('micro', { data: { dataset: 'synthetic', trainSize: 64, testSize: 32 } });
base.schedule = { ...base.schedule, steps: BENCH_MIN_STEPS, warmupSteps: 2 };
// windows that end in the measured runs too, as the page's do (its 60 steps, windows of 50)
base.prelora = { ...base.prelora, windowSteps: 5 };
const tfjsPrograms = () => Object.keys((tf.backend() as unknown as { pipelineCache: Record<string, unknown> }).pipelineCache).map((k) => `tfjs:${k}`);
const made = () => [...pipelineKeys(), ...tfjsPrograms()];
const load = (cfg: RunConfig) => loadBuiltin(cfg, () => Promise.reject(new Error('the synthetic set reads no files')));
let afterWarmUp: string[] | null = null;
let afterLora: string[] | null = null;
const measured: string[] = [];
try {
  await runBench({
    base, preset: 'micro', seeds: 1, backend: info.name, kernels: info.kernels, load,
    onProgress: (p) => {
      if (p.label !== 'warm-up') afterWarmUp ??= made();
      if (!p.result) return;
      measured.push(`${p.result.mode}/${p.result.rule}`);
      if (p.result.mode === 'lora') afterLora = made();
    },
    // not the PreLoRA runs: the ranks they switch to follow the run, and the warm-up cannot know them
    shouldStop: () => afterLora !== null,
  });
} catch (err) {
  if (!(err instanceof BenchStopped)) throw err;
}
reply({ kernels: info.kernels, afterWarmUp, afterLora, measured } satisfies Record<keyof WarmUpKernels, unknown>);
