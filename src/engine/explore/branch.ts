// Where a what-if branch starts: the first window whose decision the replay makes
// differently from the run (which modules switch there, at which rank), and the run's
// latest branch point before it. Up to that window the run and a run with the what-if
// settings are the same run, so a branch from there loses nothing. Pure, no tfjs.
import type { Switch } from '../stepper';
import type { RealSwitch } from './recorded';
import { maxOf } from '../extremes';

const byStep = (switches: readonly { step: number; module: string; rank: number | null }[]) => {
  const out = new Map<number, string[]>();
  for (const s of switches) out.set(s.step, [...(out.get(s.step) ?? []), `${s.module}:${s.rank}`]);
  return out;
};

/** The step of the first decision that differs (a module switching or not, or at another rank); null when all agree. */
export function firstDifference(real: readonly RealSwitch[], predicted: readonly Switch[]): number | null {
  const a = byStep(real), b = byStep(predicted);
  const steps = [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => x - y);
  const same = (x: string[] = [], y: string[] = []) => x.length === y.length && [...x].sort().join() === [...y].sort().join();
  return steps.find((s) => !same(a.get(s), b.get(s))) ?? null;
}

/**
 * The latest branch point strictly before `differsAt`: a checkpoint at a window's end
 * step already holds that window's decision, so one at `differsAt` is too late. Null when none is early enough.
 */
export function branchPoint(points: readonly number[], differsAt: number): number | null {
  const early = points.filter((p) => p < differsAt);
  return early.length ? maxOf(early) : null;
}
