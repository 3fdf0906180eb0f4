// Combining a benchmark's seeds and printing its table (pure).
export interface PerPhase {
  full: number | null;
  lora: number | null;
}

export interface SeedResult {
  mode: string;
  rule: string;
  seed: number;
  samplesPerSec: PerPhase;
  wallSeconds: number;
  memoryBytes: PerPhase & { peak: number };
  trainableShare: number;
  accuracy: number;
  dispatchesPerStep: PerPhase;
  flopsPerStep: PerPhase;
  switchedAt: number | null;
}

export interface BenchRun extends Omit<SeedResult, 'seed' | 'accuracy'> {
  /** test accuracy: mean and sample standard deviation over the seeds (0 for one seed) */
  accuracy: { mean: number; spread: number };
  seeds: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const meanOrNull = (xs: (number | null)[]) => {
  const ok = xs.filter((x): x is number => x !== null);
  return ok.length ? mean(ok) : null;
};

export function combineSeeds(rs: SeedResult[]): BenchRun {
  const acc = rs.map((r) => r.accuracy);
  const m = mean(acc);
  const spread = acc.length > 1 ? Math.sqrt(acc.reduce((s, a) => s + (a - m) ** 2, 0) / (acc.length - 1)) : 0;
  const phase = (f: (r: SeedResult) => PerPhase): PerPhase => ({ full: meanOrNull(rs.map((r) => f(r).full)), lora: meanOrNull(rs.map((r) => f(r).lora)) });
  return {
    mode: rs[0]!.mode, rule: rs[0]!.rule, seeds: rs.length,
    samplesPerSec: phase((r) => r.samplesPerSec),
    wallSeconds: mean(rs.map((r) => r.wallSeconds)),
    memoryBytes: { ...phase((r) => r.memoryBytes), peak: Math.max(...rs.map((r) => r.memoryBytes.peak)) },
    trainableShare: mean(rs.map((r) => r.trainableShare)),
    accuracy: { mean: m, spread },
    dispatchesPerStep: phase((r) => r.dispatchesPerStep),
    flopsPerStep: phase((r) => r.flopsPerStep),
    switchedAt: meanOrNull(rs.map((r) => r.switchedAt)),
  };
}

const n = (x: number | null, digits = 1) => (x === null ? '–' : x.toFixed(digits));
const mb = (x: number | null) => (x === null ? '–' : (x / 1e6).toFixed(2));
const gf = (x: number | null) => (x === null ? '–' : (x / 1e9).toFixed(2));

export function benchTable(r: { preset: string; dataset: string; backend: string; steps: number; seeds: number; runs: BenchRun[] }): string {
  const full = r.runs.find((x) => x.mode === 'full');
  const rows = r.runs.map((x) => {
    const ratio = (a: number | null, b: number | null | undefined) => (a !== null && b ? `${(a / b).toFixed(2)}x` : '–');
    return `| ${x.mode}${x.mode === 'prelora' ? ` (${x.rule})` : ''} | ${n(x.switchedAt, 0)} | ${n(x.samplesPerSec.full)} | ${n(x.samplesPerSec.lora)} | ` +
      `${ratio(x.samplesPerSec.lora, x.samplesPerSec.full ?? full?.samplesPerSec.full)} | ${x.wallSeconds.toFixed(0)} (${ratio(x.wallSeconds, full?.wallSeconds)}) | ` +
      `${mb(x.memoryBytes.full)} / ${mb(x.memoryBytes.lora)} / ${mb(x.memoryBytes.peak)} | ${(100 * x.trainableShare).toFixed(1)}% | ` +
      `${(100 * x.accuracy.mean).toFixed(1)} ± ${(100 * x.accuracy.spread).toFixed(1)} | ${n(x.dispatchesPerStep.full, 0)} / ${n(x.dispatchesPerStep.lora, 0)} | ` +
      `${gf(x.flopsPerStep.full)} / ${gf(x.flopsPerStep.lora)} |`;
  });
  return [
    `${r.preset} on ${r.dataset}, ${r.steps} steps, ${r.seeds} seed(s), backend ${r.backend}`,
    '',
    '| run | first switch | samples/s full | samples/s LoRA | LoRA / full | wall s (vs full) | MB full / LoRA / peak | trainable | test acc % | kernels/step full / LoRA | GFLOP/step full / LoRA |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
