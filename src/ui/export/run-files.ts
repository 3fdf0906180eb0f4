// A run's files from what the page holds (its view and its full event log): the JSON
// record, the tidy CSV tables in one zip, and the PreLoRA plan (the same buildPlan the
// model export writes to plan.json).
import { zipSync } from 'fflate';
import { buildPlan } from '../../engine/io/plan';
import { moduleId } from '../../engine/policy';
import { runRecord, runTables, type RunRecord } from '../../engine/run-record';
import { FAMILIES } from '../../engine/vit-families';
import { runLog } from '../store/run-log';
import type { RunView } from '../store/runs';

export function runJson(run: RunView): RunRecord {
  const { events, policyChanges } = runLog.read(run.id);
  const about = {
    label: run.label, preset: run.preset, startedAt: new Date(run.startedAt).toISOString(), backend: run.backend, kernels: run.kernels,
    state: run.diverged ? 'diverged' : run.state, init: run.init, trainingSeconds: run.seconds,
  };
  return runRecord(about, run.config, events, policyChanges);
}

/** Every table as a CSV file, zipped. */
export function runCsvZip(run: RunView): Uint8Array<ArrayBuffer> {
  const { events, policyChanges } = runLog.read(run.id);
  const tables = runTables(events, policyChanges);
  return zipSync(Object.fromEntries(Object.entries(tables).map(([name, csv]) => [name, new TextEncoder().encode(csv)])));
}

/** The plan of a run from its events: every module of its model, in the model's order. */
export function runPlan(run: RunView): Record<string, unknown> {
  const states = Array.from({ length: run.config.model.depth }, (_, l) => FAMILIES.map((f) => {
    const id = moduleId(l, f);
    const cell = run.modules[id];
    return { id, phase: cell?.phase ?? 'full', rank: cell?.rank ?? null, switchedAt: cell?.switchedAt ?? null };
  })).flat();
  return buildPlan({ settings: run.config.prelora, totalSteps: run.config.schedule.steps, step: run.step, states, changes: run.changes, history: run.windows });
}
