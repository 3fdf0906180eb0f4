// The record bound against real runs (wasm): a checkpoint's header (the run's events and
// state, its config and tensor table) takes no more than recordBytes says, and not much
// less (a bound that said 10x would refuse runs that fit). Windows every step and every
// few, switching modules and full training, a read-back every step and every few, saves
// between read-backs. The bound takes every number at its longest, and every module
// adapted: these runs came to 51-69% of it (measured; leaving out the saves' read-backs,
// the one whose read-backs are its saves went 2.5% past it).
import { describe, expect, it } from 'vitest';
import { encodeCheckpoint } from '../../src/engine/checkpoint/format';
import { makeConfig, type DeepPartial, type RunConfig } from '../../src/engine/config';
import { syntheticDataset } from '../../src/engine/data/synthetic';
import type { EngineEvent } from '../../src/engine/events';
import { recordBytes, recordShape } from '../../src/engine/record-size';
import { Trainer } from '../../src/engine/trainer';
import { useBackend } from '../helpers/tf';

const CASES: [string, DeepPartial<RunConfig>][] = [
  ['PreLoRA, a window and a read-back every step', { schedule: { logEvery: 1 }, prelora: { mode: 'prelora', rule: 'module', windowSteps: 1, jointSteps: 2 } }],
  ['PreLoRA, a window every 4 steps, a read-back every 3', { schedule: { logEvery: 3 }, prelora: { mode: 'prelora', rule: 'global', windowSteps: 4, jointSteps: 4 } }],
  ['full training, a window every step', { schedule: { logEvery: 1 }, prelora: { mode: 'full', windowSteps: 1 } }],
  // each save reads back the steps since the last read-back: here the read-backs are the saves'
  ['full training, a save every step, one window and one read-back', { schedule: { steps: 250, logEvery: 250, evalEvery: 250, checkpointEvery: 1 }, prelora: { mode: 'full', windowSteps: 250 } }],
];

/** The header's bytes of a checkpoint file. */
const headerBytes = (file: Uint8Array) => Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));

describe('a run\'s record (wasm)', () => {
  for (const [name, overrides] of CASES) {
    it(`${name}: its checkpoint's header is no more than its bound, and at least half of it`, async () => {
      await useBackend('wasm');
      const config = makeConfig('micro', {
        data: { trainSize: 64, testSize: 16 },
        ...overrides,
        schedule: { steps: 30, warmupSteps: 2, evalEvery: 10, checkpointEvery: 0, ...overrides.schedule },
        prelora: { patience: 2, minFullSteps: 4, weightThreshold: 1e3, lossThreshold: 1e3, minRank: 2, maxRank: 4, ...overrides.prelora },
      });
      const data = syntheticDataset({ trainSize: 64, testSize: 16, imageSize: 16, channels: 3, numClasses: 10, difficulty: 0.3, seed: 1 });
      const events: EngineEvent[] = [];
      const trainer = new Trainer(config, data, (e) => events.push(e));
      // saved as the worker saves: every checkpointEvery steps, and at the end
      const every = config.schedule.checkpointEvery || config.schedule.steps;
      for (let done = 0; done < config.schedule.steps; done += every) {
        await trainer.run(Math.min(every, config.schedule.steps - done));
        if (done + every < config.schedule.steps) await trainer.exportState();
      }
      const saved = await trainer.exportState();
      trainer.dispose();
      if (config.prelora.mode === 'prelora') expect(events.filter((e) => e.type === 'phase').length).toBeGreaterThan(0);
      const header = headerBytes(encodeCheckpoint({ ...saved, log: { events, policyChanges: [] } }));
      const bound = recordBytes(recordShape(config)).bytes;
      expect(header).toBeLessThanOrEqual(bound);
      expect(header).toBeGreaterThanOrEqual(bound / 2);
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
    expect(refused.errors[0]!.message).toMatch(/^a run of 200000 steps, a window every 1, .*: use a prelora\.windowSteps of \d+ or more/);
    expect(trainer.settings.windowSteps).toBe(config.prelora.windowSteps);
    expect(trainer.setPolicy({ windowSteps: 50 }).errors).toEqual([]);
    trainer.dispose();
  });
});
