// Every module of every layer: its phase by colour, its rank, when it switched and its
// latest change. A click forces that module's switch.
import { FAMILIES } from '../../engine/vit-families';
import { useStore } from '../store';
import { useActiveRun } from '../store/selectors';

export function LayerPanel() {
  const run = useActiveRun();
  const forceSwitch = useStore((s) => s.forceSwitch);
  const depth = run?.config.model.depth ?? 0;
  return (
    <section className="panel">
      <h2>Layers <small><i className="swatch full" /> full <i className="swatch joint" /> joint <i className="swatch lora" /> LoRA · rank, @switch step or latest change · click a full cell to switch it now</small></h2>
      <table className="layers" data-testid="layer-panel">
        <thead><tr><th>layer</th>{FAMILIES.map((f) => <th key={f}>{f}</th>)}</tr></thead>
        <tbody>
          {Array.from({ length: depth }, (_, l) => (
            <tr key={l}>
              <th>{l}</th>
              {FAMILIES.map((f) => {
                const id = `blocks.${l}.${f}`;
                const cell = run?.modules[id];
                const phase = cell?.phase ?? 'full';
                return (
                  <td key={f} data-testid="module-cell" data-module={id} data-phase={phase} data-rank={cell?.rank ?? ''}
                    className={`cell ${phase}`} onClick={() => phase === 'full' && run?.state !== 'done' && forceSwitch(id)}
                    title={`${id}: ${phase}${cell?.switchedAt != null ? `, switched at step ${cell.switchedAt}` : ''}`}>
                    <b>{cell?.rank ? `r${cell.rank}` : phase === 'full' ? '' : '–'}</b>
                    <span>{cell?.switchedAt != null ? `@${cell.switchedAt}` : cell?.latest != null ? cell.latest.toFixed(2) : ''}</span>
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
