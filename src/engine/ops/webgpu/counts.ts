// How many of our own kernels ran, by name: tf.profile sees only tfjs's kernels, so the
// kernel counter adds these; and the shape of a launch's timing. Plain numbers, no tfjs,
// so anything may read them.

/** One launch of a compiled step as timed: its kernel's kind, what it works on (null where it serves several) and its device ms. */
export interface LaunchTime { kind: string; module: string | null; ms: number }

const counts: Record<string, number> = {};

export function countDispatch(name: string): void {
  counts[name] = (counts[name] ?? 0) + 1;
}

/** A copy of the counts so far; subtract two of them to count a piece of work. */
export function dispatchCounts(): Record<string, number> {
  return { ...counts };
}

/** Adds a whole tally at once (a replayed step plan: its dispatches by name). */
export function countDispatches(tally: Record<string, number>): void {
  for (const [name, n] of Object.entries(tally)) counts[name] = (counts[name] ?? 0) + n;
}
