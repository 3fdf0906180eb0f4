// Kernels per training step on the fused path (deterministic, so they are tested):
// tiny's structure (depth 6, 3 heads, MLP 4x, 65 tokens) at small widths and batches
// on WebGPU through Dawn, in the full phase and the static-LoRA phase. The count does
// not depend on width or batch (two sizes give the same kernels), so it is tiny's.
import { beforeAll, describe, expect, it } from 'vitest';
import { runOnDawn } from '../helpers/dawn';
import { estimateRatios, type CountResult } from '../helpers/kernel-count-run';

describe('kernels per step of tiny\'s structure, fused', () => {
  let counts: CountResult[] = [];
  beforeAll(async () => {
    counts = await runOnDawn<CountResult[]>('test/helpers/kernel-count-run.ts', ['24x2,48x3,24x2@default', 'fused'], 1_200_000);
  }, 1_200_000);

  it('is at most 600 in the full phase, and no more in the LoRA phase', () => {
    for (const c of counts) {
      expect(c.kernels).toBe('fused');
      expect(c.full.total).toBeLessThanOrEqual(600);
      if (c.lora) {
        // 36 adapters (query, key, value, output, fc1, fc2 of 6 blocks): their merged
        // weights W + s A B are made in the products' loads, not by launches of their own
        expect(c.lora.byName['linear.lora-merge'] ?? 0).toBe(0);
        expect(c.lora.byName['linear.forward']).toBe(c.full.byName['linear.forward']);
        expect(c.lora.total).toBeLessThanOrEqual(c.full.total);
      }
      // what is left of tfjs's own kernels: reshapes, the embedding, the tape's gradient sums
      expect(c.full.byName['MatMul'] ?? 0).toBe(0);
      expect(c.full.byName['BatchMatMul'] ?? 0).toBe(0);
    }
  });

  it('does not depend on width or batch', () => {
    const [small, wider] = counts;
    expect([small!.width, small!.batch, wider!.width, wider!.batch]).toEqual([24, 2, 48, 3]);
    expect(wider!.full.byName).toEqual(small!.full.byName);
    expect(wider!.lora!.byName).toEqual(small!.lora!.byName);
  });

  it('falls back to the default device\'s 8 storage buffers: more AdamW and norm launches, the same results elsewhere', () => {
    const [adapter, , fallback] = counts;
    expect(fallback!.storageBuffers).toBe(8);
    expect(adapter!.storageBuffers).toBeGreaterThan(8);
    // 104 parameters: 2 per AdamW launch on 8 buffers, 7 gradients per norm launch
    expect(fallback!.full.byName['adamw.step']).toBe(52);
    expect(fallback!.full.byName['grad-norms.sum-squares']).toBe(15);
    expect(adapter!.full.byName['adamw.step']).toBeLessThan(52);
    expect(fallback!.full.total).toBeLessThanOrEqual(600);
  });

  it('leaves no tensor behind from step to step', () => {
    for (const c of counts) expect([c.full.tensorGrowth, c.lora?.tensorGrowth ?? 0]).toEqual([0, 0]);
  });

  it('needs the memory the config check expects on this path, within 25 percent', () => {
    // the check refuses a model before it runs: an estimate for tfjs's composite tape
    // refused tiny at batch 128 in the page (6.1 GB expected, 0.79 GB held)
    for (const r of estimateRatios(counts)) {
      expect(r).toBeGreaterThan(0.75);
      expect(r).toBeLessThan(1.25);
    }
  });
});
