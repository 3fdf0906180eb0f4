// `npm run train -- --export DIR` and `--init FILE|DIR` as a user runs them: real
// processes, real files; bad folders and files are refused before training, exit code 2.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { readInitModel } from '../../src/cli/init-model';
import { makeConfig } from '../../src/engine/config';
import { tempDir } from '../helpers/temp';

const exec = promisify(execFile);
const train = (args: string[]) => exec(process.execPath, ['--import', 'tsx', 'src/cli/train.ts', ...args], { timeout: 240_000 });
const small = ['--preset', 'micro', '--set', 'data.trainSize=128', '--set', 'data.testSize=16', '--seed', '2'];

describe('npm run train -- --export / --init', () => {
  const root = tempDir('prelora-cli-io-');
  const dir = join(root, 'export');
  let stderr = '';

  beforeAll(async () => {
    ({ stderr } = await train([
      ...small, '--mode', 'prelora', '--rule', 'module', '--steps', '20', '--export', dir, '--peft-names', '4',
      '--set', 'prelora.windowSteps=5', '--set', 'prelora.jointSteps=5', '--set', 'prelora.patience=2',
      '--set', 'prelora.weightThreshold=1000', '--set', 'prelora.lossThreshold=1000',
    ]));
  }, 240_000);

  it('writes the export at the end of the run', () => {
    expect(stderr).toContain(`export: 12 files in ${dir}`);
    const plan = JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8'));
    expect(plan.modules.every((m: { switchStep: number; frozenStep: number }) => m.switchStep === 10 && m.frozenStep === 15)).toBe(true);
    const adapter = JSON.parse(readFileSync(join(dir, 'adapter', 'adapter_config.json'), 'utf8'));
    expect(adapter.target_modules).toHaveLength(12);
    expect(adapter.target_modules).toContain('encoder.layer.1.intermediate.dense'); // --peft-names 4
    expect(JSON.parse(readFileSync(join(dir, 'model', 'config.json'), 'utf8')).image_size).toBe(16);
  });

  it('starts a run from the exported model folder', async () => {
    const run = await train([...small, '--mode', 'full', '--steps', '2', '--init', join(dir, 'model'), '--json']);
    expect(run.stderr).toContain(`init: ${join(dir, 'model', 'model.safetensors')}`);
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!).steps).toBe(2);
  }, 240_000);

  it('refuses a model made for another config, naming the field; a truncated file, naming the tensor', async () => {
    const other = await train(['--preset', 'micro', '--set', 'model.heads=4', '--steps', '1', '--init', join(dir, 'model')]).catch((e) => e);
    expect(other.code).toBe(2);
    expect(other.stderr).toContain(`--init: ${join(dir, 'model', 'config.json')} does not match this run's model: num_attention_heads is 2 but this run has 4 (model.heads)`);

    const cut = join(root, 'cut');
    mkdirSync(cut);
    const bytes = readFileSync(join(dir, 'model', 'model.safetensors'));
    writeFileSync(join(cut, 'model.safetensors'), bytes.subarray(0, bytes.length - 100));
    const truncated = await train([...small, '--steps', '1', '--init', join(cut, 'model.safetensors')]).catch((e) => e);
    expect(truncated.code).toBe(2);
    expect(truncated.stderr).toMatch(/--init: .*cut\/model.safetensors: tensor "[^"]+": data_offsets \[\d+, \d+\] run past the end of the data \(\d+ bytes\): the file is truncated/);

    // a config.json there that cannot be read is refused, not taken as absent (its heads went unchecked)
    const odd = join(root, 'odd');
    mkdirSync(join(odd, 'config.json'), { recursive: true });
    writeFileSync(join(odd, 'model.safetensors'), bytes);
    const unread = await train(['--preset', 'micro', '--set', 'model.heads=4', '--steps', '1', '--init', odd]).catch((e) => e);
    expect(unread.code).toBe(2);
    expect(unread.stderr).toContain(`--init: ${join(odd, 'config.json')} is not a file: give the config.json written beside the model.safetensors`);

    // a pipe named model.safetensors (given, or in the folder given) is refused at once: its open waited for a writer forever
    const piped = join(root, 'piped');
    mkdirSync(piped);
    execFileSync('mkfifo', [join(piped, 'model.safetensors')]);
    for (const given of [piped, join(piped, 'model.safetensors')]) {
      await expect(readInitModel(given, makeConfig('micro').model)).rejects.toThrow(
        `${join(piped, 'model.safetensors')}: not a regular file (a pipe, a device or a folder): give a model.safetensors or the folder that holds it`);
    }
  }, 240_000);

  it('refuses an export folder it cannot write before training, and a bad --peft-names', async () => {
    const blocked = await train([...small, '--steps', '1', '--export', join(dir, 'plan.json', 'sub')]).catch((e) => e);
    expect(blocked.code).toBe(2);
    expect(blocked.stderr).toMatch(/^--export: cannot write to .*plan\.json\/sub \(ENOTDIR\): choose a folder you can write to/);
    const naming = await train([...small, '--peft-names', '3']).catch((e) => e);
    expect(naming.code).toBe(2);
    expect(naming.stderr).toContain('--peft-names takes 5 (transformers 5.x) or 4 (transformers 4.x), not "3"');
  }, 60_000);
});
