// The uploaded data kept with a saved run: read back it is the same dataset, bit for
// bit; its identity changes with any byte; a truncated, corrupted or foreign file is
// refused with a message that names the saved run and what to do.
import { describe, expect, it } from 'vitest';
import { syntheticDataset } from '../../src/engine/data/synthetic';
import { decodeDataset, describeFiles, encodeDataset, identify, keptBytes } from '../../src/worker/saved-data';

const data = { ...syntheticDataset({ trainSize: 30, testSize: 6, imageSize: 8, channels: 3, numClasses: 4, difficulty: 0.3, seed: 2 }), augment: { crop: 2, flip: true } };
const what = 'saved run "a"';

describe('kept data', () => {
  it('reads back the dataset it wrote, and is as large as its images and labels', () => {
    const bytes = encodeDataset(data);
    expect(decodeDataset(bytes, what)).toEqual(data);
    expect(keptBytes(data)).toBe(36 * (8 * 8 * 3 + 1));
    expect(bytes.length - keptBytes(data)).toBeLessThan(1000); // the header
  });

  it('is identified by its content: one pixel changed is other data', () => {
    const other = structuredClone(data);
    other.train.images[5]! ^= 1;
    expect(identify(data, 'x').crc32).not.toBe(identify(other, 'x').crc32);
    expect(identify(data, 'x')).toMatchObject({ name: 'x', images: 36 });
    expect(describeFiles([{ name: 'a.bin' }, { name: 'b.bin' }])).toBe('a.bin, b.bin');
    expect(describeFiles(['1', '2', '3', '4', '5'].map((name) => ({ name })))).toBe('1, 2, 3 and 2 more');
  });

  it('refuses a truncated, corrupted or foreign file with its message', () => {
    const bytes = encodeDataset(data);
    const flipped = bytes.slice();
    flipped[bytes.length - 10]! ^= 1;
    const foreign = encodeDataset(data);
    const at = new TextDecoder().decode(foreign.subarray(0, 200)).indexOf('prelora-dataset');
    foreign[at] = 'x'.charCodeAt(0);
    const fix = '; delete it, or upload the data again';
    expect(() => decodeDataset(bytes.subarray(0, 2), what)).toThrow(`${what}: the uploaded data kept with it is empty${fix}`);
    expect(() => decodeDataset(bytes.subarray(0, bytes.length - 1), what)).toThrow(`${what}: the uploaded data kept with it is truncated${fix}`);
    expect(() => decodeDataset(flipped, what)).toThrow(`${what}: the uploaded data kept with it is corrupted (its CRC-32 does not match)${fix}`);
    expect(() => decodeDataset(foreign, what)).toThrow(`${what}: the uploaded data kept with it is of another format ("xrelora-dataset" version 1)${fix}`);
  });

  it('refuses a header that is whole and sealed but wrong, naming the field, never with a TypeError', () => {
    const bytes = encodeDataset(data);
    const length = new DataView(bytes.buffer).getUint32(0, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + length))) as Record<string, unknown>;
    /** The file with its header made `json` (the images, labels and CRC-32 kept). */
    const withHeader = (json: string) => {
      const text = new TextEncoder().encode(json);
      const out = new Uint8Array(4 + text.length + bytes.length - 4 - length);
      new DataView(out.buffer).setUint32(0, text.length, true);
      out.set(text, 4);
      out.set(bytes.subarray(4 + length), 4 + text.length);
      return out;
    };
    const changed = (change: Record<string, unknown>) => withHeader(JSON.stringify({ ...header, ...change }));
    const fix = '; delete it, or upload the data again';
    const refused = (why: string) => `${what}: the uploaded data kept with it is corrupted (${why})${fix}`;
    expect(() => decodeDataset(withHeader('null'), what)).toThrow(refused('its header is not an object'));
    expect(() => decodeDataset(changed({ shape: undefined }), what)).toThrow(refused('its header\'s shape is not 3 whole numbers of 1 or more'));
    expect(() => decodeDataset(changed({ shape: [8, 8, -3] }), what)).toThrow(refused('its header\'s shape is not 3 whole numbers of 1 or more'));
    expect(() => decodeDataset(changed({ train: -1 }), what)).toThrow(refused('its header\'s train is not a whole number of 1 or more'));
    expect(() => decodeDataset(changed({ test: 'six' }), what)).toThrow(refused('its header\'s test is not a whole number of 1 or more'));
    expect(() => decodeDataset(changed({ classes: null }), what)).toThrow(refused('its header\'s classes are not a list of 2 or more names'));
    expect(() => decodeDataset(changed({ name: 7 }), what)).toThrow(refused('its header\'s name is not text'));
    expect(() => decodeDataset(changed({ augment: { crop: 'x' } }), what)).toThrow(refused('its header\'s augment is not a crop of 0 or more and a flip'));
    // the labels pass the CRC-32, which covers no class names: each must name one of them
    expect(() => decodeDataset(changed({ classes: ['a', 'b'] }), what)).toThrow(refused('a label of 3, and 2 classes'));
  });
});
