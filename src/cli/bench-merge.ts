// `npm run bench:merge -- A.json B.json ... [--out FILE]`: bench reports of one
// benchmark run on different seeds (bench --first-seed, e.g. in parallel processes)
// as one report: the table, and the merged JSON with --out.
import { writeFileSync } from 'node:fs';
import { benchTable, mergeReports } from '../engine/bench/report';
import { readReport } from './read-report';

const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const out = outAt >= 0 ? args[outAt + 1] : undefined;
const files = args.filter((_, i) => outAt < 0 || (i !== outAt && i !== outAt + 1));
if (files.length === 0 || (outAt >= 0 && !out)) {
  console.error('usage: npm run bench:merge -- REPORT.json REPORT.json ... [--out MERGED.json]');
  process.exit(2);
}
try {
  const merged = mergeReports(files.map((f) => readReport(f, { perSeed: true })), files);
  console.log(benchTable(merged));
  if (out) writeFileSync(out, JSON.stringify(merged, null, 1));
} catch (err) {
  console.error((err as Error).message);
  process.exit(1);
}
