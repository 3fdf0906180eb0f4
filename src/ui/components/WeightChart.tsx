// Weight change per window, one line per layer of the chosen family, on a log scale,
// with the threshold and each module's switch marked.
import { CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { FAMILIES, type Family } from '../../engine/vit-families';
import { useStore } from '../store';
import { useActiveRun } from '../store/selectors';

const LAYER_COLORS = ['#1f4e9c', '#2f7fd1', '#41a6c9', '#3fb58a', '#8bbf3f', '#d1b03a', '#e07b39', '#c94444', '#9b4fc4', '#6b6b6b'];

export function WeightChart() {
  const run = useActiveRun();
  const family = useStore((s) => s.family);
  const metric = useStore((s) => s.policy.metric);
  const threshold = useStore((s) => s.policy.weightThreshold);
  const setConfig = useStore((s) => s.setConfig);
  const depth = run?.config.model.depth ?? 0;
  // log scale: a frozen module's 0 (and a missing first value) is left out, not drawn at -infinity
  const rows = (run?.windows ?? []).map((w) => {
    const row: Record<string, number | undefined> = { step: w.step };
    for (let l = 0; l < depth; l++) {
      const v = w.modules[`blocks.${l}.${family}`]?.[metric];
      row[`layer ${l}`] = v !== null && v !== undefined && v > 0 ? v : undefined;
    }
    return row;
  });
  const switches = (run?.changes ?? []).filter((c) => c.from === 'full' && c.module.endsWith(`.${family}`));
  return (
    <section className="panel">
      <h2>Weight change ({metric}) per window
        <select aria-label="family" value={family} onChange={(e) => setConfig({ family: e.target.value as Family })}>
          {FAMILIES.map((f) => <option key={f}>{f}</option>)}
        </select>
      </h2>
      <div data-testid="weight-change-chart" data-points={rows.length}>
        <ResponsiveContainer width="100%" height={240}>
          <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="step" type="number" domain={['dataMin', 'dataMax']} />
            <YAxis scale="log" domain={['auto', 'auto']} allowDataOverflow width={56} tickFormatter={(v: number) => (v >= 10 ? String(Math.round(v)) : v.toPrecision(2))} />
            <Tooltip formatter={(v) => (typeof v === 'number' ? v.toFixed(3) : v)} />
            <Legend />
            <ReferenceLine y={threshold} ifOverflow="extendDomain" stroke="#c00" strokeDasharray="6 3" label={{ value: 'threshold', fill: '#c00', fontSize: 11 }} />
            {switches.map((c) => <ReferenceLine key={c.module} x={c.step} stroke="#888" strokeDasharray="2 2" />)}
            {Array.from({ length: depth }, (_, l) => (
              <Line key={l} dataKey={`layer ${l}`} stroke={LAYER_COLORS[l % LAYER_COLORS.length]} dot={{ r: 2 }} isAnimationActive={false} connectNulls={false} />
            ))}
          </LineChart>
        </ResponsiveContainer>
      </div>
    </section>
  );
}
