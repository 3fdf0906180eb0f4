// Analytic FLOPs of one training step (2 per multiply-add, matmuls only: they are
// nearly all of a ViT's arithmetic). Forward, then backward: a trainable weight costs
// two matmuls more (input and weight gradients), a frozen one only the input gradient;
// a LoRA adapter adds x A and (x A) B forward and four thin matmuls backward. The
// patch embedding needs no input gradient (the images are not trained).
import type { ModelConfig } from './config';
import type { Phase } from './events';
import { moduleId } from './policy';
import { modelDims } from './size';
import { FAMILIES, type Family } from './vit-families';

export interface StepShape {
  batchSize: number;
  /** LoRA rank per module id (`blocks.<l>.<family>`); absent = no adapter */
  ranks?: Record<string, number>;
  /** modules whose base W is frozen */
  frozen?: Set<string>;
}

/** A module's weight shape [in, out] by family. */
export function moduleShape(m: ModelConfig, family: Family): [number, number] {
  const { width: D, mlpWidth: F } = modelDims(m);
  return family === 'fc1' ? [D, F] : family === 'fc2' ? [F, D] : [D, D];
}

export function flopsPerStep(m: ModelConfig, s: StepShape): number {
  const { tokens: T, patches: P, patchDim, width: D } = modelDims(m);
  const B = s.batchSize;
  const N = B * T;
  const mm = (rows: number, inner: number, cols: number) => 2 * rows * inner * cols;
  let total = 0;
  // patch embedding: forward and weight gradient only
  total += 2 * mm(B * P, patchDim, D);
  for (let l = 0; l < m.depth; l++) {
    for (const f of FAMILIES) {
      const id = moduleId(l, f);
      const [din, dout] = moduleShape(m, f);
      const base = mm(N, din, dout);
      total += base + base + (s.frozen?.has(id) ? 0 : base); // forward, input grad, weight grad
      const r = s.ranks?.[id];
      if (r) total += 3 * (mm(N, din, r) + mm(N, r, dout)); // forward + 2x backward
    }
    // attention: scores q k^T and mixing p v, forward and two gradients each
    total += 3 * (mm(B * m.heads * T, D / m.heads, T) + mm(B * m.heads * T, T, D / m.heads));
  }
  total += 3 * mm(B, D, m.numClasses); // classifier on the class token
  return total;
}

/** A module's phase change as the run's events report it (`step`: steps completed when it happened). */
export interface ShapeChange {
  module: string;
  to: Phase;
  step: number;
  rank: number | null;
}

/**
 * Matmul FLOPs of a whole run of `steps` steps: each step at the shape its modules had
 * then. A change at step k (after k steps) shapes steps k+1 on; static LoRA's are at 0.
 */
export function runFlops(m: ModelConfig, batchSize: number, steps: number, changes: ShapeChange[]): number {
  const shape: Required<StepShape> = { batchSize, ranks: {}, frozen: new Set() };
  const ordered = [...changes].sort((a, b) => a.step - b.step);
  let total = 0, done = 0;
  for (const c of ordered) {
    const at = Math.min(c.step, steps);
    total += (at - done) * flopsPerStep(m, shape);
    done = at;
    if (c.rank) shape.ranks[c.module] = c.rank;
    if (c.to === 'lora') shape.frozen.add(c.module);
  }
  return total + (steps - done) * flopsPerStep(m, shape);
}
