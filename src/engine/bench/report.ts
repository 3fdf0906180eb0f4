// What a benchmark runs (variants, presets, the fewest steps), combining its seeds and
// printing its tables (pure, no tfjs: the CLI prints them, the page shows the same rows).
import type { KernelPath } from '../backend';
import { PRESET_NAMES, type Mode, type RunConfig } from '../config';
import type { RunPhase } from '../events';
import type { LaunchTime } from '../ops/webgpu/counts';
import type { Rule } from '../policy';
import { cutShort } from '../issue';
import { formatShare, TRAINABLE_SHARE_LABEL } from '../trainable-share';
import { FAMILIES, HUB_PATH, MODULE_PATH, pathInBlock } from '../vit-families';
import { maxOf } from '../extremes';

export interface PerPhase {
  full: number | null;
  lora: number | null;
}

export interface SeedResult {
  mode: string;
  rule: string;
  seed: number;
  samplesPerSec: PerPhase;
  /** the kernels' own time on the device (WebGPU timestamp queries); null where the backend cannot time them */
  deviceMsPerStep: PerPhase;
  wallSeconds: number;
  /** peak: null where no step could be profiled (reports of 2026-11-29 hold such) */
  memoryBytes: PerPhase & { peak: number | null };
  trainableShare: number;
  accuracy: number;
  dispatchesPerStep: PerPhase;
  /** the kernels of one step by kind: tfjs's by kernel name, the fused path's by op (`linear.forward`, ...) */
  kernelsByKind: { full: Record<string, number> | null; lora: Record<string, number> | null };
  /** the device time of one step by kernel kind, ms (the compiled step times each dispatch; absent or null elsewhere) */
  deviceMsByKind?: { full: Record<string, number> | null; lora: Record<string, number> | null };
  /** the same step launch by launch, in order: kind, the module it works on (null where several or none), ms */
  deviceMsByLaunch?: { full: LaunchTime[] | null; lora: LaunchTime[] | null };
  flopsPerStep: PerPhase;
  switchedAt: number | null;
  /** fraction of the run's steps before any switch (full), with every targeted module frozen (lora), and between */
  phaseShare: { full: number; mixed: number; lora: number };
  /** share of full training's matmul FLOPs the run saved (analytic) */
  flopsSaved: number;
  /** the mean step at which each family's modules switched (families that did) */
  familySwitchSteps: Record<string, number>;
  /** the host's own time to enqueue a step (full: median of three; LoRA: one step; nothing waited for): what the JavaScript costs */
  enqueueMsPerStep?: PerPhase;
  /** queue submits of a step, where counted (the compiled step) */
  submitsPerStep?: PerPhase;
  /**
   * every read-back interval of the run in order, as the page's charts get them: where a
   * run's throughput is not steady (a stall, a slow start) shows here, not in the means
   */
  intervals?: BenchInterval[];
}

/** One read-back interval: its last step, phase, steps, seconds (0: not timed) and samples per second. */
export interface BenchInterval {
  step: number;
  phase: RunPhase;
  steps: number;
  seconds: number;
  samplesPerSec: number;
}

export interface BenchRun extends Omit<SeedResult, 'seed' | 'accuracy' | 'intervals'> {
  /** batch / samples per second: what a step costs the host, all waiting included */
  hostMsPerStep: PerPhase;
  /** test accuracy: mean and sample standard deviation over the seeds (0 for one seed) */
  accuracy: { mean: number; spread: number };
  seeds: number;
}

export interface BenchReport {
  date: string;
  preset: string;
  dataset: string;
  backend: string;
  /** fused WGSL kernels (WebGPU) or tfjs's own (composite) */
  kernels: KernelPath;
  /** the adapter or device the backend ran on, where it says */
  device: string;
  steps: number;
  batchSize: number;
  seeds: number;
  runs: BenchRun[];
  /** every run of every seed, as measured: what `runs` combines, and what merging reports needs */
  perSeed: SeedResult[];
  /** the config its runs shared, as its data made it (benchConfig); absent in reports written before it was carried */
  config?: BenchConfig;
  /** the tuning flags given (`gemm-tile`: its text, ...); absent in reports written before they were carried */
  tuning?: Record<string, string>;
}

/** A benchmark's config without what each of its runs sets: the seed, PreLoRA's mode and rule. */
export type BenchConfig = Omit<RunConfig, 'seed' | 'prelora'> & { prelora: Omit<RunConfig['prelora'], 'mode' | 'rule'> };

/** What a report carries of the config its runs shared. */
export function sharedConfig(config: RunConfig): BenchConfig {
  const without = (o: object, keys: string[]) => Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
  return { ...without(config, ['seed']), prelora: without(config.prelora, ['mode', 'rule']) } as BenchConfig;
}

/**
 * A report the user gave that cannot be read, merged or compared (the file and the field
 * named): the bench tools exit 2 on it, and 1 on anything else, a fault of ours.
 */
export class ReportError extends Error {
  override name = 'ReportError';
}

/** The presets a benchmark takes: all but vit-l16, which does not fit a tab or the wasm heap. */
export const BENCH_PRESETS = PRESET_NAMES.filter((p): p is Exclude<typeof p, 'vit-l16'> => p !== 'vit-l16');
export type BenchPreset = (typeof BENCH_PRESETS)[number];

/** The fewest steps a benchmark run takes: a warm-up step and two measured steps, then steps that are timed. */
export const BENCH_MIN_STEPS = 12;

/** The largest of the seeds' peaks, null where none was measured (Math.max read a null as 0). */
const peakOf = (peaks: (number | null)[]): number | null => {
  const known = peaks.filter((p): p is number => p !== null);
  return known.length ? maxOf(known) : null;
};

/** The runs of a benchmark, in the order they are run for each seed. */
export const BENCH_VARIANTS = [
  { mode: 'full', rule: 'global' },
  { mode: 'lora', rule: 'global' },
  { mode: 'prelora', rule: 'global' },
  { mode: 'prelora', rule: 'module' },
] as const satisfies readonly { mode: Mode; rule: Rule }[];

const NONE: PerPhase = { full: null, lora: null };
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const meanOrNull = (xs: (number | null)[]) => {
  const ok = xs.filter((x): x is number => x !== null);
  return ok.length ? mean(ok) : null;
};

export function combineSeeds(rs: SeedResult[], batchSize: number): BenchRun {
  const acc = rs.map((r) => r.accuracy);
  const m = mean(acc);
  const spread = acc.length > 1 ? Math.sqrt(acc.reduce((s, a) => s + (a - m) ** 2, 0) / (acc.length - 1)) : 0;
  const phase = (f: (r: SeedResult) => PerPhase): PerPhase => ({ full: meanOrNull(rs.map((r) => f(r).full)), lora: meanOrNull(rs.map((r) => f(r).lora)) });
  const samplesPerSec = phase((r) => r.samplesPerSec);
  const hostMs = (sps: number | null) => (sps ? (1000 * batchSize) / sps : null);
  return {
    mode: rs[0]!.mode, rule: rs[0]!.rule, seeds: rs.length,
    samplesPerSec,
    hostMsPerStep: { full: hostMs(samplesPerSec.full), lora: hostMs(samplesPerSec.lora) },
    deviceMsPerStep: phase((r) => r.deviceMsPerStep),
    wallSeconds: mean(rs.map((r) => r.wallSeconds)),
    memoryBytes: { ...phase((r) => r.memoryBytes), peak: peakOf(rs.map((r) => r.memoryBytes.peak)) },
    trainableShare: mean(rs.map((r) => r.trainableShare)),
    accuracy: { mean: m, spread },
    dispatchesPerStep: phase((r) => r.dispatchesPerStep),
    kernelsByKind: rs[0]!.kernelsByKind, // the same for every seed: the graph does not depend on it
    deviceMsByKind: rs[0]!.deviceMsByKind, // one seed's: a profile, not a figure to average
    deviceMsByLaunch: rs[0]!.deviceMsByLaunch,
    flopsPerStep: phase((r) => r.flopsPerStep),
    switchedAt: meanOrNull(rs.map((r) => r.switchedAt)),
    phaseShare: { full: mean(rs.map((r) => r.phaseShare.full)), mixed: mean(rs.map((r) => r.phaseShare.mixed)), lora: mean(rs.map((r) => r.phaseShare.lora)) },
    flopsSaved: mean(rs.map((r) => r.flopsSaved)),
    familySwitchSteps: Object.fromEntries([...new Set(rs.flatMap((r) => Object.keys(r.familySwitchSteps)))]
      .map((f) => [f, meanOrNull(rs.map((r) => r.familySwitchSteps[f] ?? null))!])),
    enqueueMsPerStep: phase((r) => r.enqueueMsPerStep ?? NONE),
    submitsPerStep: phase((r) => r.submitsPerStep ?? NONE),
  };
}

/** One combined run per variant, in the benchmark's order. */
export function combineVariants(results: SeedResult[], batchSize: number): BenchRun[] {
  return BENCH_VARIANTS.map((x) => combineSeeds(results.filter((r) => r.mode === x.mode && r.rule === x.rule), batchSize));
}

/** Where two values first differ: a dot path below `path` and both values there (undefined where one has no such key), or null where they are equal. */
export function firstDifference(a: unknown, b: unknown, path: string): { path: string; a: unknown; b: unknown } | null {
  if (Object.is(a, b)) return null;
  const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
  if (!isRecord(a) || !isRecord(b) || Array.isArray(a) !== Array.isArray(b)) return { path, a, b };
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = firstDifference(a[k], b[k], `${path}.${k}`);
    if (d) return d;
  }
  return null;
}

/** A value in a merge's refusal: as JSON, cut short, `none` where a report has none. */
const shown = (x: unknown) => (x === undefined ? 'none' : cutShort(JSON.stringify(x)));

/**
 * One report from reports of the same benchmark run on different seeds (e.g. split
 * over processes with --first-seed): their seeds combined anew. Throws, naming the
 * reports (`names`, their files) and the field, when they are not the same benchmark
 * (the header, the config its runs shared, the tuning flags) or share a seed. Reports
 * written before they carried a config merge only with others that carry none (their
 * header alone is checked); one with a config and one without are refused, as nothing
 * says they ran the same. Each must have its per-seed results (the CLI checks them as
 * it reads each file, naming it).
 */
export function mergeReports(reports: BenchReport[], names: string[] = reports.map((_, i) => `report ${i + 1}`)): BenchReport {
  const [first, ...rest] = reports;
  if (!first) throw new ReportError('no reports to merge');
  const refuse = (i: number, what: string) => new ReportError(`${names[0]} and ${names[i + 1]} differ in ${what}: merge runs of one benchmark only`);
  for (const key of ['preset', 'dataset', 'backend', 'kernels', 'steps', 'batchSize'] as const) {
    const i = rest.findIndex((r) => r[key] !== first[key]);
    if (i >= 0) throw refuse(i, `${key} (${first[key]} vs ${rest[i]![key]})`);
  }
  const bare = reports.findIndex((r) => r.config === undefined);
  if (bare >= 0 && reports.some((r) => r.config !== undefined)) {
    throw new ReportError(`${names[bare]} carries no config (written before reports carried one), so nothing says it ran the others' settings: merge it only with reports that carry none, or run its seeds again`);
  }
  for (const key of ['config', 'tuning'] as const) {
    for (const [i, r] of rest.entries()) {
      const d = firstDifference(first[key], r[key], key);
      if (d) throw refuse(i, `${d.path} (${shown(d.a)} vs ${shown(d.b)})`);
    }
  }
  const perSeed = reports.flatMap((r) => r.perSeed).sort((a, b) => a.seed - b.seed);
  const seeds = [...new Set(perSeed.map((r) => r.seed))];
  if (seeds.length * BENCH_VARIANTS.length !== perSeed.length) throw new ReportError(`a seed appears in more than one report (seeds ${perSeed.map((r) => r.seed).join(', ')})`);
  return { ...first, device: [...new Set(reports.map((r) => r.device))].join(' / '), seeds: seeds.length, runs: combineVariants(perSeed, first.batchSize), perSeed };
}

/** `a / b` as a ratio, or null when either is missing or b is 0. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  return a !== null && a !== undefined && b ? a / b : null;
}

/** The groups' sum: the step's launches all told. */
export const launchGroupTotal = (m: Map<LaunchGroup, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

/** A report's `full` or static `lora` run (not a PreLoRA one): the two a phase comparison reads. */
export const runOf = (r: BenchReport, mode: 'full' | 'lora'): BenchRun | undefined => r.runs.find((x) => x.mode === mode);

/** A figure as a table cell: `digits` decimals and a suffix, or a dash where it was not measured (null, missing, not finite). */
export const figure = (x: number | null | undefined, digits: number, suffix = ''): string =>
  (x === null || x === undefined || !Number.isFinite(x) ? '–' : `${x.toFixed(digits)}${suffix}`);

const runLabel = (x: { mode: string; rule: string }) => (x.mode === 'prelora' ? `prelora (${x.rule})` : x.mode);

/** One row of formatted cells per run, the header first: the table the CLI prints and the page shows. */
export function benchRows(r: BenchReport): string[][] {
  const full = runOf(r, 'full');
  const n = (x: number | null, digits = 1) => figure(x, digits);
  const mb = (x: number | null) => figure(x && x / 1e6, 2);
  const gf = (x: number | null) => figure(x && x / 1e9, 2);
  const times = (x: number | null) => figure(x, 2, 'x');
  const ms = (p: PerPhase, d: PerPhase, k: 'full' | 'lora') => (p[k] === null ? '–' : `${n(p[k])} / ${n(d[k])}`);
  const header = [
    'run', 'first switch', 'samples/s full', 'samples/s LoRA', 'LoRA / full', 'ms/step full host / device',
    'ms/step LoRA host / device', 'wall s (vs full)', 'MB full / LoRA / peak', TRAINABLE_SHARE_LABEL, 'test acc %',
    'kernels/step full / LoRA', 'GFLOP/step full / LoRA', 'enqueue ms/step full / LoRA', 'submits/step full / LoRA',
    'steps full / mixed / LoRA %', 'FLOPs saved',
  ];
  const rows = r.runs.map((x) => [
    runLabel(x), n(x.switchedAt, 0), n(x.samplesPerSec.full), n(x.samplesPerSec.lora),
    times(ratio(x.samplesPerSec.lora, x.samplesPerSec.full ?? full?.samplesPerSec.full)),
    ms(x.hostMsPerStep, x.deviceMsPerStep, 'full'), ms(x.hostMsPerStep, x.deviceMsPerStep, 'lora'),
    `${x.wallSeconds.toFixed(0)} (${times(ratio(x.wallSeconds, full?.wallSeconds))})`,
    `${mb(x.memoryBytes.full)} / ${mb(x.memoryBytes.lora)} / ${mb(x.memoryBytes.peak)}`,
    formatShare(x.trainableShare),
    `${(100 * x.accuracy.mean).toFixed(1)} ± ${(100 * x.accuracy.spread).toFixed(1)}`,
    `${n(x.dispatchesPerStep.full, 0)} / ${n(x.dispatchesPerStep.lora, 0)}`,
    `${gf(x.flopsPerStep.full)} / ${gf(x.flopsPerStep.lora)}`,
    `${n(x.enqueueMsPerStep?.full ?? null, 2)} / ${n(x.enqueueMsPerStep?.lora ?? null, 2)}`,
    `${n(x.submitsPerStep?.full ?? null, 0)} / ${n(x.submitsPerStep?.lora ?? null, 0)}`,
    [x.phaseShare.full, x.phaseShare.mixed, x.phaseShare.lora].map((f) => (100 * f).toFixed(0)).join(' / '),
    `${(100 * x.flopsSaved).toFixed(1)}%`,
  ]);
  return [header, ...rows];
}

export function benchTitle(r: BenchReport): string {
  return `${r.preset} on ${r.dataset}, ${r.steps} steps at batch ${r.batchSize}, ${r.seeds} seed(s), backend ${r.backend}, ` +
    `${r.kernels} kernels` + (r.device ? ` (${r.device})` : '');
}

/**
 * Kernels of one step by kind, the full phase (of the `full` run) beside the LoRA phase
 * (of the static `lora` run), most frequent first, the total last: which ops remain;
 * where the step was timed kernel by kernel (the compiled step), their device ms too.
 */
export function kernelRows(r: BenchReport): string[][] {
  const fullRun = runOf(r, 'full');
  const loraRun = runOf(r, 'lora');
  const full = fullRun?.kernelsByKind.full ?? {};
  const lora = loraRun?.kernelsByKind.lora ?? {};
  const msFull = fullRun?.deviceMsByKind?.full ?? null;
  const msLora = loraRun?.deviceMsByKind?.lora ?? null;
  const kinds = [...new Set([...Object.keys(full), ...Object.keys(lora)])]
    .sort((a, b) => (full[b] ?? 0) - (full[a] ?? 0) || (lora[b] ?? 0) - (lora[a] ?? 0) || a.localeCompare(b));
  const cell = (m: Record<string, number>, k: string) => String(m[k] ?? 0);
  const total = (m: Record<string, number>) => Object.values(m).reduce((a, b) => a + b, 0);
  const timed = msFull !== null || msLora !== null;
  const ms = (m: Record<string, number> | null, k?: string) => (m === null ? '–' : (k === undefined ? total(m) : m[k] ?? 0).toFixed(2));
  const header = ['kernel', 'full', 'LoRA', ...(timed ? ['device ms full', 'device ms LoRA'] : [])];
  const row = (k: string) => [k, cell(full, k), cell(lora, k), ...(timed ? [ms(msFull, k), ms(msLora, k)] : [])];
  return [header, ...kinds.map(row), ['total', String(total(full)), String(total(lora)), ...(timed ? [ms(msFull), ms(msLora)] : [])]];
}

/** What a launch's time counts for in launchGroupRows: a linear's family, or the part of the model it works on. */
export const LAUNCH_GROUPS = [...FAMILIES, 'attention', 'layernorm', 'patch embedding', 'classifier', 'shared'] as const;
export type LaunchGroup = (typeof LAUNCH_GROUPS)[number];

/**
 * The group of a launch labelled `module` (a Hugging Face module name, `A + B` where B's
 * adapter gradients ride in A's input gradient: it counts for A), `shared` where it
 * serves several modules or none (sums, the gradient norms, AdamW, the loss, the batch,
 * the embedding's adds).
 */
export function launchGroup(module: string | null): LaunchGroup {
  if (module === null) return 'shared';
  const host = module.split(' + ')[0]!;
  if (host === MODULE_PATH.patchEmbed) return 'patch embedding';
  if (host === MODULE_PATH.classifier) return 'classifier';
  if (host === MODULE_PATH.finalNorm) return 'layernorm';
  const inBlock = pathInBlock(host);
  if (inBlock === MODULE_PATH.attention) return 'attention';
  if (inBlock === MODULE_PATH.layernormBefore || inBlock === MODULE_PATH.layernormAfter) return 'layernorm';
  // a name of no group (none the engine gives: its test checks) counts as shared
  return FAMILIES.find((f) => HUB_PATH[f] === inBlock) ?? 'shared';
}

/** Device ms of a step's launches summed by group, in LAUNCH_GROUPS' order (0 where none); null without launches. */
export function launchGroupSums(launches: LaunchTime[] | null | undefined): Map<LaunchGroup, number> | null {
  if (!launches) return null;
  const out = new Map<LaunchGroup, number>(LAUNCH_GROUPS.map((g) => [g, 0]));
  for (const l of launches) {
    const g = launchGroup(l.module);
    out.set(g, out.get(g)! + l.ms);
  }
  return out;
}

/** How the by-group table's figures were taken, for its caption. */
export const LAUNCH_GROUPS_NOTE = 'one seed\'s step, each launch timed in its own pass: the totals run above the step\'s device ms; '
  + 'a launch carrying another linear\'s adapter gradients counts for its host; the adapters\' and LayerNorms\' sums and merges, '
  + 'and the query\'s, key\'s and value\'s weight gradients where they share a launch (and their sums), for shared';

/** The by-group table's title line in markdown (the bench table's and an A/B's). */
export const LAUNCH_GROUPS_TITLE = `Device ms per step by what the launches work on (${LAUNCH_GROUPS_NOTE})`;

/**
 * Device ms of one step by group (launchGroup), the full phase (of the `full` run) beside
 * the LoRA phase (of the static `lora` run) and what the LoRA phase adds or saves, in
 * LAUNCH_GROUPS' order, the total last: where the LoRA phase's time goes. Null where no
 * run was timed launch by launch (only the compiled step is).
 */
export function launchGroupRows(r: BenchReport): string[][] | null {
  const [f, l] = [launchGroupSums(runOf(r, 'full')?.deviceMsByLaunch?.full), launchGroupSums(runOf(r, 'lora')?.deviceMsByLaunch?.lora)];
  if (!f && !l) return null;
  const ms = (v: number | undefined) => figure(v, 2);
  // the difference of the cells as shown (hundredths), so a row reads as its own subtraction
  const delta = (a: number | undefined, b: number | undefined) => {
    if (a === undefined || b === undefined) return '–';
    const d = Math.round(b * 100) - Math.round(a * 100);
    return `${d > 0 ? '+' : d < 0 ? '-' : ''}${(Math.abs(d) / 100).toFixed(2)}`;
  };
  const total = (m: Map<LaunchGroup, number> | null) => (m ? launchGroupTotal(m) : undefined);
  const rows = LAUNCH_GROUPS.filter((g) => (f?.get(g) ?? 0) + (l?.get(g) ?? 0) > 0)
    .map((g) => [g, ms(f?.get(g)), ms(l?.get(g)), delta(f?.get(g), l?.get(g))]);
  return [['launches of', 'device ms full', 'device ms LoRA', 'LoRA - full'], ...rows, ['total', ms(total(f)), ms(total(l)), delta(total(f), total(l))]];
}

/**
 * Per PreLoRA run: the families in the order their modules left full training (mean step
 * over modules and seeds), and over how many seeds its first switch and its LoRA-phase
 * figures are means where not all: a seed that made no switch, or ended before every
 * targeted module froze, has none to average, while the accuracy and phase shares count
 * every seed.
 */
export function benchSwitchOrder(r: BenchReport): string[] {
  return r.runs.filter((x) => x.mode === 'prelora').map((x) => {
    const order = Object.entries(x.familySwitchSteps).sort((a, b) => a[1] - b[1]);
    const seeds = r.perSeed.filter((s) => s.mode === x.mode && s.rule === x.rule);
    const switched = seeds.filter((s) => s.switchedAt !== null).length;
    const lora = seeds.filter((s) => s.samplesPerSec.lora !== null).length;
    const over = [
      ...(switched > 0 && switched < seeds.length ? [`its first switch is the mean over ${switched} of ${seeds.length} seeds (the others made none)`] : []),
      ...(lora > 0 && lora < seeds.length ? [`its LoRA-phase figures are means over ${lora} of ${seeds.length} seeds (the others ended before every targeted module froze)`] : []),
    ];
    // a family's mean is over the seeds in which it switched
    const family = (f: string, st: number) => {
      const k = seeds.filter((s) => s.familySwitchSteps[f] !== undefined).length;
      return `${f} ${st.toFixed(0)}${k > 0 && k < seeds.length ? ` (${k} of ${seeds.length} seeds)` : ''}`;
    };
    return `${runLabel(x)} switch order (mean step per family): ${order.length ? order.map(([f, st]) => family(f, st)).join(' < ') : 'no switch'}` +
      (over.length ? `; ${over.join(', ')}` : '');
  });
}

/** Rows (the header first) as the lines of a markdown table. */
export function markdownTable([header, ...rows]: string[][]): string[] {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header!), line(header!.map(() => '---')), ...rows.map(line)];
}

export function benchTable(r: BenchReport): string {
  const groups = launchGroupRows(r);
  return [benchTitle(r), '', ...markdownTable(benchRows(r)), '', 'Kernels per step by kind', '', ...markdownTable(kernelRows(r)), '',
    ...(groups ? [LAUNCH_GROUPS_TITLE, '', ...markdownTable(groups), ''] : []), ...benchSwitchOrder(r)].join('\n');
}
