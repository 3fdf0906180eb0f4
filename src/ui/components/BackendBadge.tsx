// What runs the engine, and why: "wasm: WebGPU adapter is software (...); using wasm".
import { useStore } from '../store';

export function BackendBadge() {
  const backend = useStore((s) => s.backend);
  return (
    <span className="badge" data-testid="backend" title={backend?.reason ?? ''}>
      {backend ? `${backend.name}: ${backend.reason}` : 'backend: starts with the first run'}
    </span>
  );
}
