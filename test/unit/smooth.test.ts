// The charts' smoothing and merging: the EMA against a hand computation, and rows that
// hold every run's value at each step.
import { describe, expect, it } from 'vitest';
import { ema, mergeSeries, smoothed } from '../../src/ui/charts/smooth';

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

describe('smoothed', () => {
  it('gives the raw points under raw:key and their EMA under key, at the same steps', () => {
    const points = [{ step: 10, value: 2 }, { step: 20, value: 4 }, { step: 40, value: 1 }];
    const [raw, smooth] = smoothed('a', points, 0.5);
    expect(raw).toEqual({ key: 'raw:a', points });
    expect(smooth!.key).toBe('a');
    expect(smooth!.points.map((p) => p.step)).toEqual([10, 20, 40]);
    expect(smooth!.points.map((p) => p.value)).toEqual(ema([2, 4, 1], 0.5));
    // merged: a hover's row holds both, so the read-out shows the raw value beside the smoothed
    expect(mergeSeries(smoothed('a', points, 0.5))[1]).toEqual({ step: 20, 'raw:a': 4, a: ema([2, 4], 0.5)[1] });
  });
});
