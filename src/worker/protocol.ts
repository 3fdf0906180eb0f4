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
import type { PolicyChange } from '../engine/run-record';
import { PEFT_NAMINGS, type PeftNaming } from '../engine/io/hf-names';
import { LIVE_KEYS, type PolicyUpdate } from '../engine/live';
import type { SavedRunInfo } from './saved-runs';

/** Characters of an id or a name the page makes (a run's, a module's): far more is no id. */
const MAX_ID_CHARS = 200;
/** Characters of a file's name or path: the longest path a file system takes. */
const MAX_PATH_CHARS = 4096;

const runId = v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_ID_CHARS));
const count = v.pipe(v.number(), v.integer(), v.minValue(1));
const name = v.pipe(v.string(), v.maxLength(MAX_ID_CHARS));
const fileName = v.pipe(v.string(), v.maxLength(MAX_PATH_CHARS));

export const COMMAND_SCHEMAS = {
  /** start the backend (the first choice stands: a new choice is a new worker) */
  init: v.strictObject({ type: v.literal('init'), backend: v.picklist(BACKEND_CHOICES) }),
  /** stop the current run (if any) and start this one; `name`: what its saved checkpoints are listed by */
  start: v.strictObject({ type: v.literal('start'), runId, config: RUN_CONFIG_SCHEMA, name: v.optional(name), preset: v.optional(v.nullable(name)) }),
  /** stop the current run (if any) and bring back a saved one, paused where it was saved, as run `runId` */
  restore: v.strictObject({ type: v.literal('restore'), runId, savedId: runId }),
  /**
   * stop the current run (if any) and start run `runId` from saved run `savedId`'s branch
   * point at `step` with the live settings `update` (a what-if branch), training
   */
  branch: v.strictObject({
    type: v.literal('branch'), runId, savedId: runId, step: v.pipe(v.number(), v.integer(), v.minValue(0)), name,
    update: v.partial(v.pick(PRELORA_SCHEMA, LIVE_KEYS)),
  }),
  pause: v.strictObject({ type: v.literal('pause'), runId }),
  resume: v.strictObject({ type: v.literal('resume'), runId }),
  /** one step while paused */
  step: v.strictObject({ type: v.literal('step'), runId }),
  /** stop the run and let go of it */
  reset: v.strictObject({ type: v.literal('reset'), runId }),
  /** live PreLoRA settings: any of the live keys, nothing else */
  setPolicy: v.strictObject({ type: v.literal('setPolicy'), runId, update: v.partial(v.pick(PRELORA_SCHEMA, LIVE_KEYS)) }),
  forceSwitch: v.strictObject({ type: v.literal('forceSwitch'), runId, module: name }),
  /** parse the user's files into the `upload` dataset; a failure keeps the previous one */
  loadDataset: v.strictObject({
    type: v.literal('loadDataset'),
    files: v.array(v.strictObject({ name: fileName, path: fileName, bytes: v.instance(ArrayBuffer) })),
    imageSize: count,
    seed: v.pipe(v.number(), v.integer(), v.minValue(0)),
  }),
  /** describe a built-in set (sizes, balance, samples) for the picker */
  previewDataset: v.strictObject({ type: v.literal('previewDataset'), config: RUN_CONFIG_SCHEMA }),
  /** full, static LoRA and PreLoRA (both rules) on this config and backend, interleaved per seed */
  bench: v.strictObject({ type: v.literal('bench'), config: RUN_CONFIG_SCHEMA, preset: v.picklist(BENCH_PRESETS), seeds: count }),
  stopBench: v.strictObject({ type: v.literal('stopBench') }),
  /** the held run's model as a zip of the engine's export (HF model, base + PEFT adapter, plan, interop bundle) */
  exportModel: v.strictObject({ type: v.literal('exportModel'), runId, naming: v.picklist(PEFT_NAMINGS) }),
  /** weights for the next runs to start from (a model.safetensors, and its config.json if given), checked against `config` */
  loadWeights: v.strictObject({
    type: v.literal('loadWeights'),
    files: v.array(v.strictObject({ name: fileName, bytes: v.instance(ArrayBuffer) })),
    config: RUN_CONFIG_SCHEMA,
  }),
  /** start the next runs from a fresh model again */
  clearWeights: v.strictObject({ type: v.literal('clearWeights') }),
};

export type CommandType = keyof typeof COMMAND_SCHEMAS;
export const COMMAND_TYPES = Object.keys(COMMAND_SCHEMAS) as CommandType[];
/**
 * Commands the page waits on for their answer (an upload's `dataset`, weights' `weights`,
 * an export's `model`), showing it meanwhile: an error in their place says which it
 * answers, so that the page ends that wait only, not another one still on its way.
 */
export const AWAITED_COMMANDS = ['loadDataset', 'loadWeights', 'exportModel'] as const satisfies readonly CommandType[];
export type AwaitedCommand = (typeof AWAITED_COMMANDS)[number];
export type Command = { [K in CommandType]: v.InferOutput<(typeof COMMAND_SCHEMAS)[K]> }[CommandType];
export type CommandOf<K extends CommandType> = Extract<Command, { type: K }>;

export type BenchStatus =
  | { state: 'running'; done: number; total: number; label: string }
  | { state: 'done'; report: BenchReport }
  | { state: 'stopped' }
  | { state: 'failed'; message: string };

/** Weights the next runs start from, as the page shows them. */
export interface WeightsInfo {
  /** the file's name, printable (escaped by the engine) */
  file: string;
  bytes: number;
  tensors: number;
  /** the config.json that came with it (printable), if one did */
  config: string | null;
  /** tensors the next run's model has no use for (e.g. a pooler): a few named, then how many more; '' for none */
  ignored: string;
}

/** `failed`: the engine threw mid-run; the run is gone from the worker. */
export type RunState = 'running' | 'paused' | 'done' | 'stopped' | 'failed';

export type WorkerEvent =
  | { type: 'ready'; backend: BackendInfo }
  /** the config that really runs (the model follows the data), and the weights it starts from, before the run's first event */
  | { type: 'started'; runId: string; config: RunConfig; init: string | null }
  | { type: 'engine'; runId: string; event: EngineEvent }
  | { type: 'state'; runId: string; state: RunState; step: number }
  /** the step a run has reached, when its progress has not said so for a while (TICK_MS): a slow step still moves the page's count */
  | { type: 'tick'; runId: string; step: number }
  /** a live change, as it applied to the run (from the decision after `step`) */
  | { type: 'policy'; runId: string; step: number; update: PolicyUpdate }
  /** `key`: a built-in set's preview names the set it describes (builtinDataKey), so the page drops an answer to an older request */
  | { type: 'dataset'; source: DatasetSource; info: DatasetInfo; key?: string }
  | { type: 'bench'; status: BenchStatus }
  /** the run whose model the worker holds (training, paused or finished: the latest), or null */
  | { type: 'held'; run: string | null }
  /** a run's model export, zipped; `files` as in the zip; `naming`: the adapter's, as asked (the file is named for it) */
  | { type: 'model'; runId: string; zip: ArrayBuffer; files: string[]; naming: PeftNaming }
  /** the weights the next runs start from, or null for a fresh model */
  | { type: 'weights'; weights: WeightsInfo | null }
  /** a run's checkpoint saved (IndexedDB), as the saved-runs list shows it */
  | { type: 'saved'; runId: string; info: SavedRunInfo }
  /** a saved run brought back (after its `started`): everything it reported before, for the charts to go on from */
  | { type: 'restored'; runId: string; events: EngineEvent[]; policyChanges: PolicyChange[] }
  /** `runId`: the run it concerns (a refused start, a run that failed), else null; `about`: the awaited command it answers, if any */
  | { type: 'error'; runId: string | null; message: string; about?: AwaitedCommand };

/** What the page hears: the worker's events, and the client's word that the worker died. */
export type ClientEvent = WorkerEvent | { type: 'crashed'; message: string };
