// What a checkpoint costs: for each preset given, a run trained a few steps (every weight
// with its AdamW moments: the largest state a run has) is saved and restored as the
// worker does it, each part timed: the trainer's state read back (one stacked read),
// encoded to the file (CRC-32 included), decoded and checked, and restored into a fresh
// trainer. Prints one JSON line per preset. Usage:
//   npx tsx scripts/checkpoint-cost.ts [--backend wasm|webgpu] PRESET...
import { initNodeBackend } from '../src/engine/backend-node';
import type { BackendChoice } from '../src/engine/backend';
import { decodeCheckpoint, encodeCheckpoint } from '../src/engine/checkpoint/format';
import { makeConfig, type PresetName } from '../src/engine/config';
import { syntheticDataset } from '../src/engine/data/synthetic';
import { Trainer } from '../src/engine/trainer';

const args = process.argv.slice(2);
const at = args.indexOf('--backend');
const backend = (at >= 0 ? args.splice(at, 2)[1] : 'wasm') as BackendChoice;
const info = await initNodeBackend(backend);
const REPEATS = 3;

async function timed<T>(work: () => Promise<T> | T): Promise<[T, number]> {
  const start = performance.now();
  const out = await work();
  return [out, performance.now() - start];
}

for (const preset of (args.length ? args : ['tiny', 'small']) as PresetName[]) {
  const config = makeConfig(preset, { optim: { batchSize: 8 }, data: { trainSize: 64, testSize: 16 }, schedule: { steps: 100, evalEvery: 1000, logEvery: 2 } });
  const data = syntheticDataset({ trainSize: 64, testSize: 16, imageSize: config.model.imageSize, channels: config.model.channels, numClasses: config.model.numClasses, difficulty: 0.3, seed: 1 });
  const trainer = new Trainer(config, data);
  await trainer.run(2);
  const ms = { exportState: [] as number[], encode: [] as number[], decode: [] as number[], importState: [] as number[] };
  let bytes = 0;
  for (let i = 0; i < REPEATS; i++) {
    const [saved, exportMs] = await timed(() => trainer.exportState());
    const [file, encodeMs] = await timed(() => encodeCheckpoint({ ...saved, log: { events: [], policyChanges: [] } }));
    const [checkpoint, decodeMs] = await timed(() => decodeCheckpoint(file, 'cost.ckpt'));
    const fresh = new Trainer(checkpoint.config, data);
    const [, importMs] = await timed(() => fresh.importState(checkpoint));
    fresh.dispose();
    bytes = file.byteLength;
    ms.exportState.push(exportMs);
    ms.encode.push(encodeMs);
    ms.decode.push(decodeMs);
    ms.importState.push(importMs);
  }
  const params = trainer.model.namedVariables().length;
  trainer.dispose();
  const best = Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, Math.round(Math.min(...v))]));
  console.log(JSON.stringify({ preset, backend: info.name, variables: params, mb: +(bytes / 2 ** 20).toFixed(1), bestOf: REPEATS, ms: best }));
}
