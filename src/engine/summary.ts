// The summary of a run, computed from its event log alone (pure): what the CLI prints
// with --json and the benchmark reports. Throughput per phase follows throughput.ts,
// the rule the page's run table uses too.
import type { KernelPath } from './backend';
import type { ModelConfig } from './config';
import { RUN_PHASES, type Divergence, type EngineEvent, type RunPhase, type StepRecord } from './events';
import { flopsPerStep, runFlops, type ShapeChange } from './flops';
import { parseModuleId } from './policy';
import { countParams } from './size';
import { NO_TALLIES, samplesPerSec, tally, type Tallies } from './throughput';
import { maxOf, minOf } from './extremes';

export interface PhaseFigures {
  steps: number;
  /** of the run's steps */
  share: number;
  samplesPerSec: number | null;
}

/** When a family's modules left full training (steps); families listed in the order they did. */
export interface FamilySwitch {
  family: string;
  modules: number;
  first: number;
  mean: number;
  last: number;
}

export interface RunSummary {
  backend: string;
  /** fused WGSL kernels (WebGPU) or tfjs's own; null where not known (a page run whose backend never reported) */
  kernels: KernelPath | null;
  mode: string;
  rule: string;
  seed: number;
  steps: number;
  /** total: the base model's parameters, adapters not counted (the trainable share's denominator) */
  params: { total: number; trainableStart: number; trainableEnd: number };
  switches: { module: string; step: number; rank: number | null }[];
  /** the families by the mean step at which their modules switched: which settle first */
  switchOrder: FamilySwitch[];
  /** mean training loss of the first and of the last 10 steps */
  loss: { first: number; last: number };
  accuracy: { test: number | null };
  /** `mixed` appears only when modules switched at different times */
  phases: { full: PhaseFigures; lora: PhaseFigures; mixed?: PhaseFigures };
  memory: { fullPhaseBytes: number | null; loraPhaseBytes: number | null };
  /** matmul FLOPs of the run's training steps (analytic, src/engine/flops.ts), and the share saved against full training */
  flops: { total: number; fullTraining: number; saved: number };
  /**
   * tensors alive at the final phase's last reading minus its first in the same state (both
   * at window ends, or both between them, from the first window end after the last switch
   * or freeze): 0 means no leak; null where it had no two such readings
   */
  tensorsGrowth: number | null;
  /** the read-back intervals' seconds summed: training time, pauses, evaluations and saves left out (the page's run table's time) */
  trainingSeconds: number;
  /**
   * the host's elapsed seconds from the run's start to its end, evaluations included (the
   * CLI's); null where none was kept (the page: its runs pause, and it showed its training
   * time here, under this name, where the CLI showed its wall time)
   */
  wallSeconds: number | null;
  /** the step whose loss or gradients were not finite (the run stopped there), or null */
  diverged: Divergence | null;
}

export interface RunMeta {
  backend: string;
  kernels: KernelPath | null;
  mode: string;
  rule: string;
  seed: number;
  batchSize: number;
  /** for the FLOP count */
  model: ModelConfig;
  wallSeconds: number | null;
}

const mean = (xs: StepRecord[]) => (xs.length ? xs.reduce((s, r) => s + r.loss, 0) / xs.length : Number.NaN);

export function summarize(events: EngineEvent[], meta: RunMeta): RunSummary {
  const records: StepRecord[] = [];
  let tallies: Tallies = NO_TALLIES;
  let trainingSeconds = 0;
  const memory: Reading[] = [];
  // the window ends so far: a reading at one's step after its event is that window end's (the engine's order)
  const closed = new Set<number>();
  const params = events.filter((e) => e.type === 'params');
  const switches: RunSummary['switches'] = [];
  const changes: ShapeChange[] = [];
  let accuracy: number | null = null;
  let diverged: Divergence | null = null;
  for (const e of events) {
    if (e.type === 'progress') {
      records.push(...e.records);
      tallies = tally(tallies, e.phase, e.records.length, e.seconds, e.cold, e.backend);
      trainingSeconds += e.seconds;
    } else if (e.type === 'window') {
      closed.add(e.window.step);
    } else if (e.type === 'memory') {
      memory.push({ step: e.step, phase: e.phase, numBytes: e.memory.numBytes, numTensors: e.memory.numTensors, atEnd: closed.has(e.step) });
    } else if (e.type === 'evaluation') {
      accuracy = e.evaluation.accuracy;
    } else if (e.type === 'diverged') {
      diverged = e.divergence;
    } else if (e.type === 'phase') {
      changes.push(e.change);
      if (e.change.from === 'full') switches.push({ module: e.change.module, step: e.change.step, rank: e.change.rank });
    }
  }
  const phases: RunSummary['phases'] = { full: { steps: 0, share: 0, samplesPerSec: null }, lora: { steps: 0, share: 0, samplesPerSec: null } };
  for (const phase of RUN_PHASES) {
    const t = tallies.phases[phase];
    if (t) phases[phase] = { steps: t.steps, share: records.length ? t.steps / records.length : 0, samplesPerSec: samplesPerSec(t, meta.batchSize) };
  }
  const lastOf = (phase: RunPhase) => memory.filter((m) => m.phase === phase).at(-1)?.numBytes ?? null;
  const fullTraining = records.length * flopsPerStep(meta.model, { batchSize: meta.batchSize });
  const total = runFlops(meta.model, meta.batchSize, records.length, changes);
  return {
    backend: meta.backend,
    kernels: meta.kernels,
    mode: meta.mode,
    rule: meta.rule,
    seed: meta.seed,
    steps: records.length,
    params: {
      // the base model's, in every mode: the first event's count held static LoRA's adapters
      // (37,162 on micro against PreLoRA's 27,946 for the same model)
      total: countParams(meta.model),
      trainableStart: params[0]?.trainable ?? 0,
      trainableEnd: params.at(-1)?.trainable ?? 0,
    },
    switches,
    switchOrder: switchOrder(switches),
    loss: { first: mean(records.slice(0, 10)), last: mean(records.slice(-10)) },
    accuracy: { test: accuracy },
    phases,
    memory: { fullPhaseBytes: lastOf('full'), loraPhaseBytes: lastOf('lora') },
    flops: { total, fullTraining, saved: fullTraining > 0 ? 1 - total / fullTraining : 0 },
    // the last change a reading could see: a run's last freezes may come at its end, after its last read-back
    tensorsGrowth: tensorsGrowth(memory, [...closed], maxOf(changes.filter((c) => c.step < (memory.at(-1)?.step ?? 0)).map((c) => c.step), 0)),
    trainingSeconds,
    wallSeconds: meta.wallSeconds,
    diverged,
  };
}

/** A memory read-back; `atEnd`: taken at a window end, after that window closed (its sums out). */
type Reading = { step: number; phase: RunPhase; numBytes: number; numTensors: number; atEnd: boolean };

/**
 * Tensors alive at the final phase's last reading against its first in the same state, or
 * null where no two are. The run's shapes last changed at `lastChange` (a switch adds an
 * adapter, a freeze drops a base's gradients), and a module frozen keeps its snapshot to
 * the next window end (12 tensors at micro); a window end's reading has the window's sums
 * out (2 fewer): so from the first window end after the last change, readings at window
 * ends are compared with each other, or else those between them (a read-back flushed
 * before its step's window closed is one of those). Compared across states, a run whose
 * read-backs missed its window ends read -12 and hid a leak of as many, and one ending
 * mixed, from its first switch on, -14.
 */
function tensorsGrowth(memory: Reading[], ends: number[], lastChange: number): number | null {
  const phase = memory.at(-1)?.phase;
  const settled = ends.find((e) => e >= lastChange);
  if (!phase || settled === undefined) return null;
  const kept = memory.filter((m) => m.phase === phase && m.step >= settled && m.step > lastChange);
  const atEnds = kept.filter((m) => m.atEnd);
  const between = kept.filter((m) => !m.atEnd);
  const same = atEnds.length > 1 ? atEnds : between.length > 1 ? between : null;
  return same ? same.at(-1)!.numTensors - same[0]!.numTensors : null;
}

/** Families ordered by the mean step of their modules' switches (then by the first). */
export function switchOrder(switches: RunSummary['switches']): FamilySwitch[] {
  const steps = new Map<string, number[]>();
  for (const sw of switches) {
    const { family } = parseModuleId(sw.module);
    steps.set(family, [...(steps.get(family) ?? []), sw.step]);
  }
  return [...steps].map(([family, xs]) => ({
    family, modules: xs.length, first: minOf(xs), mean: xs.reduce((a, b) => a + b, 0) / xs.length, last: maxOf(xs),
  })).sort((a, b) => a.mean - b.mean || a.first - b.first);
}
