// `key=value` overrides of a config (CLI `--set`, the page's link), typed by the field
// they replace. A bad key or value is a ConfigError that says what to write instead.
import { readNumber, type ConfigError, type RunConfig } from './config';

/** Every settable dotted path of a config, e.g. `optim.lr`. */
export function fieldPaths(cfg: RunConfig): string[] {
  const out: string[] = [];
  for (const [section, value] of Object.entries(cfg)) {
    if (value !== null && typeof value === 'object') for (const key of Object.keys(value)) out.push(`${section}.${key}`);
    else out.push(section);
  }
  return out;
}

type Holder = Record<string, unknown>;

/** The object that holds a known path's last key (`cfg.optim` for `optim.lr`, `cfg` for `seed`). */
function holderOf(cfg: RunConfig, path: string): Holder {
  const parts = path.split('.');
  return (parts.length === 2 ? (cfg as unknown as Record<string, Holder>)[parts[0]!] : cfg) as Holder;
}

/** The value at `path` (`optim.lr`), or undefined where the config has no such field. */
export function getField(cfg: RunConfig, path: string): unknown {
  return fieldPaths(cfg).includes(path) ? holderOf(cfg, path)[path.split('.').at(-1)!] : undefined;
}

/** Set a field the config has to a value of its own type; false (and nothing set) for an unknown path. */
export function assignField(cfg: RunConfig, path: string, value: unknown): boolean {
  if (!fieldPaths(cfg).includes(path)) return false;
  holderOf(cfg, path)[path.split('.').at(-1)!] = value;
  return true;
}

/** Parse `raw` like the current value of `path` and set it; returns an error instead of throwing. */
export function setField(cfg: RunConfig, path: string, raw: string): ConfigError | null {
  const parts = path.split('.');
  const paths = fieldPaths(cfg);
  if (!paths.includes(path)) {
    const near = paths.filter((p) => p.endsWith(`.${parts.at(-1)}`) || p.startsWith(`${parts[0]}.`)).slice(0, 6);
    return { path, message: `unknown config field "${path}"${near.length ? `: did you mean ${near.join(', ')}?` : ''}` };
  }
  const current = getField(cfg, path);
  let value: unknown;
  if (Array.isArray(current)) value = raw.split(',').map((s) => s.trim()).filter(Boolean);
  else if (typeof current === 'boolean') {
    if (raw !== 'true' && raw !== 'false') return { path, message: `${path} takes true or false (got "${raw}")` };
    value = raw === 'true';
  } else if (typeof current === 'number' || current === null) {
    if (current === null && raw === 'null') value = null;
    else {
      value = readNumber(raw);
      if (!Number.isFinite(value)) return { path, message: `${path} takes a number (got "${raw}")` };
    }
  } else value = raw;
  assignField(cfg, path, value);
  return null;
}
