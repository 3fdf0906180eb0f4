// A preset with overrides merged in. Only the keys a config has are copied, so input
// from a URL or a file cannot reach an object's prototype (`__proto__`) or add fields.
import { PRESETS, type PresetName } from './presets';
import type { DeepPartial, RunConfig } from './types';

type Fields = Record<string, unknown>;

const isSection = (v: unknown): v is Fields => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Copy into `into` the values `from` has for `into`'s own keys, section by section; other keys are ignored. */
function mergeKnown(into: Fields, from: Fields): void {
  for (const key of Object.keys(into)) {
    if (!Object.hasOwn(from, key)) continue;
    const value = from[key];
    if (isSection(into[key]) && isSection(value)) mergeKnown(into[key], value);
    else into[key] = Array.isArray(value) ? [...(value as unknown[])] : value;
  }
}

/** A preset with overrides merged in; the result still needs `validateConfig`. Unknown keys are ignored. */
export function makeConfig(name: PresetName, overrides: DeepPartial<RunConfig> = {}): RunConfig {
  const cfg = structuredClone(PRESETS[name]);
  if (isSection(overrides)) mergeKnown(cfg as unknown as Fields, overrides as Fields);
  return cfg;
}
