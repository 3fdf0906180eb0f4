// A value or a schema problem quoted in one line of a message: cut short, as a field of
// a file or a message may be megabytes long (a 5 MB key came back as a 5 MB line).
import * as v from 'valibot';

/** Characters of a value a message quotes. */
export const QUOTED_CHARS = 40;

/** `text` cut past QUOTED_CHARS. */
export const cutShort = (text: string): string => (text.length > QUOTED_CHARS ? `${text.slice(0, QUOTED_CHARS)}...` : text);

/** valibot's first issue as `root.path: expected X (got Y)` (or `missing`), what was received cut short. */
export function firstIssue(issues: readonly v.BaseIssue<unknown>[], root = ''): string {
  const i = issues[0]!;
  const path = [root, v.getDotPath(i)].filter(Boolean).join('.');
  return `${path ? `${path}: ` : ''}${i.received === 'undefined' ? 'missing' : `expected ${i.expected} (got ${cutShort(i.received)})`}`;
}
