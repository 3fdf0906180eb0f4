// The bench tools' flags (bench:merge, bench:ab, bench:compare), parsed one way: strict,
// so a flag a tool does not know is refused by name (it was read as a report's file
// name), and --help prints the tool's usage.
import { parseArgs } from 'node:util';
import { EXIT, say } from './output';

const WITH_OUT = { out: { type: 'string' }, help: { type: 'boolean', default: false } } as const;
const HELP_ONLY = { help: { type: 'boolean', default: false } } as const;

const parse = <O extends typeof WITH_OUT | typeof HELP_ONLY>(argv: string[], options: O) =>
  parseArgs({ args: argv, allowPositionals: true, strict: true, options });

export interface ToolArgs { files: string[]; out?: string }

/** The tool's files (and --out where it takes one), or the exit code where it is done: --help printed, or a flag refused with the usage. */
export function toolArgs(argv: string[], usage: string, takesOut = false): ToolArgs | number {
  let parsed;
  try {
    parsed = parse(argv, takesOut ? WITH_OUT : HELP_ONLY);
  } catch (err) {
    say(`${(err as Error).message}\n${usage}`);
    return EXIT.user;
  }
  if (parsed.values.help) {
    console.log(usage);
    return EXIT.ok;
  }
  const out = 'out' in parsed.values ? parsed.values.out : undefined;
  return { files: parsed.positionals, ...(typeof out === 'string' ? { out } : {}) };
}
