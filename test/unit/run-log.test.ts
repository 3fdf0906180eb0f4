// A run log read back for a replay holds the model's modules, as its config has them,
// in windows that go forward: ids that are none (a replay threw with a stack trace),
// windows of another depth (shares of the wrong model), steps that go back and a switch
// of a module the model has not are each refused, naming the event; switches recorded
// with the settings that decided them, or before those were kept, are both read.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { makeConfig, type PreLoRAConfig } from '../../src/engine/config';
import type { EngineEvent } from '../../src/engine/events';
import { exactness } from '../../src/engine/explore/recorded';
import { parseRunLog } from '../../src/engine/explore/run-log';
import type { WindowRecord } from '../../src/engine/policy';

interface Recorded { steps: number; prelora: PreLoRAConfig; windows: WindowRecord[] }
const nano = (JSON.parse(readFileSync(new URL('../fixtures/replay-nano.json', import.meta.url), 'utf8')) as Record<'global', Recorded>).global;
const config = makeConfig('nano', { prelora: nano.prelora, schedule: { steps: nano.steps } });
const windows = (ws: WindowRecord[]): EngineEvent[] => ws.map((w) => ({ type: 'window', window: w }));
const read = (events: EngineEvent[], cfg = config) => parseRunLog(JSON.parse(JSON.stringify({ config: cfg, events })), 'run.json').error;
const renamed = (w: WindowRecord, from: string, to: string): WindowRecord => {
  const { [from]: moved, ...rest } = w.modules;
  return { ...w, modules: { ...rest, [to]: moved! } };
};
const HOW = ': write one with npm run train -- --out RUN.json';

describe('a run log for a replay', () => {
  it('is read as it was written', () => {
    expect(read(windows(nano.windows))).toBeNull();
  });

  it('is read with its own maxRank past the width, as an older page ran it (nano is 64 wide)', () => {
    expect(read(windows(nano.windows), makeConfig('nano', { prelora: { ...nano.prelora, maxRank: 128 }, schedule: { steps: nano.steps } }))).toBeNull();
  });

  it('is read however long: 200,000 switch events (the spread of their steps into Math.min overflowed the call stack)', () => {
    const at = nano.windows[0]!.step;
    const many = Array.from({ length: 200_000 }, (_, i): EngineEvent => ({ type: 'phase', change: { module: 'blocks.0.query', from: 'full', to: 'lora', step: at + 1 + i, rank: 4, decidedBy: 'forced' } }));
    const parsed = parseRunLog({ config, events: [...windows(nano.windows.slice(0, 1)), ...many] }, 'run.json');
    expect(parsed.error).toBeNull();
    expect(exactness(parsed.log!.run)).toEqual({ until: at + 1, by: 'switch' });
  });

  it('holds policy switches as recorded before their settings were kept and with them', () => {
    const at = nano.windows[1]!.step;
    const change = (module: string, extra: object) => ({ type: 'phase', change: { module, from: 'full', to: 'joint', step: at, rank: 4, ...extra } }) as EngineEvent;
    const old = change('blocks.0.query', { decidedBy: { metric: 'update%', value: 1 } });
    const kept = change('blocks.0.key', { decidedBy: { metric: 'update%', value: 1, threshold: 2.5, patience: 3 }, rankedBy: { metric: 'gradChange%', scope: 'family' } });
    const forced = change('blocks.0.value', { decidedBy: 'forced', rankedBy: { metric: 'update%', scope: 'all' } });
    const json = { config, events: [...windows(nano.windows.slice(0, 2)), old, kept, forced] };
    const parsed = parseRunLog(JSON.parse(JSON.stringify(json)), 'run.json');
    expect(parsed.error).toBeNull();
    expect(parsed.log!.run.real.map((r) => r.cause)).toEqual(['policy', 'policy', 'forced']);
  });

  it.each([
    ['a module id that is none', () => read(windows([renamed(nano.windows[0]!, 'blocks.0.query', 'zz.0.query'), ...nano.windows.slice(1)])),
      'run.json: events[0] (a window event) has module "zz.0.query", which the config\'s model has not'],
    ['an id of the model written another way', () => read(windows([renamed(nano.windows[0]!, 'blocks.0.query', 'blocks.00.query'), ...nano.windows.slice(1)])),
      'run.json: events[0] (a window event) has module "blocks.00.query", which the config\'s model has not'],
    ['a block past the config\'s depth', () => read(windows([renamed(nano.windows[0]!, 'blocks.0.query', 'blocks.4.query'), ...nano.windows.slice(1)])),
      'run.json: events[0] (a window event) has module "blocks.4.query", which the config\'s model has not'],
    ['windows of another depth than the config\'s', () => read(windows(nano.windows), makeConfig('nano', { model: { depth: 6 }, prelora: nano.prelora, schedule: { steps: nano.steps } })),
      'run.json: events[0] (a window event) has 24 modules where the config\'s model (depth 6) has 36'],
    ['no modules', () => read(windows([{ ...nano.windows[0]!, modules: {} }])),
      'run.json: events[0] (a window event) has 0 modules where the config\'s model (depth 4) has 24'],
    ['windows going back', () => read(windows([nano.windows[1]!, nano.windows[0]!])),
      `run.json: events[1] (a window event) is at step ${nano.windows[0]!.step}, not after the window before it (step ${nano.windows[1]!.step})`],
    ['a switch of a module the model has not', () => read([...windows(nano.windows.slice(0, 1)), { type: 'phase', change: { module: 'blocks.9.query', from: 'full', to: 'joint', step: 1, rank: 4, decidedBy: 'forced' } }]),
      'run.json: events[1] (a phase event) names module "blocks.9.query", which the config\'s model has not'],
  ])('with %s is refused, naming the event', (_, error, want) => {
    expect(error()).toBe(`${want}${HOW}`);
  });
});
