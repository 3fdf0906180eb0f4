// The typed messages between the page and the training worker.
import type { BackendChoice, BackendInfo } from '../engine/backend';
import type { RunConfig } from '../engine/config';
import type { EngineEvent } from '../engine/trainer';

export type Command =
  | { type: 'start'; config: RunConfig; backend: BackendChoice }
  | { type: 'stop' };

export type WorkerEvent =
  | { type: 'ready'; backend: BackendInfo }
  | { type: 'started' }
  | { type: 'engine'; event: EngineEvent }
  | { type: 'done'; step: number }
  | { type: 'error'; message: string; fatal: boolean };
