// A run as data to take away (pure, no tfjs: the page builds it from the worker's
// events): the JSON record (what ran, its live changes, the summary the CLI prints,
// every event) and tidy CSV tables, one observation per row: a step, an evaluation, a
// window, a module in a window, a phase change, a reading, a live change.
import type { KernelPath } from './backend';
import type { RunConfig } from './config';
import type { EngineEvent } from './events';
import type { PolicyUpdate } from './live';
import { parseModuleId } from './policy';
import { summarize, type RunSummary } from './summary';

export const RUN_RECORD_FORMAT = 'prelora-run';
/**
 * 2: the run's time is `run.trainingSeconds` (1 called it wallSeconds), the summary has
 * trainingSeconds and a wallSeconds that a page record leaves null, and params.total is
 * the base model's
 */
export const RUN_RECORD_VERSION = 2;

/** A live change as the worker confirmed it: it counts from the decision after `step`. */
export interface PolicyChange {
  step: number;
  update: PolicyUpdate;
}

/** What the page knows of a run beyond its events. */
export interface RunAbout {
  label: string;
  /** the preset it started from, when known */
  preset: string | null;
  /** ISO time the run was started */
  startedAt: string;
  /** the backend that ran it, and its kernel path (fused or composite), when known */
  backend: string | null;
  kernels: KernelPath | null;
  state: string;
  /** the weights it started from (a model.safetensors), or null for a fresh model */
  init: string | null;
  /** seconds spent training: pauses, evaluations and saves left out (the run table's time) */
  trainingSeconds: number;
}

export interface RunRecord {
  format: typeof RUN_RECORD_FORMAT;
  version: typeof RUN_RECORD_VERSION;
  run: RunAbout;
  /** the config that ran, with its live changes applied */
  config: RunConfig;
  policyChanges: PolicyChange[];
  summary: RunSummary;
  events: EngineEvent[];
}

export function runRecord(about: RunAbout, config: RunConfig, events: EngineEvent[], policyChanges: PolicyChange[]): RunRecord {
  const summary = summarize(events, {
    backend: about.backend ?? 'unknown', kernels: about.kernels, mode: config.prelora.mode, rule: config.prelora.rule, seed: config.seed,
    batchSize: config.optim.batchSize, model: config.model, wallSeconds: null,
  });
  return { format: RUN_RECORD_FORMAT, version: RUN_RECORD_VERSION, run: about, config, policyChanges, summary, events };
}

type Cell = string | number | boolean | null | undefined;

/** One CSV field (RFC 4180): empty for a missing value, quoted when it holds a comma, quote or line break. */
function field(c: Cell): string {
  if (c === null || c === undefined) return '';
  const s = String(c);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(header: readonly string[], rows: readonly Cell[][]): string {
  return [header, ...rows].map((r) => r.map(field).join(',')).join('\r\n') + '\r\n';
}

const moduleCells = (id: string): Cell[] => {
  const { layer, family } = parseModuleId(id);
  return [id, layer, family];
};

/** The run's tidy tables as CSV text, by file name. */
export function runTables(events: readonly EngineEvent[], policyChanges: readonly PolicyChange[] = []): Record<string, string> {
  const of = <K extends EngineEvent['type']>(type: K) => events.filter((e): e is Extract<EngineEvent, { type: K }> => e.type === type);
  const windows = of('window').map((e) => e.window);
  // the statistics a module window has, in the order the engine writes them
  const stats = [...new Set(windows.flatMap((w) => Object.values(w.modules).flatMap((m) => Object.keys(m))))];
  return {
    'losses.csv': toCsv(['step', 'epoch', 'loss', 'lr'],
      of('progress').flatMap((e) => e.records.map((r) => [r.step, r.epoch, r.loss, r.lr]))),
    // cold: the first interval after a restore, or one that ran a module's new shapes first,
    // which the summary leaves out as a phase's first
    'throughput.csv': toCsv(['step', 'steps', 'seconds', 'samplesPerSec', 'phase', 'cold'],
      of('progress').map((e) => [e.records.at(-1)?.step, e.records.length, e.seconds, e.samplesPerSec, e.phase, e.cold ?? false])),
    'evaluations.csv': toCsv(['step', 'loss', 'accuracy', 'count'],
      of('evaluation').map(({ evaluation: v }) => [v.step, v.loss, v.accuracy, v.count])),
    'windows.csv': toCsv(['step', 'loss', 'lossChange%'], windows.map((w) => [w.step, w.loss, w['lossChange%']])),
    'module-windows.csv': toCsv(['step', 'module', 'layer', 'family', ...stats],
      windows.flatMap((w) => Object.entries(w.modules).map(([id, m]) => [w.step, ...moduleCells(id), ...stats.map((k) => m[k as keyof typeof m])]))),
    // threshold, patience, loss threshold and the rank metric (and the window it read) as the switch was decided
    // (empty in events recorded before they were kept, and the loss threshold where the loss test was off)
    'phases.csv': toCsv(['step', 'module', 'layer', 'family', 'from', 'to', 'rank', 'decidedBy', 'metric', 'rule', 'value', 'threshold', 'patience', 'lossThreshold', 'rankMetric', 'rankScope', 'rankWindow', 'lossBefore', 'lossAfter'],
      of('phase').map(({ change: c }) => {
        const d = typeof c.decidedBy === 'object' ? c.decidedBy : null;
        return [c.step, ...moduleCells(c.module), c.from, c.to, c.rank, typeof c.decidedBy === 'object' ? 'policy' : c.decidedBy,
          d?.metric, d?.rule, d?.value, d?.threshold, d?.patience, d?.lossThreshold, c.rankedBy?.metric, c.rankedBy?.scope, c.rankedBy?.window, c.lossBefore, c.lossAfter];
      })),
    // counts at each change point; no memory there: read at the change, before any optimizer
    // moment (the start) or just after a switch reset them, it read 0 optimizer bytes at every
    // row of a global-rule run (memory.csv has the read-backs of each log interval)
    'params.csv': toCsv(['step', 'total', 'trainable'], of('params').map((e) => [e.step, e.total, e.trainable])),
    'memory.csv': toCsv(['step', 'phase', 'tensors', 'bytes', 'bytesInGPU'],
      of('memory').map((e) => [e.step, e.phase, e.memory.numTensors, e.memory.numBytes, e.memory.numBytesInGPU])),
    'settings.csv': toCsv(['step', 'setting', 'value'],
      policyChanges.flatMap((c) => Object.entries(c.update).map(([k, v]) => [c.step, `prelora.${k}`, Array.isArray(v) ? v.join(' ') : v]))),
  };
}
