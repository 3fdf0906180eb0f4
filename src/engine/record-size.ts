// How large a run's record grows, from its config alone: its events and its window
// history as a checkpoint's header holds them (the worker, the page and a run log keep
// the same), with the header's config and tensor table. Every window records every
// module twice (its event, the rule's history), every step its loss, every read-back a
// line: a nano run took 9.0 KB a step with a window every step (measured), so a run of a
// million steps would ask some 9 GB of the worker and the page, and no checkpoint could
// hold it. Each item is sized as JSON of its own type with every number at its longest,
// so the figure is a bound, not a guess; validateConfig refuses a run past RECORD_LIMIT.
// Not sized: what the user adds by hand (live setting changes; a pause or a single step,
// each a read-back), at a person's pace.
import type { RunConfig } from './config';
import type { EngineEvent, PhaseChange, StepRecord } from './events';
import { MAX_HEADER_BYTES } from './io/safetensors';
import { moduleId, type ModuleWindow, type WindowRecord } from './policy';
import { countTensors } from './size';
import { FAMILIES } from './vit-families';

/** What a run's record may take: what a checkpoint's header holds (the limit every safetensors reader keeps), its config and tensor table included. */
export const RECORD_LIMIT = MAX_HEADER_BYTES;

/**
 * A checkpoint tensor's share of the header: its entry (name, dtype, shape, offsets) and
 * its line in the state's tables (the optimiser's, the modules'). Measured, all but the
 * record: nano 38,528 B for 242 tensors, tiny 56,384 for 350, small 74,328 for 458,
 * 159-162 B a tensor with the config; this leaves room for longer layer numbers and shapes.
 */
const TENSOR_BYTES = 200;
/** The config's share: a preset's took 1,052-1,066 B (measured); its fields are numbers and names of a known set. */
const CONFIG_BYTES = 2048;

/** The settings that size a record. */
export interface RecordShape {
  steps: number;
  windowSteps: number;
  logEvery: number;
  evalEvery: number;
  /** 0: saves at a pause and the end only */
  checkpointEvery: number;
  depth: number;
  patience: number;
  /** the checkpoint's tensors at most: weights, adapters, their moments, the monitor's snapshots */
  tensors: number;
}

/** The shape of a run of `cfg`: every linear of every block adapted, each trainable tensor with its two moments, a snapshot a module and two sums. */
export function recordShape(cfg: RunConfig): RecordShape {
  const { schedule: s, prelora: p, model: m } = cfg;
  const modules = FAMILIES.length * m.depth;
  return {
    steps: s.steps, windowSteps: p.windowSteps, logEvery: s.logEvery, evalEvery: s.evalEvery, checkpointEvery: s.checkpointEvery,
    depth: m.depth, patience: p.patience, tensors: 3 * countTensors(m, modules) + modules + 2,
  };
}

/** JSON's longest number (24 characters), so that no value makes an item longer than sized. */
const LONG = -2.2250738585072014e-308;
/** An item's bytes in the header: its JSON inside a JSON string (each quote escaped), and its comma in the list. */
const size = (v: unknown) => JSON.stringify(JSON.stringify(v)).length - 2 + 1;

/** The longest family name: the module id of the most characters at a layer. */
const LONGEST_FAMILY = FAMILIES.reduce((a, f) => (f.length > a.length ? f : a));

/** Bytes of one item of each kind, at `s`'s largest step and module ids (sized from one module and one value: no depth or patience is built). */
function itemBytes(s: RecordShape, windows: number) {
  const step = s.steps;
  const id = moduleId(Math.max(0, s.depth - 1), LONGEST_FAMILY);
  const module: ModuleWindow = { norm: LONG, 'normChange%': LONG, 'update%': LONG, gradNorm: LONG, 'gradChange%': LONG };
  // each module's entry in a window's modules: `"id":{...}` and its comma
  const perModule = size({ [id]: module }) - size({}) + 1;
  const modules = s.depth * FAMILIES.length;
  const window: WindowRecord = { step, windowSteps: s.windowSteps, loss: LONG, 'lossChange%': LONG, modules: {} };
  const record: StepRecord = { step, epoch: step, loss: LONG, lr: LONG };
  const memory = { numTensors: step, numBytes: LONG, numBytesInGPU: LONG };
  // a decision lists the values it tested: patience snapshots make patience - 1 changes, once there are that many windows
  const tested = Math.max(0, Math.min(s.patience - 1, windows));
  const change: PhaseChange = {
    module: id, from: 'joint', to: 'lora', step, rank: step,
    decidedBy: { metric: 'normChange%', value: LONG, rule: 'global', tested: [], threshold: LONG, patience: s.patience, lossThreshold: LONG },
    rankedBy: { metric: 'gradChange%', scope: 'family', window: step }, lossBefore: LONG, lossAfter: LONG,
  };
  const events: Record<'window' | 'progress' | 'memory' | 'evaluation' | 'phase' | 'params', EngineEvent> = {
    window: { type: 'window', window },
    progress: { type: 'progress', records: [], phase: 'mixed', samplesPerSec: LONG, seconds: LONG, cold: true, backend: 'webgpu/composite' },
    memory: { type: 'memory', step, phase: 'mixed', memory },
    evaluation: { type: 'evaluation', evaluation: { step, loss: LONG, accuracy: LONG, count: step } },
    phase: { type: 'phase', change },
    params: { type: 'params', step, total: LONG, trainable: LONG, optimizerBytes: LONG, memory },
  };
  const bytes = Object.fromEntries(Object.entries(events).map(([k, e]) => [k, size(e)])) as Record<keyof typeof events, number>;
  return {
    ...bytes, modules, step: size(record),
    window: bytes.window + modules * perModule,
    history: size(window) + modules * perModule,
    phase: bytes.phase + tested * (String(LONG).length + 1), // each value and its comma
  };
}

/** The most bytes a run of `s` puts in its checkpoint's header (its record, config and tensor table), and its windows. */
export function recordBytes(s: RecordShape): { bytes: number; windows: number } {
  const windows = Math.ceil(s.steps / s.windowSteps);
  const b = itemBytes(s, windows);
  const evaluations = Math.ceil(s.steps / s.evalEvery) + 1;
  // a module leaves full training once and freezes once, a parameter count after each
  const changes = 2 * b.modules;
  // a read-back every logEvery steps, and before each window's decision, each evaluation,
  // each save (and the last), each freeze or switch by hand; a step's loss comes back once
  const saves = (s.checkpointEvery > 0 ? Math.ceil(s.steps / s.checkpointEvery) : 0) + 1;
  const readBacks = Math.ceil(s.steps / s.logEvery) + windows + evaluations + saves + changes;
  // each window's event and its place in the rule's history, and the monitor's last window beside them
  const bytes = windows * b.window + (windows + 1) * b.history + s.steps * b.step + Math.min(s.steps, readBacks) * b.progress + readBacks * b.memory
    + evaluations * b.evaluation + changes * b.phase + (changes + 1) * b.params + s.tensors * TENSOR_BYTES + CONFIG_BYTES;
  return { bytes, windows };
}

/** The smallest value in [lo, hi] at which `fits` holds (it holds from some value on), or null. */
function least(lo: number, hi: number, fits: (v: number) => boolean): number | null {
  if (lo > hi || !fits(hi)) return null;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * A run whose record would pass RECORD_LIMIT, with each change that alone brings it
 * under: a longer window, a rarer read-back (up to `maxLogEvery`), rarer saves, fewer
 * steps (0: none does, the model's depth alone is too much); null when it fits.
 */
export function recordOverflow(s: RecordShape, maxLogEvery: number): {
  bytes: number; windows: number; modules: number; windowSteps: number | null; logEvery: number | null; checkpointEvery: number | null; steps: number;
} | null {
  const { bytes, windows } = recordBytes(s);
  if (bytes <= RECORD_LIMIT) return null;
  const fits = (change: Partial<RecordShape>) => recordBytes({ ...s, ...change }).bytes <= RECORD_LIMIT;
  return {
    bytes, windows, modules: s.depth * FAMILIES.length,
    windowSteps: least(s.windowSteps + 1, s.steps, (windowSteps) => fits({ windowSteps })),
    logEvery: least(s.logEvery + 1, maxLogEvery, (logEvery) => fits({ logEvery })),
    // a save reads back the steps since the last read-back: rarer saves, or none between (0), read back less
    checkpointEvery: s.checkpointEvery === 0 ? null : least(s.checkpointEvery + 1, s.steps, (checkpointEvery) => fits({ checkpointEvery })),
    // fewer steps fit up to some count: one less than the least that does not (s.steps does not)
    steps: least(1, s.steps, (steps) => !fits({ steps }))! - 1,
  };
}
