// Every fused WebGPU kernel against its composite reference (tfjs's own ops and
// gradients) on the same device, Dawn on SwiftShader: forward values and the gradient
// of every input, at odd sizes (partial tiles) and at sizes spanning several tiles and
// K splits; the optimiser (clipping, AdamW and its per-variable state, a checkpoint
// restored bit for bit) and the monitor's statistics over steps.
import { beforeAll, describe, expect, it } from 'vitest';
import { runOnDawn } from '../helpers/dawn';
import type { CaseResult } from '../helpers/fused-ops-run';

describe('fused WebGPU kernels match their composite references within 1e-4 of scale', () => {
  let results: CaseResult[] = [];
  beforeAll(async () => {
    results = await runOnDawn<CaseResult[]>('test/helpers/fused-ops-run.ts', [], 900_000);
  }, 900_000);

  it.each([
    ['linear (bias, GELU, residual, LoRA ranks 3 to 20, frozen base, no input gradient, many K splits, the input gradient through GELU, merged weights several a launch, merged in the loads and by a launch alike, adapters\' gradient sums shared or each its own alike, on the wide tile and on GEMM_TILE alike, weight gradients loaded as vec4s and a float at a time alike, trained bases\' weight gradients on each named tile, forwards on the named tile and on the GEMM tile alike, an adapter\'s forward on the named tile, trained input gradients on the named tile over W transposed and on the GEMM tile alike, trained bases\' weight gradients of one shape three a launch and each its own alike, and against the composite)', 'linear', 54],
    ['layerNorm (rows of one and of several per workgroup; parameter-gradient sums shared or each its own alike; rows at once and one at a time alike; split sums in lane order)', 'layerNorm', 7],
    ['attention (head widths on vec4s shared by 4, 2 or 1 lanes, and on floats; rows set and fitted; two rows a thread and one alike, two keys a step and one alike; the forward and backward on register tiles and row by row alike)', 'attention', 13],
    ['crossEntropy with label smoothing', 'crossEntropy', 2],
    ['clipping, AdamW and the monitor', 'clip', 2],
    ['AdamW state per variable (t, re-warm, reset) and a checkpoint restored', 'AdamW state', 1],
    ['the compiled step\'s embedding backward, bit for bit with tfjs\'s sums over the batch, under 4,096 images and from it', 'embedding backward', 1],
  ])('%s', (_, prefix, cases) => {
    const mine = results.filter((r) => r.name.startsWith(prefix) || (prefix === 'clip' && r.name.startsWith('monitor')));
    expect(mine.length).toBeGreaterThanOrEqual(cases);
    for (const r of mine) {
      expect(r.fusedKernels, `${r.name}: no fused kernel ran`).toBeGreaterThan(0);
      r.errors.forEach((e, i) => expect(e, `${r.name}, value ${i}`).toBeLessThan(1e-4));
      for (const [what, x] of Object.entries(r.exact ?? {})) expect(x, `${r.name}: ${what}`).toBe(0);
    }
  });

  it('shares attention rows among subgroup lanes where the device has subgroups, and only there', () => {
    const probe = results.find((r) => r.name.startsWith('subgroup probe'));
    expect(probe, 'the probe case ran').toBeDefined();
    for (const [what, x] of Object.entries(probe!.exact ?? {})) expect(x, `${probe!.name}: ${what}`).toBe(0);
    // Dawn on SwiftShader (where CI runs this) has subgroups of 4: 4, 2 and 1 lanes ran
    // against the composite reference. On a device without subgroups every case would
    // run on 1 lane and this line fails: the lanes path would then be untested. Eight
    // lanes (a GPU with subgroups of 8 or more) run only in the H200 benchmarks.
    const lanes = results.filter((r) => r.name.startsWith('attention b')).map((r) => /lanes: (\d)/.exec(r.name)?.[1]);
    expect(new Set(lanes)).toEqual(new Set(['4', '2', '1']));
  });
});
