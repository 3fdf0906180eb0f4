// What runs the engine, and why: "wasm: WebGPU adapter is software (...); using wasm",
// and on WebGPU which kernels (compiled: a recorded step of fused kernels; fused op by op
// when webgpu-fused was chosen; tfjs's own when webgpu-composite was).
import { useStore } from '../store';

export function BackendBadge() {
  const backend = useStore((s) => s.backend);
  return (
    <span className="badge" data-testid="backend" title={backend?.reason ?? ''}>
      {backend ? `${backend.name}: ${backend.reason}${backend.name === 'webgpu' ? ` · ${backend.kernels} kernels` : ''}`
        : 'backend: starts with the first run'}
    </span>
  );
}
