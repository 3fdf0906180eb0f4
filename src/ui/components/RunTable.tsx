// Every run side by side: its name (and the weights file it started from, if any),
// state, final accuracy, time, samples/s by phase (the same rule as the CLI's summary),
// its weight threshold now, trainable share (of the base model's parameters, as every
// view counts it). A row selects the run the charts and the layer panel show: a click
// anywhere on it, or its name, a button, for the keyboard.
import { RUN_PHASES, type RunPhase } from '../../engine/events';
import { samplesPerSec } from '../../engine/throughput';
import { formatShare, trainableShare, TRAINABLE_SHARE_LABEL } from '../../engine/trainable-share';
import { useStore } from '../store';
import type { RunView } from '../store/runs';

const PHASE_LABELS: Record<RunPhase, string> = { full: 'full', mixed: 'mixed', lora: 'LoRA' };

function rate(r: RunView, phase: RunPhase): string {
  const v = samplesPerSec(r.throughput.phases[phase], r.config.optim.batchSize);
  return v === null ? '–' : v.toFixed(0);
}

export function RunTable() {
  const runs = useStore((s) => s.runs);
  const activeId = useStore((s) => s.activeId);
  const selectRun = useStore((s) => s.selectRun);
  if (!runs.length) return null;
  return (
    <section className="panel">
      <h2>Runs <small>click a row to show that run</small></h2>
      <table className="runs" data-testid="run-table">
        <thead><tr><th /><th>run</th><th>state</th><th>step</th><th>test accuracy</th><th>time</th>
          {RUN_PHASES.map((p) => <th key={p}>samples/s {PHASE_LABELS[p]}</th>)}<th>weight threshold</th><th>{TRAINABLE_SHARE_LABEL}</th></tr></thead>
        <tbody>
          {runs.map((r) => {
            const acc = r.evaluations.at(-1);
            const p = r.params.at(-1);
            return (
              <tr key={r.id} data-testid="run-row" data-run={r.id} className={r.id === activeId ? 'active' : ''} onClick={() => selectRun(r.id)}>
                <td><i className="swatch" style={{ background: r.color }} /></td>
                {/* a real button, so Tab reaches it and Enter or Space selects: its click bubbles to the row's */}
                <td><button type="button" className="plain" aria-pressed={r.id === activeId}>{r.label}</button>
                  {r.init ? <small className="init" data-testid="run-init">started from {r.init}</small> : null}</td>
                <td>{r.diverged
                  ? <span className="diverged" data-testid="diverged" title={r.diverged.message}>diverged at step {r.diverged.step}</span>
                  : r.state}</td>
                <td>{r.step}</td>
                <td>{acc ? `${(100 * acc.accuracy).toFixed(1)}% @${acc.step}` : '–'}</td>
                <td>{r.seconds.toFixed(0)} s</td>
                {RUN_PHASES.map((phase) => <td key={phase}>{rate(r, phase)}</td>)}
                <td data-testid="run-threshold">{r.config.prelora.weightThreshold}</td>
                <td>{p ? formatShare(trainableShare(r.config.model, p.trainable)) : '–'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
