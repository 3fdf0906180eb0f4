// Axis ticks at round steps (1, 2 or 5 times a power of ten), so a step axis reads
// 0/50/100/150, not 25/70/115/160 as recharts' even split of the domain gives.
export function niceTicks(max: number, most = 7): number[] {
  if (!(max > 0)) return [0];
  const raw = max / most;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
  return Array.from({ length: Math.floor(max / step + 1e-9) + 1 }, (_, i) => i * step);
}
