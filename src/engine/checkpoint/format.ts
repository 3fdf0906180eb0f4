// A training checkpoint as one file (pure, no tfjs): a safetensors file whose tensors
// are the run's weights, adapters, optimiser moments and the monitor's window in
// progress (float32, exact), and whose string metadata holds the rest as JSON: the
// format and its version, the config that ran, the trainer's plain state (step, data
// order and generator, phases and ranks, live settings, window history) and the run's
// event log, with a CRC-32 of the tensor bytes. A file that is not one, of another
// version, truncated or corrupted is refused with a message that names it; nothing is
// taken from it.
import { validateConfig, formatBytes, formatErrors, type PreLoRAConfig, type RunConfig } from '../config';
import type { BatcherState } from '../data/dataset';
import { printable } from '../data/names';
import type { EngineEvent, Phase, RunPhase } from '../events';
import { ModelFileError } from '../io/errors';
import { HeaderTooLargeError, MAX_HEADER_BYTES, parseHeader, readSafetensors, toFloat32, writeSafetensors } from '../io/safetensors';
import type { WindowRecord } from '../policy';
import type { PolicyChange } from '../run-record';

export const CHECKPOINT_FORMAT = 'prelora-checkpoint';
/** Bump when a field's meaning changes: a checkpoint of another version is refused, not guessed at. */
export const CHECKPOINT_VERSION = 1;

/** A tensor's values on the host, row-major. */
export interface HostArray {
  shape: number[];
  data: Float32Array;
}

export interface RampState {
  from: number;
  steps: number;
}

/** The trainer's state that is not a tensor. Tensors are named in `Checkpoint.tensors` (see TENSOR). */
export interface TrainingState {
  /** optimiser steps completed */
  step: number;
  batcher: BatcherState;
  /** the run's phase at the last read-back (the next progress event's) */
  phase: RunPhase;
  controller: {
    settings: PreLoRAConfig;
    modules: { id: string; phase: Phase; rank: number | null; switchedAt: number | null; jointSteps?: number; alpha: number | null }[];
    history: WindowRecord[];
    forced: string[];
  };
  /** the window in progress: steps, per module the steps its base had a gradient, modules frozen in it */
  monitor: { steps: number; previous: WindowRecord | null; gradSteps: number[]; releasing: string[] };
  /** AdamW: its update count and whole-model re-warm, per variable its t, re-warm and whether it has moments */
  optimizer: { updates: number; modelRewarm: RampState | null; params: Record<string, { t: number; rewarm: RampState | null; moments: boolean }> };
}

/** The run's record up to the checkpoint: every event and live change, for the charts to continue. */
export interface RunLog {
  events: EngineEvent[];
  policyChanges: PolicyChange[];
}

export interface Checkpoint {
  config: RunConfig;
  state: TrainingState;
  tensors: Map<string, HostArray>;
  log: RunLog;
}

/** Tensor names in a checkpoint. */
export const TENSOR = {
  weight: (name: string) => `model/${name}`,
  moment: (name: string, which: 'm' | 'v') => `optim/${name}/${which}`,
  snapshot: (module: string) => `monitor/snapshot/${module}`,
  gradSum: 'monitor/gradSum',
  lossSum: 'monitor/lossSum',
} as const;

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** Slicing-by-8 tables: T[k][n] is the CRC of byte n followed by k zero bytes. */
const SLICES = (() => {
  const t = [CRC_TABLE];
  for (let k = 1; k < 8; k++) t.push(Uint32Array.from(t[k - 1]!, (c) => (c >>> 8) ^ CRC_TABLE[c & 0xff]!));
  return t as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
})();

/**
 * CRC-32 (the zip and PNG one) of the parts one after another, eight bytes a round
 * (slicing-by-8): a tiny checkpoint's 41 MB took 1.13 s a byte at a time and 0.54 s
 * so (measured on a busy 2-core VM).
 */
export function crc32(...parts: Uint8Array[]): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = SLICES;
  let c = 0xffffffff;
  for (const b of parts) {
    let i = 0;
    for (const end = b.length - 7; i < end; i += 8) {
      const lo = (c ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24))) >>> 0;
      c = t7[lo & 0xff]! ^ t6[(lo >>> 8) & 0xff]! ^ t5[(lo >>> 16) & 0xff]! ^ t4[lo >>> 24]!
        ^ t3[b[i + 4]!]! ^ t2[b[i + 5]!]! ^ t1[b[i + 6]!]! ^ t0[b[i + 7]!]!;
    }
    for (; i < b.length; i++) c = t0[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

const hex = (n: number) => n.toString(16).padStart(8, '0');

const JSON_PARTS = ['config', 'state', 'log'] as const;

/**
 * The checksum of everything but the format and version: the JSON parts, each tensor's
 * name and shape, and the data section (the tensors' bytes in name order, as the writer
 * lays float32 tensors out).
 */
export function checksum(json: Record<(typeof JSON_PARTS)[number], string>, entries: [string, number[]][], data: Uint8Array[]): string {
  const text = new TextEncoder().encode(JSON.stringify([JSON_PARTS.map((k) => json[k]), entries]));
  return hex(crc32(text, ...data));
}

const byName = <T>(list: [string, T][]) => list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** A checkpoint whose run's record is more than the file's header holds: its message says what to change. */
export class RecordTooLargeError extends Error {
  override name = 'RecordTooLargeError';
}

/** The checkpoint file of `c`; `maxHeaderBytes` (tests only) lowers the header's limit. */
export function encodeCheckpoint(c: Checkpoint, maxHeaderBytes = MAX_HEADER_BYTES): Uint8Array {
  const sorted = byName([...c.tensors]);
  // the state and the log ride in the header: a nano run's record takes 9.0 KB of it a
  // step with a window every step (full near step 11,000), 460 B a step at nano's
  // defaults (a window every 25 steps, a read-back every 10: full near 217,000). A run
  // that would outgrow it is refused before it starts (record-size.ts); a saved run of
  // an older page, which keeps the window it ran with, may still, and is refused here
  const tooLarge = (size: string, err: unknown) => new RecordTooLargeError(`the run's record (its events and window history, ${size}) is more than a checkpoint holds ` +
    `(${formatBytes(maxHeaderBytes)}): its saved run, if it has one, stays as it was last saved; a longer prelora.windowSteps or schedule.logEvery records less a step`, { cause: err });
  let json: Record<(typeof JSON_PARTS)[number], string>;
  try {
    json = { config: JSON.stringify(c.config), state: JSON.stringify(c.state), log: JSON.stringify(c.log) };
  } catch (err) {
    // past the longest string V8 makes (about 2^29 characters): "Invalid string length"
    if (err instanceof RangeError) throw tooLarge('longer than the longest text JavaScript makes', err);
    throw err;
  }
  const sum = checksum(json, sorted.map(([n, t]) => [n, t.shape]), sorted.map(([, t]) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)));
  try {
    return writeSafetensors(c.tensors, { format: CHECKPOINT_FORMAT, version: String(CHECKPOINT_VERSION), crc32: sum, ...json }, maxHeaderBytes);
  } catch (err) {
    if (err instanceof HeaderTooLargeError) throw tooLarge(formatBytes(err.bytes), err);
    throw err;
  }
}

/** Read a checkpoint file whole; refused with a CheckpointError (it names `file`) when it is not one this version can resume. */
export function decodeCheckpoint(bytes: Uint8Array, file: string): Checkpoint {
  const refuse = (why: string): never => {
    throw new ModelFileError(`${file}: ${why}`);
  };
  let read: ReturnType<typeof readSafetensors>;
  try {
    read = readSafetensors(bytes, file);
  } catch (err) {
    return refuse(`not a readable checkpoint (${(err as Error).message.replace(`${printable(file)}: `, '')})`); // its message is printable
  }
  const meta = read.metadata ?? {};
  if (meta.format !== CHECKPOINT_FORMAT) return refuse(`not a PreLoRA checkpoint (its format is ${JSON.stringify(meta.format ?? null)})`);
  if (meta.version !== String(CHECKPOINT_VERSION)) {
    return refuse(`a checkpoint of version ${JSON.stringify(meta.version ?? null)}: this page resumes version ${CHECKPOINT_VERSION} only; delete it, or resume it with the version that saved it`);
  }
  const header = parseHeader(bytes, bytes.length, file);
  const entries = byName(header.entries.map((e): [string, number[]] => [e.name, e.shape]));
  const json = Object.fromEntries(JSON_PARTS.map((k) => [k, meta[k] ?? ''])) as Record<(typeof JSON_PARTS)[number], string>;
  const sum = checksum(json, entries, [bytes.subarray(header.dataStart)]);
  if (sum !== meta.crc32) return refuse(`it is corrupted (CRC-32 ${sum}, saved as ${meta.crc32 ?? 'nothing'}): delete it`);
  const parse = <T>(key: (typeof JSON_PARTS)[number]): T => {
    try {
      return JSON.parse(json[key]) as T;
    } catch {
      return refuse(`its ${key} is not valid JSON: the file is corrupted; delete it`);
    }
  };
  const config = parse<RunConfig>('config');
  // its ranks and window as it ran (a config of null is named there, not here)
  const errors = validateConfig(config, { ranWith: (config as RunConfig | null)?.prelora });
  // on one line: a ModelFileError's message is printable, a line break shown as \x0a
  if (errors.length) refuse(`its config is not valid here: ${formatErrors(errors).split('\n').join('; ')}`);
  const state = parse<TrainingState>('state');
  if (!Number.isInteger(state?.step) || !Array.isArray(state.controller?.modules) || typeof state.optimizer?.params !== 'object') {
    refuse('its state is incomplete: the file is corrupted; delete it');
  }
  const log = parse<RunLog>('log');
  if (!Array.isArray(log?.events) || !Array.isArray(log.policyChanges)) refuse('its event log is incomplete: the file is corrupted; delete it');
  const tensors = new Map<string, HostArray>();
  for (const [name, t] of read.tensors) tensors.set(name, { shape: t.shape, data: toFloat32(t, name, file) });
  return { config, state, tensors, log };
}
