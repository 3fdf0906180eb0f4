// The charts' smoothing and merging: the EMA against a hand computation, and rows that
// hold every run's value at each step.
import { describe, expect, it } from 'vitest';
import { ema, mergeSeries } from '../../src/ui/charts/smooth';

describe('ema', () => {
  it('is the raw series at 0, debiased from the first point on', () => {
    expect(ema([1, 2, 3], 0)).toEqual([1, 2, 3]);
    const [a, b] = ema([2, 4], 0.5);
    expect(a).toBeCloseTo(2); // debiased: not 1
    expect(b).toBeCloseTo((0.5 * 0.5 * 2 + 0.5 * 4) / (0.5 * 0.5 + 0.5)); // 3.333
  });
});

describe('mergeSeries', () => {
  it('gives one row per step with each series where it has a point', () => {
    expect(mergeSeries([
      { key: 'a', points: [{ step: 1, value: 3 }, { step: 2, value: 2 }] },
      { key: 'b', points: [{ step: 2, value: 5 }] },
    ])).toEqual([{ step: 1, a: 3 }, { step: 2, a: 2, b: 5 }]);
  });
});
