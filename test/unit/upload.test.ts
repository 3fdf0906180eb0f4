// Dataset files built here, in each format, valid and broken: the parsed pixels and
// labels must be exact, and each broken case must say what is wrong.
import { gzipSync, zipSync } from 'fflate';
import { decode, encode } from 'fast-png';
import { createTar } from 'nanotar';
import { describe, expect, it } from 'vitest';
import { cifarDataset, parseCifarBatch } from '../../src/engine/data/cifar10';
import { augmentBatch, classBalance, toBatch } from '../../src/engine/data/dataset';
import { folderDataset, type ImageDecoder } from '../../src/engine/data/folder';
import { idxDataset, parseIdx } from '../../src/engine/data/idx';
import { DataBudget } from '../../src/engine/data/inflate';
import { configDataLimit } from '../../src/engine/data/limits';
import { datasetFromFiles } from '../../src/engine/data/upload';
import { mulberry32 } from '../../src/engine/random';
import { idxFile } from '../helpers/bad-inputs';

/** n images of 4x4 pixels with value (image*16 + pixel) % 256, labels image % 10 */
function mnistLike(n: number, gz: boolean) {
  const pix = Uint8Array.from({ length: n * 16 }, (_, k) => k % 256);
  const lab = Uint8Array.from({ length: n }, (_, i) => i % 10);
  const z = (b: Uint8Array) => (gz ? gzipSync(b) : b);
  return { pix, lab, images: z(idxFile(0x803, [n, 4, 4], pix)), labels: z(idxFile(0x801, [n], lab)) };
}

const limit = configDataLimit(1024);
const budget = () => new DataBudget(limit);

/** CIFAR records whose pixel (c, p) is (label*7 + c*3 + p) % 256 */
function cifarRecords(labels: number[]): Uint8Array {
  const out = new Uint8Array(labels.length * 3073);
  labels.forEach((l, i) => {
    out[i * 3073] = l;
    for (let c = 0; c < 3; c++) for (let p = 0; p < 1024; p++) out[i * 3073 + 1 + c * 1024 + p] = (l * 7 + c * 3 + p) % 256;
  });
  return out;
}

const pngDecoder: ImageDecoder = async (bytes) => {
  const img = decode(bytes);
  if (img.channels !== 4) throw new Error('test decoder wants RGBA');
  return { width: img.width, height: img.height, data: img.data as Uint8Array };
};
const png = (w: number, h: number, rgba: number[]) => encode({ width: w, height: h, channels: 4, data: Uint8Array.from({ length: w * h * 4 }, (_, k) => rgba[k % 4]!) });

describe('MNIST IDX', () => {
  it.each([false, true])('parses images and labels exactly (gzipped: %s)', async (gz) => {
    const train = mnistLike(12, gz), test = mnistLike(4, gz);
    const d = await idxDataset([
      { name: 'train-images-idx3-ubyte' + (gz ? '.gz' : ''), bytes: train.images },
      { name: 'train-labels-idx1-ubyte' + (gz ? '.gz' : ''), bytes: train.labels },
      { name: 't10k-images-idx3-ubyte' + (gz ? '.gz' : ''), bytes: test.images },
      { name: 't10k-labels-idx1-ubyte' + (gz ? '.gz' : ''), bytes: test.labels },
    ], 'MNIST', budget());
    expect(d.shape).toEqual([4, 4, 1]);
    expect(Array.from(d.train.images)).toEqual(Array.from(train.pix));
    expect(Array.from(d.test.labels)).toEqual([0, 1, 2, 3]);
    expect(d.augment).toEqual({ crop: 0, flip: false }); // digits: no flips
  });

  it.each([
    ['a wrong magic number', idxFile(0x804, [1, 2, 3], new Uint8Array(6)), 'wrong magic number 0x00000804'],
    ['a truncated body', idxFile(0x803, [5, 2, 3], new Uint8Array(20)), 'truncated: its header promises 5 images (30 bytes) but only 20 bytes follow'],
    ['a cut header', new Uint8Array([0, 0, 8, 3, 0]), 'only 5 bytes, too short for an IDX header'],
  ])('refuses %s', (_, bytes, message) => {
    expect(() => parseIdx(bytes, 'x-images-idx3-ubyte')).toThrow(message);
  });

  it('refuses mismatched counts, labels out of range, a missing file and broken gzip', async () => {
    const a = mnistLike(12, false), b = mnistLike(4, false);
    const files = (trainLabels: Uint8Array) => [
      { name: 'train-images-idx3-ubyte', bytes: a.images }, { name: 'train-labels-idx1-ubyte', bytes: trainLabels },
      { name: 't10k-images-idx3-ubyte', bytes: b.images }, { name: 't10k-labels-idx1-ubyte', bytes: b.labels },
    ];
    await expect(idxDataset(files(b.labels), 'MNIST', budget())).rejects.toThrow('train: 12 images but 4 labels: upload the images and labels of the same split');
    await expect(idxDataset(files(idxFile(0x801, [12], Uint8Array.from({ length: 12 }, (_, i) => (i === 7 ? 11 : 1)))), 'MNIST', budget()))
      .rejects.toThrow('train: label 11 at index 7 is out of range 0-9');
    await expect(idxDataset(files(a.labels).slice(0, 3), 'MNIST', budget())).rejects.toThrow('missing test-labels: upload all four files');
    await expect(idxDataset([{ name: 'train-images-idx3-ubyte.gz', bytes: Uint8Array.from([0x1f, 0x8b, 1, 2, 3]) }], 'MNIST', budget()))
      .rejects.toThrow('train-images-idx3-ubyte.gz: not a valid gzip file');
  });
});

describe('MNIST IDX, one role twice', () => {
  const set = (folder: string, n: number, gz = false) => {
    const m = mnistLike(n, gz), t = mnistLike(2, gz);
    const z = gz ? '.gz' : '';
    return [['train-images-idx3-ubyte', m.images], ['train-labels-idx1-ubyte', m.labels], ['t10k-images-idx3-ubyte', t.images], ['t10k-labels-idx1-ubyte', t.labels]]
      .map(([name, bytes]) => ({ name: `${name as string}${z}`, path: `${folder}/${name as string}${z}`, bytes: bytes as Uint8Array }));
  };

  it('refuses two datasets in one upload, naming both files (a parent of mnist/ and fashion/ trained on the digits as Fashion-MNIST)', async () => {
    await expect(datasetFromFiles([...set('datasets/fashion', 6), ...set('datasets/mnist', 8)], { imageSize: 4, seed: 1, limit }))
      .rejects.toThrow('train-images given twice, with different data (datasets/fashion/train-images-idx3-ubyte, datasets/mnist/train-images-idx3-ubyte): upload the four files of one dataset');
  });

  it('takes the same data twice as once: a .gz beside what it unpacks to', async () => {
    const d = await datasetFromFiles([...set('mnist', 6, true), ...set('mnist', 6)], { imageSize: 4, seed: 1, limit });
    expect([d.train.count, d.test.count, d.name]).toEqual([6, 2, 'MNIST']);
  });
});

describe('CIFAR-10 binary', () => {
  it('turns planar records into interleaved RGB, exactly', () => {
    const s = parseCifarBatch(cifarRecords([3, 9]), 'data_batch_1.bin');
    expect(s.count).toBe(2);
    expect(Array.from(s.labels)).toEqual([3, 9]);
    // image 1, pixel 5: R = (9*7 + 0 + 5), G = (9*7 + 3 + 5), B = (9*7 + 6 + 5)
    expect(Array.from(s.images.subarray(3072 + 15, 3072 + 18))).toEqual([68, 71, 74]);
  });

  it('refuses a truncated record and a label out of range, naming the file', () => {
    expect(() => parseCifarBatch(cifarRecords([1, 2]).subarray(0, 5000), 'data_batch_2.bin'))
      .toThrow('data_batch_2.bin: 5000 bytes is not a whole number of 3,073-byte CIFAR-10 records (1 records and 1927 bytes over)');
    const bad = cifarRecords([1, 2]);
    bad[3073] = 10;
    expect(() => parseCifarBatch(bad, 'test_batch.bin')).toThrow('test_batch.bin: record 1 has label 10, out of range 0-9');
  });

  it('reads the published tar.gz, and holds out a seeded sixth when there is no test batch', async () => {
    const tgz = gzipSync(createTar([
      { name: 'cifar-10-batches-bin/data_batch_1.bin', data: cifarRecords([0, 1, 2, 3]) },
      { name: 'cifar-10-batches-bin/test_batch.bin', data: cifarRecords([4, 5]) },
      { name: 'cifar-10-batches-bin/batches.meta.txt', data: 'airplane\n' },
    ]));
    const d = await datasetFromFiles([{ name: 'cifar-10-binary.tar.gz', bytes: tgz }], { imageSize: 32, seed: 1, limit });
    expect([d.train.count, d.test.count]).toEqual([4, 2]);
    expect(Array.from(d.test.labels)).toEqual([4, 5]);
    const one = cifarDataset([{ name: 'data_batch_1.bin', bytes: cifarRecords([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]) }], 1);
    expect([one.train.count, one.test.count]).toEqual([10, 2]);
    expect(one.name).toBe('CIFAR-10 (test: a held-out sixth)');
    expect(classBalance(one.train, 10).reduce((a, b) => a + b)).toBe(10);
  });
});

describe('files in no dataset', () => {
  // a Finder zip keeps each file's resource fork as __MACOSX/<folder>/._<name> (4,096 bytes
  // here); an exFAT drive keeps ._<name> beside the file: the fork was parsed as a batch
  const fork = new Uint8Array(4096).fill(7);
  it('passes over macOS resource forks in a zip and beside the files, CIFAR-10 and IDX alike', async () => {
    const zip = zipSync({
      'cifar-10-batches-bin/data_batch_1.bin': cifarRecords([0, 1, 2]), '__MACOSX/cifar-10-batches-bin/._data_batch_1.bin': fork,
      'cifar-10-batches-bin/test_batch.bin': cifarRecords([3, 4]), '__MACOSX/cifar-10-batches-bin/._test_batch.bin': fork,
    });
    const c = await datasetFromFiles([{ name: 'cifar.zip', bytes: zip }], { imageSize: 32, seed: 1, limit });
    expect([Array.from(c.train.labels), Array.from(c.test.labels)]).toEqual([[0, 1, 2], [3, 4]]);
    const a = mnistLike(12, false), b = mnistLike(4, false);
    const idx = [['train-images-idx3-ubyte', a.images], ['train-labels-idx1-ubyte', a.labels], ['t10k-images-idx3-ubyte', b.images], ['t10k-labels-idx1-ubyte', b.labels]] as const;
    const files = idx.flatMap(([n, bytes]) => [{ name: n, path: `mnist/${n}`, bytes }, { name: `._${n}`, path: `mnist/._${n}`, bytes: fork }]);
    const m = await datasetFromFiles(files, { imageSize: 4, seed: 1, limit });
    expect(Array.from(m.train.images)).toEqual(Array.from(a.pix));
  });

  it("reads files under a hidden folder of the user's own path (the CLI's ~/.cache/...)", async () => {
    const c = await datasetFromFiles([
      { name: 'data_batch_1.bin', path: '/home/u/.cache/cifar/data_batch_1.bin', bytes: cifarRecords([5, 6]) },
      { name: 'test_batch.bin', path: '/home/u/.cache/cifar/test_batch.bin', bytes: cifarRecords([7]) },
    ], { imageSize: 32, seed: 1, limit });
    expect([c.train.count, c.test.count]).toEqual([2, 1]);
  });
});

describe('the order files come in', () => {
  it('makes no difference: the same files picked or dropped in any order give the same data', async () => {
    const cifar = [
      { name: 'data_batch_1.bin', bytes: cifarRecords([1, 2, 3]) },
      { name: 'data_batch_2.bin', bytes: cifarRecords([4, 5, 6]) },
      { name: 'test_batch.bin', bytes: cifarRecords([7, 8]) },
    ];
    const a = await datasetFromFiles(cifar, { imageSize: 32, seed: 1, limit });
    const b = await datasetFromFiles([cifar[2]!, cifar[1]!, cifar[0]!], { imageSize: 32, seed: 1, limit });
    expect(Array.from(a.train.labels)).toEqual([1, 2, 3, 4, 5, 6]);
    expect([b.train.images, b.train.labels, b.test.images]).toEqual([a.train.images, a.train.labels, a.test.images]);
    // a folder's images, in a zip whose entries come in another order
    const images = { 'pets/cats/a.png': png(2, 2, [200, 0, 0, 255]), 'pets/cats/b.png': png(2, 2, [100, 0, 0, 255]), 'pets/dogs/c.png': png(2, 2, [0, 0, 50, 255]), 'pets/dogs/d.png': png(2, 2, [0, 0, 150, 255]) };
    const zipOf = (names: string[]) => zipSync(Object.fromEntries(names.map((n) => [n, images[n as keyof typeof images]])));
    const names = Object.keys(images);
    const f = await datasetFromFiles([{ name: 'pets.zip', bytes: zipOf(names) }], { imageSize: 2, seed: 1, limit, decode: pngDecoder });
    const g = await datasetFromFiles([{ name: 'pets.zip', bytes: zipOf([...names].reverse()) }], { imageSize: 2, seed: 1, limit, decode: pngDecoder });
    expect([g.train.images, g.test.images]).toEqual([f.train.images, f.test.images]);
  });
});

describe('image folders and zips', () => {
  it('reads one subfolder per class, resizes, skips (and counts) an unreadable image', async () => {
    const zip = zipSync({
      'pets/cats/a.png': png(4, 4, [255, 0, 0, 255]),
      'pets/cats/b.png': png(8, 2, [250, 10, 0, 255]),
      'pets/dogs/c.png': png(2, 2, [0, 0, 255, 255]),
      'pets/dogs/broken.png': Uint8Array.from([1, 2, 3]),
      'pets/dogs/notes.txt': Uint8Array.from([65]),
    });
    // one whose header declares no size is skipped undecoded: the decoder's own bound
    // comes only after a whole bitmap of whatever size it finds
    const decoded: string[] = [];
    const watching: ImageDecoder = async (bytes, name) => { decoded.push(name); return pngDecoder(bytes, name); };
    const d = await datasetFromFiles([{ name: 'pets.zip', bytes: zip }], { imageSize: 4, seed: 1, limit, decode: watching });
    expect(decoded).not.toContain('pets/dogs/broken.png');
    expect(d.classes).toEqual(['cats', 'dogs']);
    expect(d.shape).toEqual([4, 4, 3]);
    expect(d.train.count + d.test.count).toBe(3);
    expect(d.name).toBe('image folder (2 classes, 1 unreadable skipped)');
    const all = [...Array.from({ length: d.train.count }, (_, i) => [d.train.labels[i], Array.from(d.train.images.subarray(i * 48, i * 48 + 3))]),
      ...Array.from({ length: d.test.count }, (_, i) => [d.test.labels[i], Array.from(d.test.images.subarray(i * 48, i * 48 + 3))])];
    expect(all).toContainEqual([1, [0, 0, 255]]);
    expect(all).toContainEqual([0, [255, 0, 0]]);
  });

  it('refuses an empty class folder, and a single class', async () => {
    const entries = [{ path: 'cats/a.png', bytes: png(2, 2, [1, 2, 3, 255]) }, { path: 'dogs/readme.txt', bytes: new Uint8Array(1) }];
    await expect(folderDataset(entries, 4, 1, pngDecoder, budget())).rejects.toThrow('class folder dogs has no images (png, jpg, gif, bmp or webp)');
    await expect(folderDataset(entries.slice(0, 1), 4, 1, pngDecoder, budget())).rejects
      .toThrow('cats/a.png is in one class folder, cats/, the only one: put the images in one subfolder per class, at least two (e.g. cats/, dogs/)');
  });

  it('names the images in no class folder (a few, then how many more) and says where they go', async () => {
    const image = (path: string) => ({ path, bytes: png(2, 2, [1, 2, 3, 255]) });
    // before: "found 0 class folder(s): …", naming no file
    await expect(folderDataset([image('photo.png')], 4, 1, pngDecoder, budget())).rejects
      .toThrow('photo.png is in no class folder: put the images in one subfolder per class, at least two (e.g. cats/, dogs/)');
    const many = ['a.png', 'b.png', 'c.png', 'd.png', 'e.png'].map(image);
    await expect(folderDataset([...many, image('cats/x.png')], 4, 1, pngDecoder, budget())).rejects
      .toThrow('a.png, b.png, c.png and 2 more are in no class folder (the only one is cats/): put the images in one subfolder per class');
    await expect(datasetFromFiles([{ name: 'photo.png', path: 'photo.png', bytes: png(2, 2, [1, 2, 3, 255]) }], { imageSize: 4, seed: 1, limit, decode: pngDecoder }))
      .rejects.toThrow(/^photo\.png is in no class folder: /);
  });

  it("passes over dot-files, macOS's __MACOSX/ and other files beside the class folders; a folder of other files among them is a class with no images", async () => {
    const red = png(2, 2, [255, 0, 0, 255]), blue = png(2, 2, [0, 0, 255, 255]);
    const entries = [
      { path: 'pets/cats/a.png', bytes: red }, { path: 'pets/cats/b.png', bytes: red }, { path: 'pets/dogs/c.png', bytes: blue },
      { path: 'pets/.DS_Store', bytes: new Uint8Array(8) }, { path: 'pets/README.md', bytes: new Uint8Array(3) },
      { path: 'pets/cats/.hidden.png', bytes: Uint8Array.from([1, 2]) }, { path: '__MACOSX/pets/cats/._a.png', bytes: Uint8Array.from([1, 2]) },
      { path: 'pets/.thumbnails/cats/d.png', bytes: red },
    ];
    const d = await folderDataset(entries, 2, 1, pngDecoder, budget());
    expect(d.classes).toEqual(['cats', 'dogs']);
    expect([d.train.count + d.test.count, d.skipped]).toEqual([3, []]);
    await expect(folderDataset([...entries, { path: 'pets/frogs/e.tiff', bytes: new Uint8Array(4) }], 2, 1, pngDecoder, budget()))
      .rejects.toThrow('class folder frogs has no images (png, jpg, gif, bmp or webp)');
  });

  it('counts every image at the model\'s size against the data limit before decoding it, and skips unread an image whose header declares over 64 megapixels', async () => {
    const entries = Array.from({ length: 6 }, (_, i) => ({ path: `${i % 2 ? 'cats' : 'dogs'}/${i}.png`, bytes: png(2, 2, [i * 40, 0, 0, 255]) }));
    // room for four images at 32 x 32 x 3 (3 KiB each): the fifth (cats' three, then dogs' in order) is refused, by name
    const small = new DataBudget({ bytes: 4 * 32 * 32 * 3, raise: () => 'use fewer or smaller images' });
    await expect(folderDataset(entries, 32, 1, pngDecoder, small))
      .rejects.toThrow('dogs/2.png resized to 32x32x3 takes 3.0 KiB (after 12 KiB unpacked), past the 12 KiB limit on a dataset\'s unpacked data: use fewer or smaller images');
    // a PNG of 33 bytes whose header declares 16384 x 16384 (a 1 GB bitmap to decode): never decoded
    const ihdr = new DataView(new ArrayBuffer(33));
    [137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82].forEach((b, i) => ihdr.setUint8(i, b));
    ihdr.setUint32(16, 16384);
    ihdr.setUint32(20, 16384);
    ihdr.setUint8(24, 8);
    ihdr.setUint8(25, 6);
    const decoded: string[] = [];
    const watching: ImageDecoder = async (bytes, name) => { decoded.push(name); return pngDecoder(bytes, name); };
    const d = await folderDataset([...entries, { path: 'cats/huge.png', bytes: new Uint8Array(ihdr.buffer) }], 2, 1, watching, budget());
    expect([d.tooLarge, d.skipped, d.train.count + d.test.count]).toEqual([['cats/huge.png'], [], 6]);
    expect(decoded).not.toContain('cats/huge.png');
    expect(d.name).toBe('image folder (2 classes, 1 over 64 megapixels skipped)');
  });

  it("reads a tar made of a folder's contents (`./cats/1.png`: tar czf pets.tgz .) as the classes it holds", async () => {
    const red = png(2, 2, [255, 0, 0, 255]), blue = png(2, 2, [0, 0, 255, 255]);
    const d = await folderDataset([
      { path: './cats/a.png', bytes: red }, { path: './cats/b.png', bytes: red }, { path: './dogs/c.png', bytes: blue }, { path: './.DS_Store', bytes: new Uint8Array(2) },
    ], 2, 1, pngDecoder, budget());
    expect([d.classes, d.train.count + d.test.count]).toEqual([['cats', 'dogs'], 3]);
  });

  it('says which formats it reads when given something else', async () => {
    await expect(datasetFromFiles([{ name: 'notes.csv', bytes: new Uint8Array(3) }], { imageSize: 32, seed: 1, limit }))
      .rejects.toThrow('notes.csv: not a dataset the playground reads: use CIFAR-10 binary (data_batch_*.bin, test_batch.bin or cifar-10-binary.tar.gz), MNIST IDX (*-idx3-ubyte, *-idx1-ubyte, .gz or not) (image folders: in the page)');
    // where images are decoded (the page), image folders are offered
    await expect(datasetFromFiles([{ name: 'notes.csv', bytes: new Uint8Array(3) }], { imageSize: 32, seed: 1, limit, decode: pngDecoder }))
      .rejects.toThrow(/\.gz or not\), or a zip\/folder of images with one subfolder per class$/);
    // an archive by its own name, then what it held; the page's model export said where it goes
    const zip = zipSync({ 'README.md': new Uint8Array(2), 'adapter/adapter_config.json': new Uint8Array(2), 'model/model.safetensors': new Uint8Array(2), 'plan.json': new Uint8Array(2) });
    await expect(datasetFromFiles([{ name: 'prelora-1-model.zip', bytes: zip }], { imageSize: 32, seed: 1, limit }))
      .rejects.toThrow(/^prelora-1-model\.zip \(holding README\.md, adapter_config\.json, model\.safetensors and 1 more\): not a dataset the playground reads; it is a model: start runs from it with Load weights in the page or --init in the CLI \(an export's model\/ folder\): use CIFAR-10/);
  });
});

describe('augmentation', () => {
  it('shifts with zero padding and flips, the same for the same seed', () => {
    const split = { images: Uint8Array.from({ length: 2 * 9 }, (_, k) => k * 10), labels: Uint8Array.from([0, 1]), count: 2 };
    const run = (seed: number) => {
      const b = toBatch(split, [0, 1], 9);
      augmentBatch(b, [3, 3, 1], { crop: 1, flip: true }, mulberry32(seed));
      return Array.from(b.images).map((v) => Math.round((v + 1) * 127.5));
    };
    expect(run(4)).toEqual(run(4));
    expect(run(4)).not.toEqual(Array.from(split.images));
    // every output pixel is either padding (0) or one of the image's own pixels
    const first = run(4).slice(0, 9);
    for (const v of first) expect([0, ...Array.from(split.images.subarray(0, 9))]).toContain(v);
  });
});
