// The what-if view's rank choices follow the rank rule validation keeps (powers of two),
// covering the run's own ranks: a run of maxRank 128 validated, but the view refused 128
// ("takes one of 1…64") and its select had no option for it. Past the model's width a
// rank gains nothing, and validation stops there.
import { describe, expect, it } from 'vitest';
import { makeConfig } from '../../src/engine/config';
import { runSettings } from '../../src/engine/explore/replay';
import { checkWhatIf, rankChoices } from '../../src/ui/store/what-if';

describe('what-if ranks', () => {
  // width 192
  const config = makeConfig('tiny', { prelora: { mode: 'prelora', minRank: 4, maxRank: 128 } });

  it('takes the ranks validation takes, in its words', () => {
    expect(checkWhatIf(config, runSettings(config), 'maxRank', '128')).toEqual({ value: 128, error: null });
    expect(checkWhatIf(config, runSettings(config), 'minRank', '64')).toEqual({ value: 64, error: null });
    expect(checkWhatIf(config, runSettings(config), 'maxRank', '96')).toEqual({ value: null, error: 'prelora.maxRank must be a power of two, e.g. 4, 8, 16 (got 96)' });
    expect(checkWhatIf(config, runSettings(config), 'maxRank', 'x')).toEqual({ value: null, error: 'prelora.maxRank takes a number (got "x")' });
    expect(checkWhatIf(config, runSettings(config), 'maxRank', '256')).toEqual({
      value: null, error: 'prelora.maxRank 256 is more than model.width (192): an adapter\'s rank past its weight\'s width adds nothing; use 128 or lower',
    });
  });

  it("offers every power of two up to the run's own largest rank, and 64 at least", () => {
    expect(rankChoices(config)).toEqual([1, 2, 4, 8, 16, 32, 64, 128]);
    expect(rankChoices(makeConfig('nano', { prelora: { minRank: 2, maxRank: 8 } }))).toEqual([1, 2, 4, 8, 16, 32, 64]);
  });

  it("stops at the model's width (micro is 32 wide), or at the run's own largest past it (an older page's run)", () => {
    expect(rankChoices(makeConfig('micro', { prelora: { minRank: 2, maxRank: 8 } }))).toEqual([1, 2, 4, 8, 16, 32]);
    const older = makeConfig('micro', { prelora: { mode: 'prelora', minRank: 4, maxRank: 128 } });
    expect(rankChoices(older)).toEqual([1, 2, 4, 8, 16, 32, 64, 128]);
    // its own maxRank stays a setting it replays with; a new one past the width does not
    expect(checkWhatIf(older, runSettings(older), 'patience', '4').error).toBeNull();
    expect(checkWhatIf(older, runSettings(older), 'maxRank', '64').error).toMatch(/^prelora\.maxRank 64 is more than model\.width \(32\)/);
  });
});
