// `npm run bench:merge -- A.json B.json ... [--out FILE]`: bench reports of one
// benchmark run on different seeds (bench --first-seed, e.g. in parallel processes)
// as one report: the table, and the merged JSON with --out.
import { writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { benchTable, mergeReports } from '../engine/bench/report';
import { EXIT, outProblem, say } from './output';
import { readReport } from './read-report';
import { runTool, toolArgs } from './tool-args';

export const MERGE_USAGE = `usage: npm run bench:merge -- REPORT.json REPORT.json ... [flags]
  REPORT.json    a report of one benchmark on other seeds: npm run bench -- --first-seed N --out FILE
  --out FILE     write the merged report as JSON (a new file, or one that is none of the reports)
  --help         this text
exit codes: 0 merged, 2 a bad flag, file or --out path, or reports of different benchmarks (named), 1 anything else`;

/** The report among `files` that `out` is (by the file itself: another path to it counts too), or null. */
async function inputAt(out: string, files: string[]): Promise<string | null> {
  const o = await stat(out).catch(() => null);
  if (!o) return null;
  for (const f of files) {
    const s = await stat(f).catch(() => null);
    if (s && s.dev === o.dev && s.ino === o.ino) return f;
  }
  return null;
}

async function main(): Promise<number> {
  const args = toolArgs(process.argv.slice(2), MERGE_USAGE, true);
  if (typeof args === 'number') return args;
  const { files, out } = args;
  if (files.length === 0) {
    say(`give the reports to merge\n${MERGE_USAGE}`);
    return EXIT.user;
  }
  // checked before any report is read: a bad path found at the end lost the merge
  if (out !== undefined) {
    const input = await inputAt(out, files);
    const bad = input ? `--out: ${out} is the report ${input}: writing there would replace it; give another file`
      : await outProblem(out, 'the merged report');
    if (bad) {
      say(bad);
      return EXIT.user;
    }
  }
  const merged = mergeReports(files.map((f) => readReport(f, { perSeed: true })), files);
  console.log(benchTable(merged));
  if (out) writeFileSync(out, JSON.stringify(merged, null, 1));
  return EXIT.ok;
}

runTool(main);
