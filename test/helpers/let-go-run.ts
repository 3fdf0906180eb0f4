// Read-backs on their way, for real on WebGPU (Dawn), on the op-by-op fused path, whose
// reads are stacked tensors' copies mapped asynchronously: a run let go while its log
// interval's read-back is on its way reports nothing more and leaves no tensor behind
// once the read lands; a window's statistics on their way at a log boundary are not
// counted in its memory reading (the run holds the same tensors as at one without).
// Run as a script in a child process (Dawn's driver is chosen by environment):
//   node --import tsx let-go-run.ts
// prints one JSON line.
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../../src/engine/backend-node';
import { makeConfig } from '../../src/engine/config';
import { syntheticDataset } from '../../src/engine/data/synthetic';
import type { EngineEvent } from '../../src/engine/events';
import { Trainer } from '../../src/engine/trainer';
import { reply } from './dawn';

export interface LetGoRun {
  kernels: string;
  /** whether step 5's read-back was still on its way when the run was let go, its tensors held (else the check proves nothing) */
  inFlight: boolean;
  /** events after the run was let go, once the device finished */
  after: string[];
  /** tensors alive then, over those before the run */
  tensorsLeft: number;
  /** a run's memory reading (tensors) at step 10, a window end whose read-back was on its way, and the tensors alive once the run ended there (everything read) */
  windowEnd: { step: number; tensors: number }[];
  settled: number;
}

if (process.argv[1]?.endsWith('let-go-run.ts')) {
  const info = await initNodeBackend('webgpu-fused');
  const before = tf.memory().numTensors;
  const cfg = makeConfig('micro', { optim: { batchSize: 8 }, data: { trainSize: 64, testSize: 16 }, schedule: { steps: 20, warmupSteps: 2, logEvery: 5, evalEvery: 1000 } });
  const data = syntheticDataset({ trainSize: 64, testSize: 16, imageSize: cfg.model.imageSize, channels: cfg.model.channels, numClasses: cfg.model.numClasses, difficulty: 0.5, seed: 1 });
  const events: EngineEvent[] = [];
  const trainer = new Trainer(cfg, data, (e) => events.push(e));
  for (let i = 0; i < 5; i++) await trainer.step(); // step 5 starts the read-back of steps 1-5
  const seen = events.length;
  trainer.dispose();
  // its progress waits for the next step whether or not the numbers landed: what it holds
  // says (the steps' losses and norms, freed as they land)
  const inFlight = tf.memory().numTensors > before;
  // the device finishes what was queued (SwiftShader runs seconds behind the host), then
  // a turn of the event loop lets the read's handlers run
  await (tf.backend() as unknown as { device: GPUDevice }).device.queue.onSubmittedWorkDone();
  await new Promise((r) => setTimeout(r, 100));
  const tensorsLeft = tf.memory().numTensors - before;

  const second: EngineEvent[] = [];
  const run = new Trainer({ ...cfg, prelora: { ...cfg.prelora, mode: 'full', windowSteps: 10 } }, data, (e) => second.push(e));
  await run.run(10);
  const windowEnd = second.flatMap((e) => (e.type === 'memory' && e.step === 10 ? [{ step: e.step, tensors: e.memory.numTensors }] : []));
  const settled = tf.memory().numTensors;
  run.dispose();
  reply({ kernels: info.kernels, inFlight, after: events.slice(seen).map((e) => e.type), tensorsLeft, windowEnd, settled } satisfies LetGoRun);
}
