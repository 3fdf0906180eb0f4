// `npm run bench`: full training, static LoRA and PreLoRA (global and per-module
// rule) on the same preset, data, backend, steps and seeds, interleaved seed by seed
// in one process so machine noise falls on all of them alike. Prints a markdown
// table; --json puts one JSON object on the last line; --out writes it to a file.
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { BackendChoice } from '../engine/backend';
import { initNodeBackend } from '../engine/backend-node';
import { makeConfig, PRESET_NAMES, validateConfig, type PresetName, type RunConfig } from '../engine/config';
import { fitModelToData, loadBuiltin } from '../engine/data/builtin';
import type { EngineEvent } from '../engine/events';
import { flopsPerStep } from '../engine/flops';
import { countKernels } from '../engine/kernels';
import { summarize } from '../engine/summary';
import { Trainer } from '../engine/trainer';
import { benchTable, combineSeeds, type BenchRun, type SeedResult } from './bench-report';

const VARIANTS = [
  { mode: 'full', rule: 'global' },
  { mode: 'lora', rule: 'global' },
  { mode: 'prelora', rule: 'global' },
  { mode: 'prelora', rule: 'module' },
] as const;

async function oneRun(base: RunConfig, mode: 'full' | 'lora' | 'prelora', rule: 'global' | 'module', seed: number, backend: string): Promise<SeedResult> {
  const requested: RunConfig = { ...base, seed, prelora: { ...base.prelora, mode, rule } };
  const data = await loadBuiltin(requested, async (p) => new Uint8Array(await readFile(join('public', p))));
  const cfg = fitModelToData(requested, data);
  const events: EngineEvent[] = [];
  const started = performance.now();
  const t = new Trainer(cfg, data, (e) => events.push(e));
  // the first and the last step are profiled: kernels per step and peak bytes, per phase
  const first = await countKernels(() => t.trainStep());
  await t.flush();
  await t.run(cfg.schedule.steps - 2);
  const last = await countKernels(() => t.trainStep());
  await t.flush();
  await t.evaluate();
  const s = summarize(events, { backend, mode, rule, seed, batchSize: cfg.optim.batchSize, windowSteps: cfg.prelora.windowSteps, wallSeconds: (performance.now() - started) / 1000 });
  const ranks: Record<string, number> = {};
  const frozen = new Set<string>();
  for (const [id, st] of t.controller.states) {
    if (st.rank) ranks[id] = st.rank;
    if (st.phase === 'lora') frozen.add(id);
  }
  t.dispose();
  const endsInLora = frozen.size > 0;
  const firstPhase = mode === 'lora' ? 'lora' : 'full';
  return {
    mode, rule, seed,
    samplesPerSec: { full: s.phases.full.samplesPerSec, lora: s.phases.lora.samplesPerSec },
    wallSeconds: s.wallSeconds,
    memoryBytes: { full: s.memory.fullPhaseBytes, lora: s.memory.loraPhaseBytes, peak: Math.max(first.peakBytes, last.peakBytes) },
    trainableShare: s.params.trainableEnd / (s.params.total || 1),
    accuracy: s.accuracy.test ?? 0,
    dispatchesPerStep: {
      full: firstPhase === 'full' ? first.total : null,
      lora: endsInLora ? last.total : null,
    },
    flopsPerStep: {
      full: mode === 'lora' ? null : flopsPerStep(cfg.model, { batchSize: cfg.optim.batchSize }),
      lora: endsInLora ? flopsPerStep(cfg.model, { batchSize: cfg.optim.batchSize, ranks, frozen }) : null,
    },
    switchedAt: s.switches.length ? Math.min(...s.switches.map((x) => x.step)) : null,
  };
}

async function main(): Promise<number> {
  const { values: v } = parseArgs({
    options: {
      preset: { type: 'string', default: 'nano' }, dataset: { type: 'string', default: 'synthetic' },
      backend: { type: 'string', default: 'auto' }, steps: { type: 'string' }, seeds: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false }, out: { type: 'string' },
    },
  });
  if (!PRESET_NAMES.includes(v.preset as PresetName)) { console.error(`--preset: use ${PRESET_NAMES.join(', ')}`); return 2; }
  if (v.dataset !== 'synthetic' && v.dataset !== 'mnist') { console.error('--dataset: use synthetic or mnist'); return 2; }
  const seeds = Number(v.seeds);
  if (!Number.isInteger(seeds) || seeds < 1) { console.error(`--seeds takes a whole number >= 1 (got ${v.seeds})`); return 2; }
  const base = makeConfig(v.preset as PresetName, { data: { dataset: v.dataset } });
  if (v.steps !== undefined) base.schedule.steps = Number(v.steps);
  base.schedule.warmupSteps = Math.min(base.schedule.warmupSteps, Math.floor(base.schedule.steps / 5));
  const backend = await initNodeBackend(v.backend as BackendChoice);
  const problems = validateConfig(base, backend.memoryBudgetBytes);
  if (problems.length) { for (const p of problems) console.error(`${p.path}: ${p.message}`); return 2; }
  console.error(`bench: ${v.preset} on ${v.dataset}, ${base.schedule.steps} steps, ${seeds} seed(s), backend ${backend.name} (${backend.reason})`);
  // warm-up: the first run in a process pays for JIT and kernel compilation
  await oneRun({ ...base, schedule: { ...base.schedule, steps: 5, warmupSteps: 1 } }, 'full', 'global', 0, backend.name);
  const results: SeedResult[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    for (const variant of VARIANTS) { // interleaved: every variant of a seed before the next seed
      const r = await oneRun(base, variant.mode, variant.rule, seed, backend.name);
      console.error(`  seed ${seed} ${variant.mode}/${variant.rule}: accuracy ${(100 * r.accuracy).toFixed(1)}%, ${r.wallSeconds.toFixed(0)} s`);
      results.push(r);
    }
  }
  const runs: BenchRun[] = VARIANTS.map((x) => combineSeeds(results.filter((r) => r.mode === x.mode && r.rule === x.rule)));
  const report = { date: new Date().toISOString().slice(0, 10), preset: v.preset, dataset: v.dataset, backend: backend.name, steps: base.schedule.steps, seeds, runs };
  console.log(benchTable(report));
  if (v.out) writeFileSync(v.out, JSON.stringify(report, null, 1));
  if (v.json) console.log(JSON.stringify(report));
  return 0;
}

main().then((code) => process.exit(code), (err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
