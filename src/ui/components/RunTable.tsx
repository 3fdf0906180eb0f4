// Every run side by side: final accuracy, time, samples/s by phase, trainable share.
import { useStore } from '../store';
import type { RunView } from '../store/runs';

function phaseRate(r: RunView, phase: 'full' | 'lora'): string {
  const pts = r.efficiency.filter((p) => p.phase === phase);
  const steady = pts.length > 1 ? pts.slice(1) : pts; // the first interval carries compilation
  if (!steady.length) return '–';
  return (steady.reduce((s, p) => s + p.samplesPerSec, 0) / steady.length).toFixed(0);
}

export function RunTable() {
  const runs = useStore((s) => s.runs);
  const activeId = useStore((s) => s.activeId);
  if (!runs.length) return null;
  return (
    <section className="panel">
      <h2>Runs</h2>
      <table className="runs" data-testid="run-table">
        <thead><tr><th /><th>run</th><th>state</th><th>step</th><th>test accuracy</th><th>time</th><th>samples/s full</th><th>samples/s LoRA</th><th>trainable</th></tr></thead>
        <tbody>
          {runs.map((r) => {
            const acc = r.evaluations.at(-1);
            const p = r.params.at(-1);
            return (
              <tr key={r.id} className={r.id === activeId ? 'active' : ''} onClick={() => useStore.setState({ activeId: r.id })}>
                <td><i className="swatch" style={{ background: r.color }} /></td>
                <td>{r.label}</td>
                <td>{r.diverged
                  ? <span className="diverged" data-testid="diverged" title={r.diverged.message}>diverged at step {r.diverged.step}</span>
                  : r.state}</td>
                <td>{r.step}</td>
                <td>{acc ? `${(100 * acc.accuracy).toFixed(1)}% @${acc.step}` : '–'}</td>
                <td>{r.seconds.toFixed(0)} s</td>
                <td>{phaseRate(r, 'full')}</td><td>{phaseRate(r, 'lora')}</td>
                <td>{p ? `${((100 * p.trainable) / p.total).toFixed(1)}%` : '–'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
