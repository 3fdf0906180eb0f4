// `npm run bench`: full training, static LoRA and PreLoRA (global and per-module rule)
// on one preset, dataset, backend and step budget, interleaved seed by seed in one
// process (src/engine/bench/run.ts). Prints a markdown table; --json puts one JSON
// object on the last line; --out writes it to a file.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BACKEND_CHOICES, type BackendChoice } from '../engine/backend';
import { initNodeBackend } from '../engine/backend-node';
import { BENCH_MIN_STEPS, runBench } from '../engine/bench/run';
import { benchTable } from '../engine/bench/report';
import { makeConfig, PRESET_NAMES, validateConfig, type PresetName } from '../engine/config';
import { setField } from '../engine/overrides';
import { proportionalWarmup } from '../engine/schedule';
import { applySetFlags } from './args';
import { loadBuiltinFromDisk } from './load-path';

export const BENCH_USAGE = `usage: npm run bench -- [flags]
  --preset micro|nano|tiny|small   model and defaults (nano)
  --dataset mnist|synthetic        built-in data (mnist, bundled)
  --backend auto|cpu|wasm|webgpu   tfjs backend (auto = wasm in Node); webgpu replays a recorded
                                   step of fused kernels; webgpu-fused runs them op by op,
                                   webgpu-composite runs tfjs's own kernels instead
  --steps N                        optimiser steps of every run (the preset's)
  --seeds N                        seeds; each runs all four variants (1)
  --set key=value                  any config field, e.g. --set optim.batchSize=128 (repeatable)
  --json                           the last line of stdout is the report as JSON
  --out FILE                       write the report as JSON
  --print-config                   print the resolved config as JSON and stop (for the PyTorch reference)`;

async function main(): Promise<number> {
  let v;
  try {
    v = parseArgs({
      options: {
        preset: { type: 'string', default: 'nano' }, dataset: { type: 'string', default: 'mnist' },
        backend: { type: 'string', default: 'auto' }, steps: { type: 'string' }, seeds: { type: 'string', default: '1' },
        set: { type: 'string', multiple: true, default: [] }, json: { type: 'boolean', default: false }, out: { type: 'string' },
        help: { type: 'boolean', default: false }, 'print-config': { type: 'boolean', default: false },
      },
    }).values;
  } catch (err) {
    console.error(`${(err as Error).message}\n${BENCH_USAGE}`);
    return 2;
  }
  if (v.help) { console.log(BENCH_USAGE); return 0; }
  const errors: string[] = [];
  if (!PRESET_NAMES.includes(v.preset as PresetName) || v.preset === 'vit-l16') errors.push(`--preset: use micro, nano, tiny or small (got "${v.preset}")`);
  if (v.dataset !== 'synthetic' && v.dataset !== 'mnist') errors.push(`--dataset: use synthetic or mnist (got "${v.dataset}")`);
  if (!BACKEND_CHOICES.includes(v.backend as BackendChoice) || v.backend === 'webgl') errors.push(`--backend: use auto, cpu, wasm, webgpu, webgpu-fused or webgpu-composite (got "${v.backend}")`);
  const seeds = Number(v.seeds);
  if (!Number.isInteger(seeds) || seeds < 1) errors.push(`--seeds takes a whole number >= 1 (got "${v.seeds}")`);
  if (errors.length) { console.error(errors.join('\n')); return 2; }

  const base = makeConfig(v.preset as PresetName, { data: { dataset: v.dataset as 'synthetic' | 'mnist' } });
  if (v.steps !== undefined) {
    const e = setField(base, 'schedule.steps', v.steps);
    if (e) errors.push(e.message);
    base.schedule.warmupSteps = proportionalWarmup(base.schedule.warmupSteps, base.schedule.steps);
  }
  errors.push(...applySetFlags(base, v.set).map((e) => e.message));
  if (base.schedule.steps < BENCH_MIN_STEPS) errors.push(`--steps: a benchmark needs at least ${BENCH_MIN_STEPS} steps`);
  if (errors.length) { console.error(errors.join('\n')); return 2; }
  if (v['print-config']) { console.log(JSON.stringify(base)); return 0; }

  const backend = await initNodeBackend(v.backend as BackendChoice);
  const problems = validateConfig(base, backend.memoryBudgetBytes);
  if (problems.length) { for (const p of problems) console.error(`${p.path}: ${p.message}`); return 2; }
  const device = backend.adapter?.description ?? '';
  console.error(`bench: ${v.preset} on ${v.dataset}, ${base.schedule.steps} steps at batch ${base.optim.batchSize}, ${seeds} seed(s), backend ${backend.name}, ${backend.kernels} kernels (${backend.reason})`);
  const started = performance.now();
  const report = await runBench({
    base, preset: v.preset!, seeds, backend: backend.name, kernels: backend.kernels, device,
    load: loadBuiltinFromDisk,
    onProgress: (p) => {
      const secs = ((performance.now() - started) / 1000).toFixed(0);
      if (p.result) console.error(`  [${secs} s] ${p.label}: accuracy ${(100 * p.result.accuracy).toFixed(1)}%, ${p.result.wallSeconds.toFixed(0)} s`);
      else if (p.label === 'warm-up') console.error(`  [${secs} s] warm-up run`);
    },
  });
  console.log(benchTable(report));
  if (v.out) writeFileSync(v.out, JSON.stringify(report, null, 1));
  if (v.json) console.log(JSON.stringify(report));
  return 0;
}

main().then((code) => process.exit(code), (err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
