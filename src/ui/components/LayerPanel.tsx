// Every module of every layer of the selected run: its phase by colour, its rank, when
// it switched, or its latest value of the run's metric. A full module of the worker's
// live run is a button that forces its switch (click, or Tab and Enter); a family outside
// prelora.targets trains fully and is no button, nor is any module of a baseline run.
import { moduleId } from '../../engine/policy';
import { FAMILIES } from '../../engine/vit-families';
import { useStore } from '../store';
import { useActiveRun, useLiveRun } from '../store/hooks';
import { latestMetric } from '../store/selectors';
import { useWhatIf } from '../what-if/use-replay';

export function LayerPanel() {
  const run = useActiveRun();
  const live = useLiveRun();
  const forceSwitch = useStore((s) => s.forceSwitch);
  const depth = run?.config.model.depth ?? 0;
  const whatIf = useWhatIf(); // the replay's prediction under each cell
  // the baselines keep their one shape: full training never switches, static LoRA has its adapters from step 0
  const baseline = run !== undefined && run.config.prelora.mode !== 'prelora';
  const clickable = run !== undefined && run === live && !baseline && (run.state === 'running' || run.state === 'paused');
  // a finished, stopped or failed run has no trainer to switch a module on: say so rather than offer cells that do nothing
  // a starting run has no cells to click yet: they come (as buttons) once it trains
  const switchHint = baseline ? `a ${run.config.prelora.mode === 'full' ? 'full-training' : 'static LoRA'} run is a baseline: its modules do not switch`
    : run?.state === 'starting' ? 'once the run starts, click a full cell to switch it now'
    : !run || run.state === 'running' || run.state === 'paused' ? 'click a full cell to switch it now'
    : `switching by hand needs a live run (running or paused); this one is ${run.state}`;
  return (
    <section className="panel">
      <h2>Layers <small><i className="swatch full" /> full <i className="swatch joint" /> joint <i className="swatch lora" /> LoRA · rank, @switch step or latest {run?.config.prelora.metric ?? 'change'} · <span data-testid="layer-panel-hint">{switchHint}</span>{whatIf ? ' · if: the what-if replay' : ''}</small></h2>
      {run ? null : <p className="hint" data-testid="layers-hint">Press Start: every linear layer of every block appears here, blue while it trains fully, then yellow (joint) and green (LoRA) as it switches, with its rank.</p>}
      {/* a narrow window scrolls the table here, not the page */}
      <div className="scroll">
        <table className="layers" data-testid="layer-panel" data-metric={run?.config.prelora.metric}>
          <thead><tr><th>layer</th>{FAMILIES.map((f) => <th key={f}>{f}</th>)}</tr></thead>
          <tbody>
            {Array.from({ length: depth }, (_, l) => (
              <tr key={l}>
                <th>{l}</th>
                {FAMILIES.map((f) => {
                  const id = moduleId(l, f);
                  const cell = run?.modules[id];
                  const phase = cell?.phase ?? 'full';
                  const latest = run ? latestMetric(run, id) : null;
                  const p = whatIf?.replay.byModule[id];
                  const targeted = run?.config.prelora.targets.includes(f) ?? true;
                  const offered = clickable && targeted && phase === 'full';
                  const content = <>
                    <b>{cell?.rank ? `r${cell.rank}` : phase === 'full' ? '' : '–'}</b>
                    <span>{cell?.switchedAt != null ? `@${cell.switchedAt}` : latest != null ? latest.toFixed(2) : ''}</span>
                    {whatIf ? <i className={`if${p && !p.exact ? ' estimate' : ''}`} data-testid="predicted">{p ? `if ${p.exact ? '' : '~'}@${p.step} r${p.rank}` : 'if –'}</i> : null}
                  </>;
                  return (
                    <td key={f} data-testid="module-cell" data-module={id} data-phase={phase} data-rank={cell?.rank ?? ''} data-latest={latest ?? ''} data-predicted={p?.step ?? ''}
                      className={`cell ${phase}${targeted ? '' : ' untargeted'}`}
                      title={`${id}: ${phase}${cell?.switchedAt != null ? `, switched at step ${cell.switchedAt}` : ''}${targeted ? '' : ', not in prelora.targets: it trains fully'}`}>
                      {/* a button only where a switch can happen, so the keyboard (and a screen reader) is offered exactly those */}
                      {offered ? <button type="button" className="plain" aria-label={`switch ${id} to LoRA now`} onClick={() => forceSwitch(id)}>{content}</button> : content}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
