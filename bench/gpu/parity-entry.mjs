// Entry of carry/parity.mjs (bench/gpu/build.mjs): the parity checks CI runs on a software
// Vulkan (subgroups 4 wide, 12 storage buffers a stage), here on the GPU machine's own
// device (an NVIDIA GPU's subgroups are 32 wide, 16 storage buffers): every fused
// kernel against its composite reference (test/helpers/fused-ops-run.ts), and the
// compiled step against the fused ops op by op over 100 steps with a switch and a freeze,
// and over 30 with attention on register tiles (test/helpers/compiled-parity-run.ts).
// Prints one JSON line: each check's worst figure, its bound, and whether it held.
import { initNodeBackend } from '../../src/engine/backend-node';
import { parityRun, TILED_MODEL, weightErrors } from '../../test/helpers/compiled-parity-run';
import { fusedOpCases } from '../../test/helpers/fused-ops-run';
import { maxRelError } from '../../test/helpers/tf';

const info = await initNodeBackend('webgpu');
if (info.name !== 'webgpu') throw new Error(`wanted webgpu, got ${info.name}`);
const checks = [];
const check = (name, worst, bound) => checks.push({ name, worst, bound, held: Number.isFinite(worst) && worst <= bound });
for (const c of await fusedOpCases()) {
  // the bounds of test/train/fused-ops.test.ts: 1e-4 of scale, exact figures 0
  check(`${c.name} (kernels ${c.fusedKernels})`, Math.max(0, ...c.errors), 1e-4);
  for (const [what, x] of Object.entries(c.exact ?? {})) check(`${c.name}: ${what}`, x, 0);
}
// the bounds of test/train/compiled.test.ts: 1e-6 relative, losses and every weight
const compiled = await parityRun('compiled', 100, undefined);
const fused = await parityRun('fused', 100, undefined);
check(`replay: recordings ${compiled.recordings}, losses over ${compiled.losses.length} steps`, maxRelError(compiled.losses, fused.losses), 1e-6);
for (const [name, e] of Object.entries(weightErrors(fused, compiled))) check(`replay: ${name}`, e, 1e-6);
// one head 64 wide over 65 tokens: attention on register tiles on both paths
const tiledFused = await parityRun('fused', 30, undefined, false, undefined, undefined, TILED_MODEL);
const tiled = await parityRun('compiled', 30, undefined, false, undefined, undefined, TILED_MODEL);
check(`replay, attention on register tiles (${tiled.attention.join(', ')}): losses over ${tiled.losses.length} steps`, maxRelError(tiled.losses, tiledFused.losses), 1e-6);
for (const [name, e] of Object.entries(weightErrors(tiledFused, tiled))) check(`replay, attention on register tiles: ${name}`, e, 1e-6);
process.stdout.write(`${JSON.stringify({ device: info.adapter ?? info.reason, held: checks.every((c) => c.held), checks })}\n`, () => process.exit(0));
