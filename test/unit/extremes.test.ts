// maxOf/minOf against Math.max/min over a spread (the form lint bans): the same answers
// where the spread works, an answer where it overflowed the call stack.
import { describe, expect, it } from 'vitest';
import { maxOf, minOf } from '../../src/engine/extremes';

describe('maxOf, minOf', () => {
  it.each([[[3, -1, 7]], [[0.5]], [[-Infinity, -2]], [[2, NaN, 1]]])('%j: as Math.max and Math.min', (xs) => {
    expect(maxOf(xs)).toBe(Math.max(...xs));
    expect(minOf(xs)).toBe(Math.min(...xs));
  });

  it('an empty list gives its floor or ceiling; a floor above every value wins', () => {
    expect(maxOf([])).toBe(-Infinity);
    expect(minOf([])).toBe(Infinity);
    expect(maxOf([], 20)).toBe(20);
    expect(maxOf([3, 5], 20)).toBe(20);
    expect(minOf([3, 5], 1)).toBe(1);
  });

  it('a list past the call stack: a million values', () => {
    const xs = Array.from({ length: 1_000_000 }, (_, i) => (i * 7919) % 1_000_003);
    expect(() => Math.max(...xs)).toThrow(RangeError);
    expect(maxOf(xs)).toBe(xs.reduce((a, b) => (b > a ? b : a)));
    expect(minOf(xs)).toBe(0);
  });
});
