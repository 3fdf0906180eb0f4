// Step-axis ticks fall at round numbers from 0, at most `most` of them past the first.
import { describe, expect, it } from 'vitest';
import { niceTicks } from '../../src/ui/charts/ticks';

describe('niceTicks', () => {
  it.each([
    [200, [0, 50, 100, 150, 200]],
    [180, [0, 50, 100, 150]],
    [1000, [0, 200, 400, 600, 800, 1000]],
    [7, [0, 1, 2, 3, 4, 5, 6, 7]],
    [0, [0]],
  ])('up to %s: %j', (max, ticks) => {
    expect(niceTicks(max)).toEqual(ticks);
  });
});
