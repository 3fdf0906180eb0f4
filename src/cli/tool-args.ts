// The bench tools' flags (bench:merge, bench:ab, bench:compare), parsed one way: strict,
// so a flag a tool does not know is refused by name (it was read as a report's file
// name), and --help prints the tool's usage; and how they exit (runTool).
import { parseArgs } from 'node:util';
import { ReportError } from '../engine/bench/report';
import { EXIT, say } from './output';
import { messageOf } from '../engine/message-of';

const WITH_OUT = { out: { type: 'string' }, help: { type: 'boolean', default: false } } as const;
const HELP_ONLY = { help: { type: 'boolean', default: false } } as const;

const parse = <O extends typeof WITH_OUT | typeof HELP_ONLY>(argv: string[], options: O) =>
  parseArgs({ args: argv, allowPositionals: true, strict: true, options });

export interface ToolArgs { files: string[]; out?: string }

/**
 * Runs a tool's main and exits with its code: a ReportError (a report the user gave,
 * named with the fix) exits 2, anything else, a fault of ours, 1, each said escaped.
 * Every throw exited 2, a bug's too, where the usage promises 1.
 */
export function runTool(main: () => number | Promise<number>): void {
  Promise.resolve().then(main).then((code) => process.exit(code), (err: unknown) => {
    say(messageOf(err));
    process.exit(err instanceof ReportError ? EXIT.user : EXIT.crash);
  });
}

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
