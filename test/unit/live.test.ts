// Live settings: only the declared keys apply, the engine couples the joint phase to
// the window, and the page's fields parse typed text into those keys.
import { describe, expect, it } from 'vitest';
import { PRESETS } from '../../src/engine/config';
import { applyLive, LIVE_KEYS, resolveUpdate } from '../../src/engine/live';
import { buildConfig, presetPolicy } from '../../src/ui/store/config';
import { LIVE_FIELDS, parseField } from '../../src/ui/store/live-fields';

describe('live settings', () => {
  it('apply only the live keys: not the mode, not __proto__', () => {
    const settings = structuredClone(PRESETS.nano.prelora);
    applyLive(settings, JSON.parse('{"__proto__": {"weightThreshold": 99}, "mode": "lora", "weightThreshold": 2}'));
    expect(Object.getPrototypeOf(settings)).toBe(Object.prototype);
    expect(settings.weightThreshold).toBe(2);
    expect(settings.mode).toBe(PRESETS.nano.prelora.mode);
  });

  it('a new window length brings the joint phase along, unless the update sets it', () => {
    expect(resolveUpdate({ windowSteps: 5 })).toEqual({ windowSteps: 5, jointSteps: 5 });
    expect(resolveUpdate({ windowSteps: 5, jointSteps: 0 })).toEqual({ windowSteps: 5, jointSteps: 0 });
    expect(resolveUpdate({ patience: 4 })).toEqual({ patience: 4 });
  });

  it('the page shows live keys only, and its next run takes them as a live change would', () => {
    for (const f of LIVE_FIELDS) expect(LIVE_KEYS).toContain(f.key);
    const policy = { ...presetPolicy('micro'), windowSteps: 5, metric: 'normChange%' as const };
    const cfg = buildConfig({ preset: 'micro', mode: 'prelora', rule: 'module', seed: 2, steps: 60, dataset: 'synthetic', policy });
    expect(cfg.prelora).toMatchObject({ windowSteps: 5, jointSteps: 5, metric: 'normChange%', mode: 'prelora', rule: 'module' });
    expect(cfg.schedule.warmupSteps).toBe(12); // a fifth of a short run
  });

  it('typed text becomes the field\'s value, or says what to type', () => {
    expect(parseField('weightThreshold', '2.5')).toEqual({ value: 2.5, error: null });
    expect(parseField('patience', ' ')).toEqual({ value: null, error: 'prelora.patience takes a number (got " ")' });
    expect(parseField('metric', 'gradChange%')).toEqual({ value: 'gradChange%', error: null });
    expect(parseField('metric', 'loss%')).toEqual({ value: null, error: 'prelora.metric takes one of update%, normChange%, gradChange% (got "loss%")' });
  });
});
