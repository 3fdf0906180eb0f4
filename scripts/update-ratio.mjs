// Does one module's switch move another module's statistics? Reads two run logs
// (`npm run train -- --out FILE`) of the same config and seed, one per-module rule and
// one global rule, and prints, for each window in which the global run has not switched
// yet, the still-full modules' update% in the per-module run against the global run's
// (identical runs up to the first switch: every ratio 1 until then).
//   node scripts/update-ratio.mjs module.json global.json
import { readFileSync } from 'node:fs';

const [modulePath, globalPath] = process.argv.slice(2);
if (!modulePath || !globalPath) {
  console.error('usage: node scripts/update-ratio.mjs MODULE_RUN.json GLOBAL_RUN.json (run logs from npm run train -- --out)');
  process.exit(2);
}
const load = (path) => {
  const { events } = JSON.parse(readFileSync(path, 'utf8'));
  return {
    windows: events.filter((e) => e.type === 'window').map((e) => e.window),
    changes: events.filter((e) => e.type === 'phase').map((e) => e.change),
  };
};
const mod = load(modulePath), glob = load(globalPath);
const globalFirst = Math.min(...glob.changes.map((c) => c.step), Infinity);
const range = (xs) => `${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)}`;

console.log('| window end | per-module run: changes in the window | still-full modules | update% ratio mean (min-max) | update% per-module run | update% global run |');
console.log('| --- | --- | --- | --- | --- | --- |');
let previous = 0;
for (const w of mod.windows) {
  if (w.step > globalFirst) break;
  const g = glob.windows.find((x) => x.step === w.step);
  // modules that trained fully all window in the per-module run (a switch at its end counts as after it)
  const left = new Set(mod.changes.filter((c) => c.step < w.step).map((c) => c.module));
  const ids = Object.keys(w.modules).filter((id) => !left.has(id));
  const inWindow = mod.changes.filter((c) => c.step >= previous && c.step < w.step);
  previous = w.step;
  if (!g || ids.length === 0) continue;
  const ratios = ids.map((id) => w.modules[id]['update%'] / g.modules[id]['update%']);
  const what = [...new Set(inWindow.map((c) => `${c.to === 'joint' ? 'switch' : 'freeze'} at ${c.step}`))];
  console.log(`| ${w.step} | ${what.join(', ') || '–'} (${inWindow.length} modules) | ${ids.length} | ` +
    `${(ratios.reduce((a, b) => a + b, 0) / ratios.length).toFixed(2)} (${range(ratios)}) | ` +
    `${range(ids.map((id) => w.modules[id]['update%']))} | ${range(ids.map((id) => g.modules[id]['update%']))} |`);
}
