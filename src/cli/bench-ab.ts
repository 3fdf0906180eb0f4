// `npm run bench:ab -- [NAME=]REPORT.json [NAME=]REPORT.json ...`: bench reports side by
// side, each one variant of an A/B (a bundle, a tuning flag), as markdown: both phases'
// device ms a step, their ratio, launches, peak memory and samples/s, then, where the
// steps were timed launch by launch, the device ms by what the launches work on.
import { basename } from 'node:path';
import { abTable } from '../engine/bench/ab';
import { ReportError } from '../engine/bench/report';
import { EXIT, say } from './output';
import { readReport } from './read-report';
import { runTool, toolArgs } from './tool-args';

export const AB_USAGE = `usage: npm run bench:ab -- [NAME=]REPORT.json [NAME=]REPORT.json ... [flags]
  [NAME=]REPORT.json    a variant's report (npm run bench -- --out FILE); NAME its name, the file's by default
                        (write ./a=b.json for a file whose name holds an =)
  --help                this text
exit codes: 0 printed, 2 a bad flag, name or file (named), 1 anything else`;

/**
 * A variant from `NAME=FILE`, or `FILE` named after the file: an `=` names only where
 * what comes before it is no path (a path may hold an `=`).
 */
function variant(arg: string): { name: string; path: string } {
  const eq = arg.indexOf('=');
  const named = eq > 0 && !/[/\\]/.test(arg.slice(0, eq));
  if (named && eq === arg.length - 1) throw new ReportError(`${arg}: give a report file after ${arg} (or write ./${arg} for a file of that name)`);
  const v = named ? { name: arg.slice(0, eq), path: arg.slice(eq + 1) } : { name: basename(arg, '.json'), path: arg };
  // a name is a table cell
  if (v.name.includes('|')) throw new ReportError(`${arg}: a variant's name cannot hold |: name it, NAME=FILE, without one`);
  return v;
}

function main(): number {
  const args = toolArgs(process.argv.slice(2), AB_USAGE);
  if (typeof args === 'number') return args;
  if (args.files.length === 0) {
    say(`give the variants' reports\n${AB_USAGE}`);
    return EXIT.user;
  }
  const named = args.files.map(variant);
  const twice = named.find((v, i) => named.findIndex((w) => w.name === v.name) !== i);
  if (twice) throw new ReportError(`two reports are named ${twice.name}: name each, NAME=FILE`);
  console.log(abTable(named.map(({ name, path }) => ({ name, report: readReport(path) }))));
  return EXIT.ok;
}

runTool(main);
