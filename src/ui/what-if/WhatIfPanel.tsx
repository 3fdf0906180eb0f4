// What if? The selected run replayed with other settings: sliders and choices, at
// once the predicted switches (in the layer panel and the weight chart too), the
// predicted shares beside the real ones, where the replay is exact, a branch of the run
// from a checkpoint with them, and a button that trains a run with these settings.
import { recordedSteps } from '../../engine/explore/replay';
import type { PredictedShares } from '../../engine/explore/shares';
import { TRAINABLE_SHARE_LABEL } from '../../engine/trainable-share';
import { useStore } from '../store';
import { rankChoices, WHAT_IF_FIELDS, type WhatIfKey } from '../store/what-if';
import { BranchOffer } from './BranchOffer';
import { ExactNote } from './ExactNote';
import { useWhatIf, type WhatIf } from './use-replay';
import { minOf } from '../../engine/extremes';

const SHARES: [keyof PredictedShares, string][] = [
  ['trainableMean', `${TRAINABLE_SHARE_LABEL} (mean)`],
  ['trainableEnd', `${TRAINABLE_SHARE_LABEL} (end)`],
  ['loraSteps', 'steps with all in LoRA'],
  ['flopsSaved', 'matmul FLOPs saved'],
];
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function Field({ k, w }: { k: WhatIfKey; w: WhatIf }) {
  const field = WHAT_IF_FIELDS.find((f) => f.key === k)!;
  const setWhatIf = useStore((s) => s.setWhatIf);
  const error = useStore((s) => s.whatIfErrors[k]);
  const value = w.settings[k];
  const own = w.run.config.prelora[k];
  return (
    <label className={`what-if-field${error ? ' invalid' : ''}${value !== own ? ' changed' : ''}`} title={error ?? `the run's own: ${own}`}>
      <span>{field.label}</span>
      {'slider' in field
        ? <>
          <input type="range" data-testid={`what-if-${k}`} min={field.slider[0]} max={Math.max(field.slider[1], Number(own))} step={field.slider[2]}
            value={Number(value)} onChange={(e) => setWhatIf(k, e.target.value)} />
          {/* the label names the slider (its first control) only: the text box needs a name of its own */}
          <input className="num" data-testid={`what-if-${k}-text`} aria-label={`${field.label}, typed`} key={String(value)} defaultValue={String(value)} inputMode="decimal"
            onBlur={(e) => setWhatIf(k, e.target.value)} onKeyDown={(e) => { if (e.key === 'Enter') setWhatIf(k, e.currentTarget.value); }} />
        </>
        : <select data-testid={`what-if-${k}`} value={String(value)} onChange={(e) => setWhatIf(k, e.target.value)}>
          {('choices' in field ? Object.entries(field.choices) : rankChoices(w.run.config).map((r) => [String(r), String(r)]))
            .map(([c, name]) => <option key={c} value={c}>{name}</option>)}
        </select>}
      {error ? <em className="bad" data-testid="what-if-error">{error}</em> : null}
    </label>
  );
}

export function WhatIfPanel() {
  const w = useWhatIf();
  const reset = useStore((s) => s.resetWhatIf);
  const apply = useStore((s) => s.applyWhatIf);
  const busy = useStore((s) => s.runs.some((r) => r.state === 'running' || r.state === 'starting') || s.benchStatus.state === 'running');
  // a static-LoRA run has windows too, but no decision to replay: waiting for one would not help
  const staticLora = useStore((s) => s.runs.find((r) => r.id === s.activeId)?.config.prelora.mode === 'lora');
  if (!w) {
    return (
      <section className="panel what-if" data-testid="what-if">
        <h2>What if?</h2>
        {staticLora
          ? <p className="hint">A static-LoRA run cannot be replayed: its mode is fixed at its start (every targeted module in LoRA from
            step 0), so no threshold decides anything. Only PreLoRA runs and full runs replay.</p>
          : <p className="hint">Once a run has closed its first window, move its thresholds here and see at once where each layer would
            have switched: a replay of the statistics the run recorded, without training again.</p>}
      </section>
    );
  }
  const { replay: r, run, recorded } = w;
  const real = recorded.real;
  const predictedFirst = r.switches.length ? minOf(r.switches.map((s) => s.step)) : null;
  return (
    <section className="panel what-if" data-testid="what-if" data-run={run.id}>
      <h2>What if? <small>{run.label} replayed with these settings (a window&apos;s statistics decide)</small></h2>
      <div className="what-if-fields">
        {WHAT_IF_FIELDS.map((f) => <Field key={f.key} k={f.key} w={w} />)}
      </div>
      <p data-testid="what-if-summary" data-switches={r.switches.length} data-first={predictedFirst ?? ''}>
        Predicted: <b>{r.switches.length}</b> of {recorded.moduleIds.length} modules switch{predictedFirst !== null ? <>, the first at step <b>{predictedFirst}</b></> : ''};
        really: {real.length}{real.length ? `, the first at step ${minOf(real.map((s) => s.step))}` : ''}.
      </p>
      <table className="shares">
        <caption data-testid="shares-horizon">over steps 1 to {recordedSteps(recorded)}, those its windows cover</caption>
        <thead><tr><th /><th>real</th><th>predicted</th></tr></thead>
        <tbody>{SHARES.map(([k, label]) => <tr key={k}><th>{label}</th><td>{w.real ? pct(w.real[k]) : '–'}</td><td>{pct(r.shares[k])}</td></tr>)}</tbody>
      </table>
      <ExactNote exactUntil={r.exactUntil} exactBy={r.exactBy} mode={run.config.prelora.mode} />
      <BranchOffer w={w} busy={busy} />
      <div className="buttons">
        <button onClick={reset} disabled={!w.changed}>Back to the run&apos;s settings</button>
        <button data-testid="apply-what-if" onClick={apply} disabled={busy}
          title={busy ? 'wait for the running run to pause or finish' : 'train a PreLoRA run like this one (data, seed, steps) with these settings'}>
          Train a run with these settings
        </button>
      </div>
    </section>
  );
}
