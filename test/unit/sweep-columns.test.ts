// The sweep's columns: thirteen values of a threshold around the run's own, each one the
// setting may take; a run whose threshold sits near the limit loses the columns past it,
// not its whole map.
import { describe, expect, it } from 'vitest';
import { makeConfig } from '../../src/engine/config';
import { runSettings } from '../../src/engine/explore/replay';
import { axisValues, COLUMNS, sweepColumns } from '../../src/ui/what-if/sweep-columns';

const config = (weightThreshold: number) => makeConfig('micro', { prelora: { mode: 'prelora', weightThreshold } });

describe('sweep columns', () => {
  it('spans x/4 to 4x around the run\'s own value, x itself in the middle', () => {
    const values = axisValues(2.5);
    expect(values).toHaveLength(COLUMNS);
    expect([values[0], values[(COLUMNS - 1) / 2], values.at(-1)]).toEqual([0.63, 2.5, 10]);
  });

  it('leaves out the columns past the setting\'s range (1e6), keeps the rest and the run\'s own', () => {
    const c = config(500_000);
    const { values, errors } = sweepColumns(c, runSettings(c), 'weightThreshold');
    expect(errors).toEqual([]);
    expect(values).toContain(500_000);
    expect(values.every((v) => v <= 1e6)).toBe(true);
    expect(values).toEqual(axisValues(500_000).filter((v) => v <= 1e6));
    expect(values.length).toBeLessThan(COLUMNS);
    const usual = config(2.5);
    expect(sweepColumns(usual, runSettings(usual), 'weightThreshold').values).toEqual(axisValues(2.5));
  });

  it('says why where no column can be taken (settings that break the config whatever the threshold)', () => {
    const c = config(2.5);
    const { values, errors } = sweepColumns(c, { ...runSettings(c), minRank: 64, maxRank: 4 }, 'weightThreshold');
    expect(values).toEqual([]);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.map((e) => e.path).join()).toMatch(/prelora\.(minRank|maxRank)/);
  });
});
