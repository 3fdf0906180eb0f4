// A whole number typed as text: the text stays as it is, a bad one too, marked with its
// message (a number input dropped what it could not parse: clearing it snapped back and
// typing then appended, 1000 became 3001000); the store takes it only when it is good.
import { useState } from 'react';

export function TypedNumber({ label, testId, value, error, disabled, onText }: {
  label: string; testId: string; value: number; error: string | undefined; disabled: boolean;
  /** each edit's text, for the store to check and take */
  onText: (text: string) => void;
}) {
  // the store's value seeds the text once: a remount (a new preset, a link) shows its value
  const [text, setText] = useState(String(value));
  return (
    <label className={error ? 'invalid' : ''} title={error}>{label} <input data-testid={testId} value={text} inputMode="numeric" disabled={disabled}
      onChange={(e) => { setText(e.target.value); onText(e.target.value); }} /></label>
  );
}
