// The largest LoRA rank the active kernels take. Our fused and compiled WGSL kernels
// keep an adapter's factor tiles in workgroup memory, whose size the device sets (16 KiB
// by default, 32-64 KiB on many GPUs); tfjs's own kernels have no such limit. A config
// asking for more is refused before its run starts, not at a switch mid-run.
import { kernelPath } from './kernel-path';
import { deviceLoraRankLimit } from './ops/webgpu/linear';

/** The largest rank a LoRA adapter may have here; undefined where any rank runs (tfjs's kernels). */
export function loraRankLimit(): number | undefined {
  return kernelPath() === 'fused' ? deviceLoraRankLimit() : undefined;
}
