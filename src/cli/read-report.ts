// Bench reports (and the PyTorch reference they are compared with) read from files, for
// the CLIs that take them (compare, merge, ab): a regular file within a bound, parsed,
// and checked to be what it should; an error names the file and what to give instead.
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import type { BenchReport } from '../engine/bench/report';

/** The largest file read: a report with every launch of a step timed is a few hundred KB a seed. */
export const MAX_REPORT_BYTES = 64 * 2 ** 20;

const REPORT = 'give a report that npm run bench -- --out FILE wrote';

/**
 * The JSON of a regular file of at most MAX_REPORT_BYTES (read no further than that, so
 * a pipe or a file that grows cannot make it read on); `wanted` says what to give.
 */
export function readJsonFile(path: string, wanted: string): unknown {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new Error(`${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ${wanted}`, { cause: err });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new Error(`${path} is not a file: ${wanted}`);
    if (st.size > MAX_REPORT_BYTES) throw new Error(`${path} is ${(st.size / 2 ** 20).toFixed(1)} MiB, more than the ${MAX_REPORT_BYTES / 2 ** 20} MiB read: ${wanted}`);
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    try {
      return JSON.parse(buf.subarray(0, got).toString('utf8'));
    } catch (err) {
      throw new Error(`${path} is not JSON (${(err as Error).message.slice(0, 80)}): ${wanted}`, { cause: err });
    }
  } finally {
    closeSync(fd);
  }
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** A bench report: its runs, each with a mode and the per-phase figures the tables read. */
export function readReport(path: string): BenchReport {
  const r = readJsonFile(path, REPORT);
  const runOk = (x: unknown) => isObject(x) && typeof x.mode === 'string'
    && ['samplesPerSec', 'deviceMsPerStep', 'dispatchesPerStep', 'memoryBytes'].every((k) => isObject(x[k]));
  if (!isObject(r) || !Array.isArray(r.runs)) throw new Error(`${path} is not a bench report: ${REPORT}`);
  const bad = r.runs.findIndex((x) => !runOk(x));
  if (bad >= 0) throw new Error(`${path}: run ${bad + 1} is not a bench run (a mode and its per-phase figures): ${REPORT}`);
  return r as unknown as BenchReport;
}
