// `npm run train` flags read into a config and paths: an empty path is refused by name
// (--out '' wrote no log, without a word), and the page's data.dataset=upload is refused
// with the CLI's way to give files.
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

  it('refuses the page\'s data.dataset=upload without --dataset PATH, saying how to give files here', () => {
    expect(parseTrainArgs(['--set', 'data.dataset=upload']).errors).toEqual([
      { path: 'data.dataset', message: 'data.dataset=upload is the page\'s uploads: here give the files with --dataset PATH' },
    ]);
    expect(parseTrainArgs(['--dataset', 'cifar']).args?.datasetPath).toBe('cifar'); // a path is an upload of files, as before
  });

  it('names an empty --dataset folder (it said "no files given")', async () => {
    const empty = tempDir('prelora-empty-');
    await expect(loadPath(empty, makeConfig('micro'))).rejects.toThrow(`${empty}: no files in it: give CIFAR-10 binary batches or MNIST IDX files, or the folder that holds them`);
  });
});
