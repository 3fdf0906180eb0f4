// Loss and test accuracy of every run on the same axes, each run in its colour and
// named by what differs in its config.
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useStore } from '../store';
import { runNames } from '../charts/run-names';
import { niceTicks } from '../charts/ticks';

export function TrainingCharts() {
  const runs = useStore((s) => s.runs);
  const names = runNames(runs.map((r) => r.config));
  const ticks = niceTicks(Math.max(0, ...runs.map((r) => r.losses.at(-1)?.step ?? 0)));
  return (
    <section className="panel two">
      <div>
        <h2>Training loss</h2>
        <div data-testid="loss-chart" data-points={runs.reduce((n, r) => n + r.losses.length, 0)}>
          <ResponsiveContainer width="100%" height={200}>
            <LineChart margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
              <CartesianGrid strokeDasharray="3 3" />
              <XAxis dataKey="step" type="number" domain={[0, 'dataMax']} ticks={ticks} allowDuplicatedCategory={false} />
              <YAxis domain={['auto', 'auto']} width={48} tickFormatter={(v: number) => v.toFixed(2)} />
              <Tooltip /><Legend />
              {runs.map((r, i) => <Line key={r.id} data={r.losses} dataKey="loss" name={names[i]} stroke={r.color} dot={false} isAnimationActive={false} />)}
            </LineChart>
          </ResponsiveContainer>
        </div>
      </div>
      <div>
        <h2>Test accuracy</h2>
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
