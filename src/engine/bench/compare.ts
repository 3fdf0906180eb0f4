// tfjs against the PyTorch reference (bench/torch_reference.py), phase by phase: the
// full phase of the `full` run against PyTorch's full training, and the LoRA phase of
// the static `lora` run (the same rank on every block linear) against PyTorch's LoRA.
import { figure, ratio, runOf, type BenchReport } from './report';

export interface TorchPhase {
  samplesPerSec: number;
  hostMsPerStep: number;
  /** summed kernel time of one step (profiler), ms */
  deviceMsPerStep: number | null;
  peakBytes: number | null;
  trainableShare: number;
}

/** What torch_reference.py writes with --out. */
export interface TorchReference {
  torch: string;
  cuda: string | null;
  device: string;
  batchSize: number;
  rank: number;
  phases: { full: TorchPhase; lora: TorchPhase };
}

export interface PhaseComparison {
  phase: 'full' | 'lora';
  tfjs: { samplesPerSec: number | null; hostMsPerStep: number | null; deviceMsPerStep: number | null };
  torch: TorchPhase;
  /** tfjs samples/s as a fraction of PyTorch's */
  fraction: number | null;
}

export function compareWithTorch(report: BenchReport, torch: TorchReference): PhaseComparison[] {
  if (report.batchSize !== torch.batchSize) {
    throw new Error(`the two ran different batches (tfjs ${report.batchSize}, PyTorch ${torch.batchSize}): run both from one --print-config`);
  }
  const full = runOf(report, 'full');
  const lora = runOf(report, 'lora');
  const side = (run: typeof full, phase: 'full' | 'lora') => ({
    samplesPerSec: run?.samplesPerSec[phase] ?? null,
    hostMsPerStep: run?.hostMsPerStep[phase] ?? null,
    deviceMsPerStep: run?.deviceMsPerStep[phase] ?? null,
  });
  return (['full', 'lora'] as const).map((phase) => {
    const tfjs = side(phase === 'full' ? full : lora, phase);
    const t = torch.phases[phase];
    return { phase, tfjs, torch: t, fraction: ratio(tfjs.samplesPerSec, t.samplesPerSec) };
  });
}

export function comparisonTable(report: BenchReport, torch: TorchReference): string {
  const n = (x: number | null, d = 1) => figure(x, d);
  const rows = compareWithTorch(report, torch).map((c) =>
    `| ${report.preset} | ${c.phase === 'full' ? 'full' : `LoRA (rank ${torch.rank})`} | ${n(c.tfjs.samplesPerSec, 0)} | ${n(c.torch.samplesPerSec, 0)} | ` +
    `${figure(c.fraction && 100 * c.fraction, 1, '%')} | ${n(c.tfjs.hostMsPerStep)} / ${n(c.tfjs.deviceMsPerStep)} | ` +
    `${n(c.torch.hostMsPerStep)} / ${n(c.torch.deviceMsPerStep)} |`);
  return [
    `tfjs (${report.backend}, ${report.device || 'unknown device'}) against PyTorch ${torch.torch} eager fp32 (${torch.device}), batch ${report.batchSize}`,
    '',
    '| preset | phase | tfjs samples/s | PyTorch samples/s | tfjs / PyTorch | tfjs ms/step host / device | PyTorch ms/step host / device |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
