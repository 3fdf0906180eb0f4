// Writes the linear layer's forward, input-gradient and weight-gradient kernels (rank 0,
// no GELU, no residual) as the src of this checkout makes them, for the GEMM
// microbenchmarks: `npx tsx bench/gpu/gemm/kernels.ts NAME OUT.json` (base.json is the
// one they compare to; wgrad-bench.mjs reads `weightGrad` and `weightGradVec4`). TILE=wide
// writes the forward and input gradient on the wide tile (the one small's take in the step).
import { writeFileSync } from 'node:fs';
import { forwardKernel, inputGradKernel, weightGradKernel } from '../../../src/engine/ops/webgpu/linear-kernels';
import { GEMM_TILE, SPLIT_K, wideTile } from '../../../src/engine/ops/webgpu/gemm';
import { GELU_WGSL } from '../../../src/engine/ops/webgpu/wgsl';

const [name, out] = process.argv.slice(2);
if (!name || !out) throw new Error('usage: npx tsx bench/gpu/gemm/kernels.ts NAME OUT.json');
const tile = process.env.TILE === 'wide' ? wideTile() : GEMM_TILE;
if (!tile) throw new Error(`TILE=wide: no wide tile with GEMM_TILE ${JSON.stringify(GEMM_TILE)}`);
const forward = forwardKernel({ rank: 0, gelu: false, residual: false, tile }).wgsl;
const inputGrad = inputGradKernel({ rank: 0, gelu: false, tile }).wgsl;
// the full phase's dW on float loads, and on vec4 loads (src takes them where weightGradVec4 says)
const dW = (vec4: boolean) => {
  const k = weightGradKernel({ rank: 0, gelu: false, base: true, vec4 });
  return { wgsl: k.wgsl, params: k.params.map((p) => p.name), tile: GEMM_TILE, splitK: SPLIT_K };
};
// src's gelu, for the written-out forwards with an epilogue (gen.mjs's `epi`)
writeFileSync(out, JSON.stringify({ name, productTile: tile, forward, inputGrad, weightGrad: dW(false), weightGradVec4: dW(true), gelu: GELU_WGSL }));
