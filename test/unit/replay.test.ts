// Replay: the per-window statistics of real runs (the engine's `window` events, kept in
// test/fixtures/replay-nano.json), fed through the replay (the pure stepper the
// controller runs), give exactly the switch steps and ranks the engine made in those
// runs, for the global and the per-module rule. The engine has no hidden input to its
// decisions: the windows it reports are all of it.
//
// Recorded on wasm with (RULE global, then module; the thresholds nano had then):
//   npm run train -- --preset nano --dataset synthetic --mode prelora --rule RULE --steps 300 --seed 1
//     --backend wasm --set prelora.weightThreshold=3 --set prelora.rewarmSteps=100 --out run.json
// and kept: the run's prelora settings and steps, its windows (`window` events, whole)
// and its switches (`phase` events from full to joint).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { makeConfig, type PreLoRAConfig } from '../../src/engine/config';
import type { RecordedRun } from '../../src/engine/explore/recorded';
import { replay as replayRun, runSettings } from '../../src/engine/explore/replay';
import type { WindowRecord } from '../../src/engine/policy';

interface Recorded {
  command: string;
  steps: number;
  prelora: PreLoRAConfig;
  windows: WindowRecord[];
  switches: { module: string; step: number; rank: number }[];
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/replay-nano.json', import.meta.url), 'utf8')) as Record<'global' | 'module', Recorded>;

/** The recorded run as the replay takes it (nano at 32 px, batch 32, as recorded). */
function replay(rec: Recorded): Recorded['switches'] {
  const { model, optim } = makeConfig('nano');
  const run: RecordedRun = {
    moduleIds: Object.keys(rec.windows[0]!.modules), windows: rec.windows, totalSteps: rec.steps,
    prelora: rec.prelora, model, batchSize: optim.batchSize, real: [],
  };
  return replayRun(run, runSettings(run)).switches.map(({ module, step, rank }) => ({ module, step, rank }));
}

const order = (xs: Recorded['switches']) => [...xs].sort((a, b) => a.step - b.step || a.module.localeCompare(b.module));

describe.each(['global', 'module'] as const)('replay of a recorded nano run, %s rule', (rule) => {
  const rec = fixture[rule];

  it('is a real run of that rule in which every module switched (the per-module rule at different steps)', () => {
    expect(rec.prelora.rule).toBe(rule);
    expect(rec.switches).toHaveLength(24);
    expect(rec.windows.length).toBe(rec.steps / rec.prelora.windowSteps);
    expect(new Set(rec.switches.map((x) => x.step)).size > 1).toBe(rule === 'module');
  });

  it('the pure policy on the recorded windows gives exactly the engine\'s switches and ranks', () => {
    expect(order(replay(rec))).toEqual(order(rec.switches));
  });

  it('and a change to the statistics changes the verdict (the replay is not vacuous)', () => {
    const first = Math.min(...rec.switches.map((x) => x.step));
    const hotter = structuredClone(rec);
    for (const w of hotter.windows) for (const m of Object.values(w.modules)) if (m['update%'] !== null) m['update%'] *= 10;
    expect(Math.min(...replay(hotter).map((x) => x.step), Infinity)).toBeGreaterThan(first);
  });
});
