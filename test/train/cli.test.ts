// `npm run train` as a user runs it: a real process, its JSON summary, its errors.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SWIFTSHADER_ENV } from '../../src/engine/backend-node';
import type { RunSummary } from '../../src/engine/summary';
import { tempDir } from '../helpers/temp';

const exec = promisify(execFile);
const train = (args: string[], env?: Record<string, string>) =>
  exec(process.execPath, ['--import', 'tsx', 'src/cli/train.ts', ...args], { timeout: 240_000, env: { ...process.env, ...env } });

describe('npm run train', () => {
  it('trains headless and ends stdout with the JSON summary; --out writes the run log', async () => {
    const out = join(tempDir('prelora-'), 'run.json');
    const { stdout, stderr } = await train([
      '--preset', 'nano', '--mode', 'prelora', '--rule', 'module', '--steps', '40', '--seed', '3', '--json', '--out', out,
      '--set', 'model.imageSize=16', '--set', 'prelora.windowSteps=10', '--set', 'prelora.jointSteps=0',
      '--set', 'prelora.patience=2', '--set', 'prelora.weightThreshold=1000', '--set', 'prelora.lossThreshold=1000',
      '--set', 'prelora.maxRank=8',
    ]);
    expect(stderr).toMatch(/^backend wasm \(composite kernels\): /);
    const summary = JSON.parse(stdout.trim().split('\n').at(-1)!) as RunSummary;
    expect(summary).toMatchObject({ backend: 'wasm', kernels: 'composite', mode: 'prelora', rule: 'module', seed: 3, steps: 40, tensorsGrowth: 0 });
    expect(summary.switches).toHaveLength(24);
    expect(summary.switches.every((s) => s.step === 20 && [4, 8].includes(s.rank!))).toBe(true);
    expect(summary.params.trainableEnd).toBeLessThan(summary.params.trainableStart);
    expect(summary.phases.full.steps).toBe(20);
    expect(summary.phases.lora.steps).toBe(20);
    // the process's wall time holds the training time (the intervals), and its evaluations
    expect(summary.trainingSeconds).toBeGreaterThan(0);
    expect(summary.wallSeconds).toBeGreaterThan(summary.trainingSeconds);
    expect(summary.phases.lora.samplesPerSec).toBeGreaterThan(0);
    expect(summary.memory.loraPhaseBytes).toBeLessThan(summary.memory.fullPhaseBytes!);
    expect(Number.isFinite(summary.loss.first) && Number.isFinite(summary.loss.last)).toBe(true);
    const log = JSON.parse(readFileSync(out, 'utf8'));
    expect(log.summary).toEqual(summary);
    // the accuracy is that of the evaluation at the last step, over the whole test split
    const evaluations = log.events.filter((e: { type: string }) => e.type === 'evaluation').map((e: { evaluation: object }) => e.evaluation);
    expect(evaluations).toHaveLength(1);
    expect(evaluations[0]).toMatchObject({ step: 40, count: 1000, accuracy: summary.accuracy.test });
    expect(summary.accuracy.test! * 1000).toBeCloseTo(Math.round(summary.accuracy.test! * 1000), 6); // correct / 1000 images
    expect(summary.accuracy.test).toBeGreaterThan(0);
    expect(log.config.prelora.windowSteps).toBe(10);
    expect(log.events.filter((e: { type: string }) => e.type === 'window')).toHaveLength(4);
  }, 240_000);

  it('refuses bad flags and fields with the field and the fix, exit code 2', async () => {
    const err = await train(['--preset', 'nano', '--set', 'model.patchSize=5', '--set', 'optim.lrr=1', '--backend', 'gpu']).catch((e) => e);
    expect(err.code).toBe(2);
    expect(err.stderr).toContain('model.patchSize: patch 5 does not divide image size 32: pick a divisor of 32');
    expect(err.stderr).toContain('optim.lrr: unknown config field "optim.lrr": did you mean');
    expect(err.stderr).toContain('--backend: unknown backend "gpu" for Node: use auto, webgpu, webgpu-fused, webgpu-composite, wasm or cpu');
    const bad = await train(['--stepz', '3']).catch((e) => e);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/Unknown option '--stepz'[\s\S]*usage: npm run train/);
  }, 60_000);

  it('refuses a LoRA rank that the device\'s WebGPU kernels cannot hold, before training, naming the largest that fits', async () => {
    // our kernels stage an adapter's factor tiles in workgroup memory, which the device
    // sets (WebGPU guarantees 16 KiB: rank 188); without this check the run failed at its
    // first switch (nano made 1,024 wide: a rank is at most the width, whatever the device)
    const err = await train(['--preset', 'nano', '--mode', 'prelora', '--backend', 'webgpu', '--steps', '20', '--set', 'model.width=1024', '--set', 'prelora.maxRank=1024'], SWIFTSHADER_ENV)
      .catch((e) => e);
    expect(err.code).toBe(2);
    const m = /prelora\.maxRank 1024 is more than this device's WebGPU kernels take \(LoRA ranks up to (\d+), set by its workgroup memory\): use (\d+) or lower/.exec(err.stderr);
    expect(m, err.stderr).not.toBeNull();
    const [limit, fits] = [Number(m![1]), Number(m![2])];
    expect(limit).toBeGreaterThanOrEqual(188);
    expect(limit).toBeLessThan(1024);
    expect(fits & (fits - 1)).toBe(0); // maxRank is a power of two: the largest one within the limit
    expect(fits <= limit && fits * 2 > limit).toBe(true);
    expect(err.stderr).not.toMatch(/step \d+/); // nothing trained
  }, 120_000);

  it('refuses a model deeper than the WebGPU optimiser\'s table holds, before training, naming the deepest that fits', async () => {
    // the table is a uniform binding (64 KiB on this device: 4,096 rows); past it every
    // step's bind groups were invalid and the run trained nothing, silently
    const err = await train(['--preset', 'micro', '--backend', 'webgpu', '--steps', '20', '--set', 'model.depth=256'], SWIFTSHADER_ENV)
      .catch((e) => e);
    expect(err.code).toBe(2);
    expect(err.stderr).toContain('model.depth: depth 256 makes up to 7176 tensors to update a step (6 adapted linears a block), ' +
      'more than this device\'s WebGPU optimiser holds (4096): lower model.depth to 146 or fewer, or use backend webgpu-composite');
    expect(err.stderr).not.toMatch(/step \d+/);
  }, 120_000);
});
