// The rows a chart draws of a long series: at most about MAX_DRAWN, every k-th, and always
// the first, the last and the steps asked for (a line's labelled end). A 1,000,000-step
// nano run at its default window of 25 has 40,000 windows: its weight-change chart drew
// every one, a dot on each of its four layers' lines (160,000), rebuilt at every batch of
// the worker's events. The loss chart's points were thinned already (store/runs.ts).
export const MAX_DRAWN = 400;

/** `rows` (in step order) thinned to about `most`, and `every`: 1 where none was left out. */
export function thinRows<T extends { step: number }>(rows: readonly T[], keep: ReadonlySet<number> = new Set(), most = MAX_DRAWN): { rows: T[]; every: number } {
  if (rows.length <= most) return { rows: [...rows], every: 1 };
  const every = Math.ceil(rows.length / most);
  return { rows: rows.filter((r, i) => i % every === 0 || i === rows.length - 1 || keep.has(r.step)), every };
}

/**
 * Each series thinned on its own, its last point kept: thinned after merging, a run
 * evaluated every 100 steps beside one evaluated every step kept 1 of its 400 points.
 */
export function thinEach<P extends { step: number }>(series: { key: string; points: P[] }[]): { key: string; points: P[] }[] {
  return series.map(({ key, points }) => ({ key, points: thinRows(points).rows }));
}
