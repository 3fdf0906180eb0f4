// The summary of a run, computed from its event log alone (pure): what the CLI prints
// with --json and the benchmark reports. Throughput per phase follows throughput.ts,
// the rule the page's run table uses too.
import type { KernelPath } from './backend';
import type { Divergence, EngineEvent, RunPhase, StepRecord } from './events';
import { samplesPerSec, tally, type Tallies } from './throughput';

export interface PhaseFigures {
  steps: number;
  samplesPerSec: number | null;
}

export interface RunSummary {
  backend: string;
  /** fused WGSL kernels (WebGPU) or tfjs's own */
  kernels: KernelPath;
  mode: string;
  rule: string;
  seed: number;
  steps: number;
  params: { total: number; trainableStart: number; trainableEnd: number };
  switches: { module: string; step: number; rank: number | null }[];
  /** mean training loss of the first and of the last 10 steps */
  loss: { first: number; last: number };
  accuracy: { test: number | null };
  /** `mixed` appears only when modules switched at different times */
  phases: { full: PhaseFigures; lora: PhaseFigures; mixed?: PhaseFigures };
  memory: { fullPhaseBytes: number | null; loraPhaseBytes: number | null };
  /** tensors alive at the last window end minus at the first one of the final phase: 0 means no leak */
  tensorsGrowth: number;
  wallSeconds: number;
  /** the step whose loss or gradients were not finite (the run stopped there), or null */
  diverged: Divergence | null;
}

export interface RunMeta {
  backend: string;
  kernels: KernelPath;
  mode: string;
  rule: string;
  seed: number;
  batchSize: number;
  /** readings at window ends are comparable: the window's accumulators are gone then */
  windowSteps: number;
  wallSeconds: number;
}

const mean = (xs: StepRecord[]) => (xs.length ? xs.reduce((s, r) => s + r.loss, 0) / xs.length : Number.NaN);

export function summarize(events: EngineEvent[], meta: RunMeta): RunSummary {
  const records: StepRecord[] = [];
  let tallies: Tallies = {};
  const memory: { step: number; phase: RunPhase; numBytes: number; numTensors: number }[] = [];
  const params = events.filter((e) => e.type === 'params');
  const switches: RunSummary['switches'] = [];
  let accuracy: number | null = null;
  let diverged: Divergence | null = null;
  for (const e of events) {
    if (e.type === 'progress') {
      records.push(...e.records);
      tallies = tally(tallies, e.phase, e.records.length, e.seconds);
    } else if (e.type === 'memory') {
      memory.push({ step: e.step, phase: e.phase, numBytes: e.memory.numBytes, numTensors: e.memory.numTensors });
    } else if (e.type === 'evaluation') {
      accuracy = e.evaluation.accuracy;
    } else if (e.type === 'diverged') {
      diverged = e.divergence;
    } else if (e.type === 'phase' && e.change.from === 'full') {
      switches.push({ module: e.change.module, step: e.change.step, rank: e.change.rank });
    }
  }
  const phases: RunSummary['phases'] = { full: { steps: 0, samplesPerSec: null }, lora: { steps: 0, samplesPerSec: null } };
  for (const phase of ['full', 'mixed', 'lora'] as const) {
    const t = tallies[phase];
    if (t) phases[phase] = { steps: t.steps, samplesPerSec: samplesPerSec(t, meta.batchSize) };
  }
  const lastOf = (phase: RunPhase) => memory.filter((m) => m.phase === phase).at(-1)?.numBytes ?? null;
  const finalPhase = memory.at(-1)?.phase;
  const final = memory.filter((m) => m.phase === finalPhase);
  const atWindowEnds = final.filter((m) => m.step % meta.windowSteps === 0);
  const inFinal = atWindowEnds.length > 1 ? atWindowEnds : final;
  return {
    backend: meta.backend,
    kernels: meta.kernels,
    mode: meta.mode,
    rule: meta.rule,
    seed: meta.seed,
    steps: records.length,
    params: {
      total: params[0]?.total ?? 0,
      trainableStart: params[0]?.trainable ?? 0,
      trainableEnd: params.at(-1)?.trainable ?? 0,
    },
    switches,
    loss: { first: mean(records.slice(0, 10)), last: mean(records.slice(-10)) },
    accuracy: { test: accuracy },
    phases,
    memory: { fullPhaseBytes: lastOf('full'), loraPhaseBytes: lastOf('lora') },
    tensorsGrowth: inFinal.length ? inFinal.at(-1)!.numTensors - inFinal[0]!.numTensors : 0,
    wallSeconds: meta.wallSeconds,
    diverged,
  };
}
