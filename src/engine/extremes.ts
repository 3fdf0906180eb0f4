// The largest and the smallest of a list, by a loop: `Math.max(...xs)` passes every
// element as an argument, and past about 125,000 (a run log's phase events, a deep
// config's module ids) V8 threw "Maximum call stack size exceeded" (lint bans the spread).
// As Math.max and Math.min: a NaN among them gives NaN.

/** The largest of `xs`, and `floor` where it is larger (an empty list's answer). */
export function maxOf(xs: Iterable<number>, floor = -Infinity): number {
  let m = floor;
  for (const x of xs) m = Math.max(m, x);
  return m;
}

/** The smallest of `xs`, and `ceiling` where it is smaller (an empty list's answer). */
export function minOf(xs: Iterable<number>, ceiling = Infinity): number {
  let m = ceiling;
  for (const x of xs) m = Math.min(m, x);
  return m;
}
