// Loss and test accuracy of every run on the same axes, each run in its colour and
// named by what differs in its config.
import { useMemo, useState } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useStore } from '../store';
import { ChartDownloads } from './ChartDownloads';
import { runNames } from '../charts/run-names';
import { ema, mergeSeries } from '../charts/smooth';
import { niceTicks } from '../charts/ticks';

export function TrainingCharts() {
  const runs = useStore((s) => s.runs);
  const names = runNames(runs.map((r) => r.config));
  // TensorBoard's conventions: EMA smoothing over a faint raw line, log or linear loss, one row per step for the hover
  const [smoothing, setSmoothing] = useState(0.6);
  const [logScale, setLogScale] = useState(false);
  const rows = useMemo(() => mergeSeries(runs.flatMap((r) => {
    const smooth = ema(r.losses.map((p) => p.loss), smoothing);
    return [
      { key: `raw:${r.id}`, points: r.losses.map((p) => ({ step: p.step, value: p.loss })) },
      { key: r.id, points: r.losses.map((p, i) => ({ step: p.step, value: smooth[i]! })) },
    ];
  })), [runs, smoothing]);
  const ticks = niceTicks(Math.max(0, ...runs.map((r) => r.losses.at(-1)?.step ?? 0)));
  return (
    <section className="panel two">
      <div data-chart="loss">
        <h2>Training loss
          <label title="exponential moving average over the raw loss (faint)"><small>smoothing</small>
            <input type="range" data-testid="loss-smoothing" min={0} max={0.99} step={0.01} value={smoothing} onChange={(e) => setSmoothing(Number(e.target.value))} />
            <small>{smoothing.toFixed(2)}</small></label>
          <label><input type="checkbox" data-testid="loss-log" checked={logScale} onChange={(e) => setLogScale(e.target.checked)} /><small>log</small></label>
          <ChartDownloads name="loss" title="Training loss" scope="all" />
        </h2>
        <div data-testid="loss-chart" data-points={runs.reduce((n, r) => n + r.losses.length, 0)}>
          <ResponsiveContainer width="100%" height={200}>
            <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="step" type="number" domain={[0, 'dataMax']} ticks={ticks} />
              <YAxis scale={logScale ? 'log' : 'linear'} domain={['auto', 'auto']} allowDataOverflow={logScale} width={48} tickFormatter={(v: number) => v.toFixed(2)} />
              <Tooltip formatter={(v) => (typeof v === 'number' ? v.toFixed(4) : v)} />
              <Legend />
              {runs.map((r) => <Line key={`raw:${r.id}`} dataKey={`raw:${r.id}`} legendType="none" tooltipType="none" stroke={r.color} strokeOpacity={0.22} dot={false} isAnimationActive={false} connectNulls />)}
              {runs.map((r, i) => <Line key={r.id} dataKey={r.id} name={names[i]} stroke={r.color} dot={false} isAnimationActive={false} connectNulls />)}
            </LineChart>
          </ResponsiveContainer>
        </div>
      </div>
      <div data-chart="accuracy">
        <h2>Test accuracy<ChartDownloads name="accuracy" title="Test accuracy" scope="all" /></h2>
        <div data-testid="accuracy-chart">
          <ResponsiveContainer width="100%" height={200}>
            <LineChart margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="step" type="number" domain={[0, 'dataMax']} ticks={ticks} allowDuplicatedCategory={false} />
              <YAxis domain={[0, 1]} width={48} tickFormatter={(v: number) => `${Math.round(100 * v)}%`} />
              <Tooltip /><Legend />
              {runs.map((r, i) => <Line key={r.id} data={r.evaluations} dataKey="accuracy" name={names[i]} stroke={r.color} isAnimationActive={false} />)}
            </LineChart>
          </ResponsiveContainer>
        </div>
      </div>
    </section>
  );
}
