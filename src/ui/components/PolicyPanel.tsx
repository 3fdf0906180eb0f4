// The live PreLoRA settings: the next run's defaults, and a change goes to the running
// run too (it applies from its next window; its views change when the worker confirms).
import { useState } from 'react';
import { useStore } from '../store';
import { LIVE_FIELDS, type PageLiveKey } from '../store/live-fields';

function Field({ k, label, testid, hint }: { k: PageLiveKey; label: string; testid?: string; hint: string }) {
  const value = useStore((s) => s.policy[k]);
  const error = useStore((s) => s.fieldErrors[k]);
  const setPolicyField = useStore((s) => s.setPolicyField);
  const [text, setText] = useState(String(value));
  return (
    <label title={hint} className={error ? 'invalid' : ''}>
      {label}
      <input data-testid={testid} value={text} inputMode="decimal"
        onChange={(e) => setText(e.target.value)}
        onBlur={() => setPolicyField(k, text)}
        onKeyDown={(e) => { if (e.key === 'Enter') setPolicyField(k, text); }} />
    </label>
  );
}

function Choice({ k, label, testid, hint, choices }: { k: PageLiveKey; label: string; testid?: string; hint: string; choices: Readonly<Record<string, string>> }) {
  const value = useStore((s) => s.policy[k]);
  const setPolicyField = useStore((s) => s.setPolicyField);
  return (
    <label title={hint}>{label} <select data-testid={testid} value={String(value)} onChange={(e) => setPolicyField(k, e.target.value)}>
      {Object.entries(choices).map(([c, name]) => <option key={c} value={c}>{name}</option>)}
    </select></label>
  );
}

export function PolicyPanel() {
  const preset = useStore((s) => s.preset); // new defaults per preset: remount the fields
  return (
    <section className="policy" key={preset}>
      <h2>PreLoRA settings <small>(the next run&apos;s; a change also reaches the running run at its next window)</small></h2>
      {LIVE_FIELDS.map((f) => ('choices' in f
        ? <Choice key={f.key} k={f.key} label={f.label} testid={f.testid} hint={f.hint} choices={f.choices} />
        : <Field key={f.key} k={f.key} label={f.label} testid={'testid' in f ? f.testid : undefined} hint={f.hint} />))}
    </section>
  );
}
