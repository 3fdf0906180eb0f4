// Loss and test accuracy of every run on the same axes, each run in its colour and
// named by what differs in its config, with the charts' conventions (conventions.tsx).
import { useMemo } from 'react';
import { CartesianGrid, Legend, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useStore } from '../store';
import { ChartDownloads } from './ChartDownloads';
import { runNames } from '../charts/run-names';
import { ChartControls, ReadOut, seriesLines, useChartScale } from '../charts/conventions';
import { mergeSeries, smoothed } from '../charts/smooth';
import { niceTicks } from '../charts/ticks';
import { thinEach } from '../charts/thin-rows';
import { maxOf } from '../../engine/extremes';

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;

export function TrainingCharts() {
  const runs = useStore((s) => s.runs);
  const names = runNames(runs);
  const loss = useChartScale(0.6);
  const rows = useMemo(() => mergeSeries(runs.flatMap((r) => smoothed(r.id, r.losses.map((p) => ({ step: p.step, value: p.loss })), loss.smoothing))),
    [runs, loss.smoothing]);
  // one row per evaluation step, every run's accuracy in it: the hover reads them all
  // (each run's evaluations thinned for drawing, on its own: at evalEvery 1 a row a step, a dot on each)
  const accuracy = useMemo(() => mergeSeries(thinEach(runs.map((r) => ({ key: r.id, points: r.evaluations.map((e) => ({ step: e.step, value: e.accuracy })) })))), [runs]);
  const ticks = niceTicks(maxOf(runs.map((r) => r.losses.at(-1)?.step ?? 0), 0));
  return (
    <section className="panel two">
      <div data-chart="loss">
        <h2>Training loss
          <ChartControls name="loss" scale={loss} />
          <ChartDownloads name="loss" title="Training loss" scope="all" />
        </h2>
        <div data-testid="loss-chart" data-points={runs.reduce((n, r) => n + r.losses.length, 0)}>
          <ResponsiveContainer width="100%" height={200}>
            <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="step" type="number" domain={[0, 'dataMax']} ticks={ticks} />
              <YAxis scale={loss.log ? 'log' : 'linear'} domain={['auto', 'auto']} allowDataOverflow={loss.log} width={48} tickFormatter={(v: number) => v.toFixed(2)} />
              <Tooltip content={(p) => <ReadOut {...p} format={(v) => v.toFixed(4)} smoothing={loss.smoothing} />} />
              <Legend />
              {runs.flatMap((r, i) => seriesLines({ key: r.id, name: names[i]!, color: r.color }, loss.smoothing))}
            </LineChart>
          </ResponsiveContainer>
        </div>
      </div>
      <div data-chart="accuracy">
        <h2>Test accuracy<ChartDownloads name="accuracy" title="Test accuracy" scope="all" /></h2>
        <div data-testid="accuracy-chart">
          <ResponsiveContainer width="100%" height={200}>
            <LineChart data={accuracy} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="step" type="number" domain={[0, 'dataMax']} ticks={ticks} />
              <YAxis domain={[0, 1]} width={48} tickFormatter={(v: number) => `${Math.round(100 * v)}%`} />
              <Tooltip content={(p) => <ReadOut {...p} format={pct} smoothing={0} />} />
              <Legend />
              {runs.flatMap((r, i) => seriesLines({ key: r.id, name: names[i]!, color: r.color, dot: true }, 0))}
            </LineChart>
          </ResponsiveContainer>
        </div>
      </div>
    </section>
  );
}
