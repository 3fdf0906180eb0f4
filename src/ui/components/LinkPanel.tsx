// The page's link: what it asked for and did not get (each field by name, with the
// fix), the config fields it set that have no control here (each removable), and a
// button that copies the link. Everything from a link is shown as text, never as HTML.
import { useState } from 'react';
import { formatErrors } from '../../engine/config';
import { useStore } from '../store';

export function LinkPanel() {
  const problems = useStore((s) => s.linkProblems);
  const extra = useStore((s) => s.extra);
  const { dismissLinkProblems, dropExtra } = useStore.getState();
  const [copied, setCopied] = useState<string | null>(null);
  const copy = () => navigator.clipboard.writeText(window.location.href).then(
    () => setCopied('link copied'), (err: unknown) => setCopied(`could not copy: ${(err as Error).message}`));
  const fields = Object.entries(extra);
  return (
    <section className="link" data-testid="link-panel">
      <button data-testid="copy-link" onClick={copy} title="the next run's settings are in this page's address">Copy link</button>
      {copied && <small>{copied}</small>}
      {fields.length > 0 && (
        <span className="extra" data-testid="link-extra">
          from the link: {fields.map(([path, raw]) => (
            <span key={path} className="chip" data-field={path}>{path} = {raw}
              <button aria-label={`drop ${path}`} onClick={() => dropExtra(path)}>×</button></span>
          ))}
        </span>
      )}
      {problems.length > 0 && (
        <pre className="error" data-testid="link-problems" onClick={dismissLinkProblems} title="click to dismiss">
          {`The link asked for what this page cannot take (the rest applies):\n${formatErrors(problems)}`}
        </pre>
      )}
    </section>
  );
}
