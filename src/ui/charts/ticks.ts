// Axis ticks at round steps (1, 2 or 5 times a power of ten), so a step axis reads
// 0/50/100/150, not 25/70/115/160 as recharts' even split of the domain gives.
export function niceTicks(max: number, most = 7): number[] {
  if (!(max > 0)) return [0];
  const raw = max / most;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  return Array.from({ length: Math.floor(max / step + 1e-9) + 1 }, (_, i) => i * step);
}

/** A categorical palette whose neighbours are told apart (Tableau 10), for per-layer lines. */
export const LAYER_PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
