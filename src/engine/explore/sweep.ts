// A sweep: one numeric setting over a range of values, each replayed: every module's
// switch step and the predicted shares per value (the heat map, `npm run explore
// --sweep`). The range is parsed and each value checked by the config's own
// validation, so a bad one gets the message a live setting would.
import { readNumber, validateConfig, type ConfigError, type RunConfig } from '../config';
import { replay, type Replay, type ReplaySettings } from './replay';
import { maxOf } from '../extremes';

/** The numeric settings a sweep can vary. */
export const SWEEP_KEYS = ['weightThreshold', 'lossThreshold', 'patience', 'minFullSteps', 'minRank', 'maxRank', 'jointSteps'] as const;
export type SweepKey = (typeof SWEEP_KEYS)[number];

export interface SweepAxis {
  key: SweepKey;
  values: number[];
}

export interface SweepResult {
  axis: SweepAxis;
  /** one replay per value, in the axis' order */
  cells: Replay[];
}

/** More values than a heat map column can show, or than a terminal row can hold. */
export const MAX_SWEEP_VALUES = 200;

const err = (message: string): { axis: null; error: ConfigError } => ({ axis: null, error: { path: '--sweep', message } });

/** `prelora.weightThreshold=1:10:0.5` (from:to:step, both ends in) or `prelora.patience=2,3,5`. */
export function parseSweep(spec: string): { axis: SweepAxis; error: null } | { axis: null; error: ConfigError } {
  const eq = spec.indexOf('=');
  const example = 'e.g. prelora.weightThreshold=1:10:0.5 (from:to:step) or prelora.patience=2,3,4';
  if (eq < 1) return err(`--sweep takes key=from:to:step, ${example} (got "${spec}")`);
  const key = spec.slice(0, eq).replace(/^prelora\./, '');
  if (!SWEEP_KEYS.includes(key as SweepKey)) {
    return err(`cannot sweep "${spec.slice(0, eq)}": use one of ${SWEEP_KEYS.map((k) => `prelora.${k}`).join(', ')}`);
  }
  const raw = spec.slice(eq + 1);
  // decimals, as every typed number: Number() read "0x10" as 16 and "1e400" as Infinity
  /** The first part that is no decimal number, named: ` ("0x10" is not a decimal number)`, or '' where all are. */
  const notDecimal = (parts: string[]) => {
    const bad = parts.find((p) => !Number.isFinite(readNumber(p)));
    return bad === undefined ? '' : ` ("${bad}" is not a decimal number)`;
  };
  let values: number[];
  if (raw.includes(':')) {
    const parts = raw.split(':');
    const [from, to, step] = parts.map(readNumber);
    if (parts.length !== 3 || ![from, to, step].every((v) => Number.isFinite(v))) {
      return err(`--sweep ${key}: "${raw}" is not from:to:step${parts.length === 3 ? notDecimal(parts) : ''}, ${example}`);
    }
    if (step! <= 0 || to! < from!) return err(`--sweep ${key}: "${raw}" needs from <= to and a step > 0`);
    const n = Math.floor((to! - from!) / step! + 1e-9) + 1;
    if (n > MAX_SWEEP_VALUES) return err(`--sweep ${key}: ${n} values, at most ${MAX_SWEEP_VALUES}: take a larger step`);
    // round to the step's decimals, so 0.1 steps print as 0.3, not 0.30000000000000004
    const decimals = maxOf([from!, step!].map((v) => (String(v).split('.')[1] ?? '').length), 0);
    values = Array.from({ length: n }, (_, i) => Number((from! + i * step!).toFixed(decimals)));
  } else {
    values = raw.split(',').map(readNumber);
    if (!values.every(Number.isFinite)) return err(`--sweep ${key}: "${raw}" is not a list of numbers${notDecimal(raw.split(','))}, ${example}`);
    if (values.length > MAX_SWEEP_VALUES) return err(`--sweep ${key}: ${values.length} values, at most ${MAX_SWEEP_VALUES}`);
  }
  return { axis: { key: key as SweepKey, values }, error: null };
}

/** The problems of these replay settings on this run's config, as validation words them for the live settings. */
export function checkSettings(config: RunConfig, settings: ReplaySettings): ConfigError[] {
  const cfg = structuredClone(config);
  Object.assign(cfg.prelora, settings);
  return validateConfig(cfg, { ranWith: config.prelora }).filter((e) => e.path.startsWith('prelora.'));
}

/** Every value's problems first (none: the sweep ran). */
export function sweep(config: RunConfig, run: Parameters<typeof replay>[0], base: ReplaySettings, axis: SweepAxis): { result: SweepResult | null; errors: ConfigError[] } {
  const settings = axis.values.map((v) => ({ ...base, [axis.key]: v }));
  const errors = settings.flatMap((s) => checkSettings(config, s));
  if (errors.length) return { result: null, errors: [...new Map(errors.map((e) => [e.message, e])).values()] };
  return { result: { axis, cells: settings.map((s) => replay(run, s)) }, errors: [] };
}
