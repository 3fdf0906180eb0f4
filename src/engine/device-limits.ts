// What the active kernels take on this device, for the config check (validateConfig's
// RunContext), read from the live backend in one place for the CLI, the worker, the
// benchmark and a live settings change:
// - the largest LoRA rank: our fused and compiled WGSL kernels keep an adapter's factor
//   tiles in workgroup memory, whose size the device sets (16 KiB by default, 32-64 KiB
//   on many GPUs); tfjs's own kernels have no such limit;
// - the most tensors a step updates: our AdamW reads one table row a tensor from a
//   uniform binding (64 KiB by default: 4,096 rows); tfjs's optimiser has no table.
// A config asking for more is refused before its run starts, not at a switch mid-run.
import { kernelPath, stepPath } from './kernel-path';
import { deviceTableCapacity } from './ops/webgpu/adamw';
import { deviceLoraRankLimit } from './ops/webgpu/linear';

/** The largest rank a LoRA adapter may have here; undefined where any rank runs (tfjs's kernels). */
export function loraRankLimit(): number | undefined {
  return kernelPath() === 'fused' ? deviceLoraRankLimit() : undefined;
}

/** The most tensors one step may update here; undefined on tfjs's optimiser. */
export function trainableTensorLimit(): number | undefined {
  return stepPath() === 'composite' ? undefined : deviceTableCapacity();
}

/** Both, as validateConfig takes them. */
export function deviceLimits(): { maxLoraRank: number | undefined; maxTrainableTensors: number | undefined } {
  return { maxLoraRank: loraRankLimit(), maxTrainableTensors: trainableTensorLimit() };
}
