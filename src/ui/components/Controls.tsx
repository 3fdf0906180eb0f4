// What the next run is, and the buttons that drive the worker's run.
import { BACKEND_CHOICES, type BackendChoice } from '../../engine/backend';
import { PRESET_NAMES, type Mode, type PresetName } from '../../engine/config';
import type { Rule } from '../../engine/policy';
import { keysOf, MODE_LABELS, RULE_LABELS } from '../labels';
import { useStore } from '../store';
import type { TypedControl } from '../store/config';
import { useActiveRun, useLiveRun } from '../store/hooks';
import { TypedNumber } from './TypedNumber';

/** The seed or the steps as typed (TypedNumber), checked by the config as the store takes it. */
function TypedField({ k, disabled }: { k: TypedControl; disabled: boolean }) {
  const value = useStore((s) => s[k]);
  const error = useStore((s) => s.fieldErrors[k]);
  const setControl = useStore((s) => s.setControl);
  return <TypedNumber label={k} testId={k} value={value} error={error} disabled={disabled} onText={(t) => setControl(k, t)} />;
}

export function Controls() {
  const preset = useStore((s) => s.preset);
  const mode = useStore((s) => s.mode);
  const rule = useStore((s) => s.rule);
  const steps = useStore((s) => s.steps);
  const backendChoice = useStore((s) => s.backendChoice);
  const setConfig = useStore((s) => s.setConfig);
  // a new preset or link sets the typed fields anew: remount them with its values
  const revision = useStore((s) => `${s.preset}:${s.linkRevision}`);
  const typedError = useStore((s) => s.fieldErrors.seed ?? s.fieldErrors.steps);
  const setBackend = useStore((s) => s.setBackend);
  const { start, pause, resume, step, reset } = useStore.getState();
  const live = useLiveRun();
  const active = useActiveRun();
  const run = live ?? active; // the buttons drive the worker's run; without one, show the selected run
  const benching = useStore((s) => s.benchStatus.state === 'running');
  const busy = run?.state === 'running' || run?.state === 'starting' || benching;
  return (
    <section className="controls">
      <label>preset <select data-testid="preset" value={preset} disabled={busy} onChange={(e) => setConfig({ preset: e.target.value as PresetName })}>
        {PRESET_NAMES.map((p) => <option key={p}>{p}</option>)}</select></label>
      <label>mode <select value={mode} disabled={busy} onChange={(e) => setConfig({ mode: e.target.value as Mode })}>
        {keysOf(MODE_LABELS).map((m) => <option key={m} value={m}>{MODE_LABELS[m]}</option>)}</select></label>
      <label>rule <select value={rule} disabled={busy || mode !== 'prelora'} onChange={(e) => setConfig({ rule: e.target.value as Rule })}>
        {keysOf(RULE_LABELS).map((r) => <option key={r} value={r}>{RULE_LABELS[r]}</option>)}</select></label>
      <TypedField key={`seed:${revision}`} k="seed" disabled={busy} />
      <TypedField key={`steps:${revision}`} k="steps" disabled={busy} />
      <label>backend <select value={backendChoice} disabled={busy} onChange={(e) => setBackend(e.target.value as BackendChoice)}>
        {BACKEND_CHOICES.map((b) => <option key={b}>{b}</option>)}</select></label>
      <span className="buttons">
        <button data-testid="start" disabled={busy || typedError !== undefined} title={typedError} onClick={start}>{run ? 'Start another run' : 'Start'}</button>
        <button data-testid="pause" disabled={live?.state !== 'running'} onClick={pause}>Pause</button>
        <button data-testid="resume" disabled={live?.state !== 'paused' || benching} onClick={resume}>Resume</button>
        <button data-testid="step" disabled={live?.state !== 'paused' || benching} onClick={step}>Step</button>
        <button data-testid="reset" disabled={!run} onClick={reset}>Reset</button>
      </span>
      <span className="status">step <b data-testid="step-count">{run?.step ?? 0}</b> / {run?.config.schedule.steps ?? steps} · {run?.state ?? 'idle'}</span>
    </section>
  );
}
