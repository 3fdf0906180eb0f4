// What runs the engine, and why: "wasm: WebGPU adapter is software (...); using wasm",
// and on WebGPU which kernels (fused, or tfjs's own when webgpu-composite was chosen).
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
