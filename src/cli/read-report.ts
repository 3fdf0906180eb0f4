// Bench reports (and the PyTorch reference they are compared with) read from files, for
// the CLIs that take them (compare, merge, ab): a regular file within a bound, parsed,
// and checked to be what it should; an error names the file and what to give instead.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import * as v from 'valibot';
import { ReportError, type BenchReport } from '../engine/bench/report';
import { firstIssue } from '../engine/issue';

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
    throw new ReportError(`${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ${wanted}`, { cause: err });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ReportError(`${path} is not a file: ${wanted}`);
    if (st.size > MAX_REPORT_BYTES) throw new ReportError(`${path} is ${(st.size / 2 ** 20).toFixed(1)} MiB, more than the ${MAX_REPORT_BYTES / 2 ** 20} MiB read: ${wanted}`);
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
      throw new ReportError(`${path} is not JSON (${(err as Error).message.slice(0, 80)}): ${wanted}`, { cause: err });
    }
  } finally {
    closeSync(fd);
  }
}

/** The per-phase figures of a run (or a seed's result) that the tables read: each an object of the phases' values. */
const PHASE_FIGURES = ['samplesPerSec', 'hostMsPerStep', 'deviceMsPerStep', 'dispatchesPerStep', 'memoryBytes'] as const;

/** A launch list as the compiled step's timing writes it: absent, null, or launches with a module (or null) and ms. */
const LAUNCHES = v.nullish(v.array(v.looseObject({ module: v.nullable(v.string()), ms: v.number() })));

/**
 * A figure's value by phase, each a number or null (not measured): checked inside, as an
 * object alone let "x" through, to a table of NaN ± NaN or a dash where a speed was.
 */
const PER_PHASE = v.looseObject({ full: v.nullable(v.number()), lora: v.nullable(v.number()) });
/** The memory figure, with the run's peak besides (null where no step was profiled: reports of 2026-11-29 hold such). */
const MEMORY = v.looseObject({ ...PER_PHASE.entries, peak: v.nullable(v.number()) });

/** A run (or a seed's result) with `figures`: a mode, each figure, and (where timed so) its launches. */
const runSchema = (figures: readonly string[], extra: v.ObjectEntries = {}) => v.looseObject({
  mode: v.string(),
  ...Object.fromEntries(figures.map((k) => [k, k === 'memoryBytes' ? MEMORY : PER_PHASE])),
  deviceMsByLaunch: v.nullish(v.looseObject({ full: LAUNCHES, lora: LAUNCHES })),
  ...extra,
});
const RUN = runSchema(PHASE_FIGURES);
/** A report as far as it is read before its runs are checked one by one: its runs, and its per-seed results if any. */
const REPORT_SHAPE = v.looseObject({ runs: v.array(v.unknown()), perSeed: v.optional(v.unknown()) });
// a seed's result keeps no host ms (the merge makes it anew from the intervals); besides
// the figures, what a merge averages over the seeds (combineSeeds), each a number
const SEED_RESULT = runSchema(PHASE_FIGURES.filter((k) => k !== 'hostMsPerStep'), {
  seed: v.number(), rule: v.string(), accuracy: v.number(), wallSeconds: v.number(), trainableShare: v.number(), flopsSaved: v.number(),
  switchedAt: v.nullable(v.number()), flopsPerStep: PER_PHASE, enqueueMsPerStep: v.optional(PER_PHASE), submitsPerStep: v.optional(PER_PHASE),
  phaseShare: v.looseObject({ full: v.number(), mixed: v.number(), lora: v.number() }), familySwitchSteps: v.record(v.string(), v.number()),
});

/** Why each item of `items` fails `schema`, the first that does, or null. */
function firstBad(items: unknown[], schema: typeof RUN | typeof SEED_RESULT): { index: number; why: string } | null {
  for (let i = 0; i < items.length; i++) {
    const r = v.safeParse(schema, items[i]);
    if (!r.success) return { index: i, why: firstIssue(r.issues) };
  }
  return null;
}

/**
 * A bench report: its runs, each with a mode, the per-phase figures the tables read and
 * (where timed so) its launches; with `perSeed`, also its per-seed results, which a merge
 * combines anew (the early reports kept only the combined runs).
 */
export function readReport(path: string, need: { perSeed?: boolean } = {}): BenchReport {
  const r = readJsonFile(path, REPORT);
  const shape = v.safeParse(REPORT_SHAPE, r);
  if (!shape.success) throw new ReportError(`${path} is not a bench report: ${REPORT}`);
  const { runs, perSeed } = shape.output;
  const bad = firstBad(runs, RUN);
  if (bad) throw new ReportError(`${path}: run ${bad.index + 1} is not a bench run (a mode, its per-phase figures, its launches; ${bad.why}): ${REPORT}`);
  if (need.perSeed) {
    if (!Array.isArray(perSeed) || perSeed.length === 0) throw new ReportError(`${path} has no per-seed results to merge: merge reports that npm run bench -- --out FILE writes now`);
    const seed = firstBad(perSeed, SEED_RESULT);
    if (seed) throw new ReportError(`${path}: per-seed result ${seed.index + 1} is not one (a mode, a seed, its figures as numbers; ${seed.why}): ${REPORT}`);
  }
  return r as BenchReport;
}
