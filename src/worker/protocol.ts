// The typed messages between the page and the training worker. Every run-scoped
// message carries the run's id, so the page can drop what a reset run still sends.
import type { BackendChoice, BackendInfo } from '../engine/backend';
import type { RunConfig } from '../engine/config';
import type { EngineEvent } from '../engine/events';
import type { PolicyUpdate } from '../engine/prelora';
import type { DatasetInfo } from '../engine/data/preview';
import type { BenchReport } from '../engine/bench/report';

export type Command =
  | { type: 'init'; backend: BackendChoice }
  | { type: 'start'; runId: string; config: RunConfig }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'step' }
  | { type: 'stop' }
  | { type: 'reset' }
  | { type: 'setPolicy'; update: PolicyUpdate }
  | { type: 'forceSwitch'; module: string }
  | { type: 'evaluate' }
  /** parse the user's files into the `upload` dataset; a failure keeps the previous one */
  | { type: 'loadDataset'; files: { name: string; path: string; bytes: ArrayBuffer }[]; imageSize: number; seed: number }
  /** describe a built-in set (sizes, balance, samples) for the picker */
  | { type: 'previewDataset'; config: RunConfig }
  /** full, static LoRA and PreLoRA (both rules) on this config and backend, interleaved per seed */
  | { type: 'bench'; config: RunConfig; preset: string; seeds: number }
  | { type: 'stopBench' };

export type BenchStatus =
  | { state: 'running'; done: number; total: number; label: string }
  | { state: 'done'; report: BenchReport }
  | { state: 'stopped' }
  | { state: 'failed'; message: string };

export type RunState = 'running' | 'paused' | 'done' | 'stopped';

export type WorkerEvent =
  | { type: 'ready'; backend: BackendInfo }
  | { type: 'engine'; runId: string; event: EngineEvent }
  | { type: 'state'; runId: string; state: RunState; step: number }
  | { type: 'policy'; runId: string; update: PolicyUpdate }
  | { type: 'dataset'; source: 'synthetic' | 'mnist' | 'upload'; info: DatasetInfo }
  | { type: 'bench'; status: BenchStatus }
  | { type: 'error'; runId: string | null; message: string; fatal: boolean };
