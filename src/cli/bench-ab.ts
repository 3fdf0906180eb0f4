// `npm run bench:ab -- [NAME=]REPORT.json [NAME=]REPORT.json ...`: bench reports side by
// side, each one variant of an A/B (a bundle, a tuning flag), as markdown: both phases'
// device ms a step, their ratio, launches, peak memory and samples/s, then, where the
// steps were timed launch by launch, the device ms by what the launches work on.
import { basename } from 'node:path';
import { abTable } from '../engine/bench/ab';
import { readReport } from './read-report';

const args = process.argv.slice(2);
if (args.length === 0) {
  console.error('usage: npm run bench:ab -- [NAME=]REPORT.json [NAME=]REPORT.json ...  (NAME: the variant\'s name, the file\'s by default)');
  process.exit(2);
}
try {
  console.log(abTable(args.map((arg) => {
    const eq = arg.indexOf('=');
    const [name, path] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [basename(arg, '.json'), arg];
    return { name, report: readReport(path) };
  })));
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
