// A folder (or zip) of images with one subfolder per class, e.g. `cats/1.png`. Images
// are decoded by the host (the browser's createImageBitmap in the worker), resized
// to the model's input with bilinear sampling, and split 5:1 train/test, seeded.
import { imageSize } from 'image-size';
import { deriveSeed, mulberry32, permutation } from '../random';
import type { Dataset } from './dataset';
import { DatasetError } from './errors';
import type { DataBudget } from './inflate';
import { MAX_IMAGE_PIXELS } from './limits';
import { fewNames as listed, printable } from './names';

export interface DecodedImage {
  width: number;
  height: number;
  /** RGBA, row-major */
  data: Uint8ClampedArray | Uint8Array;
}

export type ImageDecoder = (bytes: Uint8Array, name: string) => Promise<DecodedImage>;

export const IMAGE_EXT = /\.(png|jpe?g|gif|bmp|webp)$/i;

/** A path part no dataset is in: dot-files and folders (.DS_Store, .git) and the resource forks a macOS zip keeps in __MACOSX/. */
const hidden = (part: string) => part.startsWith('.') || part === '__MACOSX';

/** A path's folders and name, `.` and `..` dropped (`./cats/1.png`, as `tar czf x.tgz .` writes it, is `cats/1.png`). */
const pathParts = (path: string) => path.split('/').filter((p) => p && p !== '.' && p !== '..');

/**
 * Whether a file is in no dataset wherever it sits: a dot-file (macOS's `._data_batch_1.bin`
 * resource fork) or one under `__MACOSX/`. Not every hidden folder: the CLI's paths are
 * the user's own (`~/.cache/cifar/...`).
 */
export const isNoDataFile = (path: string) => {
  const parts = pathParts(path);
  return (parts[parts.length - 1] ?? '').startsWith('.') || parts.includes('__MACOSX');
};

/** Bilinear resize of RGBA to size x size RGB. */
export function resizeToRGB(img: DecodedImage, size: number): Uint8Array {
  const out = new Uint8Array(size * size * 3);
  const sx = img.width / size, sy = img.height / size;
  for (let y = 0; y < size; y++) {
    const fy = Math.max(0, (y + 0.5) * sy - 0.5), y0 = Math.floor(fy), y1 = Math.min(img.height - 1, y0 + 1), wy = fy - y0;
    for (let x = 0; x < size; x++) {
      const fx = Math.max(0, (x + 0.5) * sx - 0.5), x0 = Math.floor(fx), x1 = Math.min(img.width - 1, x0 + 1), wx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const at = (yy: number, xx: number) => img.data[(yy * img.width + xx) * 4 + c]!;
        const v = (1 - wy) * ((1 - wx) * at(y0, x0) + wx * at(y0, x1)) + wy * ((1 - wx) * at(y1, x0) + wx * at(y1, x1));
        out[(y * size + x) * 3 + c] = Math.round(v);
      }
    }
  }
  return out;
}

/** The width and height an image's header declares, or null where it cannot be read (the image is skipped as unreadable). */
function declaredSize(bytes: Uint8Array): { width: number; height: number } | null {
  try {
    const { width, height } = imageSize(bytes);
    return width && height ? { width, height } : null;
  } catch {
    return null;
  }
}


/**
 * Why fewer than two classes were found, naming the files: the images in no class folder
 * (a lone photo.png got "found 0 class folder(s)", which named nothing), else those all
 * in the one class folder; and the fix.
 */
function fewClasses(loose: string[], only: string | undefined, inOnly: string[]): string {
  const fix = 'put the images in one subfolder per class, at least two (e.g. cats/, dogs/)';
  const are = (n: number) => (n === 1 ? 'is' : 'are');
  if (loose.length) return `${listed(loose)} ${are(loose.length)} in no class folder${only ? ` (the only one is ${only}/)` : ''}: ${fix}`;
  if (only) return `${listed(inOnly)} ${inOnly.length === 1 ? 'is' : 'are all'} in one class folder, ${only}/, the only one: ${fix}`;
  return `no class folder found: ${fix}`;
}

/**
 * The dataset of `entries`, each image resized to `size` x `size`, its pixels counted
 * against `budget` before it is decoded (100,000 images at 224 x 224 take 15 GB; a 42 KB
 * zip of 400 tiny images made 57 MB), and an image whose header declares more than
 * MAX_IMAGE_PIXELS skipped unread (a 1 MB PNG may declare 16384 x 16384: a 1 GB bitmap
 * and a 1 GB copy of it to decode).
 */
export async function folderDataset(
  entries: { path: string; bytes: Uint8Array }[], size: number, seed: number, decode: ImageDecoder, budget: DataBudget,
): Promise<Dataset & { skipped: string[]; tooLarge: string[] }> {
  const byClass = new Map<string, { path: string; bytes: Uint8Array }[]>();
  // a folder is a class where it holds an image; one of other files only is a class with
  // no images where it sits beside class folders (images in a format not read), and is
  // passed over elsewhere: a README or .DS_Store beside the class folders made their
  // parent a class, and the upload was refused as "class folder pets has no images"
  const imageParents = new Set<string>();
  const others: { cls: string; parent: string }[] = [];
  const loose: string[] = []; // images at the top level: named if no two classes are found
  for (const e of entries) {
    const parts = pathParts(e.path);
    if (parts.some(hidden)) continue;
    if (parts.length < 2) { // files at the top level belong to no class
      if (IMAGE_EXT.test(e.path)) loose.push(printable(e.path));
      continue;
    }
    const cls = printable(parts[parts.length - 2]!); // shown on the page
    const parent = parts.slice(0, -2).join('/');
    if (IMAGE_EXT.test(e.path)) {
      if (!byClass.has(cls)) byClass.set(cls, []);
      byClass.get(cls)!.push(e);
      imageParents.add(parent);
    } else {
      others.push({ cls, parent });
    }
  }
  for (const o of others) if (imageParents.has(o.parent) && !byClass.has(o.cls)) byClass.set(o.cls, []);
  const classes = [...byClass.keys()].sort();
  if (classes.length < 2) throw new DatasetError(fewClasses(loose, classes[0], byClass.get(classes[0]!)?.map((e) => printable(e.path)) ?? []));
  const empty = classes.filter((c) => byClass.get(c)!.length === 0);
  if (empty.length) throw new DatasetError(`class folder${empty.length > 1 ? 's' : ''} ${empty.join(', ')} ha${empty.length > 1 ? 've' : 's'} no images (png, jpg, gif, bmp or webp)`);
  const pixels: Uint8Array[] = [];
  const labels: number[] = [];
  const skipped: string[] = [];
  const tooLarge: string[] = [];
  for (const [label, cls] of classes.entries()) {
    for (const e of byClass.get(cls)!) {
      const declared = declaredSize(e.bytes);
      // no declared size, no decode: the decoder's own bound comes after a whole bitmap of
      // whatever size it finds (every format taken here declares one in its header)
      if (!declared) {
        skipped.push(e.path);
        continue;
      }
      if (declared.width * declared.height > MAX_IMAGE_PIXELS) {
        tooLarge.push(e.path);
        continue;
      }
      budget.take(size * size * 3, `${printable(e.path)} resized to ${size}x${size}x3 takes`);
      try {
        pixels.push(resizeToRGB(await decode(e.bytes, e.path), size));
        labels.push(label);
      } catch {
        skipped.push(e.path); // unreadable: counted and reported, not fatal
      }
    }
  }
  if (pixels.length < 2) {
    throw new DatasetError(`fewer than 2 of the ${pixels.length + skipped.length + tooLarge.length} images could be read` +
      `${tooLarge.length ? ` (${tooLarge.length} larger than ${MAX_IMAGE_PIXELS / 2 ** 20} megapixels: resize them)` : ''}`);
  }
  const order = permutation(pixels.length, mulberry32(deriveSeed(seed, 'folder-split')));
  const held = Math.max(1, Math.floor(pixels.length / 6));
  const pick = (idx: Int32Array) => {
    const images = new Uint8Array(idx.length * size * size * 3);
    idx.forEach((i, k) => images.set(pixels[i]!, k * size * size * 3));
    return { images, labels: Uint8Array.from(idx, (i) => labels[i]!), count: idx.length };
  };
  return {
    name: `image folder (${[`${classes.length} classes`, ...(skipped.length ? [`${skipped.length} unreadable skipped`] : []),
      ...(tooLarge.length ? [`${tooLarge.length} over ${MAX_IMAGE_PIXELS / 2 ** 20} megapixels skipped`] : [])].join(', ')})`,
    classes, shape: [size, size, 3], train: pick(order.subarray(held)), test: pick(order.subarray(0, held)),
    augment: { crop: Math.round(size / 8), flip: true }, skipped, tooLarge,
  };
}
