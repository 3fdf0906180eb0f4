// Live settings: only the declared keys apply, the engine couples the joint phase and
// the re-warm to the window, and the page's fields parse typed text into those keys.
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

  it('a new window length brings the joint phase along and the re-warm in proportion, unless the update sets them', () => {
    const nano = PRESETS.nano.prelora; // window 25, re-warm 25
    expect(resolveUpdate({ windowSteps: 5 }, nano)).toEqual({ windowSteps: 5, jointSteps: 5, rewarmSteps: 5 });
    expect(resolveUpdate({ windowSteps: 5, jointSteps: 0, rewarmSteps: 7 }, nano)).toEqual({ windowSteps: 5, jointSteps: 0, rewarmSteps: 7 });
    // the paper's ratio: 100 steps of re-warm after 1,000-step windows
    expect(resolveUpdate({ windowSteps: 50 }, { windowSteps: 1000, rewarmSteps: 100 })).toMatchObject({ rewarmSteps: 5 });
    expect(resolveUpdate({ windowSteps: 50 }, { windowSteps: 10, rewarmSteps: 0 })).toMatchObject({ rewarmSteps: 0 }); // none stays none
    // a short window keeps a step of re-warm: rounded to 0, it stayed 0 on any later window
    expect(resolveUpdate({ windowSteps: 2 }, { windowSteps: 50, rewarmSteps: 10 })).toMatchObject({ rewarmSteps: 1 });
    expect(resolveUpdate({ patience: 4 }, nano)).toEqual({ patience: 4 });
  });

  it('the page shows live keys only, and its next run takes them as a live change would', () => {
    for (const f of LIVE_FIELDS) expect(LIVE_KEYS).toContain(f.key);
    const policy = { ...presetPolicy('micro'), windowSteps: 5, metric: 'normChange%' as const };
    const cfg = buildConfig({ preset: 'micro', mode: 'prelora', rule: 'module', seed: 2, steps: 60, dataset: 'synthetic', policy, extra: {} });
    // micro re-warms over one window, as every preset: a window of 5 re-warmed over the preset's 25
    expect(cfg.prelora).toMatchObject({ windowSteps: 5, jointSteps: 5, rewarmSteps: 5, metric: 'normChange%', mode: 'prelora', rule: 'module' });
    expect(cfg.schedule.warmupSteps).toBe(12); // a fifth of a short run
  });

  it('typed text becomes the field\'s value, or says what to type', () => {
    expect(parseField('weightThreshold', '2.5')).toEqual({ value: 2.5, error: null });
    expect(parseField('patience', ' ')).toEqual({ value: null, error: 'prelora.patience takes a number (got " ")' });
    expect(parseField('metric', 'gradChange%')).toEqual({ value: 'gradChange%', error: null });
    expect(parseField('metric', 'loss%')).toEqual({ value: null, error: 'prelora.metric takes one of update%, normChange%, gradChange% (got "loss%")' });
  });
});
