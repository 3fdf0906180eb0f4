// A restored run's modules against a device's limits, table by table: the ranks its
// adapters have, and the tensors a step may update, counted on the modules as saved
// (an adapter outside the targets included), at the edge of each limit; and its
// settings as changed live, which a branch's change may make fit.
import { describe, expect, it } from 'vitest';
import { restoredMisfit, restoreProblem } from '../../src/engine/checkpoint/fits';
import { makeConfig } from '../../src/engine/config';
import type { Phase } from '../../src/engine/events';
import { countTensors } from '../../src/engine/size';
import type { Family } from '../../src/engine/vit-families';

const model = makeConfig('micro').model; // depth 2
const targets: Family[] = ['query', 'value'];
const mod = (id: string, phase: Phase, rank: number | null = phase === 'full' ? null : 8) => ({ id, phase, rank });
// two targeted modules a block, one of them joint, the other still full; a base frozen outside the targets
const saved = [
  mod('blocks.0.query', 'joint'), mod('blocks.0.value', 'full'), mod('blocks.0.fc1', 'full'),
  mod('blocks.1.query', 'lora'), mod('blocks.1.value', 'full'), mod('blocks.1.fc1', 'lora', 16),
];
const beside = 3; // blocks.0.query (joint), blocks.0.value and blocks.1.value (full and targeted: they may switch)

describe('restoredMisfit', () => {
  it.each([
    ['no limits (tfjs kernels and optimiser)', saved, {}, null],
    ['every rank fits, the count at the edge', saved, { maxLoraRank: 16, maxTrainableTensors: countTensors(model, beside) }, null],
    ['one tensor short', saved, { maxTrainableTensors: countTensors(model, beside) - 1 },
      `its modules make up to ${countTensors(model, beside)} tensors to update a step, more than this device's WebGPU optimiser holds (${countTensors(model, beside) - 1}): resume it with backend webgpu-composite`],
    // a joint module outside the targets (a switch by hand of an older page) counts: the config alone would pass
    ['an untargeted joint module', [...saved, mod('blocks.1.fc2', 'joint')], { maxTrainableTensors: countTensors(model, beside) }, /^its modules make up to \d+ tensors/],
    ['a rank a larger device took', saved, { maxLoraRank: 8 },
      'blocks.1.fc1 has a rank-16 adapter, more than this device\'s WebGPU kernels take (LoRA ranks up to 8, set by its workgroup memory): resume it with backend webgpu-composite, or on the device it trained on'],
  ] as const)('%s', (_, modules, limits, want) => {
    const got = restoredMisfit(model, { mode: 'prelora', targets }, modules, { maxLoraRank: undefined, maxTrainableTensors: undefined, ...limits });
    if (want instanceof RegExp) expect(got).toMatch(want);
    else expect(got).toBe(want);
  });

  it('a baseline\'s full modules may not switch: they count no adapter (a full run deep enough to start was refused its resume)', () => {
    const full = model.depth * 6;
    const modules = Array.from({ length: full }, (_, i) => mod(`blocks.${Math.floor(i / 6)}.${['query', 'key', 'value', 'output', 'fc1', 'fc2'][i % 6]}`, 'full'));
    const limits = { maxLoraRank: undefined, maxTrainableTensors: countTensors(model, 0) };
    expect(restoredMisfit(model, { mode: 'full', targets }, modules, limits)).toBeNull();
    expect(restoredMisfit(model, { mode: 'prelora', targets }, modules, limits)).toMatch(/^its modules make up to \d+ tensors/);
  });

  it('restoreProblem: a run\'s own maxRank past the width (an older page took it) resumes; a branch that raises it there does not', () => {
    const config = makeConfig('micro', { prelora: { mode: 'prelora', minRank: 4, maxRank: 64 } }); // micro is 32 wide
    const saved = { settings: config.prelora, modules: [mod('blocks.0.query', 'joint', 64)], history: [], forced: [] };
    const none = { maxLoraRank: undefined, maxTrainableTensors: undefined };
    expect(restoreProblem(config, saved, none)).toBeNull();
    expect(restoreProblem(config, saved, none, { patience: 4 })).toBeNull();
    expect(restoreProblem(config, saved, none, { maxRank: 128 })).toBe('its settings as changed live with the branch\'s do not run here: ' +
      'prelora.maxRank 128 is more than model.width (32): an adapter\'s rank past its weight\'s width adds nothing; use 32 or lower');
  });

  it('restoreProblem: the settings as changed live, a branch\'s change applied first, then the modules', () => {
    const config = makeConfig('micro', { prelora: { mode: 'prelora', targets: ['query', 'value'], minRank: 2, maxRank: 16 } });
    const saved = { settings: config.prelora, modules: [mod('blocks.0.query', 'joint', 16)], history: [], forced: [] };
    const small = { maxLoraRank: 8, maxTrainableTensors: undefined };
    expect(restoreProblem(config, saved, { maxLoraRank: 16, maxTrainableTensors: undefined })).toBeNull();
    expect(restoreProblem(config, saved, small)).toBe('its settings as changed live do not run here: ' +
      'prelora.maxRank 16 is more than this device\'s WebGPU kernels take (LoRA ranks up to 8, set by its workgroup memory): use 8 or lower');
    // a branch that lowers maxRank fits the settings; the adapter it already has does not
    expect(restoreProblem(config, saved, small, { maxRank: 8 })).toMatch(/^blocks\.0\.query has a rank-16 adapter/);
    expect(restoreProblem(config, { ...saved, modules: [mod('blocks.0.query', 'joint', 8)] }, small, { maxRank: 8 })).toBeNull();
    expect(restoreProblem(config, saved, { maxLoraRank: undefined, maxTrainableTensors: undefined }, { maxRank: 3 })).toMatch(/^its settings as changed live with the branch's do not run here: prelora\.maxRank must be a power of two/);
  });
});
