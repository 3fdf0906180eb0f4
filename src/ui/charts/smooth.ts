// Curves as TensorBoard draws them: an exponential moving average (debiased, so the
// first points are not pulled towards 0) over the raw values, and the runs' points
// merged into one row per step, so a hover reads every run at that step.

/** EMA with weight `alpha` on the past (0 = raw), debiased as TensorBoard's smoothing. */
export function ema(values: number[], alpha: number): number[] {
  let acc = 0, weight = 0;
  return values.map((v) => {
    acc = alpha * acc + (1 - alpha) * v;
    weight = alpha * weight + (1 - alpha);
    return weight > 0 ? acc / weight : v;
  });
}

export type Row = { step: number } & Record<string, number | undefined>;

/** One row per step of any series: `rows[i][key]` is that series' value at the step, or undefined. */
export function mergeSeries(series: { key: string; points: { step: number; value: number }[] }[]): Row[] {
  const byStep = new Map<number, Row>();
  for (const { key, points } of series) {
    for (const p of points) {
      const row = byStep.get(p.step) ?? { step: p.step };
      row[key] = p.value;
      byStep.set(p.step, row);
    }
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

export type Point = { step: number; value: number };

/** The key a series' raw values are merged under (drawn faint behind its smoothed line). */
export const rawKey = (key: string) => `raw:${key}`;

/**
 * A noisy series as the charts draw it: its raw points under `raw:key` and their EMA
 * under `key`, for mergeSeries. Points missing from the series (a gap) are not smoothed over.
 */
export function smoothed(key: string, points: Point[], alpha: number): { key: string; points: Point[] }[] {
  const smooth = ema(points.map((p) => p.value), alpha);
  return [{ key: rawKey(key), points }, { key, points: points.map((p, i) => ({ step: p.step, value: smooth[i]! })) }];
}
