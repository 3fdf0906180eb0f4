// Shared test helpers: pick a real tfjs backend, compare arrays, seeded tensors.
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../../src/engine/backend-node';
import type { BackendName } from '../../src/engine/backend';
import { gaussian, mulberry32 } from '../../src/engine/random';

export async function useBackend(name: BackendName): Promise<void> {
  const info = await initNodeBackend(name);
  if (info.name !== name) throw new Error(`wanted ${name}, got ${info.name}: ${info.reason}`);
}

/** A seeded normal tensor made in JS, identical on every backend. */
export function seededNormal(shape: number[], seed: number, std = 1): tf.Tensor {
  const rand = mulberry32(seed);
  const size = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: size }, () => gaussian(rand) * std), shape);
}

/** max |a - b| / max(|b|, floor), over all elements */
export function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(Math.abs(b[i]!), floor));
  return worst;
}

export function maxAbsError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}
