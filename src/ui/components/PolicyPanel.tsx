// The live PreLoRA settings: the next run's defaults, and a change goes to the running
// run too (it applies from its next window; its views change when the worker confirms).
import { useState } from 'react';
import { useStore } from '../store';
import { LIVE_FIELDS, type PageLiveKey } from '../store/live-fields';

function Field({ k, label, testid, hint }: { k: PageLiveKey; label: string; testid?: string; hint: string }) {
  const value = useStore((s) => s.policy[k]);
  const error = useStore((s) => s.fieldErrors[k]);
  const setPolicyField = useStore((s) => s.setPolicyField);
  // what is typed and not taken yet; null: the field shows the setting, whoever set it last
  // (a run of the what-if settings sets them without a remount: the field showed the old
  // value, and a click in and out sent that as a live change to the new run)
  const [draft, setDraft] = useState<string | null>(null);
  const commit = () => {
    if (draft === null) return; // nothing typed: nothing to send
    setPolicyField(k, draft);
    if (useStore.getState().fieldErrors[k] === undefined) setDraft(null); // a refused value stays, marked, to mend
  };
  return (
    <label title={hint} className={error ? 'invalid' : ''}>
      {label}
      <input data-testid={testid} value={draft ?? String(value)} inputMode="decimal"
        onChange={(e) => setDraft(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => { if (e.key === 'Enter') commit(); }} />
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
  // new defaults per preset, or from a link: remount the fields
  const revision = useStore((s) => `${s.preset}:${s.linkRevision}`);
  return (
    <section className="policy" key={revision}>
      <h2>PreLoRA settings <small>(the next run&apos;s; a change also reaches the running run at its next window)</small></h2>
      {LIVE_FIELDS.map((f) => ('choices' in f
        ? <Choice key={f.key} k={f.key} label={f.label} testid={f.testid} hint={f.hint} choices={f.choices} />
        : <Field key={f.key} k={f.key} label={f.label} testid={'testid' in f ? f.testid : undefined} hint={f.hint} />))}
    </section>
  );
}
