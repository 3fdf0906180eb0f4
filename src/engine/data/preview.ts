// A small description of a dataset for the page: sizes, class balance and a few
// sample images (the page never holds the whole set).
import { classBalance, type Dataset } from './dataset';

export interface DatasetInfo {
  name: string;
  classes: string[];
  shape: [number, number, number];
  train: number;
  test: number;
  /** training images per class */
  balance: number[];
  /** the first image of each class (up to 16), raw bytes [H, W, C] */
  samples: { label: number; pixels: Uint8Array }[];
}

/** Sample images a description shows at most. */
export const PREVIEW_SAMPLES = 16;

export function describeDataset(d: Dataset): DatasetInfo {
  const size = d.shape[0] * d.shape[1] * d.shape[2];
  const samples: DatasetInfo['samples'] = [];
  const seen = new Set<number>();
  for (let i = 0; i < d.train.count && samples.length < PREVIEW_SAMPLES; i++) {
    const label = d.train.labels[i]!;
    if (seen.has(label) && seen.size < d.classes.length) continue;
    seen.add(label);
    samples.push({ label, pixels: d.train.images.slice(i * size, (i + 1) * size) });
  }
  return {
    name: d.name, classes: d.classes, shape: d.shape, train: d.train.count, test: d.test.count,
    balance: classBalance(d.train, d.classes.length), samples,
  };
}
