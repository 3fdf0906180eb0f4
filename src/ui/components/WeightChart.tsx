// Weight change per window of the selected run, one line per layer of the chosen
// family, on a log scale, in the run's own metric, with the run's threshold over time
// and each module's switch marked.
import { CartesianGrid, Legend, Line, LineChart, ReferenceArea, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { moduleId, parseModuleId } from '../../engine/policy';
import { FAMILIES, type Family } from '../../engine/vit-families';
import { useStore } from '../store';
import { useActiveRun } from '../store/hooks';
import { ChartDownloads } from './ChartDownloads';
import { useWhatIf } from '../what-if/use-replay';
import { LAYER_PALETTE, niceTicks } from '../charts/ticks';


export function WeightChart() {
  const run = useActiveRun();
  const family = useStore((s) => s.family);
  // without a run, the next run's settings
  const nextMetric = useStore((s) => s.policy.metric);
  const nextThreshold = useStore((s) => s.policy.weightThreshold);
  const setConfig = useStore((s) => s.setConfig);
  const metric = run?.config.prelora.metric ?? nextMetric;
  const thresholds = run?.thresholds ?? [{ step: 0, value: nextThreshold }];
  const depth = run?.config.model.depth ?? 0;
  // log scale: a frozen module's 0 (and a missing first value) is left out, not drawn at -infinity
  const rows = (run?.windows ?? []).map((w) => {
    const row: Record<string, number | undefined> = { step: w.step };
    for (let l = 0; l < depth; l++) {
      const v = w.modules[moduleId(l, family)]?.[metric];
      row[`layer ${l}`] = v !== null && v !== undefined && v > 0 ? v : undefined;
    }
    return row;
  });
  const switches = (run?.changes ?? []).filter((c) => c.from === 'full' && parseModuleId(c.module).family === family);
  // each threshold from the window it first judged to the next one's; the last to the chart's end
  const first = rows[0]?.step ?? 0, last = rows.at(-1)?.step ?? 0;
  const segments = thresholds.map((t, i) => ({ value: t.value, from: Math.max(first, t.step), to: Math.max(first, thresholds[i + 1]?.step ?? last) }));
  const current = thresholds.at(-1)!.value;
  // the what-if replay: its switches of this family, its threshold, and where it stops being exact
  const whatIf = useWhatIf();
  const predicted = (whatIf?.replay.switches ?? []).filter((s) => parseModuleId(s.module).family === family);
  const predictedSteps = [...new Set(predicted.map((s) => s.step))];
  const exactUntil = whatIf?.replay.exactUntil ?? null;
  return (
    <section className="panel" data-chart="weight-change">
      <h2>Weight change ({metric}) per window
        <select aria-label="family" value={family} onChange={(e) => setConfig({ family: e.target.value as Family })}>
          {FAMILIES.map((f) => <option key={f}>{f}</option>)}
        </select>
        <ChartDownloads name={`weight-change-${family}`} title={`Weight change (${metric}) per window, ${family}`} scope="run" />
      </h2>
      <div data-testid="weight-change-chart" data-points={rows.length} data-predicted={predictedSteps.join(',')} data-metric={metric} data-threshold={current}
        data-last={JSON.stringify(rows.at(-1) ?? {})}>
        <ResponsiveContainer width="100%" height={240}>
          <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="step" type="number" domain={['dataMin', 'dataMax']} ticks={niceTicks(last).filter((t) => t >= first)} />
            <YAxis scale="log" domain={['auto', 'auto']} allowDataOverflow width={56} tickFormatter={(v: number) => (v >= 10 ? String(Math.round(v)) : v.toPrecision(2))} />
            <Tooltip formatter={(v) => (typeof v === 'number' ? v.toFixed(3) : v)} />
            <Legend />
            {rows.length > 1
              ? segments.map((s, i) => (
                <ReferenceLine key={`t${i}`} segment={[{ x: s.from, y: s.value }, { x: s.to, y: s.value }]} ifOverflow="extendDomain"
                  stroke="#c00" strokeDasharray="6 3" label={i === segments.length - 1 ? { value: `threshold ${s.value}`, fill: '#c00', fontSize: 11, position: 'insideTopRight' } : undefined} />))
              : <ReferenceLine y={current} ifOverflow="extendDomain" stroke="#c00" strokeDasharray="6 3" label={{ value: `threshold ${current}`, fill: '#c00', fontSize: 11, position: 'insideTopRight' }} />}
            {switches.map((c) => <ReferenceLine key={c.module} x={c.step} stroke="#888" strokeDasharray="2 2" />)}
            {exactUntil !== null && exactUntil < last
              ? <ReferenceArea x1={exactUntil} x2={last} fill="#6a2bb5" fillOpacity={0.05} ifOverflow="hidden"
                label={{ value: 'what-if: estimates', position: 'insideTopRight', fill: '#6a2bb5', fontSize: 10 }} /> : null}
            {whatIf?.changed && whatIf.settings.weightThreshold !== current
              ? <ReferenceLine y={whatIf.settings.weightThreshold} ifOverflow="extendDomain" stroke="#6a2bb5" strokeDasharray="4 4"
                label={{ value: `what-if ${whatIf.settings.weightThreshold}`, fill: '#6a2bb5', fontSize: 10, position: 'insideBottomLeft' }} /> : null}
            {whatIf?.changed ? predictedSteps.map((step) => <ReferenceLine key={`if${step}`} x={step} stroke="#6a2bb5" strokeWidth={2} strokeOpacity={0.6} />) : null}
            {Array.from({ length: depth }, (_, l) => (
              <Line key={l} dataKey={`layer ${l}`} stroke={LAYER_PALETTE[l % LAYER_PALETTE.length]} dot={{ r: 2 }} isAnimationActive={false} connectNulls={false} />
            ))}
          </LineChart>
        </ResponsiveContainer>
      </div>
    </section>
  );
}
