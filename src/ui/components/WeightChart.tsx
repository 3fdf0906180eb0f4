// Weight change per window of the selected run, one line per layer of the chosen
// family (told apart by colour and dash, labelled at their ends), log or linear, with
// optional smoothing, the run's threshold over time and each module's switch marked.
import { useMemo } from 'react';
import { CartesianGrid, Legend, LineChart, ReferenceArea, ReferenceDot, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { moduleId, parseModuleId } from '../../engine/policy';
import { FAMILIES, type Family } from '../../engine/vit-families';
import { useStore } from '../store';
import { useActiveRun } from '../store/hooks';
import { ChartDownloads } from './ChartDownloads';
import { useWhatIf } from '../what-if/use-replay';
import { niceTicks } from '../charts/ticks';
import { layerLabel, layerStyle } from '../charts/layers';
import { ChartControls, ReadOut, seriesLines, useChartScale } from '../charts/conventions';
import { mergeSeries, smoothed, type Point, type Row } from '../charts/smooth';
import { thinRows } from '../charts/thin-rows';

const formatChange = (v: number) => (v >= 10 ? String(Math.round(v)) : v.toPrecision(2));

/** The label at a line's last point: one dot's shape, not a label on every point (a render per window must stay cheap). */
function endLabel(text: string, color: string) {
  return function EndLabel(p: { cx?: number; cy?: number }) {
    if (p.cx === undefined || p.cy === undefined) return <g />;
    return <text x={p.cx + 4} y={p.cy} dy={3} fontSize={10} fill={color} data-testid="layer-end-label">{text}</text>;
  };
}

export function WeightChart() {
  const run = useActiveRun();
  const family = useStore((s) => s.family);
  // without a run, the next run's settings
  const nextMetric = useStore((s) => s.policy.metric);
  const nextThreshold = useStore((s) => s.policy.weightThreshold);
  const setConfig = useStore((s) => s.setConfig);
  // the decisions read the raw values: no smoothing unless asked for; a log scale, as changes span decades
  const scale = useChartScale(0, true);
  const metric = run?.config.prelora.metric ?? nextMetric;
  const thresholds = run?.thresholds ?? [{ step: 0, value: nextThreshold }];
  const depth = run?.config.model.depth ?? 0;
  const windows = run?.windows;
  // per layer its values (a frozen module's 0 and a missing first value are gaps: not drawn at -infinity on a log scale)
  const layers = useMemo(() => Array.from({ length: depth }, (_, l): Point[] => (windows ?? []).flatMap((w) => {
    const v = w.modules[moduleId(l, family)]?.[metric];
    return v !== null && v !== undefined && v > 0 ? [{ step: w.step, value: v }] : [];
  })), [windows, depth, family, metric]);
  const rows = useMemo(() => {
    const merged = mergeSeries(layers.flatMap((points, l) => smoothed(`layer ${l}`, points, scale.smoothing)));
    // every window a row (one where no layer has a value too), so the switches and the threshold line up
    const steps = new Set(merged.map((r) => r.step));
    return [...merged, ...(windows ?? []).filter((w) => !steps.has(w.step)).map((w): Row => ({ step: w.step }))].sort((a, b) => a.step - b.step);
  }, [layers, windows, scale.smoothing]);
  // each layer's line ends at its last value (smoothed, where it is)
  const ends = layers.map((points, l) => {
    const step = points.at(-1)?.step;
    const value = rows.find((r) => r.step === step)?.[`layer ${l}`];
    return step === undefined || value === undefined ? null : { step, value };
  });
  // a long run's windows thinned for drawing, each line's labelled end (its last point) kept
  const drawn = useMemo(() => thinRows(rows, new Set(layers.flatMap((points) => points.at(-1)?.step ?? []))), [rows, layers]);
  const switches = (run?.changes ?? []).filter((c) => c.from === 'full' && parseModuleId(c.module).family === family);
  // each threshold over the steps it was in force: from the step it was set (the next window
  // to close is the first it judges) to the next one's; the last to the chart's end
  const first = windows?.[0]?.step ?? 0, last = windows?.at(-1)?.step ?? 0;
  const segments = thresholds.map((t, i) => ({ value: t.value, from: Math.max(first, t.step), to: Math.max(first, thresholds[i + 1]?.step ?? last) }));
  const current = thresholds.at(-1)!.value;
  // the what-if replay: its switches of this family, its threshold, and where it stops being exact
  const whatIf = useWhatIf();
  const predicted = (whatIf?.replay.switches ?? []).filter((s) => parseModuleId(s.module).family === family);
  const predictedSteps = [...new Set(predicted.map((s) => s.step))];
  const exactUntil = whatIf?.replay.exactUntil ?? null;
  const lastRaw = Object.fromEntries([['step', last], ...layers.flatMap((points, l) => (points.at(-1)?.step === last ? [[`layer ${l}`, points.at(-1)!.value]] : []))]);
  const thresholdLabel = { value: `threshold ${current}`, fill: '#c00', fontSize: 11, position: 'insideTopRight' as const };
  return (
    <section className="panel" data-chart="weight-change">
      <h2>Weight change ({metric}) per window
        <select aria-label="family" value={family} onChange={(e) => setConfig({ family: e.target.value as Family })}>
          {FAMILIES.map((f) => <option key={f}>{f}</option>)}
        </select>
        <ChartControls name="weight-change" scale={scale} />
        <ChartDownloads name={`weight-change-${family}`} title={`Weight change (${metric}) per window, ${family}`} scope="run" />
      </h2>
      {drawn.every > 1 ? <p className="hint" data-testid="weight-change-thinned">{windows?.length ?? 0} windows: one in {drawn.every} drawn, and each line's end</p> : null}
      <div data-testid="weight-change-chart" data-points={windows?.length ?? 0} data-predicted={predictedSteps.join(',')} data-metric={metric} data-threshold={current}
        data-scale={scale.log ? 'log' : 'linear'} data-last={windows?.length ? JSON.stringify(lastRaw) : '{}'}>
        <ResponsiveContainer width="100%" height={240}>
          <LineChart data={drawn.rows} margin={{ top: 8, right: 28, bottom: 4, left: 0 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="step" type="number" domain={['dataMin', 'dataMax']} ticks={niceTicks(last).filter((t) => t >= first)} />
            <YAxis scale={scale.log ? 'log' : 'linear'} domain={scale.log ? ['auto', 'auto'] : [0, 'auto']} allowDataOverflow={scale.log} width={56} tickFormatter={formatChange} />
            <Tooltip content={(p) => <ReadOut {...p} format={(v) => v.toFixed(3)} smoothing={scale.smoothing} />} />
            <Legend />
            {drawn.rows.length > 1
              ? segments.map((s, i) => (
                <ReferenceLine key={`t${i}`} segment={[{ x: s.from, y: s.value }, { x: s.to, y: s.value }]} ifOverflow="extendDomain"
                  stroke="#c00" strokeDasharray="6 3" label={i === segments.length - 1 ? thresholdLabel : undefined} />))
              : <ReferenceLine y={current} ifOverflow="extendDomain" stroke="#c00" strokeDasharray="6 3" label={thresholdLabel} />}
            {switches.map((c) => <ReferenceLine key={c.module} x={c.step} stroke="#888" strokeDasharray="2 2" />)}
            {exactUntil !== null && exactUntil < last
              ? <ReferenceArea x1={exactUntil} x2={last} fill="#6a2bb5" fillOpacity={0.05} ifOverflow="hidden"
                label={{ value: 'what-if: estimates', position: 'insideTopLeft', fill: '#6a2bb5', fontSize: 10 }} /> : null}
            {whatIf?.changed && whatIf.settings.weightThreshold !== current
              ? <ReferenceLine y={whatIf.settings.weightThreshold} ifOverflow="extendDomain" stroke="#6a2bb5" strokeDasharray="4 4"
                label={{ value: `what-if ${whatIf.settings.weightThreshold}`, fill: '#6a2bb5', fontSize: 10, position: 'insideBottomLeft' }} /> : null}
            {whatIf?.changed ? predictedSteps.map((step) => <ReferenceLine key={`if${step}`} x={step} stroke="#6a2bb5" strokeWidth={2} strokeOpacity={0.6} />) : null}
            {layers.flatMap((_, l) => {
              const { color, dash } = layerStyle(l);
              return seriesLines({ key: `layer ${l}`, name: `layer ${l}`, color, dash, dot: true }, scale.smoothing, false);
            })}
            {ends.map((e, l) => (e ? <ReferenceDot key={`end${l}`} x={e.step} y={e.value} ifOverflow="hidden" shape={endLabel(layerLabel(l), layerStyle(l).color)} /> : null))}
          </LineChart>
        </ResponsiveContainer>
      </div>
    </section>
  );
}
