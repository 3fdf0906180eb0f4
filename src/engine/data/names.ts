// Text from a user's files (file and archive-entry names, folder names) made safe to
// print on a terminal or show on the page: control characters and the invisible
// direction overrides are written as escapes, and a runaway length is cut; a list of
// them is shortened to a few.

// C0 and C1 controls, DEL, line/paragraph separators and the bidirectional overrides
// (a name with U+202E can show "gnp.exe" as "exe.png")
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** The longest text shown whole; longer keeps its head and tail (the advice at the end). */
export const MAX_SHOWN_CHARS = 1000;

function escape(ch: string): string {
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with every unsafe character escaped (`\x1b`, `\u202e`), shortened past MAX_SHOWN_CHARS. */
export function printable(text: string): string {
  const safe = text.replace(UNSAFE, escape);
  if (safe.length <= MAX_SHOWN_CHARS) return safe;
  const keep = MAX_SHOWN_CHARS / 2;
  return `${safe.slice(0, keep)} … (${safe.length - 2 * keep} characters) … ${safe.slice(-keep)}`;
}

/** A few names (each as `show` makes it), then how many more: a message names the files it is about without listing thousands. */
export function fewNames(names: readonly string[], show: (name: string) => string = (n) => n): string {
  const shown = names.slice(0, 3).map(show).join(', ');
  return names.length <= 3 ? shown : `${shown} and ${names.length - 3} more`;
}
