// Bench reports (and the PyTorch reference they are compared with) read from files, for
// the CLIs that take them (compare, merge, ab): a regular file within a bound, parsed,
// and checked to be what it should; an error names the file and what to give instead.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { BenchReport } from '../engine/bench/report';

/** The largest file read: a report with every launch of a step timed is a few hundred KB a seed. */
export const MAX_REPORT_BYTES = 64 * 2 ** 20;

const REPORT = 'give a report that npm run bench -- --out FILE wrote';

/**
 * The JSON of a regular file of at most MAX_REPORT_BYTES; anything else (a folder, a
 * pipe, a device) is refused before a byte is read, and a file that grows is read no
 * further than its size when opened. `wanted` says what to give.
 */
export function readJsonFile(path: string, wanted: string): unknown {
  let fd: number;
  try {
    // non-blocking: opening a named pipe with no writer would wait for one
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
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

/** The per-phase figures of a run (or a seed's result) that the tables read. */
const PHASE_FIGURES = ['samplesPerSec', 'hostMsPerStep', 'deviceMsPerStep', 'dispatchesPerStep', 'memoryBytes'];

/** A launch list as the compiled step's timing writes it: absent, null, or launches with a module (or null) and ms. */
const launchesOk = (x: unknown) => x === undefined || x === null
  || (Array.isArray(x) && x.every((l) => isObject(l) && (l.module === null || typeof l.module === 'string') && typeof l.ms === 'number'));

const runOk = (x: unknown, figures: string[]) => isObject(x) && typeof x.mode === 'string' && figures.every((k) => isObject(x[k]))
  && (x.deviceMsByLaunch === undefined || x.deviceMsByLaunch === null
    || (isObject(x.deviceMsByLaunch) && launchesOk(x.deviceMsByLaunch.full) && launchesOk(x.deviceMsByLaunch.lora)));

/**
 * A bench report: its runs, each with a mode, the per-phase figures the tables read and
 * (where timed so) its launches; with `perSeed`, also its per-seed results, which a merge
 * combines anew (the early reports kept only the combined runs).
 */
export function readReport(path: string, need: { perSeed?: boolean } = {}): BenchReport {
  const r = readJsonFile(path, REPORT);
  if (!isObject(r) || !Array.isArray(r.runs)) throw new Error(`${path} is not a bench report: ${REPORT}`);
  const bad = r.runs.findIndex((x) => !runOk(x, PHASE_FIGURES));
  if (bad >= 0) throw new Error(`${path}: run ${bad + 1} is not a bench run (a mode, its per-phase figures, its launches): ${REPORT}`);
  if (need.perSeed) {
    if (!Array.isArray(r.perSeed) || r.perSeed.length === 0) throw new Error(`${path} has no per-seed results to merge: merge reports that npm run bench -- --out FILE writes now`);
    const seed = r.perSeed.findIndex((x) => !runOk(x, PHASE_FIGURES.filter((k) => k !== 'hostMsPerStep')) || typeof (x as { seed?: unknown }).seed !== 'number');
    if (seed >= 0) throw new Error(`${path}: per-seed result ${seed + 1} is not one (a mode, a seed, its per-phase figures): ${REPORT}`);
  }
  return r as unknown as BenchReport;
}
