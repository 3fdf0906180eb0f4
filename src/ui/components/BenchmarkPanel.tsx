// The benchmark in the page: full, static LoRA and PreLoRA (both rules) on the
// person's own backend, one after another in the worker, and the same table as
// `npm run bench`, to copy as markdown or download as JSON.
import { useState } from 'react';
import { BENCH_PRESETS, BENCH_VARIANTS, benchRows, benchSwitchOrder, benchTable, benchTitle, kernelRows, LAUNCH_GROUPS_NOTE, launchGroupRows, type BenchPreset, type BenchReport } from '../../engine/bench/report';
import { JSON_TYPE, saveFile } from '../export/download';
import { useStore } from '../store';
import { benchFieldError, type BenchNumber } from '../store/bench';
import { TypedNumber } from './TypedNumber';

/** Steps or seeds as typed (TypedNumber), checked as the store takes it. */
function NumberField({ name, disabled }: { name: BenchNumber; disabled: boolean }) {
  const value = useStore((s) => (name === 'steps' ? s.benchSteps : s.benchSeeds));
  const error = useStore((s) => benchFieldError(s, name));
  const setBenchField = useStore((s) => s.setBenchField);
  return <TypedNumber label={name} testId={`bench-${name}`} value={value} error={error} disabled={disabled} onText={(t) => setBenchField(name, t)} />;
}

function download(report: BenchReport): void {
  saveFile(`prelora-bench-${report.preset}-${report.backend}-${report.date}.json`, JSON.stringify(report, null, 1), JSON_TYPE);
}

function Table({ rows: [header, ...rows], testId, rowId }: { rows: string[][]; testId: string; rowId: string }) {
  return (
    <div className="scroll">
      <table className="runs bench" data-testid={testId}>
        <thead><tr>{header!.map((h) => <th key={h}>{h}</th>)}</tr></thead>
        <tbody>{rows.map((r) => <tr key={r[0]} data-testid={rowId}>{r.map((c, i) => <td key={i}>{c}</td>)}</tr>)}</tbody>
      </table>
    </div>
  );
}

function Report({ report }: { report: BenchReport }) {
  const [copied, setCopied] = useState<string | null>(null);
  const groups = launchGroupRows(report);
  const copy = () => navigator.clipboard.writeText(benchTable(report)).then(
    () => setCopied('copied'), (err: unknown) => setCopied(`could not copy: ${(err as Error).message}`));
  return (
    <>
      <p className="bench-title" data-testid="bench-title">{benchTitle(report)} · {report.date}</p>
      <Table rows={benchRows(report)} testId="bench-table" rowId="bench-row" />
      {benchSwitchOrder(report).map((line) => <p key={line} className="bench-note" data-testid="bench-switch-order">{line}</p>)}
      <details>
        <summary>kernels per step by kind ({report.kernels} kernels)</summary>
        <Table rows={kernelRows(report)} testId="bench-kernels" rowId="bench-kernel-row" />
      </details>
      {groups && (
        <details>
          <summary>device ms per step by what the launches work on (the compiled step, timed launch by launch)</summary>
          <p className="bench-note">{LAUNCH_GROUPS_NOTE}</p>
          <Table rows={groups} testId="bench-launch-groups" rowId="bench-launch-group-row" />
        </details>
      )}
      <span className="buttons">
        <button data-testid="bench-download" onClick={() => download(report)}>Download JSON</button>
        <button data-testid="bench-copy" onClick={copy}>Copy as markdown</button>
        {copied && <small>{copied}</small>}
      </span>
    </>
  );
}

export function BenchmarkPanel() {
  const preset = useStore((s) => s.benchPreset);
  const steps = useStore((s) => s.benchSteps);
  const seeds = useStore((s) => s.benchSeeds);
  const seed = useStore((s) => s.seed);
  const status = useStore((s) => s.benchStatus);
  const report = useStore((s) => s.benchReport);
  const invalid = useStore((s) => benchFieldError(s, 'steps') ?? benchFieldError(s, 'seeds') ?? s.fieldErrors.seed);
  const training = useStore((s) => s.runs.some((r) => r.state === 'running' || r.state === 'starting'));
  const { setBench, startBench, stopBench } = useStore.getState();
  const running = status.state === 'running';
  return (
    <section className="panel bench-panel" data-testid="bench-panel">
      <h2>Benchmark <small>full vs static LoRA vs PreLoRA (global, per module) on this backend, same seeds, one after another</small></h2>
      <div className="controls">
        <label>preset <select data-testid="bench-preset" value={preset} disabled={running}
          onChange={(e) => setBench({ benchPreset: e.target.value as BenchPreset })}>
          {BENCH_PRESETS.map((p) => <option key={p}>{p}</option>)}</select></label>
        {/* a new preset brings its steps: the field shows them */}
        <NumberField key={`steps:${preset}`} name="steps" disabled={running} />
        <NumberField name="seeds" disabled={running} />
        <span className="buttons">
          <button data-testid="bench-run" disabled={running || training || invalid !== undefined}
            title={training ? 'pause or stop the run first' : invalid}
            onClick={startBench}>Run benchmark</button>
          {training && !running ? <small className="bench-wait" data-testid="bench-wait">a run is training: pause it or let it finish, then run the benchmark</small> : null}
          <button data-testid="bench-stop" disabled={!running} onClick={stopBench}>Stop</button>
        </span>
        <span className="status" data-testid="bench-status">
          {status.state === 'running' && <>run {Math.min(status.done + 1, status.total)} of {status.total} · {status.label}
            <progress value={status.done} max={status.total} /></>}
          {status.state === 'stopped' && 'stopped'}
          {status.state === 'failed' && <span className="bad">{status.message}</span>}
        </span>
      </div>
      <small>Uses the page&apos;s dataset and seed ({seeds > 1 ? `seeds ${seed} to ${seed + seeds - 1}` : `seed ${seed}`}), and its live PreLoRA settings when the preset is the page&apos;s. Each
        run is {steps} steps: {BENCH_VARIANTS.length * seeds} runs in all, after two short warm-up runs (full, static LoRA). On a software GPU pick micro.</small>
      {report && <Report report={report} />}
    </section>
  );
}
