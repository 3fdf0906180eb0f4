// The messages between the page and the training worker. Commands are declared once,
// as schemas the worker checks every message against (their types derive from them);
// events are what the worker sends back. Every run-scoped message carries the run's
// id: the worker acts only on its own run, the page drops what a reset run still sends.
import * as v from 'valibot';
import { BACKEND_CHOICES, type BackendInfo } from '../engine/backend';
import { BENCH_PRESETS, type BenchReport } from '../engine/bench/report';
import type { DatasetSource, RunConfig } from '../engine/config';
import { PRELORA_SCHEMA, RUN_CONFIG_SCHEMA } from '../engine/config/schema';
import type { DatasetInfo } from '../engine/data/preview';
import type { EngineEvent } from '../engine/events';
import { LIVE_KEYS, type PolicyUpdate } from '../engine/live';

const runId = v.pipe(v.string(), v.minLength(1));
const count = v.pipe(v.number(), v.integer(), v.minValue(1));

export const COMMAND_SCHEMAS = {
  /** start the backend (the first choice stands: a new choice is a new worker) */
  init: v.strictObject({ type: v.literal('init'), backend: v.picklist(BACKEND_CHOICES) }),
  /** stop the current run (if any) and start this one */
  start: v.strictObject({ type: v.literal('start'), runId, config: RUN_CONFIG_SCHEMA }),
  pause: v.strictObject({ type: v.literal('pause'), runId }),
  resume: v.strictObject({ type: v.literal('resume'), runId }),
  /** one step while paused */
  step: v.strictObject({ type: v.literal('step'), runId }),
  /** stop the run and let go of it */
  reset: v.strictObject({ type: v.literal('reset'), runId }),
  /** live PreLoRA settings: any of the live keys, nothing else */
  setPolicy: v.strictObject({ type: v.literal('setPolicy'), runId, update: v.partial(v.pick(PRELORA_SCHEMA, LIVE_KEYS)) }),
  forceSwitch: v.strictObject({ type: v.literal('forceSwitch'), runId, module: v.string() }),
  /** parse the user's files into the `upload` dataset; a failure keeps the previous one */
  loadDataset: v.strictObject({
    type: v.literal('loadDataset'),
    files: v.array(v.strictObject({ name: v.string(), path: v.string(), bytes: v.instance(ArrayBuffer) })),
    imageSize: count,
    seed: v.pipe(v.number(), v.integer(), v.minValue(0)),
  }),
  /** describe a built-in set (sizes, balance, samples) for the picker */
  previewDataset: v.strictObject({ type: v.literal('previewDataset'), config: RUN_CONFIG_SCHEMA }),
  /** full, static LoRA and PreLoRA (both rules) on this config and backend, interleaved per seed */
  bench: v.strictObject({ type: v.literal('bench'), config: RUN_CONFIG_SCHEMA, preset: v.picklist(BENCH_PRESETS), seeds: count }),
  stopBench: v.strictObject({ type: v.literal('stopBench') }),
};

export type CommandType = keyof typeof COMMAND_SCHEMAS;
export const COMMAND_TYPES = Object.keys(COMMAND_SCHEMAS) as CommandType[];
export type Command = { [K in CommandType]: v.InferOutput<(typeof COMMAND_SCHEMAS)[K]> }[CommandType];
export type CommandOf<K extends CommandType> = Extract<Command, { type: K }>;

export type BenchStatus =
  | { state: 'running'; done: number; total: number; label: string }
  | { state: 'done'; report: BenchReport }
  | { state: 'stopped' }
  | { state: 'failed'; message: string };

/** `failed`: the engine threw mid-run; the run is gone from the worker. */
export type RunState = 'running' | 'paused' | 'done' | 'stopped' | 'failed';

export type WorkerEvent =
  | { type: 'ready'; backend: BackendInfo }
  /** the config that really runs (the model follows the data), before the run's first event */
  | { type: 'started'; runId: string; config: RunConfig }
  | { type: 'engine'; runId: string; event: EngineEvent }
  | { type: 'state'; runId: string; state: RunState; step: number }
  /** a live change, as it applied to the run (from the decision after `step`) */
  | { type: 'policy'; runId: string; step: number; update: PolicyUpdate }
  | { type: 'dataset'; source: DatasetSource; info: DatasetInfo }
  | { type: 'bench'; status: BenchStatus }
  /** `runId`: the run it concerns (a refused start, a run that failed), else null */
  | { type: 'error'; runId: string | null; message: string };

/** What the page hears: the worker's events, and the client's word that the worker died. */
export type ClientEvent = WorkerEvent | { type: 'crashed'; message: string };
