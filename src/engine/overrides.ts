// `key=value` overrides of a config (CLI `--set`, later the URL), typed by the field
// they replace. A bad key or value is a ConfigError that says what to write instead.
import type { ConfigError, RunConfig } from './config';

/** Every settable dotted path of a config, e.g. `optim.lr`. */
export function fieldPaths(cfg: RunConfig): string[] {
  const out: string[] = [];
  for (const [section, value] of Object.entries(cfg)) {
    if (value !== null && typeof value === 'object') for (const key of Object.keys(value)) out.push(`${section}.${key}`);
    else out.push(section);
  }
  return out;
}

/** Parse `raw` like the current value of `path` and set it; returns an error instead of throwing. */
export function setField(cfg: RunConfig, path: string, raw: string): ConfigError | null {
  const parts = path.split('.');
  const paths = fieldPaths(cfg);
  if (!paths.includes(path)) {
    const near = paths.filter((p) => p.endsWith(`.${parts.at(-1)}`) || p.startsWith(`${parts[0]}.`)).slice(0, 6);
    return { path, message: `unknown config field "${path}"${near.length ? `: did you mean ${near.join(', ')}?` : ''}` };
  }
  const holder = (parts.length === 2 ? (cfg as unknown as Record<string, Record<string, unknown>>)[parts[0]!] : cfg) as Record<string, unknown>;
  const key = parts.at(-1)!;
  const current = holder[key];
  let value: unknown;
  if (Array.isArray(current)) value = raw.split(',').map((s) => s.trim()).filter(Boolean);
  else if (typeof current === 'boolean') {
    if (raw !== 'true' && raw !== 'false') return { path, message: `${path} takes true or false (got "${raw}")` };
    value = raw === 'true';
  } else if (typeof current === 'number' || current === null) {
    if (current === null && raw === 'null') value = null;
    else {
      value = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(value)) return { path, message: `${path} takes a number (got "${raw}")` };
    }
  } else value = raw;
  holder[key] = value;
  return null;
}
