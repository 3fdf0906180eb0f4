// A dedicated module worker that owns one engine: it starts the backend once, trains
// on request, forwards engine events as they are, and yields between steps so a
// `stop` is heard at once. User mistakes come back as `error` events, never a crash.
import { initBrowserBackend } from '../engine/backend-browser';
import type { BackendInfo } from '../engine/backend';
import { validateConfig } from '../engine/config';
import { syntheticDataset } from '../engine/data/synthetic';
import { Trainer } from '../engine/trainer';
import type { Command, WorkerEvent } from './protocol';

const post = (e: WorkerEvent) => (self as unknown as Worker).postMessage(e);

let backend: Promise<BackendInfo> | null = null;
let trainer: Trainer | null = null;
let stopRequested = false;

// A macrotask, so queued messages (stop) are delivered between steps.
const nextTask = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

async function start(cmd: Extract<Command, { type: 'start' }>): Promise<void> {
  backend ??= initBrowserBackend(cmd.backend).then((info) => {
    post({ type: 'ready', backend: info });
    return info;
  });
  const info = await backend;
  const problems = validateConfig(cmd.config, info.memoryBudgetBytes);
  if (problems.length) {
    post({ type: 'error', message: problems.map((p) => `${p.path}: ${p.message}`).join('\n'), fatal: false });
    return;
  }
  const { model, data, seed } = cmd.config;
  const dataset = syntheticDataset({
    trainSize: data.trainSize, testSize: data.testSize, imageSize: model.imageSize, channels: model.channels,
    numClasses: model.numClasses, difficulty: data.difficulty, seed,
  });
  trainer?.dispose();
  trainer = new Trainer(cmd.config, dataset, (event) => post({ type: 'engine', event }));
  stopRequested = false;
  post({ type: 'started' });
  await trainer.run(undefined, async () => {
    await nextTask();
    return !stopRequested;
  });
  post({ type: 'done', step: trainer.step });
}

self.onmessage = (msg: MessageEvent<Command>) => {
  const cmd = msg.data;
  if (cmd.type === 'stop') {
    stopRequested = true;
    return;
  }
  start(cmd).catch((err: unknown) => {
    post({ type: 'error', message: err instanceof Error ? err.message : String(err), fatal: true });
  });
};
