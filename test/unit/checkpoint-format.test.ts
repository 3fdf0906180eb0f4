// The checkpoint file: written and read back exactly; a file that is not one, of
// another version, truncated, with a flipped bit in its tensors or its header, or with
// a broken state is refused with a message that names the file and what to do.
import { describe, expect, it } from 'vitest';
import {
  CHECKPOINT_VERSION, checksum, crc32, decodeCheckpoint, encodeCheckpoint, TENSOR, type Checkpoint, type TrainingState,
} from '../../src/engine/checkpoint/format';
import { makeConfig } from '../../src/engine/config';
import { readSafetensors, writeSafetensors, type WritableTensor } from '../../src/engine/io/safetensors';

const config = makeConfig('micro', {});
const state: TrainingState = {
  step: 12, batcher: { epoch: 1, cursor: 32, augment: 123456789 }, phase: 'mixed',
  controller: {
    settings: config.prelora,
    modules: [{ id: 'blocks.0.query', phase: 'lora', rank: 4, switchedAt: 5, alpha: 4 }],
    history: [{ step: 10, loss: 2.1, 'lossChange%': null, modules: {} }],
    forced: [],
  },
  monitor: { steps: 2, previous: null, gradSteps: [2, 0], releasing: ['blocks.0.query'] },
  optimizer: { updates: 12, modelRewarm: { from: 10, steps: 5 }, params: { 'vit.embeddings.cls_token': { t: 7, rewarm: { from: 9, steps: 4 }, moments: true } } },
};
const checkpoint: Checkpoint = {
  config, state,
  tensors: new Map([
    [TENSOR.weight('vit.embeddings.cls_token'), { shape: [1, 1, 4], data: new Float32Array([1, -2, 3.5, Math.PI]) }],
    [TENSOR.moment('vit.embeddings.cls_token', 'm'), { shape: [1, 1, 4], data: new Float32Array([1e-30, 0, -0, 7]) }],
    [TENSOR.lossSum, { shape: [], data: new Float32Array([4.25]) }],
  ]),
  log: { events: [{ type: 'evaluation', evaluation: { step: 10, loss: 2, accuracy: 0.5, count: 8 } }], policyChanges: [{ step: 3, update: { patience: 4 } }] },
};

/** A copy of the file with its metadata changed (tensors kept). */
function withMetadata(bytes: Uint8Array, change: (m: Record<string, string>) => void): Uint8Array {
  const { tensors, metadata } = readSafetensors(bytes, 'x');
  const m = { ...metadata! };
  change(m);
  const list = [...tensors].map(([name, t]): [string, WritableTensor] => [name, { shape: t.shape, data: new Float32Array(t.bytes.slice().buffer) }]);
  return writeSafetensors(list, m);
}

/** As withMetadata, with the checksum made again for the new contents (a writer's bug, not a disk's). */
function resealed(bytes: Uint8Array, change: (m: Record<string, string>) => void): Uint8Array {
  return withMetadata(bytes, (m) => {
    change(m);
    const { tensors } = readSafetensors(bytes, 'x');
    const entries = [...tensors].map(([n, t]): [string, number[]] => [n, t.shape]).sort(([a], [b]) => (a < b ? -1 : 1));
    const data = bytes.subarray(bytes.length - [...tensors.values()].reduce((n, t) => n + t.bytes.length, 0));
    m.crc32 = checksum({ config: m.config ?? '', state: m.state ?? '', log: m.log ?? '' }, entries, [data]);
  });
}

describe('a checkpoint file', () => {
  it('reads back exactly what was written', () => {
    const back = decodeCheckpoint(encodeCheckpoint(checkpoint), 'run.ckpt');
    expect(back.config).toEqual(config);
    expect(back.state).toEqual(state);
    expect(back.log).toEqual(checkpoint.log);
    expect([...back.tensors.keys()].sort()).toEqual([...checkpoint.tensors.keys()].sort());
    for (const [name, t] of checkpoint.tensors) {
      expect(back.tensors.get(name)!.shape).toEqual(t.shape);
      expect(Object.is(back.tensors.get(name)!.data[2], t.data[2])).toBe(true); // -0 stays -0
      expect([...back.tensors.get(name)!.data]).toEqual([...t.data]);
    }
  });

  it('reads back a run whose own maxRank is past the width, as an older page ran it (micro is 32 wide)', () => {
    const older = makeConfig('micro', { prelora: { mode: 'prelora', maxRank: 64 } });
    expect(decodeCheckpoint(encodeCheckpoint({ ...checkpoint, config: older }), 'old.ckpt').config).toEqual(older);
  });

  it('is a safetensors file: its tensors load anywhere, its state is in the metadata', () => {
    const { tensors, metadata } = readSafetensors(encodeCheckpoint(checkpoint), 'run.ckpt');
    expect(metadata).toMatchObject({ format: 'prelora-checkpoint', version: String(CHECKPOINT_VERSION) });
    expect(tensors.get('model/vit.embeddings.cls_token')!.dtype).toBe('F32');
  });

  it('is not written past the header limit a reader refuses, and says what to change (a long run\'s record was saved whole and refused at its resume)', () => {
    // 1.3 million evaluation events: some 110 MB of log in the header
    const event = checkpoint.log.events[0]!;
    const long: Checkpoint = { ...checkpoint, log: { events: Array.from({ length: 1_300_000 }, () => event), policyChanges: [] } };
    expect(() => encodeCheckpoint(long)).toThrow(/^the run's record \(its events and window history, 1\d\d MiB\) is more than a checkpoint holds \(95 MiB\): its saved run, if it has one, stays as it was last saved; a longer prelora\.windowSteps or schedule\.logEvery records less a step$/);
  });

  it('says the same where the record passes the longest text JavaScript makes (its JSON threw "Invalid string length", the field unnamed)', () => {
    // an event whose text V8 refuses to make: the RangeError a record past 2^29 characters meets
    const huge = { ...checkpoint.log.events[0]!, toJSON: () => 'x'.repeat(2 ** 30) };
    const long: Checkpoint = { ...checkpoint, log: { events: [huge], policyChanges: [] } };
    expect(() => encodeCheckpoint(long)).toThrow(/^the run's record \(its events and window history, longer than the longest text JavaScript makes\) is more than a checkpoint holds \(95 MiB\): its saved run, if it has one, stays as it was last saved; a longer prelora\.windowSteps/);
  });

  it('uses the zip CRC-32', () => {
    expect(crc32(new TextEncoder().encode('123456789')).toString(16)).toBe('cbf43926');
    expect(crc32(new TextEncoder().encode('1234'), new TextEncoder().encode('56789'))).toBe(0xcbf43926);
  });

  const bytes = encodeCheckpoint(checkpoint);
  const flip = (at: number) => {
    const b = bytes.slice();
    b[at]! ^= 0x10;
    return b;
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty', new Uint8Array(0), /^run\.ckpt: not a readable checkpoint \(/],
    ['truncated', bytes.subarray(0, bytes.length - 5), /^run\.ckpt: not a readable checkpoint \(/],
    ['a model file, not a checkpoint', writeSafetensors([['w', { shape: [1], data: new Float32Array([1]) }]], { format: 'pt' }),
      /^run\.ckpt: not a PreLoRA checkpoint \(its format is "pt"\)$/],
    ['an older version', withMetadata(bytes, (m) => { m.version = '0'; }),
      /^run\.ckpt: a checkpoint of version "0": this page resumes version 1 only; delete it, or resume it with the version that saved it$/],
    ['a newer version', withMetadata(bytes, (m) => { m.version = '2'; }), /version "2"/],
    ['a flipped bit in a tensor', flip(bytes.length - 3), /^run\.ckpt: it is corrupted \(CRC-32 [0-9a-f]{8}, saved as [0-9a-f]{8}\): delete it$/],
    ['a changed state', withMetadata(bytes, (m) => { m.state = m.state!.replace('"step":12', '"step":13'); }), /^run\.ckpt: it is corrupted/],
    // written whole but wrong (a bug, not a disk): each part is still checked
    ['a broken state', resealed(bytes, (m) => { m.state = m.state!.slice(0, 40); }), /^run\.ckpt: its state is not valid JSON: the file is corrupted; delete it$/],
    ['a state without its modules', resealed(bytes, (m) => { m.state = JSON.stringify({ ...state, controller: {} }); }),
      /^run\.ckpt: its state is incomplete/],
    ['a config that does not validate', resealed(bytes, (m) => { m.config = JSON.stringify({ ...config, seed: -1 }); }),
      /^run\.ckpt: its config is not valid here: seed/],
    ['no event log', resealed(bytes, (m) => { delete m.log; }), /^run\.ckpt: its log is not valid JSON/],
    ['a config that is null', resealed(bytes, (m) => { m.config = 'null'; }), /^run\.ckpt: its config is not valid here: config must be an object .* \(got null\)$/],
  ];
  for (const [what, file, message] of cases) {
    it(`refuses ${what}, naming the file`, () => {
      expect(() => decodeCheckpoint(file, 'run.ckpt')).toThrow(message);
    });
  }

  it('refuses a flipped bit anywhere in the header or its length', () => {
    const header = 8 + Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    for (let at = 0; at < header; at += 7) {
      expect(() => decodeCheckpoint(flip(at), 'run.ckpt'), `bit at byte ${at}`).toThrow(/^run\.ckpt: /);
    }
  });
});
