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
});
