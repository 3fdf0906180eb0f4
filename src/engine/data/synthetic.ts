// A seeded procedural image set, so the engine trains with no download. Ten classes:
// five shapes (any rotation) and five textures (orientation kept, so stripes stay
// tellable apart), each in random colours, position and size, over a shaded
// background with clutter blobs and pixel noise that grow with `difficulty`.
import { deriveSeed, gaussian, mulberry32 } from '../random';
import type { Dataset, Split } from './dataset';

export const SYNTHETIC_CLASSES = [
  'disc', 'square', 'triangle', 'cross', 'ring',
  'h-stripes', 'v-stripes', 'diagonal-stripes', 'checker', 'dots',
] as const;

export interface SyntheticOptions {
  trainSize: number;
  testSize: number;
  imageSize: number;
  channels: number;
  /** first `numClasses` of SYNTHETIC_CLASSES */
  numClasses: number;
  /** 0 easy .. 1 hard */
  difficulty: number;
  seed: number;
}

type Mask = (u: number, v: number, k: number) => boolean;

const frac = (x: number) => x - Math.floor(x);

// (u, v): pixel position in the shape's frame, the shape spanning about [-1, 1]².
const MASKS: Mask[] = [
  (u, v) => u * u + v * v < 1,
  (u, v) => Math.max(Math.abs(u), Math.abs(v)) < 0.8,
  (u, v) => v > -0.6 && v < 0.9 && Math.abs(u) < (0.9 - v) * 0.65,
  (u, v) => (Math.abs(u) < 0.25 && Math.abs(v) < 0.95) || (Math.abs(v) < 0.25 && Math.abs(u) < 0.95),
  (u, v) => { const r = Math.hypot(u, v); return r > 0.55 && r < 0.95; },
  (u, v, k) => Math.sin(v * Math.PI * k) > 0,
  (u, v, k) => Math.sin(u * Math.PI * k) > 0,
  (u, v, k) => Math.sin(((u + v) * Math.PI * k) / Math.SQRT2) > 0,
  (u, v, k) => Math.sin(u * Math.PI * k) * Math.sin(v * Math.PI * k) > 0,
  (u, v, k) => (frac(u * k) - 0.5) ** 2 + (frac(v * k) - 0.5) ** 2 < 0.09,
];
const FIRST_TEXTURE = 5;

function renderImage(label: number, o: SyntheticOptions, rand: () => number, out: Uint8Array): void {
  const S = o.imageSize, C = o.channels, hard = o.difficulty;
  const between = (a: number, b: number) => a + (b - a) * rand();
  const texture = label >= FIRST_TEXTURE;
  // background: a random colour with a linear shading of random direction
  const bg = Array.from({ length: C }, () => between(40, 215));
  const shade = between(0, 60) * (0.5 + hard), shadeDir = between(0, 2 * Math.PI);
  // foreground: offset from the background; contrast falls as difficulty rises
  const contrast = between(110, 150) * (1 - 0.6 * hard);
  const fg = bg.map((b) => { const s = rand() < 0.5 ? -1 : 1; const c = b + s * contrast * between(0.6, 1.2); return c < 0 || c > 255 ? b - s * contrast : c; });
  // objects shrink as difficulty rises: fewer patches carry the class
  const r = S * between(0.3, 0.45) * (1 - 0.4 * hard);
  const cx = S * between(0.35, 0.65), cy = S * between(0.35, 0.65);
  // shapes turn freely; textures only jitter, or h-stripes would become v-stripes
  const theta = texture ? between(-0.3, 0.3) * hard : between(0, 2 * Math.PI);
  const cos = Math.cos(theta), sin = Math.sin(theta);
  const k = between(2, 3.5);
  const mask = MASKS[label]!;
  const blobs = Array.from({ length: Math.round(hard * 4 * rand()) }, () => ({
    x: S * rand(), y: S * rand(), r: S * between(0.04, 0.09), c: Array.from({ length: C }, () => between(0, 255)),
  }));
  const noise = 6 + 36 * hard;
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const dx = (x + 0.5 - cx) / r, dy = (y + 0.5 - cy) / r;
      const u = cos * dx + sin * dy, v = -sin * dx + cos * dy;
      const inRegion = texture ? Math.max(Math.abs(u), Math.abs(v)) < 1 : true;
      const on = inRegion && mask(u, v, k);
      const blob = blobs.find((b) => (x - b.x) ** 2 + (y - b.y) ** 2 < b.r * b.r);
      const ramp = shade * ((x / S - 0.5) * Math.cos(shadeDir) + (y / S - 0.5) * Math.sin(shadeDir));
      for (let c = 0; c < C; c++) {
        const base = blob ? blob.c[c]! : on ? fg[c]! : bg[c]! + ramp;
        const value = base + noise * gaussian(rand);
        out[(y * S + x) * C + c] = value < 0 ? 0 : value > 255 ? 255 : Math.round(value);
      }
    }
  }
}

function makeSplit(count: number, o: SyntheticOptions, stream: string): Split {
  const pixels = o.imageSize * o.imageSize * o.channels;
  const images = new Uint8Array(count * pixels);
  const labels = new Uint8Array(count);
  const rand = mulberry32(deriveSeed(o.seed, stream));
  for (let i = 0; i < count; i++) {
    const label = i % o.numClasses; // balanced; the batcher shuffles
    labels[i] = label;
    renderImage(label, o, rand, images.subarray(i * pixels, (i + 1) * pixels));
  }
  return { images, labels, count };
}

export function syntheticDataset(o: SyntheticOptions): Dataset {
  if (o.numClasses > SYNTHETIC_CLASSES.length) {
    throw new Error(`the synthetic set has ${SYNTHETIC_CLASSES.length} classes; ${o.numClasses} were asked for`);
  }
  return {
    name: `synthetic (difficulty ${o.difficulty})`,
    classes: SYNTHETIC_CLASSES.slice(0, o.numClasses),
    shape: [o.imageSize, o.imageSize, o.channels],
    train: makeSplit(o.trainSize, o, 'train'),
    test: makeSplit(o.testSize, o, 'test'),
    // the generator already varies position, size and colour
    augment: { crop: 0, flip: false },
  };
}
