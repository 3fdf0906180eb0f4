// The benchmark for real: one run per phase kind (cpu, micro), and the CLI, its
// comparison with a PyTorch reference, an A/B of reports and a merge, as processes.
import * as tf from '@tensorflow/tfjs';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { BENCH_VARIANTS, combineVariants, type BenchReport, type SeedResult } from '../../src/engine/bench/report';
import { benchOneRun, warmUpConfig } from '../../src/engine/bench/run';
import type { EngineEvent } from '../../src/engine/events';
import { prepareRun } from '../../src/engine/prepare';
import { Trainer } from '../../src/engine/trainer';
import { makeConfig, type RunConfig } from '../../src/engine/config';
import { loadBuiltin } from '../../src/engine/data/builtin';
import { SWIFTSHADER_ENV } from '../../src/engine/backend-node';
import { flopsPerStep } from '../../src/engine/flops';
import { useBackend } from '../helpers/tf';
import { runOnDawn } from '../helpers/dawn';
import type { WarmUpKernels } from '../helpers/bench-warm-run';
import { tempDir } from '../helpers/temp';
import { readReport } from '../../src/cli/read-report';

describe('the warm-up runs before a benchmark', () => {
  it('ends a monitor window, so the measured runs meet no first-time work there', async () => {
    await useBackend('cpu');
    const base = makeConfig('micro', { data: { dataset: 'synthetic', trainSize: 64, testSize: 32 } });
    base.prelora = { ...base.prelora, windowSteps: 50 }; // the tiny preset's window: no end in 12 steps as it was
    const load = (cfg: RunConfig) => loadBuiltin(cfg, () => Promise.reject(new Error('the synthetic set reads no files')));
    const { config, dataset } = await prepareRun({ ...warmUpConfig(base), prelora: { ...warmUpConfig(base).prelora, mode: 'full' } }, { load, kernels: 'composite' });
    const events: EngineEvent[] = [];
    const t = new Trainer(config!, dataset!, (e) => events.push(e));
    try {
      await t.run();
    } finally {
      t.dispose();
    }
    expect(t.stepsDone).toBe(config!.schedule.steps);
    expect(events.filter((e) => e.type === 'window').length).toBeGreaterThanOrEqual(1);
    // and the window it ends on is no longer than the run's own
    expect(warmUpConfig({ ...base, prelora: { ...base.prelora, windowSteps: 2 } }).prelora.windowSteps).toBe(2);
  });
});

describe('the warm-up runs before a benchmark, on WebGPU (Dawn)', () => {
  it('make every kernel of the full and the static-LoRA runs, so that none compiles in a measured run', async () => {
    const r = await runOnDawn<WarmUpKernels>('test/helpers/bench-warm-run.ts', [], 900_000, { crashAtExit: true });
    expect(r.kernels).toBe('compiled');
    expect(r.measured).toEqual(['full/global', 'lora/global']);
    expect(r.afterLora).toEqual(r.afterWarmUp);
    // and the LoRA phase's kernels are among them: its merged weights, its adapters' sums
    expect(r.afterWarmUp.filter((k) => k.startsWith('linear.lora-merge/')).length).toBeGreaterThan(0);
    expect(r.afterWarmUp.filter((k) => k.startsWith('linear.adapter-grad-sum/')).length).toBeGreaterThan(0);
  }, 900_000);
});

describe('one benchmark run, for real (cpu, micro, 14 steps)', () => {
  it('measures each phase it reaches and nothing it does not', async () => {
    await useBackend('cpu');
    const base = makeConfig('micro', { data: { dataset: 'synthetic', trainSize: 64, testSize: 32 } });
    base.schedule = { ...base.schedule, steps: 14, warmupSteps: 2, logEvery: 4, evalEvery: 100 };
    const load = (cfg: RunConfig) => loadBuiltin(cfg, () => Promise.reject(new Error('the synthetic set reads no files')));
    const before = tf.memory().numTensors;
    const full = await benchOneRun(base, 'full', 'global', 1, { backend: 'cpu', kernels: 'composite', load });
    const lora = await benchOneRun(base, 'lora', 'global', 1, { backend: 'cpu', kernels: 'composite', load });
    expect(tf.memory().numTensors).toBe(before); // every run disposes what it made

    expect(full.samplesPerSec.full).toBeGreaterThan(0);
    expect(full.samplesPerSec.lora).toBeNull();
    expect(full.deviceMsPerStep).toEqual({ full: null, lora: null }); // cpu cannot time kernels apart from the host
    expect(full.enqueueMsPerStep).toEqual({ full: null, lora: null }); // nor enqueue a step apart from running it
    expect(full.trainableShare).toBe(1);
    expect(full.flopsPerStep.full).toBe(flopsPerStep(base.model, { batchSize: 16 }));

    expect(lora.samplesPerSec.full).toBeNull();
    expect(lora.samplesPerSec.lora).toBeGreaterThan(0);
    expect(lora.trainableShare).toBeLessThan(0.5);
    // every block linear carries a rank-8 adapter (the static rank) on a frozen base
    const ids = [0, 1].flatMap((l) => ['query', 'key', 'value', 'output', 'fc1', 'fc2'].map((f) => `blocks.${l}.${f}`));
    expect(lora.flopsPerStep.lora).toBe(flopsPerStep(base.model, { batchSize: 16, frozen: new Set(ids), ranks: Object.fromEntries(ids.map((id) => [id, 8])) }));
    // a frozen base drops its weight-gradient kernels, the adapters add theirs: another graph
    // the kernels by kind add up to the count, and say which kernels a phase runs
    const sum = (m: Record<string, number> | null) => Object.values(m ?? {}).reduce((a, b) => a + b, 0);
    expect(sum(full.kernelsByKind.full)).toBe(full.dispatchesPerStep.full);
    expect(full.kernelsByKind.full!['_FusedMatMul']).toBeGreaterThan(0);
    expect(lora.kernelsByKind).toMatchObject({ full: null });
    expect(lora.dispatchesPerStep.full).toBeNull();
    expect(lora.dispatchesPerStep.lora).toBeGreaterThan(1000);
    expect(lora.dispatchesPerStep.lora).not.toBe(full.dispatchesPerStep.full);
    expect(lora.memoryBytes.peak).toBeGreaterThan(0);

    // a PreLoRA run that ends mixed (some modules frozen, some not): no LoRA-phase figure,
    // nor a full-phase one from its last steps (they filled the LoRA columns before). At a
    // constant learning rate, seven modules freeze at step 16 and the rest train fully past 30
    const mixedBase = { ...base, schedule: { ...base.schedule, steps: 30, minLrRatio: 1 }, prelora: { ...base.prelora, windowSteps: 4, jointSteps: 4, patience: 2, weightThreshold: 1, lossThreshold: 1e3 } };
    const mixed = await benchOneRun(mixedBase, 'prelora', 'module', 1, { backend: 'cpu', kernels: 'composite', load });
    expect(mixed.phaseShare.lora).toBe(0);
    expect(mixed.phaseShare.mixed).toBeGreaterThan(0);
    expect([mixed.dispatchesPerStep.lora, mixed.kernelsByKind.lora, mixed.enqueueMsPerStep?.lora, mixed.flopsPerStep.lora, mixed.samplesPerSec.lora]).toEqual([null, null, null, null, null]);
    expect(mixed.dispatchesPerStep.full).toBe(full.dispatchesPerStep.full); // from its first steps, full ones

    // every read-back interval of the run, in order: they cover its 14 steps, each in its
    // phase, and a timed one's samples per second is its steps over its seconds
    for (const [r, phase] of [[full, 'full'], [lora, 'lora']] as const) {
      const iv = r.intervals!;
      expect(iv.length).toBeGreaterThan(1);
      expect(iv.reduce((n, x) => n + x.steps, 0)).toBe(14);
      expect(iv.map((x) => x.step)).toEqual(iv.map((_, i) => iv.slice(0, i + 1).reduce((n, x) => n + x.steps, 0)));
      expect(new Set(iv.map((x) => x.phase))).toEqual(new Set([phase]));
      const timed = iv.filter((x) => x.seconds > 0);
      expect(timed.length).toBeGreaterThan(0);
      for (const x of timed) expect(x.samplesPerSec).toBeCloseTo((x.steps * 16) / x.seconds, 6);
    }
  }, 60_000);
});

describe('npm run bench, bench:compare, bench:ab and bench:merge, as processes', () => {
  const exec = promisify(execFile);
  const tsx = (script: string, args: string[]) => exec(process.execPath, ['--import', 'tsx', script, ...args], { timeout: 240_000 });

  it('prints the table, ends stdout with the JSON report, and compares it with a PyTorch reference', async () => {
    const dir = tempDir('prelora-bench-');
    const out = join(dir, 'tfjs.json');
    const { stdout } = await tsx('src/cli/bench.ts', [
      '--preset', 'micro', '--dataset', 'synthetic', '--steps', '12', '--json', '--out', out, '--set', 'data.trainSize=64', '--set', 'data.testSize=32',
    ]);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^micro on synthetic, 12 steps at batch 16, 1 seed\(s\), backend wasm, composite kernels/);
    expect(lines.filter((l) => /^\| (full|lora|prelora)/.test(l))).toHaveLength(4);
    const report = JSON.parse(lines.at(-1)!) as BenchReport;
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(report);
    for (const run of report.runs) {
      expect(Object.keys(run)).toEqual(expect.arrayContaining([
        'mode', 'rule', 'samplesPerSec', 'wallSeconds', 'memoryBytes', 'trainableShare', 'accuracy', 'dispatchesPerStep', 'flopsPerStep']));
      expect(Object.keys(run.memoryBytes).sort()).toEqual(['full', 'lora', 'peak']);
      expect(Object.keys(run.accuracy).sort()).toEqual(['mean', 'spread']);
    }
    // the config its runs shared, --set included, and the tuning flags given (none)
    expect(report.config).toMatchObject({ model: { imageSize: 16, channels: 3 }, data: { dataset: 'synthetic', trainSize: 64, testSize: 32 } });
    expect(report.tuning).toEqual({});

    // a reference as torch_reference.py writes it, at half tfjs's full-phase speed
    const full = report.runs[0]!.samplesPerSec.full!;
    const torchPath = join(dir, 'torch.json');
    const phase = (sps: number) => ({ samplesPerSec: sps, hostMsPerStep: 16000 / sps, deviceMsPerStep: 1, peakBytes: 1e6, trainableShare: 1 });
    writeFileSync(torchPath, JSON.stringify({ torch: '2.x', cuda: null, device: 'cpu', batchSize: 16, rank: 8, model: report.config!.model, phases: { full: phase(2 * full), lora: phase(1000) } }));
    const cmp = await tsx('src/cli/bench-compare.ts', [out, torchPath]);
    const fullRow = cmp.stdout.split('\n').find((l) => l.startsWith('| micro | full |'))!;
    expect(fullRow.split('|')[5]!.trim()).toBe('50.0%');

    const bad = await tsx('src/cli/bench-compare.ts', [torchPath, out]).catch((e: { code: number; stderr: string }) => e);
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toMatch(/is not a bench report/);
    // the reference is checked to be one (a report given in its place)
    const notTorch = await tsx('src/cli/bench-compare.ts', [out, out]).catch((e: { code: number; stderr: string }) => e);
    expect((notTorch as { stderr: string }).stderr).toContain(`${out} is not a PyTorch reference (torch: missing)`);

    // bench:ab: reports side by side under the names given (the file's by default); a
    // file that is not a report, not JSON, not there or not a file, a run that is not
    // one, a name given twice or no file after a name is refused, named, with the fix
    const ab = await tsx('src/cli/bench-ab.ts', [`main=${out}`, out]);
    const abLines = ab.stdout.split('\n');
    expect(abLines.find((l) => l.startsWith('| main |'))).toMatch(/^\| main \| – \| – \| – \| \d+ \/ \d+ \| \d+ \/ \d+ \| \d+ \/ \d+ \|$/);
    expect(abLines.filter((l) => l.startsWith('| tfjs |'))).toHaveLength(1);
    const notJson = join(dir, 'notes.json');
    writeFileSync(notJson, 'device ms: 8.3');
    const nullRun = join(dir, 'null-run.json');
    writeFileSync(nullRun, JSON.stringify({ ...report, runs: [null] }));
    const badLaunch = join(dir, 'bad-launch.json');
    writeFileSync(badLaunch, JSON.stringify({ ...report, runs: [{ ...report.runs[0], deviceMsByLaunch: { full: [{ module: 3, ms: 1 }], lora: null } }] }));
    // a field of a megabyte is named, and shown cut short
    const longField = join(dir, 'long-field.json');
    writeFileSync(longField, JSON.stringify({ ...report, runs: [{ ...report.runs[0], samplesPerSec: 'x'.repeat(2 ** 20) }] }));
    for (const [arg, message] of [[torchPath, /torch\.json is not a bench report/], [notJson, /notes\.json is not JSON \(.*\): give a report that npm run bench -- --out FILE wrote/],
      [join(dir, 'none.json'), /none\.json: cannot read it \(ENOENT\)/], [dir, /is not a file: give a report/],
      [out, /two reports are named tfjs: name each, NAME=FILE/], [nullRun, /null-run\.json: run 1 is not a bench run \(.*; expected Object \(got null\)\)/],
      [badLaunch, /bad-launch\.json: run 1 is not a bench run \(.*; deviceMsByLaunch\.full\.0\.module: expected string \(got 3\)\)/],
      [longField, /long-field\.json: run 1 is not a bench run \(.*; samplesPerSec: expected Object \(got "x{39}\.\.\.\)\): give a report/],
      ['x=', /^x=: give a report file after x=/]] as const) {
      const e = await tsx('src/cli/bench-ab.ts', [out, arg]).catch((x: { code: number; stderr: string }) => x);
      expect(e).toMatchObject({ code: 2 });
      expect((e as { stderr: string }).stderr).toMatch(message);
    }

    // bench:merge: one report alone merges to itself; the same seed twice is refused
    const merged = join(dir, 'merged.json');
    await tsx('src/cli/bench-merge.ts', [out, '--out', merged]);
    expect(JSON.parse(readFileSync(merged, 'utf8'))).toEqual(report);
    const twice = await tsx('src/cli/bench-merge.ts', [out, out]).catch((e: { code: number; stderr: string }) => e);
    expect(twice).toMatchObject({ code: 2 });
    expect((twice as { stderr: string }).stderr).toMatch(/a seed appears in more than one report/);
    // another seed's report of another config (another --set) is refused, naming both files and the field
    const otherSet = join(dir, 'other-set.json');
    writeFileSync(otherSet, JSON.stringify({ ...report, perSeed: report.perSeed.map((x) => ({ ...x, seed: 2 })), config: { ...report.config, data: { ...report.config!.data, trainSize: 128 } } }));
    const differ = await tsx('src/cli/bench-merge.ts', [out, otherSet]).catch((e: { code: number; stderr: string }) => e);
    expect(differ).toMatchObject({ code: 2 });
    expect((differ as { stderr: string }).stderr).toContain(`${out} and ${otherSet} differ in config.data.trainSize (64 vs 128): merge runs of one benchmark only`);
    // an early report (its runs but no per-seed results) is refused by name
    const early = join(dir, 'early.json');
    writeFileSync(early, JSON.stringify({ ...report, perSeed: undefined }));
    const old = await tsx('src/cli/bench-merge.ts', [out, early]).catch((e: { code: number; stderr: string }) => e);
    expect(old).toMatchObject({ code: 2 });
    expect((old as { stderr: string }).stderr).toMatch(/early\.json has no per-seed results to merge/);

    // --out is checked before a report is read: empty, a folder, or one of the reports
    // (here by another path to it) would be replaced by the merge
    const again = `${dir}/./tfjs.json`;
    for (const [flags, msg] of [[['--out='], '--out takes a path (got "")'], [['--out', dir], `--out: ${dir} is a folder`],
      [['--out', again], `--out: ${again} is the report ${out}: writing there would replace it`],
      [['--out', join(dir, 'none', 'merged.json')], `--out: ${join(dir, 'none')} is not a folder: create it first, or write the merged report elsewhere`]] as const) {
      const e = await tsx('src/cli/bench-merge.ts', [out, ...flags]).catch((x: { code: number; stderr: string }) => x);
      expect(e).toMatchObject({ code: 2 });
      expect((e as { stderr: string }).stderr).toContain(msg);
    }
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(report);
  }, 240_000);

  it('bench:merge, bench:ab and bench:compare: --help, and an unknown flag refused, not read as a file', async () => {
    const runs = ['merge', 'ab', 'compare'].flatMap((tool) => [
      tsx(`src/cli/bench-${tool}.ts`, ['--help']).then((r) => ({ tool, flag: '--help', code: 0, ...r })),
      tsx(`src/cli/bench-${tool}.ts`, ['--bogus', 'a.json']).then((r) => ({ tool, flag: '--bogus', code: 0, ...r }), (e: { code: number; stdout: string; stderr: string }) => ({ tool, flag: '--bogus', ...e })),
    ]);
    for (const r of await Promise.all(runs)) {
      const text = r.flag === '--help' ? r.stdout : r.stderr;
      expect(text).toContain(`usage: npm run bench:${r.tool} -- `);
      if (r.flag === '--help') expect(r.code).toBe(0);
      else {
        expect(r.code).toBe(2);
        expect(r.stderr).toMatch(/^Unknown option '--bogus'/);
        expect(r.stderr).not.toMatch(/a\.json/); // no file was read
      }
    }
  }, 120_000);

  it('refuses flags it cannot use, with the fix', async () => {
    const err = await tsx('src/cli/bench.ts', ['--preset', 'huge', '--steps', '5']).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toMatch(/--preset: use micro, nano, tiny or small \(got "huge"\)/);
    const few = await tsx('src/cli/bench.ts', ['--steps', '5']).catch((e: { code: number; stderr: string }) => e);
    expect((few as { stderr: string }).stderr).toMatch(/--steps takes a whole number in \[12, 1000000\] \(got "5"\)/);
    // past the most a run takes: named as the flag, not as the config's schedule.steps
    const many = await tsx('src/cli/bench.ts', ['--steps', '2000000']).catch((e: { code: number; stderr: string }) => e);
    expect((many as { stderr: string }).stderr).toMatch(/^--steps takes a whole number in \[12, 1000000\] \(got "2000000"\)$/m);
    // steps a --set gave are named as the --set: it said --steps of a good --steps 40
    const overridden = await tsx('src/cli/bench.ts', ['--steps', '40', '--set', 'schedule.steps=3']).catch((e: { code: number; stderr: string }) => e);
    expect((overridden as { stderr: string }).stderr).toMatch(/^schedule.steps takes a whole number in \[12, 1000000\] \(got 3\)$/m);
    // an empty --out, as train's and bench:merge's: the report was written nowhere, without a word
    const noOut = await tsx('src/cli/bench.ts', ['--preset', 'micro', '--steps', '12', '--out=']).catch((e: { code: number; stderr: string }) => e);
    expect(noOut).toMatchObject({ code: 2 });
    expect((noOut as { stderr: string }).stderr).toContain('--out takes a path (got "")');
    // a decimal, as every typed number (0x2 was read as 2)
    const seed = await tsx('src/cli/bench.ts', ['--first-seed', '0x2']).catch((e: { code: number; stderr: string }) => e);
    expect((seed as { stderr: string }).stderr).toMatch(/--first-seed takes a whole number in \[0, 4294967295\] \(got "0x2"\)/);
    // seeds past the largest, refused before the warm-ups (they ran first, then it failed naming "seed", exit 1)
    const past = await tsx('src/cli/bench.ts', ['--first-seed', '4294967295', '--seeds', '2']).catch((e: { code: number; stderr: string }) => e);
    expect(past).toMatchObject({ code: 2 });
    expect((past as { stderr: string }).stderr).toContain('--seeds 2 from --first-seed 4294967295 run seeds past 4294967295, the largest seed: lower either');
  }, 60_000);

  it('bench:merge refuses a per-seed result whose figures are not numbers, naming the file and the field', async () => {
    // a report as bench writes it, made here: 2 seeds of each variant, their runs combined
    const result = (mode: string, rule: string, seed: number): SeedResult => ({
      mode, rule, seed, accuracy: 0.9, wallSeconds: 10, trainableShare: 0.5, switchedAt: mode === 'full' ? null : 100,
      samplesPerSec: { full: 100, lora: 150 }, deviceMsPerStep: { full: null, lora: null }, memoryBytes: { full: 10, lora: 5, peak: 20 },
      dispatchesPerStep: { full: 1000, lora: 800 }, flopsPerStep: { full: 2e9, lora: 1e9 },
      phaseShare: { full: 0.2, mixed: 0.1, lora: 0.7 }, flopsSaved: 0.3, familySwitchSteps: { fc2: 100 },
      kernelsByKind: { full: { MatMul: 600 }, lora: { MatMul: 500 } },
    });
    const perSeed = [1, 2].flatMap((seed) => BENCH_VARIANTS.map((v) => result(v.mode, v.rule, seed)));
    const report: BenchReport = {
      date: '2026-12-05', preset: 'nano', dataset: 'mnist', backend: 'wasm', kernels: 'composite', device: 'cpu', steps: 1000, batchSize: 32, seeds: 2,
      runs: combineVariants(perSeed, 32), perSeed,
    };
    const dir = tempDir('prelora-merge-');
    const write = (name: string, r: unknown) => {
      writeFileSync(join(dir, name), JSON.stringify(r));
      return join(dir, name);
    };
    const good = write('good.json', report);
    expect((await tsx('src/cli/bench-merge.ts', [good])).stdout).not.toContain('NaN');
    // each was merged: "x" as an accuracy made a table of NaN ± NaN, as a speed a dash, exit 0
    const bad = (i: number, field: Partial<Record<keyof SeedResult, unknown>>) => ({ ...report, perSeed: perSeed.map((x, j) => (j === i ? { ...x, ...field } : x)) });
    for (const [name, r, message] of [
      ['accuracy.json', bad(0, { accuracy: 'x' }), /accuracy\.json: per-seed result 1 is not one \(.*; accuracy: expected number \(got "x"\)\): give a report/],
      ['speed.json', bad(1, { samplesPerSec: { full: 'x', lora: null } }), /speed\.json: per-seed result 2 is not one \(.*; samplesPerSec\.full: expected .*number.* \(got "x"\)\): give a report/],
      ['peak.json', bad(2, { memoryBytes: { full: 1, lora: 1 } }), /peak\.json: per-seed result 3 is not one \(.*; memoryBytes\.peak: missing\)/],
      ['share.json', bad(3, { phaseShare: { full: 1, mixed: null, lora: 0 } }), /share\.json: per-seed result 4 is not one \(.*; phaseShare\.mixed: expected number \(got null\)\)/],
    ] as const) {
      const e = await tsx('src/cli/bench-merge.ts', [write(name, r)]).then((x) => ({ code: 0, ...x }), (x: { code: number; stdout: string; stderr: string }) => x);
      expect(e.stderr).toMatch(message);
      expect(e.code).toBe(2);
      expect(e.stdout).not.toContain('NaN');
    }
  }, 60_000);

  it('prints a flag\'s value with its control characters escaped', async () => {
    // printed raw, ESC recoloured the terminal
    const err = await tsx('src/cli/bench.ts', ['--preset', 'nano\x1b[31m']).catch((e: { code: number; stderr: string }) => e);
    expect(err).toMatchObject({ code: 2 });
    expect((err as { stderr: string }).stderr).toContain('--preset: use micro, nano, tiny or small (got "nano\\x1b[31m")');
    expect((err as { stderr: string }).stderr).not.toContain('\x1b');
  }, 60_000);

  it('prints the config as it runs on its data, for the PyTorch reference', async () => {
    // MNIST by default: the model fitted to its 28x28x1 images, its own counts (the preset's
    // config said 32x32x3 and 4,000 images)
    // and a length set by --set keeps the warm-up within a fifth of it, as --steps does (it kept the preset's 20)
    const { stdout } = await tsx('src/cli/bench.ts', ['--print-config', '--set', 'schedule.steps=50']);
    const cfg = JSON.parse(stdout) as RunConfig;
    expect([cfg.schedule.steps, cfg.schedule.warmupSteps]).toEqual([50, 10]);
    expect([cfg.model.imageSize, cfg.model.channels, cfg.model.numClasses]).toEqual([28, 1, 10]);
    expect([cfg.data.dataset, cfg.data.trainSize, cfg.data.testSize]).toEqual(['mnist', 8000, 2000]);
    expect(cfg.model.width).toBe(makeConfig('nano').model.width); // the rest is the preset's
  }, 60_000);

  it('refuses a model deeper than the WebGPU optimiser\'s table holds before its warm-up, as the trainer does', async () => {
    const deep = await exec(process.execPath, ['--import', 'tsx', 'src/cli/bench.ts', '--preset', 'micro', '--backend', 'webgpu', '--steps', '12', '--set', 'model.depth=256'],
      { timeout: 120_000, env: { ...process.env, ...SWIFTSHADER_ENV } }).catch((e: { code: number; stderr: string }) => e);
    expect(deep).toMatchObject({ code: 2 });
    expect((deep as { stderr: string }).stderr).toContain('model.depth: depth 256 makes up to 7176 tensors to update a step (6 adapted linears a block), ' +
      'more than this device\'s WebGPU optimiser holds (4096)');
    expect((deep as { stderr: string }).stderr).not.toMatch(/^bench: micro/m); // refused before it began
  }, 120_000);
});

describe('the reports kept in docs/results', () => {
  it('every one reads as a bench report (bench:merge, bench:ab and bench:compare take them): a stricter check refused three of 2026-11-29 for a null peak', () => {
    const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.json') ? [join(dir, e.name)] : []));
    const reports = walk('docs/results').filter((f) => {
      try {
        const j = JSON.parse(readFileSync(f, 'utf8')) as { runs?: unknown; preset?: unknown };
        return Array.isArray(j.runs) && typeof j.preset === 'string';
      } catch {
        return false; // a log or a JSON-lines file, no report
      }
    });
    expect(reports.length).toBeGreaterThan(1000);
    const refused = reports.flatMap((f) => {
      try {
        readReport(f);
        return [];
      } catch (err) {
        return [(err as Error).message];
      }
    });
    expect(refused).toEqual([]);
  }, 60_000);
});
