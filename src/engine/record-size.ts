// How large a run's record grows, from its config alone: its events and its window
// history as a checkpoint's header holds them (the worker, the page and a run log keep
// the same). Every window records every module twice (its event, the rule's history),
// every step its loss, every read-back and evaluation a line: a nano run took 9.0 KB a
// step with a window every step (measured), so a run of a million steps would ask some
// 9 GB of the worker and the page, and no checkpoint could hold it.
// Each item is sized as JSON of its own type with every number at its longest, so the
// figure is a bound, not a guess; validateConfig refuses a run past RECORD_LIMIT.
import type { EngineEvent, PhaseChange, StepRecord } from './events';
import { moduleId, type ModuleWindow, type WindowRecord } from './policy';
import { FAMILIES } from './vit-families';

/**
 * What a run's record may take: what a checkpoint's header holds (100 MB, the limit
 * every safetensors reader keeps) less room for the rest of it, the config and the
 * tensors' entries: small's took 74 KB (458 tensors, measured before its first switch;
 * an adapter adds a few entries of some 130 B each), vit-l16's are some 5x that.
 */
export const RECORD_LIMIT = 96_000_000;

/** The settings that size a record. */
export interface RecordShape {
  steps: number;
  windowSteps: number;
  logEvery: number;
  evalEvery: number;
  depth: number;
  patience: number;
}

/** JSON's longest number (24 characters), so that no value makes an item longer than sized. */
const LONG = -2.2250738585072014e-308;
/** An item's bytes in the header: its JSON inside a JSON string (each quote escaped), and its comma in the list. */
const size = (v: unknown) => JSON.stringify(JSON.stringify(v)).length - 2 + 1;

/** The longest family name: the module id of the most characters at a layer. */
const LONGEST_FAMILY = FAMILIES.reduce((a, f) => (f.length > a.length ? f : a));

/** Bytes of one item of each kind, at `s`'s largest step and module ids (sized from one module: a depth is not built). */
function itemBytes(s: RecordShape) {
  const step = s.steps;
  const id = moduleId(Math.max(0, s.depth - 1), LONGEST_FAMILY);
  const module: ModuleWindow = { norm: LONG, 'normChange%': LONG, 'update%': LONG, gradNorm: LONG, 'gradChange%': LONG };
  // each module's entry in a window's modules: `"id":{...}` and its comma
  const perModule = size({ [id]: module }) - size({}) + 1;
  const modules = s.depth * FAMILIES.length;
  const window: WindowRecord = { step, windowSteps: s.windowSteps, loss: LONG, 'lossChange%': LONG, modules: {} };
  const record: StepRecord = { step, epoch: step, loss: LONG, lr: LONG };
  const memory = { numTensors: step, numBytes: LONG, numBytesInGPU: LONG };
  const change: PhaseChange = {
    module: id, from: 'joint', to: 'lora', step, rank: step,
    decidedBy: { metric: 'normChange%', value: LONG, rule: 'global', tested: Array.from({ length: Math.min(s.patience, s.steps) }, () => LONG), threshold: LONG, patience: s.patience, lossThreshold: LONG },
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
  return { ...bytes, modules, window: bytes.window + modules * perModule, history: size(window) + modules * perModule, step: size(record) };
}

/** The most bytes the record of a run of `s` takes (its JSON), and the counts behind it. */
export function recordBytes(s: RecordShape): { bytes: number; windows: number } {
  const b = itemBytes(s);
  const windows = Math.ceil(s.steps / s.windowSteps);
  const evaluations = Math.ceil(s.steps / s.evalEvery) + 1;
  // a read-back every logEvery steps, and before each window's decision and each evaluation
  const readBacks = Math.ceil(s.steps / s.logEvery) + windows + evaluations;
  // a module leaves full training once and freezes once, a parameter count after each
  const changes = 2 * b.modules;
  const bytes = windows * (b.window + b.history) + s.steps * b.step + readBacks * (b.progress + b.memory)
    + evaluations * b.evaluation + changes * b.phase + (changes + 1) * b.params;
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
 * under: a longer window, a rarer read-back (up to `maxLogEvery`), fewer steps; null when it fits.
 */
export function recordOverflow(s: RecordShape, maxLogEvery: number): { bytes: number; windows: number; modules: number; windowSteps: number | null; logEvery: number | null; steps: number } | null {
  const { bytes, windows } = recordBytes(s);
  if (bytes <= RECORD_LIMIT) return null;
  const fits = (change: Partial<RecordShape>) => recordBytes({ ...s, ...change }).bytes <= RECORD_LIMIT;
  return {
    bytes, windows, modules: s.depth * FAMILIES.length,
    windowSteps: least(s.windowSteps + 1, s.steps, (windowSteps) => fits({ windowSteps })),
    logEvery: least(s.logEvery + 1, maxLogEvery, (logEvery) => fits({ logEvery })),
    // fewer steps fit from some count down: the most that fits is one less than the least that does not
    steps: (least(1, s.steps, (steps) => !fits({ steps })) ?? s.steps + 1) - 1,
  };
}
