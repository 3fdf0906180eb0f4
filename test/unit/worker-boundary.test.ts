// The worker's boundary, message by message (the host's handling of them, with real
// training, is test/train/host.test.ts): what passes, and the line a bad one gets.
import { describe, expect, it } from 'vitest';
import { makeConfig } from '../../src/engine/config';
import { LIVE_KEYS } from '../../src/engine/live';
import { METRICS } from '../../src/engine/policy';
import { checkCommand } from '../../src/worker/boundary';
import { COMMAND_TYPES } from '../../src/worker/protocol';

const config = makeConfig('micro');
const error = (raw: unknown) => checkCommand(raw).error;

describe('the worker boundary', () => {
  it('passes well-formed commands through as they are', () => {
    const start = { type: 'start', runId: 'a', config };
    expect(checkCommand(start)).toEqual({ command: start, error: null });
    const files = [{ name: 'x.bin', path: 'x.bin', bytes: new ArrayBuffer(8) }];
    expect(checkCommand({ type: 'loadDataset', files, imageSize: 32, seed: 1 }).error).toBeNull();
    const named = { type: 'start', runId: 'a', config, name: '#1 PreLoRA, micro', preset: 'micro' };
    expect(checkCommand(named)).toEqual({ command: named, error: null });
    expect(checkCommand({ type: 'restore', runId: 'b', savedId: '1764432000000-a' }).error).toBeNull();
    expect(error({ type: 'restore', runId: 'b', savedId: '' })).toMatch(/^restore: savedId: /);
    expect(error({ ...named, name: 'x'.repeat(201) })).toMatch(/^start: name: /);
    const branch = { type: 'branch', runId: 'c', savedId: '1764432000000-a', step: 20, update: { weightThreshold: 3 }, name: '#3 branch of #1 @20' };
    expect(checkCommand(branch)).toEqual({ command: branch, error: null });
    expect(error({ ...branch, step: 2.5 })).toMatch(/^branch: step: /);
    expect(error({ ...branch, update: { mode: 'full' } })).toMatch(/^branch: update.mode: /); // the mode is not a live setting
    expect(COMMAND_TYPES).toHaveLength(17);
  });

  it('takes every live key in setPolicy, and nothing else', () => {
    for (const key of LIVE_KEYS) {
      const value = config.prelora[key];
      expect(error({ type: 'setPolicy', runId: 'a', update: { [key]: value } }), key).toBeNull();
    }
    expect(error({ type: 'setPolicy', runId: 'a', update: { rank: 4 } })).toBe('setPolicy: update.rank: not a field of this command');
  });

  it('names the value set a choice must come from, as declared', () => {
    const bad = { ...config, prelora: { ...config.prelora, metric: 'loss%' } };
    expect(error({ type: 'start', runId: 'a', config: bad }))
      .toBe(`start: config.prelora.metric: expected (${METRICS.map((m) => `"${m}"`).join(' | ')}) (got "loss%")`);
  });

  it('refuses keys that could reach a prototype, at any depth, before anything reads them', () => {
    const nested = JSON.parse('{"type": "start", "runId": "a", "config": {"model": {"constructor": {"prototype": {"x": 1}}}}}');
    expect(error(nested)).toBe('start: "config.model.constructor" is refused: no message has it, and it could reach an object\'s prototype');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('answers a message nested 100,000 deep, or one that refers to itself, with a line, not a stack overflow', () => {
    let inner: Record<string, unknown> = {};
    const update = inner;
    for (let i = 0; i < 100_000; i++) inner = (inner.a = {}) as Record<string, unknown>;
    expect(error({ type: 'setPolicy', runId: 'r', update })).toBe('setPolicy: update.a: not a field of this command');
    const cyclic: Record<string, unknown> = { type: 'setPolicy', runId: 'r', update: {} };
    (cyclic.update as Record<string, unknown>).self = cyclic.update;
    expect(error(cyclic)).toBe('setPolicy: update.self: not a field of this command');
    // one object in two places (structured clone keeps it so) is read as it is
    const file = { name: 'x.bin', path: 'x.bin', bytes: new ArrayBuffer(8) };
    expect(error({ type: 'loadDataset', files: [file, file], imageSize: 32, seed: 1 })).toBeNull();
  });

  it('refuses an unknown key before reading its value, and quotes keys and values short', () => {
    // a getter stands for a value too large to walk (3 million elements took 1 GB and 3.8 s): never read
    const init = Object.defineProperty({ type: 'init', backend: 'auto' }, 'junk', { enumerable: true, get: () => { throw new Error('read'); } });
    expect(error(init)).toBe('init: junk: not a field of this command');
    const key = 'k'.repeat(5_000_000);
    const long = error({ type: 'setPolicy', runId: 'r', update: { [key]: 1 } })!;
    expect(long).toMatch(/^setPolicy: update\.k{40}… \(5000000 characters\): not a field of this command$/);
    expect(error({ type: 'init', backend: key })!.length).toBeLessThan(300);
    // as many files as a dataset may have, and no more, are read
    expect(error({ type: 'loadDataset', files: new Array(100_001), imageSize: 32, seed: 1 }))
      .toBe('loadDataset: files: 100001 items, more than the 100000 a message may have');
  });

  it('caps the length of ids and names, naming the field', () => {
    const huge = 'x'.repeat(5_000_000);
    expect(error({ type: 'start', runId: huge, config })).toBe('start: runId: 5000000 characters, more than the 200 it may have');
    expect(error({ type: 'restore', runId: 'a', savedId: huge })).toBe('restore: savedId: 5000000 characters, more than the 200 it may have');
    expect(error({ type: 'forceSwitch', runId: 'a', module: huge })).toBe('forceSwitch: module: 5000000 characters, more than the 200 it may have');
    const file = { name: 'x.bin', path: 'x.bin', bytes: new ArrayBuffer(8) };
    expect(error({ type: 'loadDataset', files: [{ ...file, name: huge }], imageSize: 32, seed: 1 }))
      .toBe('loadDataset: files.0.name: 5000000 characters, more than the 4096 it may have');
    expect(error({ type: 'loadDataset', files: [{ ...file, path: huge }], imageSize: 32, seed: 1 }))
      .toBe('loadDataset: files.0.path: 5000000 characters, more than the 4096 it may have');
    expect(error({ type: 'loadWeights', files: [{ name: huge, bytes: file.bytes }], config }))
      .toBe('loadWeights: files.0.name: 5000000 characters, more than the 4096 it may have');
  });

  it('says what a message that is no command is', () => {
    expect(error(undefined)).toBe('a message to the worker is an object with a "type" (got undefined)');
    expect(error([1])).toBe('a message to the worker is an object with a "type" (got an array)');
    expect(error({ type: 7 })).toMatch(/^unknown command number: the worker takes init, start, /);
    expect(error({ type: 'loadDataset', files: [{ name: 'x', path: 'x', bytes: 'not bytes' }], imageSize: 32, seed: 1 }))
      .toBe('loadDataset: files.0.bytes: expected ArrayBuffer (got "not bytes")');
  });
});
