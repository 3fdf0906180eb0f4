// Does Dawn see a GPU here? Prints the adapter (or none) and exits 0 (or 1).
// Run beside the carried node_modules: ./node probe.mjs
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const adapter = await create([]).requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) {
  console.log('adapter: none');
  process.exit(1);
}
const { vendor, architecture, device } = adapter.info;
console.log(`adapter: ${vendor} ${architecture} ${device}; features: ${[...adapter.features].sort().join(', ')}`);
process.exit(0);
