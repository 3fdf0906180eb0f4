// Work the WebGPU device refuses, for real (Dawn on SwiftShader, in a child process):
// micro at depth 256 has more parameters (4,104) than the optimiser's table holds on a
// device's default 64 KiB uniform binding (4,096), so every step's AdamW bind groups are
// invalid and the device drops each step's command buffer. The config check refuses
// that model (prepareRun); a Trainer made without the check shows what the engine does
// when a device refuses work no check foresaw. Then a paused run and a benchmark on one
// device, and a refusal made on purpose (a buffer of a usage WebGPU forbids): it is the
// trainer's at work, and one made between steps stops an evaluation; in a run with no log
// read-back, one made before a window's statistics are read keeps that window from being
// reported, and one made as a switch probes the loss keeps the switch from standing.
// Prints one JSON line.
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../../src/engine/backend-node';
import { makeConfig } from '../../src/engine/config';
import { syntheticDataset } from '../../src/engine/data/synthetic';
import { Trainer } from '../../src/engine/trainer';
import { reply } from './dawn';

export interface DeviceRefusalRun {
  kernels: string;
  /** what the first read-back threw, or null */
  error: string | null;
  /** records the steps read back before it (none: the first read-back holds refused steps) */
  records: number;
  /** a healthy run on the same device afterwards: its losses, finite and not 0 */
  healthyLosses: number[];
  /** a benchmark's trainer made beside a paused run: what its read-back threw after a refusal */
  benchError: string | null;
  /** the paused run's steps after the benchmark: their losses (the refusal was not its) */
  pausedLosses: number[];
  /** what its evaluation threw after a refusal made between its steps */
  evaluationError: string | null;
  /** a run whose only read-backs are its windows': the windows it reported before and after a refusal, and what it threw */
  windows: { before: number; after: number; error: string | null };
  /** a run whose policy switches every module at its first window, the refusal made as the switch probes the loss: what it threw, the phase events, and its modules still full */
  probe: { error: string | null; phaseEvents: number; allFull: boolean };
}

const messageOf = (run: () => Promise<unknown>) => run().then(() => null, (err: unknown) => (err as Error).message);
/** A real validation error on the device: MAP_READ with STORAGE is a usage WebGPU refuses. */
const refuse = () => (tf.backend() as unknown as { device: GPUDevice }).device.createBuffer({ size: 16, usage: 0x1 | 0x80 });

const info = await initNodeBackend(process.argv[2] === 'fused' ? 'webgpu-fused' : 'webgpu');
const data = syntheticDataset({ trainSize: 8, testSize: 4, imageSize: 8, channels: 3, numClasses: 10, difficulty: 0.3, seed: 1 });
const deep = makeConfig('micro', { model: { imageSize: 8, depth: 256 }, optim: { batchSize: 2 }, schedule: { steps: 4, warmupSteps: 1, logEvery: 2, evalEvery: 1000 } });
let error: string | null = null;
let records = 0;
const t = new Trainer(deep, data);
try {
  await t.step();
  await t.step();
  records = (await t.flush()).length;
} catch (err) {
  error = (err as Error).message;
} finally {
  t.dispose();
}
// a model within the table on the same device trains: the watch belongs to its trainer
const read: { step: number; loss: number }[] = [];
const shallow = new Trainer({ ...deep, model: { ...deep.model, depth: 2 } }, data, (e) => { if (e.type === 'progress') read.push(...e.records); });
await shallow.step();
await shallow.step();
const healthyLosses = (await shallow.flush()).map((r) => r.loss);
// the same trainer, paused, and a benchmark's trainer on the device meanwhile (the worker's case)
await shallow.step();
await shallow.flush();
const bench = new Trainer({ ...deep, model: { ...deep.model, depth: 2 } }, data);
await bench.step();
refuse();
const benchError = await messageOf(() => bench.flush());
bench.dispose();
await shallow.step(); // a log boundary: its read-back is reported as an event
await shallow.flush();
const pausedLosses = read.filter((r) => r.step === 4).map((r) => r.loss);
refuse(); // between steps, nothing pending
const evaluationError = await messageOf(() => shallow.evaluate());
shallow.dispose();
// no log read-back in 1,000 steps: a window's statistics are the first numbers read after the refusal
const quiet = {
  ...deep, model: { ...deep.model, depth: 2 }, schedule: { ...deep.schedule, steps: 40, logEvery: 1000 },
  prelora: { ...deep.prelora, mode: 'prelora' as const, windowSteps: 2, jointSteps: 2, weightThreshold: 0 },
};
let reported = 0;
const w = new Trainer(quiet, data, (e) => { if (e.type === 'window') reported++; });
const stepUntil = async (t: Trainer, done: () => boolean) => { for (let i = 0; i < 8 && !done(); i++) await t.step(); };
await stepUntil(w, () => reported > 0);
const before = reported;
refuse();
const windowError = await messageOf(() => stepUntil(w, () => reported > before));
const windows = { before, after: reported, error: windowError };
w.dispose();
// the policy switches every module at its first decision; the refusal made as the switch
// probes the loss (the probe is private: wrapped here to time the refusal, the check is the trainer's own)
let phaseEvents = 0;
const s = new Trainer({ ...quiet, prelora: { ...quiet.prelora, patience: 2, weightThreshold: 1e6, lossThreshold: 1e6 } }, data, (e) => { if (e.type === 'phase') phaseEvents++; });
const host = s as unknown as { probeLoss: () => Promise<number> };
const probeLoss = host.probeLoss.bind(s);
host.probeLoss = () => { refuse(); return probeLoss(); };
const probeError = await messageOf(() => stepUntil(s, () => phaseEvents > 0));
const probe = { error: probeError, phaseEvents, allFull: [...s.modules.values()].every((m) => m.phase === 'full') };
s.dispose();
tf.disposeVariables();
reply({ kernels: info.kernels, error, records, healthyLosses, benchError, pausedLosses, evaluationError, windows, probe } satisfies DeviceRefusalRun);
