// The playground: controls and live settings on top, then the PreLoRA views (weight
// change, layer panel), the training curves of every run, efficiency, the run table,
// and the benchmark of the three ways to train on this backend.
import { BackendBadge } from './components/BackendBadge';
import { BenchmarkPanel } from './components/BenchmarkPanel';
import { Controls } from './components/Controls';
import { DatasetPicker } from './components/DatasetPicker';
import { EfficiencyStrip } from './components/EfficiencyStrip';
import { ExportPanel } from './components/ExportPanel';
import { LayerPanel } from './components/LayerPanel';
import { LinkPanel } from './components/LinkPanel';
import { PolicyPanel } from './components/PolicyPanel';
import { RunTable } from './components/RunTable';
import { SavedRunsPanel } from './components/SavedRunsPanel';
import { TrainingCharts } from './components/TrainingCharts';
import { WeightChart } from './components/WeightChart';
import { WeightsPicker } from './components/WeightsPicker';
import { SweepHeatmap } from './what-if/SweepHeatmap';
import { WhatIfPanel } from './what-if/WhatIfPanel';
import { useStore } from './store';

function ErrorBar() {
  const error = useStore((s) => s.error);
  const dismiss = useStore((s) => s.dismissError);
  if (!error) return null;
  return <pre className="error" data-testid="error" onClick={dismiss} title="click to dismiss">{error}</pre>;
}

export function App() {
  return (
    <main>
      <header>
        <h1>PreLoRA Playground</h1>
        <BackendBadge />
      </header>
      <Controls />
      <LinkPanel />
      <DatasetPicker />
      <WeightsPicker />
      <PolicyPanel />
      <ErrorBar />
      <SavedRunsPanel />
      <div className="grid">
        <WeightChart />
        <LayerPanel />
      </div>
      <div className="grid even">
        <WhatIfPanel />
        <SweepHeatmap />
      </div>
      <TrainingCharts />
      <EfficiencyStrip />
      <RunTable />
      <ExportPanel />
      <BenchmarkPanel />
    </main>
  );
}
