// Compiles the linear layer's kernels through Dawn with its shader dump on, for a test to
// read which array indices Dawn's robustness pass clamped, in the SPIR-V it made.
// Run as a script in a child process: `node --import tsx clamps-run.ts`. Dawn echoes each
// kernel's WGSL, whose first line names it (`// @@kernel NAME`), before its SPIR-V; the
// result (compile errors) is a line `@@result {...}` anywhere in stdout.
import { writeSync } from 'node:fs';
import { create, globals } from 'webgpu';
import { GEMM_TILE, wideTile } from '../../src/engine/ops/webgpu/gemm';
import { forwardKernel, inputGradKernel, weightGradKernel } from '../../src/engine/ops/webgpu/linear-kernels';
import { namedWgradGroupKernel, namedWgradKernel, namedWgradTile } from '../../src/engine/ops/webgpu/named-wgrad';
import { namedForwardKernel } from '../../src/engine/ops/webgpu/named-forward';

/** The kernels compiled, by name: plain products and LoRA ones on both tiles, the weight gradients. */
function clampKernels(): Record<string, string> {
  const wide = wideTile();
  if (!wide) throw new Error(`the wide tile cannot run with GEMM_TILE ${JSON.stringify(GEMM_TILE)}`);
  const kernels: Record<string, string> = {};
  for (const [t, tile] of Object.entries({ tile: GEMM_TILE, wide })) {
    kernels[`forward ${t}`] = forwardKernel({ rank: 0, gelu: false, residual: false, tile }).wgsl;
    kernels[`forward+gelu+residual ${t}`] = forwardKernel({ rank: 0, gelu: true, residual: true, tile }).wgsl;
    kernels[`input gradient ${t}`] = inputGradKernel({ rank: 0, gelu: false, tile }).wgsl;
    kernels[`input gradient through gelu ${t}`] = inputGradKernel({ rank: 0, gelu: true, tile }).wgsl;
    kernels[`lora forward ${t}`] = forwardKernel({ rank: 8, gelu: false, residual: false, merged: true, tile }).wgsl;
    kernels[`lora input gradient with a rider ${t}`] = inputGradKernel({ rank: 8, gelu: false, merged: true, rider: { rank: 8, gelu: true }, tile }).wgsl;
  }
  kernels['weight gradient'] = weightGradKernel({ rank: 0, gelu: false, base: true, vec4: false }).wgsl;
  kernels['weight gradient on vec4s'] = weightGradKernel({ rank: 0, gelu: true, base: true, vec4: true }).wgsl;
  kernels['lora weight gradient'] = weightGradKernel({ rank: 8, gelu: false, base: false }).wgsl;
  // small's fc1 (8 x 8, behind its GELU) and attention linears (8 x 4), tiny's fc1 (4 x 8)
  for (const [dIn, dOut, gelu] of [[384, 1536, true], [384, 384, false], [192, 768, true]] as const) {
    const tile = namedWgradTile(dIn, dOut)!;
    kernels[`named weight gradient ${tile.RM}x${tile.RN}${gelu ? ' behind a gelu' : ''}`] = namedWgradKernel(gelu, tile).wgsl;
  }
  // the query's, key's and value's in one launch, each job's statements in main
  kernels['named weight gradients of three 8x4'] = namedWgradGroupKernel(3, false, namedWgradTile(384, 384)!).wgsl;
  kernels['named forward'] = namedForwardKernel({ gelu: false, residual: false }).wgsl;
  kernels['named forward+gelu+residual'] = namedForwardKernel({ gelu: true, residual: true }).wgsl;
  // with an adapter: its side product's workgroups ahead of the tiles (rank 8: two vec4s of columns; 64: four a thread)
  kernels['named lora forward'] = namedForwardKernel({ gelu: false, residual: false, rank: 8 }).wgsl;
  kernels['named lora forward+gelu+residual r64'] = namedForwardKernel({ gelu: true, residual: true, rank: 64 }).wgsl;
  return kernels;
}

async function main(): Promise<void> {
  Object.assign(globalThis, globals);
  // names kept, so that the test finds each function of the kernel in the dump
  const gpu = create(['enable-dawn-features=dump_shaders,disable_symbol_renaming']);
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('Dawn found no adapter');
  const device = await adapter.requestDevice({ requiredLimits: { maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage } });
  const errors: string[] = [];
  const kernels = clampKernels();
  for (const [name, wgsl] of Object.entries(kernels)) {
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ code: `// @@kernel ${name}\n${wgsl}` });
    device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const e = await device.popErrorScope();
    if (e) errors.push(`${name}: ${e.message.slice(0, 300)}`);
  }
  writeSync(1, `\n@@result ${JSON.stringify({ errors, kernels: Object.keys(kernels) })}\n`);
  process.exit(0);
}

await main();
