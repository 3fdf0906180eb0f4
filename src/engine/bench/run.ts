// The benchmark itself, the same in Node (`npm run bench`) and in the page's worker:
// full training, static LoRA and PreLoRA (global and per-module rule) on one config,
// data and backend, with the same seeds, interleaved seed by seed in one process so
// machine noise falls on all of them alike.
import { runsAsEnqueued, type KernelPath } from '../backend';
import { formatErrors, type Mode, type RunConfig } from '../config';
import type { Dataset } from '../data/dataset';
import type { EngineEvent } from '../events';
import { flopsPerStep } from '../flops';
import { countKernels, deviceMs, deviceMsByLaunch, msByKind } from '../kernels';
import { lastCompiledSubmits } from '../compiled/step';
import { stepPath } from '../kernel-path';
import { attentionNote } from '../ops/webgpu/attention';
import { modelDims } from '../size';
import type { Rule } from '../policy';
import { prepareRun } from '../prepare';
import { summarize } from '../summary';
import { trainableShare } from '../trainable-share';
import { Trainer } from '../trainer';
import { checkBench } from './check';
import { benchConfig } from './config';
import { BENCH_MIN_STEPS, BENCH_VARIANTS, combineVariants, sharedConfig, type BenchConfig, type BenchReport, type SeedResult } from './report';
import { minOf } from '../extremes';

export interface BenchOptions {
  /** the config every run starts from; its mode and rule are set per run */
  base: RunConfig;
  /** a label for the report (the preset's name) */
  preset: string;
  seeds: number;
  /** the first seed (default 1): seeds firstSeed .. firstSeed + seeds - 1, so a long benchmark can be split over processes and merged */
  firstSeed?: number;
  backend: string;
  kernels: KernelPath;
  device?: string;
  /** the data a config names (Node: loadBuiltin from disk; the page: its worker's cache); once per seed */
  load: (cfg: RunConfig) => Promise<Dataset>;
  /** memory a model may use on this backend, when known */
  memoryBudgetBytes?: number;
  /** the tuning flags given, as the report carries them (bench:merge refuses reports that differ in them) */
  tuning?: Record<string, string>;
  /** two short runs first (WARM_UP_MODES), so that JIT and kernel compilation do not fall on the measured full and static-LoRA runs */
  warmUp?: boolean;
  onProgress?: (p: BenchProgress) => void;
  /** checked between steps and runs: true ends the benchmark early (it throws BenchStopped) */
  shouldStop?: () => boolean;
  /** awaited between steps: a worker yields here so that a stop request is heard */
  yieldBetween?: () => Promise<void>;
}

export interface BenchProgress {
  done: number;
  total: number;
  /** what runs next, or what just finished */
  label: string;
  result?: SeedResult;
}

export class BenchStopped extends Error {
  constructor() {
    super('benchmark stopped');
  }
}

type RunOptions = Pick<BenchOptions, 'backend' | 'kernels' | 'load' | 'memoryBudgetBytes' | 'shouldStop' | 'yieldBetween'>;

/** Steps whose enqueueing is timed before the run (their median is reported); after it, one. */
const ENQUEUE_STEPS = 3;

/** One step's device time (to be given the step's enqueueing), and on the compiled path its queue submits. */
async function timeStep(enqueue: () => void): Promise<{ ms: number | null; submits: number | null }> {
  const ms = await deviceMs(enqueue);
  return { ms, submits: stepPath() === 'compiled' ? lastCompiledSubmits() : null };
}

/** The lesser of two device times, either of which may be missing (null: not timed). */
function lesserMs(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  return b === null ? a : Math.min(a, b);
}

type Measure<T> = (enqueue: () => void) => Promise<T>;

/** The median host time of enqueueing a step (the synchronous part only, nothing read back), over steps `take` takes. */
async function enqueueMs(take: (measure: Measure<number>) => Promise<number | undefined>, steps: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    times.push((await take(async (enqueue) => {
      const start = performance.now();
      enqueue();
      return performance.now() - start;
    })) ?? 0);
  }
  return times.sort((a, b) => a - b)[Math.floor(steps / 2)]!;
}

export async function benchOneRun(base: RunConfig, mode: Mode, rule: Rule, seed: number, o: RunOptions): Promise<SeedResult> {
  const requested: RunConfig = { ...base, seed, prelora: { ...base.prelora, mode, rule } };
  const { config: cfg, dataset: data, errors } = await prepareRun(requested, o);
  if (!cfg) throw new Error(formatErrors(errors));
  const events: EngineEvent[] = [];
  const started = performance.now();
  const t = new Trainer(cfg, data, (e) => events.push(e));
  try {
    // Step 1 makes the optimiser's moments and compiles the kernels (records the step);
    // steps 2-4 are measured (kernels and peak bytes, device time, device time launch by
    // launch); steps 5-7 time the host's enqueueing, step 8 the device again. All fall in
    // the first read-back interval, which the throughput figures leave out.
    await t.step();
    const first = (await t.step(countKernels))!;
    // a compiled step's buffers live through the phase, outside tfjs's count: its peak adds them
    const firstOwn = t.compiledBytes();
    const deviceEarly = (await t.step(timeStep))!;
    const firstLaunches = await t.step(deviceMsByLaunch);
    const firstEnqueue = await enqueueMs((m) => t.step(m), ENQUEUE_STEPS);
    // The full phase's device time is the least of its timed steps (step 3, step 8, and
    // the step after the run when the run ends in it): a run's first steps can run slowly
    // on the device after the host kept it idle. When the warm-up still ran on other data
    // (runBench), the first run's steps 3 / 8 read 33.4 / 15.9 ms at tiny batch 128 and
    // 11.5 / 11.5 at batch 32 on the H200, where every later run read 10.4 and 4.4.
    const deviceLater = (await t.step(timeStep))!;
    const between = o.yieldBetween;
    await t.run(cfg.schedule.steps - 5 - ENQUEUE_STEPS, between && (async () => { await between(); return !o.shouldStop?.(); }));
    if (o.shouldStop?.()) throw new BenchStopped(); // else the run has evaluated at its last step
    if (t.divergence) throw new Error(`${mode} (${rule}), seed ${seed}: ${t.divergence.message}`);
    const wallSeconds = (performance.now() - started) / 1000;
    const s = summarize(events, {
      backend: o.backend, kernels: o.kernels, mode, rule, seed, batchSize: cfg.optim.batchSize, model: cfg.model,
      wallSeconds,
    });
    const intervals = events.flatMap((e) => (e.type === 'progress'
      ? [{ step: e.records.at(-1)!.step, phase: e.phase, steps: e.records.length, seconds: e.seconds, samplesPerSec: e.samplesPerSec }]
      : []));
    // More steps after the run, outside its figures: the final phase's kernels, device and host time.
    const ended = t.runPhase;
    const last = await countKernels(() => t.trainStep());
    const lastOwn = t.compiledBytes();
    const lastDevice = await timeStep(() => t.trainStep());
    const lastLaunches = await deviceMsByLaunch(() => t.trainStep());
    const lastEnqueue = await enqueueMs((m) => m(() => t.trainStep()), 1);

    const ranks: Record<string, number> = {};
    const frozen = new Set<string>();
    for (const [id, st] of t.modules) {
      if (st.rank) ranks[id] = st.rank;
      if (st.phase === 'lora') frozen.add(id);
    }
    // the steps after the run count for a phase where the run ended in it and they stayed in
    // it: LoRA where every targeted module is frozen, full where none left full training (a
    // run ending mixed, some modules frozen, filled the LoRA columns with mixed steps)
    const endsInLora = ended === 'lora' && t.runPhase === 'lora';
    const endsFull = ended === 'full' && t.runPhase === 'full';
    const startsFull = mode !== 'lora';
    const fullDeviceMs = [deviceEarly.ms, deviceLater.ms, endsFull ? lastDevice.ms : null].reduce(lesserMs, null);
    // the launches of the step after the run where it is a full-phase step (see fullDeviceMs)
    const launches = {
      full: startsFull ? ((endsFull ? lastLaunches : firstLaunches) ?? null) : null,
      lora: endsInLora ? lastLaunches : null,
    };
    const batch = cfg.optim.batchSize;
    return {
      mode, rule, seed,
      samplesPerSec: { full: s.phases.full.samplesPerSec, lora: s.phases.lora.samplesPerSec },
      deviceMsPerStep: { full: startsFull ? fullDeviceMs : null, lora: endsInLora ? lastDevice.ms : null },
      wallSeconds,
      memoryBytes: { full: s.memory.fullPhaseBytes, lora: s.memory.loraPhaseBytes, peak: Math.max(first.peakBytes + firstOwn, last.peakBytes + lastOwn) },
      trainableShare: trainableShare(cfg.model, s.params.trainableEnd),
      accuracy: s.accuracy.test ?? 0,
      dispatchesPerStep: { full: startsFull ? first.total : null, lora: endsInLora ? last.total : null },
      kernelsByKind: { full: startsFull ? first.byName : null, lora: endsInLora ? last.byName : null },
      deviceMsByLaunch: launches,
      deviceMsByKind: { full: launches.full && msByKind(launches.full), lora: launches.lora && msByKind(launches.lora) },
      flopsPerStep: {
        full: startsFull ? flopsPerStep(cfg.model, { batchSize: batch }) : null,
        lora: endsInLora ? flopsPerStep(cfg.model, { batchSize: batch, ranks, frozen }) : null,
      },
      switchedAt: s.switches.length ? minOf(s.switches.map((x) => x.step)) : null,
      phaseShare: { full: s.phases.full.share, mixed: s.phases.mixed?.share ?? 0, lora: s.phases.lora.share },
      flopsSaved: s.flops.saved,
      familySwitchSteps: Object.fromEntries(s.switchOrder.map((f) => [f.family, f.mean])),
      // where a step runs as it is enqueued, its "enqueue" time is the whole step (271 ms
      // against a 137 ms step on nano, the early steps unwarmed), no host cost
      enqueueMsPerStep: runsAsEnqueued(o.backend) ? { full: null, lora: null } : { full: startsFull ? firstEnqueue : null, lora: endsInLora ? lastEnqueue : null },
      submitsPerStep: { full: startsFull ? deviceEarly.submits : null, lora: endsInLora ? lastDevice.submits : null },
      intervals,
    };
  } finally {
    t.dispose();
  }
}

/** The warm-up runs' modes: between them they make every kernel of the full and the static-LoRA runs. */
export const WARM_UP_MODES: readonly Mode[] = ['full', 'lora'];

/**
 * The warm-up runs' config: the fewest steps, with windows short enough that one ends in
 * them, so that every kernel the measured full and static-LoRA runs launch has compiled
 * before them (a PreLoRA run's adapters take the ranks its windows give them). With the
 * preset's window of 50 the first run's statistics were read and reduced for the first
 * time at step 50, in its timed steps: the page on the H200 took 0.33 s for steps 41-50
 * of the first run against 0.09-0.11 s in the later ones (tiny b128), 28% of their pace,
 * which made the first run 9,217 samples/s against 13,355-13,463 (the intervals in the
 * report showed where).
 */
export function warmUpConfig(base: RunConfig): RunConfig {
  const steps = BENCH_MIN_STEPS;
  return {
    ...base,
    schedule: { ...base.schedule, steps, warmupSteps: 1 },
    prelora: { ...base.prelora, windowSteps: Math.min(base.prelora.windowSteps, Math.max(1, Math.floor(steps / 3))) },
  };
}

export async function runBench(o: BenchOptions): Promise<BenchReport> {
  const { base, seeds } = o;
  const firstSeed = o.firstSeed ?? 1;
  // before the warm-ups: a seed past the largest failed after them, naming "seed". The CLI
  // and the page check the same under their own names first: this is the last guard
  const problems = checkBench({ steps: base.schedule.steps, seeds, firstSeed, dataset: base.data.dataset });
  if (problems.length) throw new Error(formatErrors(problems));
  const total = seeds * BENCH_VARIANTS.length;
  let done = 0;
  // the four runs of a seed train on the same data: load it once
  const loaded = new Map<number, Promise<Dataset>>();
  const load = (cfg: RunConfig) => {
    if (!loaded.has(cfg.seed)) loaded.set(cfg.seed, o.load(cfg));
    return loaded.get(cfg.seed)!;
  };
  const run = (cfg: RunConfig, mode: Mode, rule: Rule, seed: number) => benchOneRun(cfg, mode, rule, seed, { ...o, load });
  const stopIfAsked = () => {
    if (o.shouldStop?.()) throw new BenchStopped();
  };
  if (o.warmUp !== false) {
    o.onProgress?.({ done, total, label: 'warm-up' });
    // on the first seed's data, so that the first measured run does not wait for its data
    // with the device idle: on seed 0's, the seed-1 data made between them let the H200's
    // clocks fall, and the first run's early steps took up to 3x their device time (its
    // full phase at tiny batch 32: 1,716 samples/s against 3,565-3,588 in the other runs).
    // Full, then static LoRA: the LoRA phase's kernels compile here, not in the measured
    // LoRA run, whose first step otherwise left the device idle for them (about 2 s at tiny
    // b128 in the page on the H200); after that idle its next interval ran slow in two of
    // the page runs (9,901 and 14,751 samples/s against 18,500-20,500 in its later ones), and
    // only ever in the first seed's LoRA run, the one that compiled them.
    for (const mode of WARM_UP_MODES) await run(warmUpConfig(base), mode, 'global', firstSeed);
  }
  const results: SeedResult[] = [];
  let config: BenchConfig | undefined;
  for (let seed = firstSeed; seed < firstSeed + seeds; seed++) {
    for (const v of BENCH_VARIANTS) { // interleaved: every variant of a seed before the next seed
      stopIfAsked();
      o.onProgress?.({ done, total, label: `seed ${seed} ${v.mode}/${v.rule}` });
      const r = await run(base, v.mode, v.rule, seed);
      results.push(r);
      done++;
      o.onProgress?.({ done, total, label: `seed ${seed} ${v.mode}/${v.rule}`, result: r });
    }
    // the config the runs shared, as their data made it: from the first seed's data, still loaded
    if (seed === firstSeed) config = sharedConfig(benchConfig(base, await load({ ...base, seed })));
    loaded.delete(seed);
  }
  return {
    date: new Date().toISOString().slice(0, 10),
    preset: o.preset, dataset: base.data.dataset, backend: o.backend, kernels: o.kernels, device: deviceNote(o.device ?? '', base),
    steps: base.schedule.steps, batchSize: base.optim.batchSize, seeds,
    runs: combineVariants(results, base.optim.batchSize),
    perSeed: results,
    config, tuning: o.tuning ?? {},
  };
}

/**
 * The device, and where our kernels ran, how attention ran: on register tiles (heads 64
 * wide, at most 65 tokens), or the threads sharing a row (more than one only where the
 * device has subgroups; a device without them runs attention ~1.7x slower on the H200)
 * and each kernel's rows a thread (two only at batches that keep enough workgroups), so
 * a report says which it measured.
 */
function deviceNote(device: string, base: RunConfig): string {
  if (stepPath() === 'composite') return device;
  const spec = { batch: base.optim.batchSize, tokens: modelDims(base.model).tokens, heads: base.model.heads, width: base.model.width };
  return `${device}${device ? '; ' : ''}attention rows on ${attentionNote(spec)}`;
}
