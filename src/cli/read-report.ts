// A bench report read from a file, for the CLIs that take reports (compare, merge, ab):
// bounded, parsed and checked to be one; an error names the file and what to give.
import { readFileSync, statSync } from 'node:fs';
import type { BenchReport } from '../engine/bench/report';

/** The largest report read: a report with every launch timed is a few hundred KB a seed. */
export const MAX_REPORT_BYTES = 64 * 2 ** 20;

const WANTED = 'give a report that npm run bench -- --out FILE wrote';

export function readReport(path: string): BenchReport {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (err) {
    throw new Error(`${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ${WANTED}`, { cause: err });
  }
  if (size > MAX_REPORT_BYTES) throw new Error(`${path} is ${(size / 2 ** 20).toFixed(0)} MiB, more than a bench report's ${MAX_REPORT_BYTES / 2 ** 20} MiB: ${WANTED}`);
  let report: unknown;
  try {
    report = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path} is not JSON (${(err as Error).message.slice(0, 80)}): ${WANTED}`, { cause: err });
  }
  if (!report || typeof report !== 'object' || !Array.isArray((report as BenchReport).runs)) throw new Error(`${path} is not a bench report (npm run bench -- --out FILE)`);
  return report as BenchReport;
}
