// Throughput, trainable parameters and tensor memory of the current run over time,
// with its phase changes marked: where PreLoRA's savings show (or do not).
import { Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { formatBytes, formatCount } from '../../engine/config';
import { useActiveRun } from '../store/hooks';
import { ChartDownloads } from './ChartDownloads';
import { niceTicks } from '../charts/ticks';

function Spark({ name, title, data, dataKey, format, marks, note }: {
  name: string; title: string; data: { step: number }[]; dataKey: string; format: (v: number) => string; marks: number[]; note?: string;
}) {
  const first = data[0]?.step ?? 0;
  return (
    <div className="spark" data-chart={name}>
      <h3>{title}<ChartDownloads name={name} title={title} scope="run" /></h3>
      {note ? <small className="spark-note">{note}</small> : null}
      <ResponsiveContainer width="100%" height={104}>
        <LineChart data={data} margin={{ top: 4, right: 8, bottom: 0, left: 4 }}>
          <XAxis dataKey="step" type="number" domain={['dataMin', 'dataMax']} ticks={niceTicks(data.at(-1)?.step ?? 0).filter((t) => t >= first)} tick={{ fontSize: 10 }} height={18} />
          <YAxis width={64} tickFormatter={format} domain={['auto', 'auto']} tick={{ fontSize: 10 }} />
          <Tooltip formatter={(v) => (typeof v === 'number' ? format(v) : v)} />
          {marks.map((s) => <ReferenceLine key={s} x={s} stroke="#888" strokeDasharray="2 2" />)}
          <Line dataKey={dataKey} type="stepAfter" dot={false} isAnimationActive={false} stroke="#3b6fd8" />
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}

export function EfficiencyStrip() {
  const run = useActiveRun();
  const marks = [...new Set((run?.changes ?? []).map((c) => c.step))];
  const params = run?.params ?? [];
  const last = params.at(-1);
  return (
    <section className="panel strip">
      {run ? null : <p className="hint strip-hint">Samples per second, trainable parameters and tensor memory of the selected run appear here once it trains.</p>}
      <Spark name="samples-per-sec" title="samples/s" data={run?.efficiency ?? []} dataKey="samplesPerSec" format={(v) => v.toFixed(0)} marks={marks} />
      <Spark name="trainable" title={`trainable parameters${last ? ` (${((100 * last.trainable) / last.total).toFixed(1)}%)` : ''}`} data={params} dataKey="trainable" format={formatCount} marks={marks}
        note="rises at a switch (base and new adapter train together in the joint phase), falls when the base freezes" />
      <Spark name="tensor-memory" title="tensor memory" data={params} dataKey="bytes" format={formatBytes} marks={marks} />
    </section>
  );
}
