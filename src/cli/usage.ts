// Usage text of the CLIs: one aligned line per flag, value sets written out from the
// declared lists (so a new preset or backend shows up by itself).
import { maxOf } from '../engine/extremes';
export const choices = (xs: readonly string[]) => xs.join('|');

export function usageText(command: string, flags: [flag: string, help: string][]): string {
  const width = maxOf(flags.map(([f]) => f.length)) + 2;
  return [`usage: ${command} -- [flags]`, ...flags.map(([f, help]) => `  ${f.padEnd(width)} ${help}`)].join('\n');
}
