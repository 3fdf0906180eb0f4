// The one throughput rule, for the run summary (CLI, bench) and the page's run table:
// per run phase, samples over seconds of the timed read-back intervals, leaving out
// the phase's first interval (shader compilation, new shapes), the first after a
// restore (a new worker compiles again) and any that ran a module's new shapes first (a
// switch or freeze within the mixed phase) when it has others.
import type { RunPhase } from './events';

/** Seconds and steps of timed intervals (an interval with 0 seconds was not timed). */
interface Timed {
  steps: number;
  seconds: number;
}

export interface PhaseTally {
  intervals: number;
  steps: number;
  first: Timed;
  rest: Timed;
}

/** A run's tallies by phase, and the backend its intervals ran on (null until an interval names it). */
export interface Tallies {
  backend: string | null;
  phases: Partial<Record<RunPhase, PhaseTally>>;
}

export const NO_TALLIES: Tallies = { backend: null, phases: {} };

const UNTIMED: Timed = { steps: 0, seconds: 0 };

const timed = (t: Timed, steps: number, seconds: number): Timed =>
  (seconds > 0 ? { steps: t.steps + steps, seconds: t.seconds + seconds } : t);

/**
 * Add one read-back interval (a `progress` event's steps and seconds) to its phase. A
 * cold one (the first after a restore, or one a switch or freeze reshaped) joins the phase's first: a resumed run's first
 * interval, its kernels compiled again in a new worker, counted as steady before. An
 * interval that names another backend than the run's so far (a run resumed on another
 * one) starts every phase's timing afresh, its steps kept: samples/s count one backend's
 * intervals, where both were summed into one figure before.
 */
export function tally(tallies: Tallies, phase: RunPhase, steps: number, seconds: number, cold = false, backend?: string): Tallies {
  const moved = backend !== undefined && tallies.backend !== null && backend !== tallies.backend;
  const phases = moved
    ? Object.fromEntries(Object.entries(tallies.phases).map(([k, p]) => [k, { ...p, first: UNTIMED, rest: UNTIMED }])) as Tallies['phases']
    : tallies.phases;
  const t = phases[phase] ?? { intervals: 0, steps: 0, first: UNTIMED, rest: UNTIMED };
  const early = t.intervals === 0 || cold;
  const next: PhaseTally = {
    intervals: t.intervals + 1,
    steps: t.steps + steps,
    first: early ? timed(t.first, steps, seconds) : t.first,
    rest: early ? t.rest : timed(t.rest, steps, seconds),
  };
  return { backend: backend ?? tallies.backend, phases: { ...phases, [phase]: next } };
}

/** Samples per second of a phase, or null when none of its steps were timed. */
export function samplesPerSec(t: PhaseTally | undefined, batchSize: number): number | null {
  if (!t) return null;
  const steady = t.rest.seconds > 0 ? t.rest : t.first;
  return steady.seconds > 0 ? (steady.steps * batchSize) / steady.seconds : null;
}
