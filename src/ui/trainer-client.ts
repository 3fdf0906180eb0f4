// The page's handle on the training worker: spawn it once, send typed commands,
// route its events into the store.
import type { BackendChoice } from '../engine/backend';
import type { RunConfig } from '../engine/config';
import type { Command } from '../worker/protocol';
import { useStore } from './store';

let worker: Worker | null = null;

function ensureWorker(): Worker {
  if (worker) return worker;
  worker = new Worker(new URL('../worker/train.worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (msg) => useStore.getState().onWorkerEvent(msg.data);
  worker.onerror = (e) => {
    useStore.getState().onWorkerEvent({ type: 'error', message: `the training worker crashed: ${e.message}`, fatal: true });
    worker = null;
  };
  return worker;
}

export function send(cmd: Command): void {
  ensureWorker().postMessage(cmd);
}

export function startRun(config: RunConfig, backend: BackendChoice): void {
  useStore.getState().reset();
  useStore.getState().setStatus('starting');
  send({ type: 'start', config, backend });
}
