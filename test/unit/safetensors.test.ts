// safetensors against the format's documentation and its reference implementation's
// own serialisation tests (the byte layouts below), then every corruption and
// truncation a file can suffer: each is refused with a message that names the file
// and the first bad entry, and nothing else is ever thrown.
import { describe, expect, it } from 'vitest';
import { ModelFileError } from '../../src/engine/io/errors';
import {
  parseHeader, readSafetensors, toFloat32, toInt32, writeSafetensors, type WritableTensor,
} from '../../src/engine/io/safetensors';

const FILE = 'weights.safetensors';

/** A file by hand: u64 header length, the header text, the data bytes. */
function file(header: string, data: Uint8Array | number[] = []): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setUint32(0, h.length, true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

const f32 = (...values: number[]) => new Uint8Array(Float32Array.from(values).buffer);
const entry = (dtype: string, shape: unknown, offsets: unknown) => ({ dtype, shape, data_offsets: offsets });
const refuse = (bytes: Uint8Array) => () => readSafetensors(bytes, FILE);

describe('safetensors: the format', () => {
  it('writes what the reference writer writes: header padded with spaces to 8 bytes, data after it', () => {
    // the reference's test_serialization: one F32 [1, 2, 3] tensor, a 64-byte header, no padding
    const out = writeSafetensors([['attn.0', { shape: [1, 2, 3], data: Float32Array.from([0, 1, 2, 3, 4, 5]) }]]);
    const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    expect(header.length).toBe(64);
    expect(out).toEqual(file(header, f32(0, 1, 2, 3, 4, 5)));
    // test_serialization_forced_alignement: a 65-byte header gets 7 spaces
    const aligned = writeSafetensors([['attn0', { shape: [1, 1, 2, 3], data: Float32Array.from([0, 1, 2, 3, 4, 5]) }]]);
    expect(aligned).toEqual(file(`{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}${' '.repeat(7)}`, f32(0, 1, 2, 3, 4, 5)));
    // test_empty: no tensors, with and without metadata
    expect(writeSafetensors([])).toEqual(file(`{}${' '.repeat(6)}`));
    expect(writeSafetensors([], { framework: 'pt' })).toEqual(file(`{"__metadata__":{"framework":"pt"}}${' '.repeat(5)}`));
  });

  it('round-trips F32, I32 and U8 tensors, scalars, empty tensors and metadata; every tensor is aligned', () => {
    const tensors: [string, WritableTensor][] = [
      ['bytes', { shape: [3], data: Uint8Array.from([0, 7, 255]) }],
      ['vit.encoder.layer.0.attention.attention.query.weight', { shape: [2, 3], data: Float32Array.from([1.5, -2, 3e-8, NaN, Infinity, -0]) }],
      ['labels', { shape: [2], data: Int32Array.from([-1, 2 ** 31 - 1]) }],
      ['scalar', { shape: [], data: Float32Array.from([42]) }],
      ['empty', { shape: [0, 4], data: new Float32Array(0) }],
      ['ünïcode name', { shape: [1], data: Float32Array.from([0.25]) }],
    ];
    const bytes = writeSafetensors(tensors, { format: 'pt', note: 'a "quoted" note' });
    const header = parseHeader(bytes, bytes.length, FILE);
    expect(header.dataStart % 8).toBe(0);
    for (const e of header.entries) expect((header.dataStart + e.begin) % (e.dtype === 'U8' ? 1 : 4)).toBe(0);
    // largest alignment first, then by name, as the reference writer orders them
    expect(header.entries.map((e) => e.name)).toEqual(['empty', 'scalar', 'vit.encoder.layer.0.attention.attention.query.weight', 'ünïcode name', 'labels', 'bytes']);
    const { tensors: read, metadata } = readSafetensors(bytes, FILE);
    expect(metadata).toEqual({ format: 'pt', note: 'a "quoted" note' });
    for (const [name, t] of tensors) {
      const got = read.get(name)!;
      expect(got.shape).toEqual(t.shape);
      const values = t.data instanceof Float32Array ? toFloat32(got, name, FILE) : t.data instanceof Int32Array ? toInt32(got, name, FILE) : got.bytes;
      expect(Array.from(values)).toEqual(Array.from(t.data));
    }
  });

  it('reads F16, BF16 and F64 weights as float32 and refuses integer weights', () => {
    const halfBits = Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x8000]);
    const bf16Bits = Uint16Array.from([0x3f80, 0x4049, 0xc2f7]);
    const f64 = Float64Array.from([0.1, -1e30]);
    const h = JSON.stringify({
      h: entry('F16', [6], [0, 12]), b: entry('BF16', [3], [12, 18]), d: entry('F64', [2], [18, 34]), i: entry('I64', [1], [34, 42]),
    });
    const data = new Uint8Array(42);
    data.set(new Uint8Array(halfBits.buffer), 0);
    data.set(new Uint8Array(bf16Bits.buffer), 12);
    data.set(new Uint8Array(f64.buffer), 18);
    const { tensors } = readSafetensors(file(h, data), FILE);
    expect(Array.from(toFloat32(tensors.get('h')!, 'h', FILE))).toEqual([1, -2, 65504, 2 ** -24, Infinity, -0]);
    expect(Array.from(toFloat32(tensors.get('b')!, 'b', FILE))).toEqual([1, 3.140625, -123.5]);
    expect(Array.from(toFloat32(tensors.get('d')!, 'd', FILE))).toEqual([Math.fround(0.1), Math.fround(-1e30)]);
    expect(() => toFloat32(tensors.get('i')!, 'i', FILE)).toThrow(`${FILE}: tensor "i" is I64: a weight must be floating point (F32, F16, BF16 or F64)`);
  });
});

describe('safetensors: corrupted and truncated files', () => {
  const two = JSON.stringify({ a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [8, 16]) });
  const good = file(two, f32(1, 2, 3, 4));

  const cases: [string, Uint8Array, RegExp][] = [
    ['shorter than the length field', new Uint8Array(5), /only 5 bytes: a safetensors file starts with an 8-byte header length/],
    ['a header length over the limit', (() => { const b = new Uint8Array(16); new DataView(b.buffer).setUint32(4, 1, true); return b; })(), /header length 4294967296 is over the format's limit of 100000000 bytes/],
    ['a header cut short', good.slice(0, 40), /the header \(\d+ bytes\) runs past the end of the file \(40 bytes\): the file is truncated/],
    ['the last tensor cut short', good.slice(0, good.length - 3), /tensor "b": data_offsets \[8, 16\] run past the end of the data \(13 bytes\): the file is truncated/],
    ['bytes after the last tensor', file(two, [...f32(1, 2, 3, 4), 9, 9]), /2 bytes follow the last tensor/],
    ['a header that is not UTF-8', file('{"\xff"}').map((v, i) => (i === 10 ? 0xff : v)), /the header is not valid UTF-8/],
    ['a header that is not an object', file('[1, 2]  '), /the header does not start with "\{" \(it starts "\[1, 2\] {2}"\)/],
    ['a header that is not JSON', file('{"a": '), /the header is not valid JSON \(.+\): the file is corrupted/],
    ['an entry that is not an object', file('{"a": 3}'), /tensor "a": its header entry is not an object \(got 3\)/],
    ['an unknown dtype', file(JSON.stringify({ a: entry('F31', [1], [0, 4]) }), f32(1)), /tensor "a": unknown dtype "F31"/],
    ['a negative dimension', file(JSON.stringify({ a: entry('F32', [-1], [0, 4]) }), f32(1)), /tensor "a": shape must be a list of whole numbers >= 0 \(got \[-1\]\)/],
    ['a fractional dimension', file(JSON.stringify({ a: entry('F32', [1.5], [0, 4]) }), f32(1)), /tensor "a": shape must be a list/],
    ['offsets backwards', file(JSON.stringify({ a: entry('F32', [1], [4, 0]) }), f32(1)), /tensor "a": data_offsets must be \[begin, end\] with 0 <= begin <= end \(got \[4,0\]\)/],
    ['offsets missing', file(JSON.stringify({ a: { dtype: 'F32', shape: [1] } }), f32(1)), /tensor "a": data_offsets must be/],
    ['a shape that does not match its bytes', file(JSON.stringify({ a: entry('F32', [2, 2], [0, 12]) }), f32(1, 2, 3)), /tensor "a": shape \[2,2\] of F32 needs 16 bytes but data_offsets \[0, 12\] hold 12/],
    ['a shape too large to address', file(JSON.stringify({ a: entry('F32', [2 ** 40, 2 ** 40], [0, 4]) }), f32(1)), /tensor "a": shape \[1099511627776,1099511627776\] is too large to address/],
    ['overlapping tensors', file(JSON.stringify({ a: entry('F32', [4], [0, 16]), b: entry('F32', [4], [8, 24]) }), f32(1, 2, 3, 4, 5, 6)), /tensor "b" \(bytes 8..24\) overlaps tensor "a" \(bytes 0..16\)/],
    ['a gap between tensors', file(JSON.stringify({ a: entry('F32', [2], [0, 8]), b: entry('F32', [2], [12, 20]) }), f32(1, 2, 3, 4, 5)), /bytes 8..12 of the data belong to no tensor \(before "b"\)/],
    ['a repeated name (JSON keeps the last)', file('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}', f32(1, 2, 3, 4)), /bytes 0..8 of the data belong to no tensor/],
    ['metadata that is not strings', file(JSON.stringify({ __metadata__: { format: 1 } })), /__metadata__ must map strings to strings \("format" is 1\)/],
    ['metadata that is not an object', file(JSON.stringify({ __metadata__: 'pt' })), /__metadata__ must be an object of strings \(got "pt"\)/],
  ];

  it.each(cases)('%s: refused with a message naming the file and the problem', (_, bytes, message) => {
    expect(refuse(bytes)).toThrow(ModelFileError);
    expect(refuse(bytes)).toThrow(new RegExp(`^${FILE}: ${message.source}`));
  });

  it('the good file itself reads', () => {
    expect([...readSafetensors(good, FILE).tensors.keys()]).toEqual(['a', 'b']);
  });

  it('every truncation and every flipped header byte of a valid file gives a ModelFileError or a valid read, nothing else', () => {
    const bytes = writeSafetensors([
      ['w', { shape: [3, 2], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
      ['i', { shape: [2], data: Int32Array.from([7, 8]) }],
    ], { format: 'pt' });
    for (let n = 0; n < bytes.length; n++) expect(refuse(bytes.slice(0, n))).toThrow(ModelFileError);
    const headerEnd = parseHeader(bytes, bytes.length, FILE).dataStart;
    for (let i = 0; i < headerEnd; i++) {
      for (const v of [0x00, 0x22, 0x7b, 0x39, 0xff]) {
        const copy = bytes.slice();
        copy[i] = v;
        try {
          readSafetensors(copy, FILE);
        } catch (err) {
          expect(err).toBeInstanceOf(ModelFileError);
        }
      }
    }
  });
});
