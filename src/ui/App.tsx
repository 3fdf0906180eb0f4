// The page: start a nano run on the built-in synthetic set, watch loss and accuracy.
// (The full playground, with PreLoRA phases per layer, builds on this skeleton.)
import { useState } from 'react';
import { CartesianGrid, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { BACKEND_CHOICES, type BackendChoice } from '../engine/backend';
import { makeConfig, PRESET_NAMES, type PresetName } from '../engine/config';
import { useStore } from './store';
import { send, startRun } from './trainer-client';

function BackendBadge() {
  const backend = useStore((s) => s.backend);
  return (
    <span className="badge" data-testid="backend" title={backend?.reason ?? ''}>
      {backend ? `${backend.name}: ${backend.reason}` : 'backend: not started'}
    </span>
  );
}

function LossChart() {
  const losses = useStore((s) => s.losses);
  return (
    <div className="chart" data-testid="loss-chart">
      <ResponsiveContainer width="100%" height={260}>
        <LineChart data={losses} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="step" type="number" domain={['dataMin', 'dataMax']} />
          <YAxis domain={['auto', 'auto']} width={56} tickFormatter={(v: number) => v.toFixed(2)} />
          <Tooltip />
          <Line dataKey="loss" dot={false} isAnimationActive={false} stroke="#3b6fd8" />
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}

function Stats() {
  const step = useStore((s) => s.step);
  const sps = useStore((s) => s.samplesPerSec);
  const lastEval = useStore((s) => s.evaluations.at(-1));
  return (
    <p className="stats">
      step <b data-testid="step-count">{step}</b> · {sps.toFixed(0)} samples/s
      {lastEval && <> · test accuracy <b>{(100 * lastEval.accuracy).toFixed(1)}%</b> at step {lastEval.step}</>}
    </p>
  );
}

export function App() {
  const [preset, setPreset] = useState<PresetName>('nano');
  const [backend, setBackend] = useState<BackendChoice>('auto');
  const status = useStore((s) => s.status);
  const error = useStore((s) => s.error);
  const busy = status === 'starting' || status === 'training';
  return (
    <main>
      <header>
        <h1>PreLoRA Playground</h1>
        <BackendBadge />
      </header>
      <section className="controls">
        <label>
          preset{' '}
          <select value={preset} onChange={(e) => setPreset(e.target.value as PresetName)} disabled={busy}>
            {PRESET_NAMES.map((p) => <option key={p}>{p}</option>)}
          </select>
        </label>
        <label>
          backend{' '}
          <select value={backend} onChange={(e) => setBackend(e.target.value as BackendChoice)} disabled={busy}>
            {BACKEND_CHOICES.map((b) => <option key={b}>{b}</option>)}
          </select>
        </label>
        <button data-testid="start" disabled={busy} onClick={() => startRun(makeConfig(preset), backend)}>
          Train on the synthetic set
        </button>
        <button data-testid="stop" disabled={!busy} onClick={() => send({ type: 'stop' })}>Stop</button>
      </section>
      {error && <pre className="error" data-testid="error">{error}</pre>}
      <Stats />
      <LossChart />
    </main>
  );
}
