// Typed numbers are decimals wherever they are typed: a page field, the what-if view, a
// link, `--set`. JavaScript's Number() also takes hex, binary, octal and Infinity, which
// a what-if threshold of 0x10 showed (taken as 16, without a word).
import { describe, expect, it } from 'vitest';
import { makeConfig, readNumber } from '../../src/engine/config';
import { setField } from '../../src/engine/overrides';
import { decodeLink } from '../../src/ui/link/codec';
import { parseField } from '../../src/ui/store/live-fields';
import { checkWhatIf } from '../../src/ui/store/what-if';
import { runSettings } from '../../src/engine/explore/replay';

describe('readNumber', () => {
  it.each([
    ['16', 16], ['-2.5', -2.5], ['+3', 3], ['.5', 0.5], ['5.', 5], ['1e-3', 0.001], ['2E+2', 200], [' 7 ', 7],
  ])('reads the decimal %j as %d', (raw, want) => expect(readNumber(raw)).toBe(want));

  it.each(['', ' ', '0x10', '0b11', '0o7', 'Infinity', '-Infinity', 'NaN', '1,5', '1_000', '5%', 'e3', '1e', '--1'])(
    'reads %j as no number', (raw) => expect(readNumber(raw)).toBeNaN());

  it('is the rule of the live settings, the what-if view, --set and the link', () => {
    const config = makeConfig('micro', { prelora: { mode: 'prelora' } });
    expect(parseField('weightThreshold', '0x10')).toEqual({ value: null, error: 'prelora.weightThreshold takes a number (got "0x10")' });
    expect(checkWhatIf(config, runSettings(config), 'weightThreshold', '0x10')).toEqual({ value: null, error: 'prelora.weightThreshold takes a number (got "0x10")' });
    expect(setField(structuredClone(config), 'optim.lr', '0x1')).toEqual({ path: 'optim.lr', message: 'optim.lr takes a number (got "0x1")' });
    expect(decodeLink('#v=1&prelora.weightThreshold=0x10').problems).toEqual([{ path: 'prelora.weightThreshold', message: 'prelora.weightThreshold takes a number (got "0x10")' }]);
  });
});
