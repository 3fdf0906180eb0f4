// Preparing a run, as the CLI, the worker and the bench do: a model too large is refused
// before any data is made, a data problem is named by the field the user knows, and
// the model follows the data.
import { describe, expect, it } from 'vitest';
import { WASM_HEAP_BYTES } from '../../src/engine/backend';
import { makeConfig, type RunConfig } from '../../src/engine/config';
import { syntheticDataset } from '../../src/engine/data/synthetic';
import { DatasetError } from '../../src/engine/data/errors';
import { prepareRun } from '../../src/engine/prepare';

const digits = () => syntheticDataset({ trainSize: 40, testSize: 10, imageSize: 28, channels: 1, numClasses: 10, difficulty: 0.3, seed: 1 });

describe('prepareRun', () => {
  it('refuses a model that cannot fit before loading anything', async () => {
    const loads: RunConfig[] = [];
    const r = await prepareRun(makeConfig('vit-l16'), { load: async (c) => { loads.push(c); return digits(); }, memoryBudgetBytes: WASM_HEAP_BYTES });
    expect(loads).toEqual([]);
    expect(r.config).toBeNull();
    expect(r.errors.map((e) => e.path)).toEqual(['model']);
  });

  it('fits the model to the data, then checks the config that will run', async () => {
    const ok = await prepareRun(makeConfig('micro', { data: { trainSize: 40, testSize: 10 } }), { load: async () => digits() });
    expect(ok.errors).toEqual([]);
    expect([ok.config!.model.imageSize, ok.config!.model.channels]).toEqual([28, 1]);
    // patch 8 divides micro's 16 px but not the data's 28: found only after the fit
    const bad = await prepareRun(makeConfig('micro', { model: { patchSize: 8 }, data: { trainSize: 40, testSize: 10 } }), { load: async () => digits() });
    expect(bad.errors).toEqual([{ path: 'model.patchSize', message: 'patch 8 does not divide image size 28: pick a divisor of 28' }]);
  });

  it('names a data problem by the field the user gave, and lets other throws through', async () => {
    const refuse = async (): Promise<never> => { throw new DatasetError('x.bin: truncated record 3'); };
    expect((await prepareRun(makeConfig('micro'), { load: refuse, dataField: '--dataset' })).errors)
      .toEqual([{ path: '--dataset', message: 'x.bin: truncated record 3' }]);
    expect((await prepareRun(makeConfig('micro'), { load: refuse })).errors[0]!.path).toBe('data.dataset');
    await expect(prepareRun(makeConfig('micro'), { load: async () => { throw new Error('disk on fire'); } })).rejects.toThrow('disk on fire');
  });
});
