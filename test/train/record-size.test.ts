// The record bound against real runs (wasm): a run's events and state, as its checkpoint's
// header holds them, take no more than recordBytes says, and not much less (a bound that
// said 10x would refuse runs that fit). Windows every step and every few, switching
// modules and full training, a read-back every step and every few. The bound takes every
// number at its longest: full training came to 72% of it, PreLoRA (whose adapted modules
// record zeros) to 53-57% (measured).
import { describe, expect, it } from 'vitest';
import { encodeCheckpoint } from '../../src/engine/checkpoint/format';
import { makeConfig, type DeepPartial, type RunConfig } from '../../src/engine/config';
import { syntheticDataset } from '../../src/engine/data/synthetic';
import type { EngineEvent } from '../../src/engine/events';
import { recordBytes } from '../../src/engine/record-size';
import { Trainer } from '../../src/engine/trainer';
import { useBackend } from '../helpers/tf';

const CASES: [string, DeepPartial<RunConfig>][] = [
  ['PreLoRA, a window and a read-back every step', { schedule: { logEvery: 1 }, prelora: { mode: 'prelora', rule: 'module', windowSteps: 1, jointSteps: 2 } }],
  ['PreLoRA, a window every 4 steps, a read-back every 3', { schedule: { logEvery: 3 }, prelora: { mode: 'prelora', rule: 'global', windowSteps: 4, jointSteps: 4 } }],
  ['full training, a window every step', { schedule: { logEvery: 1 }, prelora: { mode: 'full', windowSteps: 1 } }],
];

describe('a run\'s record (wasm)', () => {
  for (const [name, overrides] of CASES) {
    it(`${name}: no more than its bound, and at least half of it`, async () => {
      await useBackend('wasm');
      const config = makeConfig('micro', {
        data: { trainSize: 64, testSize: 16 },
        ...overrides,
        schedule: { steps: 30, warmupSteps: 2, evalEvery: 10, ...overrides.schedule },
        prelora: { patience: 2, minFullSteps: 4, weightThreshold: 1e3, lossThreshold: 1e3, minRank: 2, maxRank: 4, ...overrides.prelora },
      });
      const data = syntheticDataset({ trainSize: 64, testSize: 16, imageSize: 16, channels: 3, numClasses: 10, difficulty: 0.3, seed: 1 });
      const events: EngineEvent[] = [];
      const trainer = new Trainer(config, data, (e) => events.push(e));
      await trainer.run(config.schedule.steps);
      const saved = await trainer.exportState();
      trainer.dispose();
      if (config.prelora.mode === 'prelora') expect(events.filter((e) => e.type === 'phase').length).toBeGreaterThan(0);
      // the header's record: the state and the event log, as the checkpoint writes them
      const bytes = encodeCheckpoint({ ...saved, log: { events, policyChanges: [] } });
      const header = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
      const rest = encodeCheckpoint({ ...saved, state: { ...saved.state, controller: { ...saved.state.controller, history: [] } }, log: { events: [], policyChanges: [] } });
      const record = header - Number(new DataView(rest.buffer, rest.byteOffset).getBigUint64(0, true));
      const bound = recordBytes({ ...config.schedule, ...config.prelora, depth: config.model.depth }).bytes;
      expect(record).toBeGreaterThan(0);
      expect(record).toBeLessThanOrEqual(bound);
      expect(record).toBeGreaterThanOrEqual(bound / 2);
    }, 120_000);
  }

  it('a live window change that would outgrow the record is refused, naming the window that fits; the run keeps its own', async () => {
    await useBackend('wasm');
    const config = makeConfig('micro', { data: { trainSize: 64, testSize: 16 }, schedule: { steps: 200_000 } });
    const data = syntheticDataset({ trainSize: 64, testSize: 16, imageSize: 16, channels: 3, numClasses: 10, difficulty: 0.3, seed: 1 });
    const trainer = new Trainer(config, data, () => {});
    const refused = trainer.setPolicy({ windowSteps: 1 });
    expect(refused.applied).toBeNull();
    expect(refused.errors.map((e) => e.path)).toEqual(['prelora.windowSteps']);
    expect(refused.errors[0]!.message).toMatch(/^a run of 200000 steps, a window every 1 .*: use a prelora\.windowSteps of \d+ or more/);
    expect(trainer.settings.windowSteps).toBe(config.prelora.windowSteps);
    expect(trainer.setPolicy({ windowSteps: 50 }).errors).toEqual([]);
    trainer.dispose();
  });
});
