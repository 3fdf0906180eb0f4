// Loss and test accuracy of every run on the same axes, each run in its colour.
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useStore } from '../store';
import { ChartDownloads } from './ChartDownloads';

export function TrainingCharts() {
  const runs = useStore((s) => s.runs);
  return (
    <section className="panel two">
      <div data-chart="loss">
        <h2>Training loss<ChartDownloads name="loss" title="Training loss" scope="all" /></h2>
        <div data-testid="loss-chart" data-points={runs.reduce((n, r) => n + r.losses.length, 0)}>
          <ResponsiveContainer width="100%" height={200}>
            <LineChart margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="step" type="number" domain={[0, 'dataMax']} allowDuplicatedCategory={false} />
              <YAxis domain={['auto', 'auto']} width={48} tickFormatter={(v: number) => v.toFixed(2)} />
              <Tooltip /><Legend />
              {runs.map((r) => <Line key={r.id} data={r.losses} dataKey="loss" name={r.label} stroke={r.color} dot={false} isAnimationActive={false} />)}
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
              <XAxis dataKey="step" type="number" domain={[0, 'dataMax']} allowDuplicatedCategory={false} />
              <YAxis domain={[0, 1]} width={48} tickFormatter={(v: number) => `${Math.round(100 * v)}%`} />
              <Tooltip /><Legend />
              {runs.map((r) => <Line key={r.id} data={r.evaluations} dataKey="accuracy" name={r.label} stroke={r.color} isAnimationActive={false} />)}
            </LineChart>
          </ResponsiveContainer>
        </div>
      </div>
    </section>
  );
}
