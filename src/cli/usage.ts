// Usage text of the CLIs: one aligned line per flag, value sets written out from the
// declared lists (so a new preset or backend shows up by itself).
export const choices = (xs: readonly string[]) => xs.join('|');

export function usageText(command: string, flags: [flag: string, help: string][]): string {
  const width = flags.reduce((a, [f]) => Math.max(a, f.length), -Infinity) + 2;
  return [`usage: ${command} -- [flags]`, ...flags.map(([f, help]) => `  ${f.padEnd(width)} ${help}`)].join('\n');
}
