// The sweep's columns: values of one threshold around the run's own, each within the
// setting's range (a column past it is left out, not the whole map).
import type { ConfigError, RunConfig } from '../../engine/config';
import type { ReplaySettings } from '../../engine/explore/replay';
import { checkSettings } from '../../engine/explore/sweep';
import type { SweepAxisKey } from '../store/what-if';

export const COLUMNS = 13;

/** COLUMNS values from x/4 to 4x, evenly on a log scale, to two significant digits (x itself in the middle). */
export function axisValues(x: number): number[] {
  const out = Array.from({ length: COLUMNS }, (_, i) => Number((x * 4 ** ((2 * i) / (COLUMNS - 1) - 1)).toPrecision(2)));
  out[(COLUMNS - 1) / 2] = x;
  return [...new Set(out)];
}

/**
 * The columns of `key` around the run's own value (they stay put while the what-if value
 * moves) that `settings` may take; none, with the reason, where no value can. A run's
 * threshold of 500,000 swept to 2,000,000, past the limit, and the map was silently empty.
 */
export function sweepColumns(config: RunConfig, settings: ReplaySettings, key: SweepAxisKey): { values: number[]; errors: ConfigError[] } {
  const own = config.prelora[key];
  const values = axisValues(own).filter((v) => checkSettings(config, { ...settings, [key]: v }).length === 0);
  return { values, errors: values.length ? [] : checkSettings(config, { ...settings, [key]: own }) };
}
