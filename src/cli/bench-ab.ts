// `npm run bench:ab -- [NAME=]REPORT.json [NAME=]REPORT.json ...`: bench reports side by
// side, each one variant of an A/B (a bundle, a tuning flag), as markdown: both phases'
// device ms a step, their ratio, launches, peak memory and samples/s, then, where the
// steps were timed launch by launch, the device ms by what the launches work on.
import { basename } from 'node:path';
import { abTable } from '../engine/bench/ab';
import { readReport } from './read-report';

const args = process.argv.slice(2);
if (args.length === 0) {
  console.error('usage: npm run bench:ab -- [NAME=]REPORT.json [NAME=]REPORT.json ...  (NAME: the variant\'s name, the file\'s by default; write ./a=b.json for a file whose name holds an =)');
  process.exit(2);
}
/**
 * A variant from `NAME=FILE`, or `FILE` named after the file: an `=` names only where
 * what comes before it is no path (a path may hold an `=`).
 */
function variant(arg: string): { name: string; path: string } {
  const eq = arg.indexOf('=');
  const named = eq > 0 && !/[/\\]/.test(arg.slice(0, eq));
  if (named && eq === arg.length - 1) throw new Error(`${arg}: give a report file after ${arg} (or write ./${arg} for a file of that name)`);
  const v = named ? { name: arg.slice(0, eq), path: arg.slice(eq + 1) } : { name: basename(arg, '.json'), path: arg };
  // a name is a table cell
  if (v.name.includes('|')) throw new Error(`${arg}: a variant's name cannot hold |: name it, NAME=FILE, without one`);
  return v;
}

try {
  const named = args.map(variant);
  const twice = named.find((v, i) => named.findIndex((w) => w.name === v.name) !== i);
  if (twice) throw new Error(`two reports are named ${twice.name}: name each, NAME=FILE`);
  console.log(abTable(named.map(({ name, path }) => ({ name, report: readReport(path) }))));
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
