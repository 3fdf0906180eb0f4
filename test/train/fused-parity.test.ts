// A whole seeded PreLoRA run, fused kernels against tfjs's own on the same WebGPU
// device (Dawn on SwiftShader): 50 steps of a micro ViT through a full phase, a joint
// phase and a frozen LoRA phase give the same losses within 1e-3 relative.
import { describe, expect, it } from 'vitest';
import { runOnDawn } from '../helpers/dawn';
import { SWITCHED, type PathRun } from '../helpers/path-parity-run';
import { maxRelError } from '../helpers/tf';

describe('fused path against the composite path, whole run', () => {
  it('50 steps with a switch and a freeze: same losses and weights', async () => {
    const { fused, composite } = await runOnDawn<{ fused: PathRun; composite: PathRun }>('test/helpers/path-parity-run.ts', ['50'], 1_200_000);
    expect(fused.fusedKernels).toBeGreaterThan(0);
    expect(composite.fusedKernels).toBe(0);
    expect(fused.losses).toHaveLength(50);
    expect(composite.losses).toHaveLength(50);
    expect(maxRelError(fused.losses, composite.losses)).toBeLessThan(1e-3);
    // the switched modules froze, with adapters, on both paths
    expect(fused.frozen.sort()).toEqual([...SWITCHED].sort());
    expect(composite.frozen.sort()).toEqual([...SWITCHED].sort());
    expect(Object.keys(fused.weights).sort()).toEqual(Object.keys(composite.weights).sort());
    for (const [name, w] of Object.entries(composite.weights)) {
      const diff = Math.max(...w.map((x, i) => Math.abs(x - fused.weights[name]![i]!)));
      // the key bias has a true zero gradient (softmax ignores a shift of all scores):
      // AdamW turns float noise into steps of ~lr, on both paths; it stays near 0
      if (name.endsWith('key.bias')) {
        expect(Math.max(...w.map(Math.abs), ...fused.weights[name]!.map(Math.abs)), name).toBeLessThan(1e-3);
        continue;
      }
      expect(diff / Math.max(...w.map(Math.abs)), name).toBeLessThan(1e-3);
    }
  }, 1_200_000);
});
