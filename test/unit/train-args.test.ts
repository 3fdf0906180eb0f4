// `npm run train` flags read into a config and paths: an empty path is refused by name
// (--out '' wrote no log, without a word), and the page's data.dataset=upload is refused
// with the CLI's way to give files; the warm-up keeps the one rule of a run's length.
import { describe, expect, it } from 'vitest';
import { parseTrainArgs } from '../../src/cli/args';
import { loadPath } from '../../src/cli/load-path';
import { makeConfig } from '../../src/engine/config';
import { tempDir } from '../helpers/temp';

describe('train flags', () => {
  it.each(['--out', '--export', '--init', '--dataset'])('refuses %s with an empty path, naming it', (flag) => {
    const { args, errors } = parseTrainArgs([flag, '']);
    expect(args).toBeNull();
    expect(errors).toContainEqual({ path: flag, message: `${flag} takes a path (got "")` });
  });

  it('--peft-names takes each naming\'s transformers major version, and names them all when refused', () => {
    expect(parseTrainArgs(['--peft-names', '4']).args?.peftNaming).toBe('transformers4');
    expect(parseTrainArgs([]).args?.peftNaming).toBe('transformers5');
    expect(parseTrainArgs(['--peft-names', '3']).errors).toEqual([
      { path: '--peft-names', message: '--peft-names takes 5 (transformers 5.x) or 4 (transformers 4.x), not "3"' },
    ]);
  });

  it('refuses the page\'s data.dataset=upload without --dataset PATH, saying how to give files here', () => {
    expect(parseTrainArgs(['--set', 'data.dataset=upload']).errors).toEqual([
      { path: 'data.dataset', message: 'data.dataset=upload is the page\'s uploads: here give the files with --dataset PATH' },
    ]);
    expect(parseTrainArgs(['--dataset', 'cifar']).args?.datasetPath).toBe('cifar'); // a path is an upload of files, as before
  });

  it('keeps the warm-up within a fifth of a run however its length is set, unless the warm-up is set by name', () => {
    // --set schedule.steps=50 kept the preset's 20 warm-up steps, --steps 50 made it 10
    const warmup = (...argv: string[]) => parseTrainArgs(argv).args!.config.schedule.warmupSteps;
    expect(warmup('--steps', '50')).toBe(10);
    expect(warmup('--set', 'schedule.steps=50')).toBe(10);
    expect(warmup('--set', 'schedule.steps=50', '--set', 'schedule.warmupSteps=30')).toBe(30);
    expect(warmup()).toBe(makeConfig('nano').schedule.warmupSteps); // the preset's, within a fifth of its 300 steps
  });

  it('a window set by --set brings its joint phase and re-warm along, as the page\'s window field does, unless they are set too', () => {
    // nano: windows of 25, a joint phase and re-warm of 25; --set prelora.windowSteps=10 kept both at 25
    const prelora = (...argv: string[]) => {
      const { config } = parseTrainArgs(argv).args!;
      return [config.prelora.windowSteps, config.prelora.jointSteps, config.prelora.rewarmSteps];
    };
    expect(prelora('--set', 'prelora.windowSteps=10')).toEqual([10, 10, 10]);
    expect(prelora('--set', 'prelora.windowSteps=10', '--set', 'prelora.jointSteps=0', '--set', 'prelora.rewarmSteps=40')).toEqual([10, 0, 40]);
    expect(prelora('--set', 'prelora.rewarmSteps=40', '--set', 'prelora.windowSteps=10')).toEqual([10, 10, 40]);
    // a window refused brings nothing along: its own error alone names it
    expect(parseTrainArgs(['--set', 'prelora.windowSteps=-1']).errors.map((e) => e.path)).toEqual(['prelora.windowSteps']);
  });

  it('names an empty --dataset folder (it said "no files given")', async () => {
    const empty = tempDir('prelora-empty-');
    await expect(loadPath(empty, makeConfig('micro'))).rejects.toThrow(`${empty}: no files in it: give CIFAR-10 binary batches or MNIST IDX files, or the folder that holds them`);
  });
});
