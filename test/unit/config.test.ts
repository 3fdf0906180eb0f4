// Config: presets are valid, every bad field is named with a fix, nothing throws.
import { describe, expect, it } from 'vitest';
import {
  formatErrors, makeConfig, PRESET_NAMES, PRESETS, validateConfig, type RunConfig,
} from '../../src/engine/config';
import { WASM_HEAP_BYTES } from '../../src/engine/backend';
import { countParams, estimateMemory } from '../../src/engine/size';

const paths = (cfg: RunConfig, budget?: number) => validateConfig(cfg, { memoryBudgetBytes: budget }).map((e) => e.path);

describe('presets', () => {
  it.each(PRESET_NAMES)('%s validates clean', (name) => {
    expect(validateConfig(PRESETS[name])).toEqual([]);
  });

  // Issue 11, item 5: nano re-warmed over 100 steps after 25-step windows, so in a
  // 300-step run every step after a freeze at 200 was re-warmed (lr 3.5e-6 vs 3.59e-4).
  it.each(PRESET_NAMES)('%s re-warms over one window after a freeze (scaled with the window, as the paper\'s 100 after 1,000)', (name) => {
    const p = PRESETS[name].prelora;
    expect(p.rewarmSteps).toBe(p.windowSteps);
  });

  it('nano, tiny and small have the widths, depths and heads the design fixes', () => {
    const shape = (n: keyof typeof PRESETS) => {
      const m = PRESETS[n].model;
      return [m.width, m.depth, m.heads, m.patchSize];
    };
    expect(shape('nano')).toEqual([64, 4, 4, 4]);
    expect(shape('tiny')).toEqual([192, 6, 3, 4]);
    expect(shape('small')).toEqual([384, 8, 6, 4]);
    expect(shape('vit-l16')).toEqual([1024, 24, 16, 16]);
  });

  it('small presets start at the fan-in scale 1/sqrt(width); vit-l16 at HF\'s 0.02', () => {
    expect(PRESETS.nano.model.initStd).toBe(0.125);
    expect(PRESETS.tiny.model.initStd).toBeCloseTo(1 / Math.sqrt(192), 12);
    expect(PRESETS['vit-l16'].model.initStd).toBe(0.02);
  });

  it('vit-l16 is the paper model: 304,326,632 parameters (HF google/vit-large-patch16-224)', () => {
    expect(countParams(PRESETS['vit-l16'].model)).toBe(304_326_632);
    const est = estimateMemory(PRESETS['vit-l16']);
    // weights + grads + two moments alone are 16 bytes a parameter: ~4.9 GB
    expect(est.parameterBytes).toBe(16 * 304_326_632);
    expect(est.totalBytes).toBeGreaterThan(est.parameterBytes);
  });

  it('vit-l16 is refused on the wasm heap with a reason that says what to do', () => {
    const errors = validateConfig(PRESETS['vit-l16'], { memoryBudgetBytes: WASM_HEAP_BYTES });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.path).toBe('model');
    expect(errors[0]!.message).toMatch(/needs about .* GiB .* only 4\.0 GiB .* smaller preset/);
    expect(validateConfig(PRESETS.nano, { memoryBudgetBytes: WASM_HEAP_BYTES })).toEqual([]);
  });
});

describe('validation', () => {
  it('names a patch that does not divide the image', () => {
    const errors = validateConfig(makeConfig('nano', { model: { patchSize: 5 } }));
    expect(errors).toEqual([{ path: 'model.patchSize', message: 'patch 5 does not divide image size 32: pick a divisor of 32' }]);
  });

  it.each<[string, Parameters<typeof makeConfig>[1], string]>([
    ['heads not dividing width', { model: { heads: 5 } }, 'model.heads'],
    ['zero depth', { model: { depth: 0 } }, 'model.depth'],
    ['fractional width', { model: { width: 64.5 } }, 'model.width'],
    ['one class', { model: { numClasses: 1 } }, 'model.numClasses'],
    ['negative lr', { optim: { lr: -1 } }, 'optim.lr'],
    ['beta1 of 1', { optim: { beta1: 1 } }, 'optim.beta1'],
    ['label smoothing 1', { optim: { labelSmoothing: 1 } }, 'optim.labelSmoothing'],
    ['batch above the training set', { optim: { batchSize: 5000 } }, 'optim.batchSize'],
    ['warm-up longer than the run', { schedule: { warmupSteps: 400 } }, 'schedule.warmupSteps'],
    ['difficulty above 1', { data: { difficulty: 2 } }, 'data.difficulty'],
    ['unknown dataset', { data: { dataset: 'imagenet' as 'synthetic' } }, 'data.dataset'],
    ['rank not a power of two', { prelora: { minRank: 3 } }, 'prelora.minRank'],
    ['maxRank below minRank', { prelora: { minRank: 16, maxRank: 8 } }, 'prelora.maxRank'],
    ['unknown mode', { prelora: { mode: 'half' as 'full' } }, 'prelora.mode'],
    ['negative seed', { seed: -1 }, 'seed'],
  ])('%s -> %s', (_, overrides, path) => {
    expect(paths(makeConfig('nano', overrides))).toEqual([path]);
  });

  it('checks the batch against data.trainSize on the synthetic set only: a loaded set has its own count', () => {
    expect(paths(makeConfig('nano', { optim: { batchSize: 4096 }, data: { trainSize: 4000 } }))).toEqual(['optim.batchSize']);
    expect(paths(makeConfig('nano', { optim: { batchSize: 4096 }, data: { dataset: 'mnist', trainSize: 4000 } }))).toEqual([]);
  });

  it.each<[string, Parameters<typeof makeConfig>[1], number | undefined, string[]]>([
    // the limit is what our WebGPU kernels take on the device (say 38); undefined on tfjs's kernels
    ['PreLoRA maxRank 64 over a limit of 38', { prelora: { mode: 'prelora', maxRank: 64 } }, 38, ['prelora.maxRank']],
    ['PreLoRA maxRank 32 within 38', { prelora: { mode: 'prelora', maxRank: 32 } }, 38, []],
    ['static LoRA rank 40 over 38', { prelora: { mode: 'lora', rank: 40 } }, 38, ['prelora.rank']],
    ['static LoRA rank 38 within 38', { prelora: { mode: 'lora', rank: 38 } }, 38, []],
    // full training has no adapter, nor a switch by hand (it refused a maxRank it never uses)
    ['full training: maxRank 64 over 38, no adapter', { prelora: { mode: 'full', maxRank: 64, rank: 64 } }, 38, []],
    ['tfjs\'s kernels: no limit', { prelora: { mode: 'prelora', maxRank: 64 } }, undefined, []],
    // nano is 64 wide: past that a rank gains nothing (a link's 2^28 threw at the first switch)
    ['PreLoRA maxRank 128 past nano\'s width, tfjs\'s kernels', { prelora: { mode: 'prelora', maxRank: 128 } }, undefined, ['prelora.maxRank']],
    ['static LoRA rank 65 past the width', { prelora: { mode: 'lora', rank: 65 } }, undefined, ['prelora.rank']],
    ['static LoRA rank 64, the width', { prelora: { mode: 'lora', rank: 64 } }, undefined, []],
    ['static LoRA rank 2^28, over both (named once)', { prelora: { mode: 'lora', rank: 2 ** 28 } }, 38, ['prelora.rank']],
    ['full training: maxRank 2^28 unused', { prelora: { mode: 'full', maxRank: 2 ** 28 } }, undefined, []],
    // 32-bit arithmetic took 2^32 + 4 for a power of two
    ['maxRank 2^32 + 4, no power of two', { prelora: { mode: 'prelora', maxRank: 2 ** 32 + 4 } }, undefined, ['prelora.maxRank']],
  ])('adapter rank: %s', (_, overrides, limit, expected) => {
    expect(validateConfig(makeConfig('nano', overrides), { maxLoraRank: limit }).map((e) => e.path)).toEqual(expected);
  });

  it.each<[string, Parameters<typeof makeConfig>[1], string[]]>([
    // 8 tensors outside the blocks, 16 a block and 2 an adapted linear: 8 + 28 x 146 = 4,096
    ['depth 146, six adapted linears a block: 4,096 tensors', { model: { depth: 146 }, prelora: { mode: 'prelora' } }, []],
    ['depth 147: 4,124', { model: { depth: 147 }, prelora: { mode: 'prelora' } }, ['model.depth']],
    ['depth 204, two adapted linears a block: 4,088', { model: { depth: 204 }, prelora: { mode: 'prelora', targets: ['query', 'value'] } }, []],
    ['depth 205 of them: 4,108', { model: { depth: 205 }, prelora: { mode: 'prelora', targets: ['query', 'value'] } }, ['model.depth']],
    // a family named twice is one family: it counted twice (a link's query,query,... of 30 took depth 146 as 30 a block)
    ['depth 204, query and value each named twice: 4,088', { model: { depth: 204 }, prelora: { mode: 'prelora', targets: ['query', 'value', 'query', 'value'] } }, ['prelora.targets']],
    // full training: no adapter ever (it counted PreLoRA's, for a switch by hand it now refuses)
    ['full training at depth 255: 8 + 16 x 255 = 4,088', { model: { depth: 255 }, prelora: { mode: 'full' } }, []],
    ['full training at depth 256: 4,104', { model: { depth: 256 }, prelora: { mode: 'full' } }, ['model.depth']],
    // static LoRA: each adapted linear's frozen base (two tensors) leaves as its adapter (two) comes
    ['static LoRA at depth 255: 8 + 16 x 255 = 4,088', { model: { depth: 255 }, prelora: { mode: 'lora' } }, []],
    ['static LoRA at depth 256: 4,104', { model: { depth: 256 }, prelora: { mode: 'lora' } }, ['model.depth']],
  ])('optimiser table of 4,096 rows: %s', (_, overrides, expected) => {
    expect(validateConfig(makeConfig('micro', overrides), { maxTrainableTensors: 4096 }).map((e) => e.path)).toEqual(expected);
  });

  it('refuses a family named twice in prelora.targets, naming it', () => {
    const [twice] = validateConfig(makeConfig('micro', { prelora: { targets: ['query', 'fc1', 'query'] } }));
    expect(twice).toEqual({ path: 'prelora.targets', message: 'prelora.targets names query twice: list each family once' });
  });

  it('names the deepest model the optimiser table takes, and the backend that has no table', () => {
    const [depth] = validateConfig(makeConfig('micro', { model: { depth: 256 }, prelora: { mode: 'prelora' } }), { maxTrainableTensors: 4096 });
    expect(depth!.message).toBe('depth 256 makes up to 7176 tensors to update a step (6 adapted linears a block), ' +
      'more than this device\'s WebGPU optimiser holds (4096): lower model.depth to 146 or fewer, or use backend webgpu-composite');
  });

  it('names the largest rank that fits: a power of two for maxRank, the limit itself for a static rank', () => {
    const [prelora] = validateConfig(makeConfig('tiny', { prelora: { mode: 'prelora', maxRank: 128 } }), { maxLoraRank: 89 });
    expect(prelora!.message).toBe('prelora.maxRank 128 is more than this device\'s WebGPU kernels take (LoRA ranks up to 89, set by its workgroup memory): use 64 or lower');
    const [lora] = validateConfig(makeConfig('tiny', { prelora: { mode: 'lora', rank: 90 } }), { maxLoraRank: 89 });
    expect(lora!.message).toMatch(/use 89 or lower$/);
  });

  it('holds a run\'s own ranks, as it ran, to no width: a saved run of a page that did not ask stays resumable', () => {
    const older = makeConfig('nano', { prelora: { mode: 'prelora', maxRank: 128 } });
    expect(validateConfig(older).map((e) => e.path)).toEqual(['prelora.maxRank']);
    expect(validateConfig(older, { ranWith: older.prelora })).toEqual([]);
    // a new maxRank on it is held to the width
    expect(validateConfig({ ...older, prelora: { ...older.prelora, maxRank: 256 } }, { ranWith: older.prelora }).map((e) => e.path)).toEqual(['prelora.maxRank']);
  });

  it('names the widest rank a model takes: a power of two for maxRank, the width itself for a static rank', () => {
    const [prelora] = validateConfig(makeConfig('tiny', { prelora: { mode: 'prelora', maxRank: 256 } }));
    expect(prelora!.message).toBe('prelora.maxRank 256 is more than model.width (192): an adapter\'s rank past its weight\'s width adds nothing; use 128 or lower');
    const [lora] = validateConfig(makeConfig('tiny', { prelora: { mode: 'lora', rank: 193 } }));
    expect(lora!.message).toMatch(/use 192 or lower$/);
  });

  it('reports every problem at once, each message naming its field', () => {
    const errors = validateConfig(makeConfig('nano', { model: { patchSize: 0, heads: 3 }, optim: { lr: 0 }, schedule: { steps: 0 } }));
    expect(errors.map((e) => e.path)).toEqual(['model.patchSize', 'optim.lr', 'schedule.steps', 'model.heads']);
    for (const e of errors) expect(e.message).toContain(e.path.split('.').pop()!);
  });

  it('never throws on garbage: strings, NaN, null, missing sections', () => {
    const garbage = [
      { ...PRESETS.nano, model: { ...PRESETS.nano.model, width: 'wide' } },
      { ...PRESETS.nano, optim: { ...PRESETS.nano.optim, lr: Number.NaN } },
      { ...PRESETS.nano, model: null },
      { seed: 1 },
      {},
    ] as unknown as RunConfig[];
    for (const cfg of garbage) {
      const errors = validateConfig(cfg);
      expect(errors.length).toBeGreaterThan(0);
      for (const e of errors) expect(e.message.length).toBeGreaterThan(10);
    }
  });

  it('never throws on what is no config at all: null, an array, a number, a string', () => {
    const sections = 'an object of model, data, optim, schedule and prelora settings and a seed';
    for (const [cfg, got] of [[null, 'null'], [undefined, 'undefined'], [[1, 2], 'an array'], [7, 'number'], ['nano', 'string']] as const) {
      expect(validateConfig(cfg as unknown as RunConfig)).toEqual([{ path: 'config', message: `config must be ${sections} (got ${got})` }]);
    }
  });
});

describe('merging overrides', () => {
  it('copies only the fields a config has: __proto__ in the input reaches no prototype', () => {
    const input = JSON.parse('{"__proto__": {"polluted": 1}, "optim": {"__proto__": {"polluted": 2}, "lr": 0.5}, "model": {"bogus": 3}, "extra": 4}');
    const cfg = makeConfig('nano', input);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined(); // Object.prototype untouched
    expect(Object.getPrototypeOf(cfg.optim)).toBe(Object.prototype);
    expect((cfg.optim as unknown as Record<string, unknown>).polluted).toBeUndefined();
    expect(cfg.optim.lr).toBe(0.5); // the known field beside it still merges
    expect(Object.keys(cfg.model)).toEqual(Object.keys(PRESETS.nano.model));
    expect('extra' in cfg).toBe(false);
  });

  it('merges section by section, leaves the preset alone, and copies arrays', () => {
    const targets: RunConfig['prelora']['targets'] = ['query', 'fc1'];
    const cfg = makeConfig('nano', { seed: 9, prelora: { weightThreshold: 1, targets } });
    expect(cfg.seed).toBe(9);
    expect(cfg.prelora).toMatchObject({ weightThreshold: 1, patience: PRESETS.nano.prelora.patience, targets: ['query', 'fc1'] });
    targets.push('fc2');
    expect(cfg.prelora.targets).toEqual(['query', 'fc1']);
    expect(PRESETS.nano.prelora.weightThreshold).toBe(2.5);
  });
});

describe('one error formatter', () => {
  it('writes one line per problem, without repeating a path the message starts with', () => {
    expect(formatErrors([
      { path: 'model.patchSize', message: 'patch 5 does not divide image size 32: pick a divisor of 32' },
      { path: 'prelora.patience', message: 'prelora.patience must be a whole number >= 2 (got -3)' },
    ])).toBe('model.patchSize: patch 5 does not divide image size 32: pick a divisor of 32\nprelora.patience must be a whole number >= 2 (got -3)');
  });
});
