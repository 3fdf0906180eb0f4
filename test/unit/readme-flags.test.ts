// The README's `npm run train` flags name every value of each value set as `--help`
// does (choices() over the same declarations): the list there was typed by hand and
// nothing held it to the code, so a new preset, backend or mode could go unmentioned.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { USAGE } from '../../src/cli/args';
import { choices } from '../../src/cli/usage';
import { NODE_BACKEND_CHOICES } from '../../src/engine/backend';
import { BUILTIN_DATASETS, MODES, PRESET_NAMES } from '../../src/engine/config';
import { RULES } from '../../src/engine/policy';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('the README\'s train flags', () => {
  it.each([
    ['--preset', choices(PRESET_NAMES)],
    ['--dataset', `${choices(BUILTIN_DATASETS)}|PATH`],
    ['--mode', choices(MODES)],
    ['--rule', choices(RULES)],
    ['--backend', choices(NODE_BACKEND_CHOICES)],
  ])('%s lists its values as --help does', (flag, values) => {
    const written = `${flag} ${values}`;
    expect(USAGE).toContain(written);
    expect(readme).toContain(`\`${written}\``);
  });
});
