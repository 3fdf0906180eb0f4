// Throughput, trainable parameters and tensor memory of the current run over time,
// with its phase changes marked: where PreLoRA's savings show (or do not). Samples/s
// is noisy (each read-back interval's own): smoothed over its raw line, as the loss.
import { useMemo } from 'react';
import { LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatBytes, formatCount } from '../../engine/config';
import { formatShare, trainableShare, TRAINABLE_SHARE_LABEL } from '../../engine/trainable-share';
import { useActiveRun } from '../store/hooks';
import { ChartDownloads } from './ChartDownloads';
import { niceTicks } from '../charts/ticks';
import { ChartControls, ReadOut, seriesLines, useChartScale } from '../charts/conventions';
import { mergeSeries, smoothed, type Point } from '../charts/smooth';

const COLOR = '#3b6fd8';

function Spark({ name, title, points, to, format, marks, note, noisy = false }: {
  /** the x axis ends here, the run's latest step, on every chart alike */
  name: string; title: string; points: Point[]; to: number; format: (v: number) => string; marks: number[]; note?: string; noisy?: boolean;
}) {
  const scale = useChartScale(noisy ? 0.6 : 0);
  const rows = useMemo(() => mergeSeries(noisy ? smoothed(name, points, scale.smoothing) : [{ key: name, points }]), [name, points, noisy, scale.smoothing]);
  const first = points[0]?.step ?? 0;
  return (
    <div className="spark" data-chart={name}>
      <h3>{title}{noisy ? <ChartControls name={name} scale={scale} log={false} /> : null}<ChartDownloads name={name} title={title} scope="run" /></h3>
      {note ? <small className="spark-note">{note}</small> : null}
      <ResponsiveContainer width="100%" height={104}>
        <LineChart data={rows} margin={{ top: 4, right: 8, bottom: 0, left: 4 }}>
          <XAxis dataKey="step" type="number" domain={['dataMin', Math.max(to, points.at(-1)?.step ?? 0)]} ticks={niceTicks(Math.max(to, points.at(-1)?.step ?? 0)).filter((t) => t >= first)} tick={{ fontSize: 10 }} height={18} />
          <YAxis width={64} tickFormatter={format} domain={['auto', 'auto']} tick={{ fontSize: 10 }} />
          <Tooltip content={(p) => <ReadOut {...p} format={format} smoothing={noisy ? scale.smoothing : 0} />} />
          {marks.map((s) => <ReferenceLine key={s} x={s} stroke="#888" strokeDasharray="2 2" />)}
          {seriesLines({ key: name, name: title, color: COLOR, step: !noisy }, noisy ? scale.smoothing : 0)}
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}

export function EfficiencyStrip() {
  const run = useActiveRun();
  const marks = [...new Set((run?.changes ?? []).map((c) => c.step))];
  const params = run?.params;
  const memory = run?.memory;
  const efficiency = run?.efficiency;
  const last = params?.at(-1);
  // trainable parameters are read at change points only: their axis would end
  // at the last switch (175 of a 300-step run) beside a samples/s axis that runs on
  const to = run?.step ?? 0;
  const series = useMemo(() => ({
    speed: (efficiency ?? []).map((p) => ({ step: p.step, value: p.samplesPerSec })),
    trainable: (params ?? []).map((p) => ({ step: p.step, value: p.trainable })),
    bytes: (memory ?? []).map((p) => ({ step: p.step, value: p.bytes })),
  }), [efficiency, params, memory]);
  return (
    <section className="panel strip">
      {run ? null : <p className="hint strip-hint">Samples per second, trainable parameters and tensor memory of the selected run appear here once it trains.</p>}
      <Spark name="samples-per-sec" title="samples/s" points={series.speed} to={to} format={(v) => v.toFixed(0)} marks={marks} noisy />
      <Spark name="trainable" title={`trainable parameters${last && run ? ` (${TRAINABLE_SHARE_LABEL}: ${formatShare(trainableShare(run.config.model, last.trainable))})` : ''}`} points={series.trainable} to={to} format={formatCount} marks={marks}
        note="rises at a switch (base and new adapter train together in the joint phase), falls when the base freezes" />
      <Spark name="tensor-memory" title="tensor memory" points={series.bytes} to={to} format={formatBytes} marks={marks} />
    </section>
  );
}
