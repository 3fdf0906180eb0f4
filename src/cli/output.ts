// The CLI's two outputs checked and written safely: `--out FILE` is checked before any
// work (the log is written at the end, and a bad path found then lost the run), and
// what reaches the terminal is made printable (names and values come from the user).
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { printable } from '../engine/data/names';

/** Exit codes: 2 is a user error (a flag, a field, a file), 3 a run that diverged. */
export const EXIT = { ok: 0, crash: 1, user: 2, diverged: 3 } as const;

/** Why `path` cannot take what --out writes (`what`: train's log, a report), or null when it can. */
export async function outProblem(path: string, what = 'the log'): Promise<string | null> {
  if (path === '') return '--out takes a path (got "")'; // it wrote nowhere, without a word
  const s = await stat(path).catch(() => null);
  if (s?.isDirectory()) return `--out: ${path} is a folder: give a file name, e.g. ${resolve(path, 'run.json')}`;
  if (s && !s.isFile()) return `--out: ${path} is not a regular file: give a file name`;
  const target = s ? path : dirname(resolve(path));
  const folder = s ? null : await stat(target).catch(() => null);
  if (!s && !folder?.isDirectory()) return `--out: ${target} is not a folder: create it first, or write ${what} elsewhere`;
  const writable = await access(target, constants.W_OK).then(() => true, () => false);
  return writable ? null : `--out: ${s ? path : target} is not writable: write ${what} elsewhere`;
}

/** Print to stderr, each line made printable (a name with ESC or U+202E stays visible as text). */
export function say(text: string): void {
  console.error(text.split('\n').map(printable).join('\n'));
}
