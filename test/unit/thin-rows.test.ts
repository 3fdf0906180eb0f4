// A chart's rows of a long series, thinned: every k-th row, and the first, the last and
// the steps a chart labels always drawn; a short series drawn whole.
import { describe, expect, it } from 'vitest';
import { mergeSeries } from '../../src/ui/charts/smooth';
import { MAX_DRAWN, thinEach, thinRows } from '../../src/ui/charts/thin-rows';

const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ step: 25 * (i + 1), v: i }));

describe('thinRows', () => {
  it('draws a series of up to MAX_DRAWN rows whole', () => {
    expect(thinRows(rows(MAX_DRAWN))).toEqual({ rows: rows(MAX_DRAWN), every: 1 });
  });

  it('draws every k-th row of a long one, its first and last, and the steps asked for', () => {
    const all = rows(40_000);
    const { rows: drawn, every } = thinRows(all, new Set([25 * 12_345, 25 * 39_999]));
    expect(every).toBe(100);
    expect(drawn.length).toBe(400 + 2 + 1); // every 100th from the first, the two asked for, the last
    expect(drawn[0]).toBe(all[0]);
    expect(drawn.at(-1)).toBe(all.at(-1));
    expect(drawn.map((r) => r.step)).toContain(25 * 12_345);
    expect(drawn.every((r, i) => i === 0 || r.step > drawn[i - 1]!.step)).toBe(true);
  });

  it('thins each run on its own: one evaluated every step beside one every 100 steps keeps all of the second\'s', () => {
    const every = Array.from({ length: 40_000 }, (_, i) => ({ step: i + 1, value: 0.5 }));
    const hundredth = Array.from({ length: 50 }, (_, i) => ({ step: 100 * (i + 1), value: 0.7 }));
    const [a, b] = thinEach([{ key: 'a', points: every }, { key: 'b', points: hundredth }]);
    expect(a!.points.length).toBe(401);
    expect(a!.points.at(-1)).toBe(every.at(-1));
    expect(b!.points).toEqual(hundredth);
    const rows = mergeSeries([a!, b!]);
    expect(rows.filter((r) => r.b !== undefined)).toHaveLength(50);
  });
});
