// The sweep heat map: each module's predicted switch step (rows) against the weight
// or the loss threshold (columns, around the what-if value), and under it what each
// column gives. A click on a cell, or its column's value (a button), takes that
// value into the what-if settings.
import { useMemo } from 'react';
import { formatErrors } from '../../engine/config';
import { sweep } from '../../engine/explore/sweep';
import { TRAINABLE_SHARE_LABEL } from '../../engine/trainable-share';
import { useStore } from '../store';
import { SWEEP_AXES, type SweepAxisKey } from '../store/what-if';
import { sweepColumns } from './sweep-columns';
import { useWhatIf } from './use-replay';

const AXIS_LABELS: Record<SweepAxisKey, string> = { weightThreshold: 'weight threshold %', lossThreshold: 'loss threshold %' };
/** Early switches dark, late ones light: the step's place in the run, as a colour (and a text colour that reads on it). */
function colour(step: number, total: number): { background: string; color: string } {
  const t = Math.min(1, step / Math.max(1, total));
  return { background: `hsl(${150 - 100 * t} 55% ${32 + 50 * t}%)`, color: t > 0.55 ? '#223' : '#fff' };
}

export function SweepHeatmap() {
  const w = useWhatIf();
  const axisKey = useStore((s) => s.sweepAxis);
  const setAxis = useStore((s) => s.setSweepAxis);
  const setWhatIf = useStore((s) => s.setWhatIf);
  // 13 replays and 13 x modules cells: not on every window of a training run, where the
  // page must stay responsive; the map fills in when the run pauses or finishes
  const running = useStore((s) => s.runs.some((r) => r.id === s.activeId && (r.state === 'running' || r.state === 'starting')));
  const swept = useMemo(() => {
    if (!w || running) return null;
    const { values, errors } = sweepColumns(w.run.config, w.settings, axisKey);
    return values.length ? sweep(w.run.config, w.recorded, w.settings, { key: axisKey, values }) : { result: null, errors };
  }, [w, axisKey, running]);
  const result = swept?.result;
  if (!w || !result) {
    const why = swept?.errors.length ? `The sweep cannot run on these settings: ${formatErrors(swept.errors)}` : null;
    return (
      <section className="panel sweep" data-testid="sweep"><h2>Sweep</h2>
        <p className="hint" data-testid="sweep-hint">{running ? 'The heat map of every module\'s switch step against a threshold fills in when the run pauses or finishes.'
          : why ?? 'The switch step of every module against a threshold, once a run has windows.'}</p>
      </section>
    );
  }
  const total = w.recorded.totalSteps;
  const current = w.settings[axisKey];
  return (
    <section className="panel sweep" data-testid="sweep">
      <h2>Sweep <select aria-label="sweep axis" value={axisKey} onChange={(e) => setAxis(e.target.value as SweepAxisKey)}>
        {SWEEP_AXES.map((a) => <option key={a} value={a}>{AXIS_LABELS[a]}</option>)}
      </select> <small>switch step per module · click a column to take its value</small></h2>
      <div className="scroll">
        <table className="heatmap" data-testid="sweep-heatmap" data-axis={axisKey}>
          {/* each column's value a button (Tab, Enter): one stop a column, not one a cell, and a cell's click does the same */}
          <thead><tr><th>{AXIS_LABELS[axisKey]}</th>{result.axis.values.map((v) => (
            <th key={v} className={v === current ? 'current' : ''}>
              <button type="button" className="plain" data-testid="sweep-take" data-value={v} aria-pressed={v === current}
                aria-label={`take ${AXIS_LABELS[axisKey]} ${v}`} onClick={() => setWhatIf(axisKey, String(v))}>{v}</button>
            </th>
          ))}</tr></thead>
          <tbody>
            {w.recorded.moduleIds.map((id) => (
              <tr key={id}>
                <th>{id.replace('blocks.', '')}</th>
                {result.cells.map((c, i) => {
                  const p = c.byModule[id];
                  const v = result.axis.values[i]!;
                  return (
                    <td key={v} data-testid="sweep-cell" data-module={id} data-value={v} data-step={p?.step ?? ''}
                      className={`${p && !p.exact ? 'estimate' : ''}${v === current ? ' current' : ''}`}
                      style={p ? colour(p.step, total) : undefined}
                      title={`${AXIS_LABELS[axisKey]} ${v}: ${id} ${p ? `switches at step ${p.step}, rank ${p.rank}${p.exact ? '' : ' (estimate)'}` : 'stays in full training'}`}
                      onClick={() => setWhatIf(axisKey, String(v))}>
                      {p ? p.step : ''}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr><th>FLOPs saved</th>{result.cells.map((c, i) => <td key={i}>{Math.round(100 * c.shares.flopsSaved)}%</td>)}</tr>
            <tr><th>{TRAINABLE_SHARE_LABEL} (mean)</th>{result.cells.map((c, i) => <td key={i}>{Math.round(100 * c.shares.trainableMean)}%</td>)}</tr>
            <tr><th>steps in LoRA</th>{result.cells.map((c, i) => <td key={i}>{Math.round(100 * c.shares.loraSteps)}%</td>)}</tr>
          </tfoot>
        </table>
      </div>
    </section>
  );
}
