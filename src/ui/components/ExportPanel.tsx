// Take a run away: its metrics and events (JSON, CSV tables), its PreLoRA plan, and its
// model as the engine exports it (Hugging Face ViT, base + PEFT adapter, plan, interop
// bundle) while the worker still holds it; each file named for the run.
import { useState } from 'react';
import { PEFT_NAMINGS, type PeftNaming } from '../../engine/io/hf-names';
import { attempt } from '../export/attempt';
import { JSON_TYPE, saveFile } from '../export/download';
import { runStem } from '../export/names';
import { useStore } from '../store';
import { useActiveRun } from '../store/hooks';
import type { RunView } from '../store/runs';

// on demand: the tables, the plan and the zip writer stay out of the page's first download
const runFiles = () => import('../export/run-files');

const NAMING_LABELS: Record<PeftNaming, string> = { transformers5: 'transformers 5', transformers4: 'transformers 4' };

/** Why this run's model cannot be exported now, or null when it can. */
function modelUnavailable(run: RunView, heldRunId: string | null): string | null {
  if (run.diverged) return `diverged at step ${run.diverged.step}: its weights are not finite, so only its metrics and plan export`;
  if (run.id !== heldRunId) {
    return 'the worker no longer holds this run\'s model: it keeps only the latest run (a reset, a crash or a new backend lets it go); its metrics and plan still export';
  }
  if (run.state === 'running' || run.state === 'starting') return 'pause the run to export its model (it is read between two steps)';
  return null;
}

export function ExportPanel() {
  const run = useActiveRun();
  const heldRunId = useStore((s) => s.heldRunId);
  const exporting = useStore((s) => s.exporting);
  const exportModel = useStore((s) => s.exportModel);
  const [naming, setNaming] = useState<PeftNaming>('transformers5');
  const [problem, setProblem] = useState<{ runId: string; message: string } | null>(null);
  if (!run) return null;
  const stem = runStem(run);
  const json = (name: string, value: unknown) => saveFile(`${stem}-${name}.json`, `${JSON.stringify(value, null, 1)}\n`, JSON_TYPE);
  const take = (what: string, make: (f: Awaited<ReturnType<typeof runFiles>>) => unknown) => {
    const runId = run.id;
    void attempt(what, async () => make(await runFiles())).then((message) => setProblem(message === null ? null : { runId, message }));
  };
  const unavailable = modelUnavailable(run, heldRunId);
  const busy = exporting?.runId === run.id;
  return (
    <section className="panel keep" data-testid="export-panel" data-run={run.id}>
      <h2>Take away <small>{run.label}{run.preset ? `, ${run.preset}` : ''}{run.init ? `, started from ${run.init}` : ''}</small></h2>
      <div className="controls">
        <span>metrics and events
          <button data-testid="export-json" onClick={() => take('the metrics and events (JSON)', (f) => json('run', f.runJson(run)))}>JSON</button>
          <button data-testid="export-csv" onClick={() => take('the CSV tables', (f) => saveFile(`${stem}-tables.zip`, f.runCsvZip(run), 'application/zip'))}>
            CSV tables (.zip)</button>
        </span>
        <span>PreLoRA plan <button data-testid="export-plan" onClick={() => take('the plan', (f) => json('plan', f.runPlan(run)))}>plan.json</button></span>
        <span>model
          <select aria-label="adapter names" data-testid="export-naming" value={naming} onChange={(e) => setNaming(e.target.value as PeftNaming)}>
            {PEFT_NAMINGS.map((n) => <option key={n} value={n}>{`adapter for ${NAMING_LABELS[n]}`}</option>)}
          </select>
          <button data-testid="export-model" disabled={unavailable !== null || busy} title={unavailable ?? undefined}
            onClick={() => exportModel(run.id, naming)}>{busy ? 'exporting…' : 'Hugging Face + PEFT (.zip)'}</button>
        </span>
        {unavailable && <small className="why" data-testid="export-model-why">{unavailable}</small>}
        {problem?.runId === run.id && <small className="bad" data-testid="export-problem">{problem.message}</small>}
      </div>
    </section>
  );
}
