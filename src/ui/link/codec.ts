// The page's next run as a link (pure): `#v=1&preset=tiny&prelora.weightThreshold=2`,
// only what differs from the page's defaults. The keys are the config's own field paths
// (plus `preset` and `backend`); each value is read as the CLI's `--set` reads it, and
// the result is checked by the one validation. A link is input from anyone: a bad key
// or value is refused on its own, with a message that names it and the fix, and the
// rest still applies; nothing in it is run or shown as HTML, and its size is bounded.
import { BACKEND_CHOICES, type BackendChoice } from '../../engine/backend';
import { orList, PRESET_NAMES, PRESETS, validateConfig, type ConfigError, type PresetName, type RunConfig } from '../../engine/config';
import { printable } from '../../engine/data/names';
import { fieldPaths, getField, setField } from '../../engine/overrides';
import {
  buildConfig, CONTROL_FIELDS, DEFAULT_BACKEND, DEFAULT_PRESET, pageDefaults, type ControlKey, type NextRun,
} from '../store/config';
import { LIVE_FIELDS, type PageLiveKey } from '../store/live-fields';

export const LINK_VERSION = 1;
/** Longer link settings are not read at all: every field at its longest fits in about 2,000. */
export const MAX_LINK_CHARS = 4096;
/** The longest value a field takes from a link (the longest real one, `prelora.targets`, has 30). */
export const MAX_VALUE_CHARS = 200;

/** What a link carries: the next run and the backend choice. */
export interface LinkState extends NextRun {
  backendChoice: BackendChoice;
}

export interface DecodedLink {
  state: LinkState;
  /** each key or value refused (or reported), by the name the link gave it */
  problems: ConfigError[];
}

/** A page control and the config field it sets. */
interface Control {
  path: string;
  get: (s: NextRun) => unknown;
  set: (s: NextRun, value: unknown) => NextRun;
}

const CONTROLS: Control[] = [
  ...Object.entries(CONTROL_FIELDS).map(([key, path]): Control => ({
    path, get: (s) => s[key as ControlKey], set: (s, value) => ({ ...s, [key]: value }),
  })),
  ...LIVE_FIELDS.map(({ key }): Control => ({
    path: `prelora.${key}`, get: (s) => s.policy[key], set: (s, value) => ({ ...s, policy: { ...s.policy, [key as PageLiveKey]: value } }),
  })),
];
const controlOf = (path: string) => CONTROLS.find((c) => c.path === path);

/** A key or value as a message may show it: escaped and cut short. */
const shown = (text: string, max = 60) => printable(text.length > max ? `${text.slice(0, max)}…` : text);

const asText = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v));

/** The link's settings for this state: `v=1&...`, or '' when everything is the page's default. */
export function encodeLink(s: LinkState): string {
  const defaults = pageDefaults(s.preset);
  const params = new URLSearchParams();
  if (s.preset !== DEFAULT_PRESET) params.set('preset', s.preset);
  if (s.backendChoice !== DEFAULT_BACKEND) params.set('backend', s.backendChoice);
  for (const path of fieldPaths(PRESETS[s.preset])) {
    const control = controlOf(path);
    if (control) {
      const value = control.get(s);
      if (value !== control.get(defaults) && !(path === CONTROL_FIELDS.dataset && value === 'upload')) params.set(path, asText(value));
    } else if (Object.hasOwn(s.extra, path)) params.set(path, s.extra[path]!);
  }
  if (![...params.keys()].length) return '';
  return `v=${LINK_VERSION}&${params.toString()}`;
}

/** `s` with the link's accepted fields (already parsed one by one) applied. */
function withFields(s: NextRun, base: RunConfig, fields: [string, string][]): NextRun {
  let out: NextRun = { ...s, extra: {} };
  const extra: Record<string, string> = {};
  for (const [path, raw] of fields) {
    const control = controlOf(path);
    if (!control) {
      extra[path] = raw;
      continue;
    }
    const parsed = structuredClone(base);
    setField(parsed, path, raw);
    out = control.set(out, getField(parsed, path));
  }
  return { ...out, extra };
}

/** The first accepted field whose removal clears `problem` (a relation the link broke), from the last. */
function culprit(s: NextRun, base: RunConfig, fields: [string, string][], problem: ConfigError): number {
  const direct = fields.findIndex(([path]) => path === problem.path);
  if (direct >= 0) return direct;
  for (let i = fields.length - 1; i >= 0; i--) {
    const rest = fields.filter((_, j) => j !== i);
    const still = validateConfig(buildConfig(withFields(s, base, rest)));
    if (!still.some((e) => e.path === problem.path && e.message === problem.message)) return i;
  }
  return -1;
}

/** Read a link's settings (`location.hash`); never throws, whatever it holds. */
export function decodeLink(hash: string): DecodedLink {
  const problems: ConfigError[] = [];
  const refuse = (path: string, message: string) => problems.push({ path: shown(path), message: printable(message) });
  const text = hash.startsWith('#') ? hash.slice(1) : hash;
  const start = (preset: PresetName): LinkState => ({ ...pageDefaults(preset), backendChoice: DEFAULT_BACKEND });
  if (text.length > MAX_LINK_CHARS) {
    refuse('link', `its settings are ${text.length} characters, more than the ${MAX_LINK_CHARS} a link may have: nothing was read from it`);
    return { state: start(DEFAULT_PRESET), problems };
  }
  const given = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(text)) {
    if (given.has(key)) refuse(key, `${shown(key)} is given twice: the first value (${shown(given.get(key)!, 20)}) applies`);
    else if (value.length > MAX_VALUE_CHARS) refuse(key, `the value of ${shown(key)} is ${value.length} characters, more than the ${MAX_VALUE_CHARS} a field takes: not read`);
    else given.set(key, value);
  }
  const take = (key: string) => {
    const v = given.get(key);
    given.delete(key);
    return v;
  };
  const version = take('v');
  if (version !== undefined && version !== String(LINK_VERSION)) {
    refuse('v', `this page reads links of version ${LINK_VERSION} (got v=${shown(version, 20)}): nothing else was read from it`);
    return { state: start(DEFAULT_PRESET), problems };
  }
  const oneOf = <T extends string>(key: string, options: readonly T[], fallback: T): T => {
    const v = take(key);
    if (v === undefined) return fallback;
    if ((options as readonly string[]).includes(v)) return v as T;
    refuse(key, `${key} must be one of ${orList(options)} (got "${shown(v, 40)}"): ${fallback} applies`);
    return fallback;
  };
  const preset = oneOf('preset', PRESET_NAMES, DEFAULT_PRESET);
  const backendChoice = oneOf('backend', BACKEND_CHOICES, DEFAULT_BACKEND);
  const defaults = pageDefaults(preset);
  const base = buildConfig(defaults);
  // each field on its own: the name, then the value as --set reads it
  const fields: [string, string][] = [];
  const known = fieldPaths(base);
  for (const [path, raw] of given) {
    const error = setField(structuredClone(base), path, raw);
    if (error && !known.includes(path)) refuse(path, error.message.replace(`unknown config field "${path}"`, `unknown setting "${shown(path)}"`));
    else if (error) refuse(path, error.message);
    else if (path === CONTROL_FIELDS.dataset && raw === 'upload') {
      refuse(path, 'data.dataset=upload cannot come from a link (the files stay on the computer that has them): upload them, then pick "uploaded"');
    } else if (asText(getField(base, path)) !== asText(getField(withConfig(base, path, raw), path))) fields.push([path, raw]);
  }
  // then the whole, as a run would be checked: a field that breaks it is refused, the rest stays
  for (;;) {
    const errors = validateConfig(buildConfig(withFields(defaults, base, fields)));
    if (!errors.length) break;
    const i = culprit(defaults, base, fields, errors[0]!);
    if (i < 0) {
      refuse(errors[0]!.path, errors[0]!.message);
      break;
    }
    refuse(fields[i]![0], `${errors[0]!.message} (the link's ${fields[i]![0]}=${shown(fields[i]![1], 40)} is not applied)`);
    fields.splice(i, 1);
  }
  return { state: { ...withFields(defaults, base, fields), backendChoice }, problems };
}

/** `base` with one field set from text. */
function withConfig(base: RunConfig, path: string, raw: string): RunConfig {
  const cfg = structuredClone(base);
  setField(cfg, path, raw);
  return cfg;
}
