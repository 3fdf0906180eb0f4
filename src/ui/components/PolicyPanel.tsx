// The live PreLoRA settings: they apply to the running run at its next window.
import { useState } from 'react';
import { useStore } from '../store';
import type { LivePolicyKey } from '../store/config';

const FIELDS: { key: LivePolicyKey; label: string; testid?: string; hint: string }[] = [
  { key: 'weightThreshold', label: 'weight threshold %', testid: 'weight-threshold', hint: 'a module settles when its metric stays below this' },
  { key: 'lossThreshold', label: 'loss threshold %', testid: 'loss-threshold', hint: 'the loss must change by at most this between windows' },
  { key: 'patience', label: 'patience (windows)', testid: 'patience', hint: 'how many windows are compared' },
  { key: 'windowSteps', label: 'window (steps)', hint: 'steps between statistics' },
  { key: 'minRank', label: 'min rank', hint: 'a power of two' },
  { key: 'maxRank', label: 'max rank', hint: 'a power of two' },
];

function Field({ k, label, testid, hint }: { k: LivePolicyKey; label: string; testid?: string; hint: string }) {
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

export function PolicyPanel() {
  const metric = useStore((s) => s.policy.metric);
  const setPolicyField = useStore((s) => s.setPolicyField);
  const preset = useStore((s) => s.preset); // new defaults per preset: remount the fields
  return (
    <section className="policy" key={preset}>
      <h2>PreLoRA settings <small>(live: the next window uses them)</small></h2>
      {FIELDS.map((f) => <Field key={f.key} k={f.key} label={f.label} testid={f.testid} hint={f.hint} />)}
      <label>metric <select value={metric} onChange={(e) => setPolicyField('metric', e.target.value)}>
        <option value="update%">update% (true change)</option>
        <option value="normChange%">normChange% (paper)</option>
        <option value="gradChange%">gradChange%</option>
      </select></label>
    </section>
  );
}
