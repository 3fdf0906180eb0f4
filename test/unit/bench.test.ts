// The benchmark's parts: the FLOP counter (against a count by hand), the kernel counter
// (against a computation whose kernels are known), seed combining, the table, the
// comparison with PyTorch and an A/B's tables. Real runs and the CLI: test/train/bench.test.ts.
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import {
  BENCH_VARIANTS, benchRows, benchSwitchOrder, benchTable, combineSeeds, combineVariants, kernelRows, launchGroupRows, mergeReports, sharedConfig,
  type BenchReport, type BenchRun, type PerPhase, type SeedResult,
} from '../../src/engine/bench/report';
import { comparisonTable, compareWithTorch, readTorchReference } from '../../src/engine/bench/compare';
import { abGroupRows, abRows, abTable } from '../../src/engine/bench/ab';
import { makeConfig } from '../../src/engine/config';
import { flopsPerStep, runFlops } from '../../src/engine/flops';
import { countKernels } from '../../src/engine/kernels';
import { useBackend } from '../helpers/tf';

describe('FLOPs per step', () => {
  // 8 px, patch 4 (4 patches, 5 tokens, patch 48 long), width 4, MLP 8, 1 block, 2 heads, 3 classes, batch 2
  const model = makeConfig('nano', { model: { imageSize: 8, width: 4, depth: 1, heads: 2, mlpRatio: 2, numClasses: 3 } }).model;

  it('counts by hand for full training', () => {
    const patch = 2 * (2 * 8 * 48 * 4); // forward + weight gradient, 8 patches
    const qkvo = 4 * 3 * (2 * 10 * 4 * 4); // 10 tokens: forward, input and weight gradients
    const mlp = 2 * 3 * (2 * 10 * 4 * 8);
    const attention = 3 * (2 * 20 * 2 * 5 + 2 * 20 * 5 * 2); // 20 = batch x heads x tokens
    const head = 3 * (2 * 2 * 4 * 3);
    expect(flopsPerStep(model, { batchSize: 2 })).toBe(patch + qkvo + mlp + attention + head);
    expect(patch + qkvo + mlp + attention + head).toBe(16368);
  });

  it('a frozen base drops its weight gradient; a rank-2 adapter adds its six thin matmuls', () => {
    const frozen = flopsPerStep(model, { batchSize: 2, frozen: new Set(['blocks.0.query']) });
    expect(frozen).toBe(16368 - 2 * 10 * 4 * 4);
    const lora = flopsPerStep(model, { batchSize: 2, frozen: new Set(['blocks.0.query']), ranks: { 'blocks.0.query': 2 } });
    expect(lora).toBe(frozen + 3 * (2 * 10 * 4 * 2 + 2 * 10 * 2 * 4));
  });
});

describe('FLOPs of a whole run', () => {
  const model = makeConfig('nano', { model: { imageSize: 8, width: 4, depth: 1, heads: 2, mlpRatio: 2, numClasses: 3 } }).model;
  const full = flopsPerStep(model, { batchSize: 2 });

  it('sums each step at its shape: full until a switch, joint (adapter on a training base), then LoRA', () => {
    const changes = [
      { module: 'blocks.0.query', to: 'joint' as const, step: 3, rank: 2 },
      { module: 'blocks.0.query', to: 'lora' as const, step: 5, rank: 2 },
    ];
    const joint = flopsPerStep(model, { batchSize: 2, ranks: { 'blocks.0.query': 2 } });
    const lora = flopsPerStep(model, { batchSize: 2, ranks: { 'blocks.0.query': 2 }, frozen: new Set(['blocks.0.query']) });
    expect(runFlops(model, 2, 10, changes)).toBe(3 * full + 2 * joint + 5 * lora);
    expect(runFlops(model, 2, 10, [...changes].reverse())).toBe(3 * full + 2 * joint + 5 * lora); // in any order
    expect(runFlops(model, 2, 10, [])).toBe(10 * full);
    expect(runFlops(model, 2, 4, changes)).toBe(3 * full + joint); // changes after the run's end count nothing
  });
});

describe('kernel counter', () => {
  it('counts each kernel a computation launches, by name', async () => {
    await useBackend('cpu');
    const a = tf.tensor([1, 2, 3]), b = tf.tensor([4, 5, 6]);
    const count = await countKernels(() => { tf.tidy(() => tf.add(tf.mul(a, b), tf.square(a))); });
    expect(count.byName).toEqual({ Multiply: 1, Square: 1, Add: 1 });
    expect(count.total).toBe(3);
    expect(count.peakBytes).toBeGreaterThan(0);
    tf.dispose([a, b]);
  });

  it('reports the tensors held as the peak when the work runs no tfjs kernel (a compiled step)', async () => {
    await useBackend('cpu');
    const a = tf.tensor([1, 2, 3]);
    const count = await countKernels(() => undefined);
    expect(count.total).toBe(0);
    expect(count.peakBytes).toBe(tf.memory().numBytes);
    expect(count.peakBytes).toBeGreaterThanOrEqual(12);
    a.dispose();
  });
});

describe('seed combining', () => {
  const r = (seed: number, accuracy: number, lora: number | null, mode = 'prelora', rule = 'module'): SeedResult => ({
    mode, rule, seed, accuracy, wallSeconds: 10 * seed, trainableShare: 0.5, switchedAt: 100,
    samplesPerSec: { full: 100, lora }, deviceMsPerStep: { full: null, lora: null },
    memoryBytes: { full: 10, lora: 5, peak: 20 * seed },
    dispatchesPerStep: { full: 1000, lora: 800 }, flopsPerStep: { full: 2e9, lora: null },
    phaseShare: { full: 0.1 * seed, mixed: 0.1, lora: 0.9 - 0.1 * seed }, flopsSaved: 0.1 * seed,
    familySwitchSteps: seed === 2 ? { fc2: 100 } : { fc2: 50 * seed, value: 200 },
    kernelsByKind: { full: { MatMul: 600, Add: 400 }, lora: { MatMul: 500, Add: 300 } },
  });

  it('averages per phase, keeps nulls for a phase never reached, and reports the spread of accuracy', () => {
    const c = combineSeeds([r(1, 0.8, 150), r(2, 0.9, null), r(3, 0.85, 170)], 32);
    expect(c.phaseShare.full).toBeCloseTo(0.2, 12);
    expect(c.phaseShare.lora).toBeCloseTo(0.7, 12);
    expect(c.flopsSaved).toBeCloseTo(0.2, 12);
    expect(c.familySwitchSteps).toEqual({ fc2: 100, value: 200 }); // a family's mean over the seeds in which it switched
    expect(c.accuracy.mean).toBeCloseTo(0.85, 12);
    expect(c.accuracy.spread).toBeCloseTo(0.05, 12); // sample standard deviation
    expect(c.samplesPerSec).toEqual({ full: 100, lora: 160 });
    expect(c.hostMsPerStep).toEqual({ full: 320, lora: 200 }); // batch 32 at the mean samples/s, not a mean of ms
    expect(c.flopsPerStep.lora).toBeNull();
    expect(c.memoryBytes.peak).toBe(60);
    expect(c.seeds).toBe(3);
    expect(c.deviceMsPerStep).toEqual({ full: null, lora: null });
  });

  it('says under the table over how many seeds a PreLoRA run\'s first switch and LoRA phase were averaged, where not all', () => {
    // seed 2 of the module rule never switched, seed 3 never reached the LoRA phase: the
    // first switch and the LoRA columns are means over the others, the accuracy and phase
    // shares over all three, and nothing said so
    const seeds = [1, 2, 3].flatMap((sd) => BENCH_VARIANTS.map((v) => {
      const x = r(sd, 0.8, v.mode === 'full' || (v.rule === 'module' && sd > 1) ? null : 150, v.mode, v.rule);
      return v.mode === 'prelora' && v.rule === 'module' && sd === 2 ? { ...x, switchedAt: null, familySwitchSteps: {} } : x;
    }));
    const report: BenchReport = {
      date: '2026-12-05', preset: 'nano', dataset: 'mnist', backend: 'wasm', kernels: 'composite', device: 'cpu', steps: 1000, batchSize: 32, seeds: 3,
      runs: combineVariants(seeds, 32), perSeed: seeds,
    };
    const lines = benchSwitchOrder(report);
    // value switched in seeds 1 and 3 only (seed 2's run switched fc2 alone): its mean is theirs
    expect(lines[0]).toBe('prelora (global) switch order (mean step per family): fc2 100 < value 200 (2 of 3 seeds)');
    expect(lines[1]).toBe('prelora (module) switch order (mean step per family): fc2 100 (2 of 3 seeds) < value 200 (2 of 3 seeds); ' +
      'its first switch is the mean over 2 of 3 seeds (the others made none), its LoRA-phase figures are means over 1 of 3 seeds (the others ended before every targeted module froze)');
  });

  it('merges reports of one benchmark split over seeds into the report of all of them', () => {
    const variants = (seed: number, acc: number) => BENCH_VARIANTS.map((v) => r(seed, acc, 150, v.mode, v.rule));
    const report = (seeds: number[], acc: number, device = 'cpu'): BenchReport => ({
      date: '2026-11-29', preset: 'nano', dataset: 'mnist', backend: 'wasm', kernels: 'composite', device, steps: 1000, batchSize: 32, seeds: seeds.length,
      runs: combineVariants(seeds.flatMap((sd) => variants(sd, acc)), 32), perSeed: seeds.flatMap((sd) => variants(sd, acc)),
    });
    const whole = report([1, 2, 3], 0.9);
    const merged = mergeReports([report([3], 0.9), report([1, 2], 0.9)]);
    expect(merged).toEqual(whole);
    expect(merged.perSeed.map((x) => x.seed)).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
    expect(() => mergeReports([report([1], 0.9), report([1], 0.8)])).toThrow(/a seed appears in more than one report/);
    expect(() => mergeReports([report([1], 0.9), { ...report([2], 0.9), steps: 300 }])).toThrow(/differ in steps \(1000 vs 300\)/);
    expect(mergeReports([report([1], 0.9), report([2], 0.9, 'h200')]).device).toBe('cpu / h200');
  });

  it('refuses reports whose runs shared another config or other tuning flags, naming the files and the field', () => {
    const config = sharedConfig(makeConfig('nano', { data: { dataset: 'mnist' } }));
    const report = (seed: number, more: Partial<BenchReport> = {}): BenchReport => {
      const perSeed = BENCH_VARIANTS.map((v) => r(seed, 0.9, 150, v.mode, v.rule));
      return {
        date: '2026-12-05', preset: 'nano', dataset: 'mnist', backend: 'wasm', kernels: 'composite', device: 'cpu', steps: 1000, batchSize: 32, seeds: 1,
        runs: combineVariants(perSeed, 32), perSeed, config, tuning: {}, ...more,
      };
    };
    // what each run sets (seed, mode, rule) is no part of it: the seeds may differ
    expect(Object.keys(config)).not.toContain('seed');
    expect(Object.keys(config.prelora)).not.toContain('mode');
    expect(mergeReports([report(1), report(2)]).config).toEqual(config);
    // another --set (they were averaged before)
    const otherLr = { ...config, optim: { ...config.optim, lr: 0.5 } };
    expect(() => mergeReports([report(1), report(2, { config: otherLr })], ['a.json', 'b.json']))
      .toThrow(`a.json and b.json differ in config.optim.lr (${config.optim.lr} vs 0.5): merge runs of one benchmark only`);
    // a tuning flag one gave and the other did not
    expect(() => mergeReports([report(1), report(2), report(3, { tuning: { 'gemm-tile': '128x64x16/8x4' } })], ['a.json', 'b.json', 'c.json']))
      .toThrow('a.json and c.json differ in tuning.gemm-tile (none vs "128x64x16/8x4")');
    // reports written before the config was carried merge only among themselves
    const early = (seed: number) => ({ ...report(seed), config: undefined, tuning: undefined });
    expect(mergeReports([early(1), early(2)]).seeds).toBe(2);
    expect(() => mergeReports([report(1), early(2)], ['new.json', 'old.json'])).toThrow(/^old\.json carries no config \(written before reports carried one\)/);
  });
});

describe('the table', () => {
  it('prints one row per run with ratios against full, and a dash for what was not measured', () => {
    const run = (mode: string, sps: PerPhase, wall: number): BenchRun => ({
      mode, rule: 'global', seeds: 1, samplesPerSec: sps, hostMsPerStep: { full: sps.full && 3200 / sps.full, lora: sps.lora && 3200 / sps.lora },
      deviceMsPerStep: { full: sps.full && 10, lora: null }, wallSeconds: wall, memoryBytes: { full: 2e6, lora: null, peak: 5e6 },
      trainableShare: 1, accuracy: { mean: 0.5, spread: 0 }, dispatchesPerStep: { full: 100, lora: null }, flopsPerStep: { full: 2e9, lora: null }, switchedAt: null,
      phaseShare: mode === 'lora' ? { full: 0, mixed: 0, lora: 1 } : { full: 0.4, mixed: 0.15, lora: 0.45 }, flopsSaved: mode === 'lora' ? 0.25 : 0.125,
      familySwitchSteps: mode === 'lora' ? { fc1: 0 } : { fc2: 300, query: 250, value: 275.4 },
      kernelsByKind: mode === 'full' ? { full: { 'linear.forward': 38, Add: 28, Reshape: 14 }, lora: null } : { full: null, lora: { 'linear.forward': 38, Add: 30 } },
    });
    const report: BenchReport = {
      date: '2026-11-29', preset: 'nano', dataset: 'synthetic', backend: 'webgpu', kernels: 'fused', device: 'nvidia h200', steps: 100, batchSize: 32, seeds: 1,
      runs: [run('full', { full: 100, lora: null }, 20), run('lora', { full: null, lora: 150 }, 15), run('prelora', { full: 100, lora: 120 }, 18)],
      perSeed: [],
    };
    const rows = benchRows(report);
    expect(rows[0]!.slice(-2)).toEqual(['steps full / mixed / LoRA %', 'FLOPs saved']);
    expect(rows[3]!.slice(-2)).toEqual(['40 / 15 / 45', '12.5%']);
    expect(benchTable(report).split('\n').at(-1)).toBe('prelora (global) switch order (mean step per family): query 250 < value 275 < fc2 300');
    report.runs.pop();
    expect(rows).toHaveLength(4);
    expect(rows[0]).toHaveLength(rows[1]!.length);
    expect(rows[2]![4]).toBe('1.50x'); // static LoRA against the full run's full phase
    expect(rows[2]![7]).toBe('15 (0.75x)');
    expect(rows[1]![5]).toBe('32.0 / 10.0'); // host / device ms per step
    expect(rows[1]![6]).toBe('–');
    expect(benchTable(report).split('\n')[0]).toBe('nano on synthetic, 100 steps at batch 32, 1 seed(s), backend webgpu, fused kernels (nvidia h200)');
    // which kernels remain, full phase beside LoRA phase, most frequent first, then the total
    expect(kernelRows(report)).toEqual([
      ['kernel', 'full', 'LoRA'], ['linear.forward', '38', '38'], ['Add', '28', '30'], ['Reshape', '14', '0'], ['total', '80', '68'],
    ]);
    expect(benchTable(report)).toContain('| Add | 28 | 30 |');
    // where the compiled step timed its kernels one by one, their device ms per kind beside the counts
    report.runs[0]!.deviceMsByKind = { full: { 'linear.forward': 3.744, Add: 0.5 }, lora: null };
    report.runs[1]!.deviceMsByKind = { full: null, lora: { 'linear.forward': 4.25 } };
    expect(kernelRows(report)).toEqual([
      ['kernel', 'full', 'LoRA', 'device ms full', 'device ms LoRA'], ['linear.forward', '38', '38', '3.74', '4.25'],
      ['Add', '28', '30', '0.50', '0.00'], ['Reshape', '14', '0', '0.00', '0.00'], ['total', '80', '68', '4.24', '4.25'],
    ]);
    // untimed launch by launch: no such table
    expect(launchGroupRows(report)).toBeNull();
    expect(benchTable(report)).not.toContain('by what the launches work on');
    // timed so, each launch's ms counts for its module's family or part: a projection's
    // `attention.output.dense` is `output`, fc2's `output.dense` is fc2, a launch that
    // carries a rider counts for its host, an unlabelled one is shared
    const L = (kind: string, module: string | null, ms: number) => ({ kind, module, ms });
    const at = (i: number, path: string) => `vit.encoder.layer.${i}.${path}`;
    report.runs[0]!.deviceMsByLaunch = { full: [
      L('linear.forward', at(0, 'attention.output.dense'), 1), L('linear.forward', at(1, 'output.dense'), 2),
      L('attention.forward', at(0, 'attention.attention'), 0.5), L('layernorm.forward', at(1, 'layernorm_after'), 0.25),
      L('layernorm.forward', 'vit.layernorm', 0.25), L('linear.forward', 'classifier', 0.125), L('adamw.step', null, 0.75),
    ], lora: null };
    report.runs[1]!.deviceMsByLaunch = { full: null, lora: [
      L('linear.forward', at(0, 'attention.output.dense'), 1.5), L('linear.input-grad', `${at(1, 'output.dense')} + ${at(0, 'intermediate.dense')}`, 1),
      L('linear.forward', 'vit.embeddings.patch_embeddings.projection', 0.25), L('adamw.step', null, 0.25),
    ] };
    expect(launchGroupRows(report)).toEqual([
      ['launches of', 'device ms full', 'device ms LoRA', 'LoRA - full'],
      ['output', '1.00', '1.50', '+0.50'], ['fc2', '2.00', '1.00', '-1.00'], ['attention', '0.50', '0.00', '-0.50'],
      ['layernorm', '0.50', '0.00', '-0.50'], ['patch embedding', '0.00', '0.25', '+0.25'], ['classifier', '0.13', '0.00', '-0.13'],
      ['shared', '0.75', '0.25', '-0.50'], ['total', '4.88', '3.00', '-1.88'],
    ]);
    expect(benchTable(report)).toContain('| fc2 | 2.00 | 1.00 | -1.00 |');
    // the difference is the cells' own (0.125 shows as 0.13, so 0.13 -> 0.00 is -0.13), and
    // a phase that was not timed launch by launch shows none
    report.runs[1]!.deviceMsByLaunch = undefined;
    expect(launchGroupRows(report)!.slice(-3)).toEqual([['classifier', '0.13', '–', '–'], ['shared', '0.75', '–', '–'], ['total', '4.88', '–', '–']]);
    report.runs[1]!.deviceMsByLaunch = { full: null, lora: [L('linear.forward', 'classifier', 0.1249), L('adamw.step', null, 0.754)] };
    expect(launchGroupRows(report)!.slice(-3)).toEqual([['classifier', '0.13', '0.12', '-0.01'], ['shared', '0.75', '0.75', '0.00'], ['total', '4.88', '0.88', '-4.00']]);
  });
});

describe('an A/B of reports', () => {
  const L = (module: string | null, ms: number) => ({ kind: 'linear.forward', module, ms });
  const q = 'vit.encoder.layer.0.attention.attention.query';
  const fc2 = 'vit.encoder.layer.0.output.dense';
  const run = (mode: 'full' | 'lora' | 'prelora', device: number, launches: { module: string | null; ms: number }[] | null): BenchRun => ({
    mode, rule: 'global', seeds: 1, samplesPerSec: mode === 'lora' ? { full: null, lora: 3200 / device } : { full: 3200 / device, lora: null },
    hostMsPerStep: { full: null, lora: null }, wallSeconds: 1, trainableShare: 1, accuracy: { mean: 0, spread: 0 },
    deviceMsPerStep: mode === 'lora' ? { full: null, lora: device } : { full: device, lora: null },
    memoryBytes: { full: null, lora: null, peak: mode === 'lora' ? 7.6e8 : 7.81e8 },
    dispatchesPerStep: mode === 'lora' ? { full: null, lora: 186 } : { full: 236, lora: null },
    flopsPerStep: { full: null, lora: null }, switchedAt: null, kernelsByKind: { full: null, lora: null },
    phaseShare: { full: 1, mixed: 0, lora: 0 }, flopsSaved: 0, familySwitchSteps: {},
    deviceMsByLaunch: !launches ? undefined : mode === 'lora' ? { full: null, lora: launches.map((l) => L(l.module, l.ms)) } : { full: launches.map((l) => L(l.module, l.ms)), lora: null },
  });
  const report = (full: number, lora: number, prelora: number, launches: boolean): BenchReport => ({
    date: '2026-12-01', preset: 'tiny', dataset: 'synthetic', backend: 'webgpu', kernels: 'fused', device: 'h200', steps: 80, batchSize: 128, seeds: 1,
    // a PreLoRA run ahead of them, as a merged report may order them: not what the A/B reads
    runs: [run('prelora', prelora, null), run('full', full, launches ? [{ module: q, ms: 1 }, { module: fc2, ms: 2 }, { module: null, ms: 0.5 }] : null),
      run('lora', lora, launches ? [{ module: q, ms: 0.75 }, { module: `${fc2} + ${q}`, ms: 1.5 }, { module: null, ms: 0.625 }] : null)],
    perSeed: [],
  });

  it('puts each report\'s full run\'s full phase beside its static LoRA run\'s LoRA phase, with their ratio', () => {
    expect(abRows([{ name: 'main', report: report(8, 6.4, 1, false) }, { name: 'x', report: report(8.5, 6.8, 1, false) }])).toEqual([
      ['variant', 'device ms full', 'device ms LoRA', 'full / LoRA', 'launches full / LoRA', 'peak MB full / LoRA', 'samples/s full / LoRA'],
      ['main', '8.000', '6.400', '1.250x', '236 / 186', '781 / 760', '400 / 500'],
      ['x', '8.500', '6.800', '1.250x', '236 / 186', '781 / 760', '376 / 471'],
    ]);
    // not timed launch by launch: no second table
    expect(abGroupRows([{ name: 'main', report: report(8, 6.4, 1, false) }])).toBeNull();
    expect(abTable([{ name: 'main', report: report(8, 6.4, 1, false) }])).not.toContain('by what the launches work on');
  });

  it('sums each report\'s launches by what they work on, the groups any report has, a rider counting for its host', () => {
    const rows = abGroupRows([{ name: 'main', report: report(8, 6.4, 1, true) }, { name: 'x', report: report(8, 6.4, 1, false) }]);
    expect(rows).toEqual([
      ['launches of', 'main full', 'main LoRA', 'x full', 'x LoRA'],
      ['query', '1.00', '0.75', '–', '–'], ['fc2', '2.00', '1.50', '–', '–'], ['shared', '0.50', '0.63', '–', '–'],
      ['total', '3.50', '2.88', '–', '–'],
    ]);
    expect(abTable([{ name: 'main', report: report(8, 6.4, 1, true) }])).toContain('| fc2 | 2.00 | 1.50 |');
  });

  it('shows a dash for what a report did not measure: no device time (wasm), no static LoRA run', () => {
    const wasm = report(8, 6.4, 1, false);
    for (const x of wasm.runs) x.deviceMsPerStep = { full: null, lora: null };
    const noLora = report(8, 6.4, 1, true);
    noLora.runs = noLora.runs.filter((x) => x.mode !== 'lora');
    expect(abRows([{ name: 'wasm', report: wasm }, { name: 'no-lora', report: noLora }]).slice(1)).toEqual([
      ['wasm', '–', '–', '–', '236 / 186', '781 / 760', '400 / 500'],
      ['no-lora', '8.000', '–', '–', '236 / –', '781 / –', '400 / –'],
    ]);
    expect(abGroupRows([{ name: 'no-lora', report: noLora }])!.at(-1)).toEqual(['total', '3.50', '–']);
  });
});

describe('tfjs against PyTorch', () => {
  const run = (mode: string, sps: PerPhase): BenchRun => ({
    mode, rule: 'global', seeds: 1, samplesPerSec: sps, hostMsPerStep: { full: null, lora: null }, deviceMsPerStep: { full: null, lora: null },
    wallSeconds: 1, memoryBytes: { full: null, lora: null, peak: 0 }, trainableShare: 1, accuracy: { mean: 0, spread: 0 },
    dispatchesPerStep: { full: null, lora: null }, flopsPerStep: { full: null, lora: null }, switchedAt: null,
    kernelsByKind: { full: null, lora: null },
    phaseShare: { full: 1, mixed: 0, lora: 0 }, flopsSaved: 0, familySwitchSteps: {},
  });
  const config = makeConfig('tiny', { optim: { batchSize: 128 } });
  const report: BenchReport = {
    date: '', preset: 'tiny', dataset: 'synthetic', backend: 'webgpu', kernels: 'fused', device: '', steps: 80, batchSize: 128, seeds: 1,
    runs: [run('full', { full: 200, lora: null }), run('lora', { full: null, lora: 100 }), run('prelora', { full: 190, lora: 400 })],
    perSeed: [], config: sharedConfig(config), tuning: {},
  };
  const phase = (sps: number) => ({ samplesPerSec: sps, hostMsPerStep: 1, deviceMsPerStep: null, peakBytes: null, trainableShare: 1 });
  // as torch_reference.py writes it: the config's model and static rank
  const torch = { torch: '2', cuda: '13', device: 'H200', batchSize: 128, rank: config.prelora.rank, model: config.model, phases: { full: phase(8000), lora: phase(4000) } };
  const files = { tfjs: 'tfjs.json', torch: 'torch.json' };

  it('compares the full run with full training and static LoRA with LoRA, and refuses different batches', () => {
    const [full, lora] = compareWithTorch(report, torch);
    expect(full!.fraction).toBeCloseTo(0.025, 12);
    expect(lora!.fraction).toBeCloseTo(0.025, 12); // static LoRA's 100, not PreLoRA's 400
    expect(() => compareWithTorch({ ...report, batchSize: 32 }, torch)).toThrow(/different batches \(tfjs 32, PyTorch 128\)/);
  });

  it('refuses another model or LoRA rank, naming both files and the field (it checked the batch alone)', () => {
    expect(() => compareWithTorch(report, { ...torch, model: { ...config.model, depth: 12 } }, files))
      .toThrow('tfjs.json and torch.json ran different models (model.depth: tfjs 6, PyTorch 12): run both from one --print-config');
    expect(() => compareWithTorch(report, { ...torch, model: { ...config.model, imageSize: 28, channels: 1 } }, files)).toThrow(/\(model\.imageSize: tfjs 32, PyTorch 28\)/);
    expect(() => compareWithTorch(report, { ...torch, rank: 32 }, files)).toThrow(`ran different LoRA ranks (prelora.rank: tfjs ${config.prelora.rank}, PyTorch 32)`);
    // other targets are other LoRA work (the reference adapts its targets only); a reference without them is not checked on them
    expect(() => compareWithTorch(report, { ...torch, targets: ['query', 'value'] }, files))
      .toThrow(`ran different LoRA targets (prelora.targets: tfjs ${[...config.prelora.targets].sort().join(',')}, PyTorch query,value)`);
    expect(compareWithTorch(report, { ...torch, targets: [...config.prelora.targets].reverse() }, files)).toHaveLength(2);
    // a report's config that is not one is named by its field
    const bad = { ...report, config: { ...report.config!, model: { ...config.model, depth: 'six' } } } as unknown as BenchReport;
    expect(() => compareWithTorch(bad, torch, files)).toThrow(/^tfjs\.json: config\.model\.depth: expected number \(got "six"\)/);
    // a report written before it carried its config: its batch alone is checked, and the table says so
    const early = { ...report, config: undefined };
    expect(compareWithTorch(early, { ...torch, rank: 32 })).toHaveLength(2);
    expect(comparisonTable(early, torch, files).split('\n')[0]).toMatch(/\(tfjs\.json carries no config, .*: its model and rank are not checked against PyTorch's\)$/);
    expect(comparisonTable(report, torch, files).split('\n')[0]).not.toMatch(/carries no config/);
  });

  it('reads a PyTorch reference only when it is one, naming the file and the first field that is not', () => {
    expect(readTorchReference(JSON.parse(JSON.stringify(torch)), 'torch.json')).toEqual(torch);
    const noModel: Record<string, unknown> = { ...torch };
    delete noModel.model;
    for (const [json, why] of [
      [noModel, 'model: missing'],
      [{ ...torch, phases: { ...torch.phases, lora: { ...phase(1), samplesPerSec: '4000' } } }, 'phases.lora.samplesPerSec: expected number (got "4000")'],
      [{ ...torch, model: { ...config.model, heads: null } }, 'model.heads: expected number (got null)'],
      [report, 'torch: missing'], // a tfjs report given in its place
      [null, 'expected Object (got null)'],
    ] as const) {
      expect(() => readTorchReference(json, 'torch.json')).toThrow(`torch.json is not a PyTorch reference (${why}): give a reference that torch_reference.py --out FILE wrote`);
    }
  });
});
