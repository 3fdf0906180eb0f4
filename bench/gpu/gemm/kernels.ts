// Writes the linear layer's forward and input-gradient kernels (rank 0, no GELU, no
// residual) as the src of this checkout makes them, for the GEMM microbenchmark:
// `npx tsx bench/gpu/gemm/kernels.ts NAME OUT.json` (base.json is the one it compares to).
import { writeFileSync } from 'node:fs';
import { forwardKernel, inputGradKernel } from '../../../src/engine/ops/webgpu/linear-kernels';

const [name, out] = process.argv.slice(2);
if (!name || !out) throw new Error('usage: npx tsx bench/gpu/gemm/kernels.ts NAME OUT.json');
const forward = forwardKernel({ rank: 0, gelu: false, residual: false }).wgsl;
const inputGrad = inputGradKernel({ rank: 0, gelu: false }).wgsl;
writeFileSync(out, JSON.stringify({ name, forward, inputGrad }));
