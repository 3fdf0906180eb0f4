// Where a what-if branch starts: the first decision the replay makes differently from
// the run (a module switching or not, or at another rank), and the latest branch point
// strictly before it (one at that window's end already holds the run's decision).
import { describe, expect, it } from 'vitest';
import { branchPoint, firstDifference } from '../../src/engine/explore/branch';
import type { RealSwitch } from '../../src/engine/explore/recorded';

const real = (module: string, step: number, rank: number): RealSwitch => ({ module, step, rank, cause: 'policy', afterWindows: step / 10, frozenAt: null });
const sw = (module: string, step: number, rank: number) => ({ module, step, rank, tested: [0.1] });

describe('firstDifference', () => {
  it('is null when every decision agrees, whatever the order within a window', () => {
    expect(firstDifference([real('a', 20, 4), real('b', 20, 8)], [sw('b', 20, 8), sw('a', 20, 4)])).toBeNull();
    expect(firstDifference([], [])).toBeNull();
  });

  it('is the first window where a module switches in one and not the other, or at another rank', () => {
    expect(firstDifference([], [sw('a', 30, 4)])).toBe(30); // a full run's first predicted switch
    expect(firstDifference([real('a', 20, 4), real('b', 40, 4)], [sw('a', 20, 4)])).toBe(40);
    expect(firstDifference([real('a', 20, 4)], [sw('a', 20, 8)])).toBe(20);
    expect(firstDifference([real('a', 20, 4), real('b', 50, 4)], [sw('a', 20, 4), sw('b', 30, 4)])).toBe(30);
  });
});

describe('branchPoint', () => {
  it('is the latest point strictly before the differing window, or null', () => {
    expect(branchPoint([10, 20, 30], 25)).toBe(20);
    expect(branchPoint([10, 20, 30], 30)).toBe(20); // the checkpoint at 30 holds the run's decision at 30
    expect(branchPoint([10, 20], 10)).toBeNull();
    expect(branchPoint([], 100)).toBeNull();
  });
});
