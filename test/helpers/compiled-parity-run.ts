// The same seeded PreLoRA run of a micro ViT on WebGPU twice: the recorded step replayed
// (compiled), then the fused ops run op by op through tfjs's tape (fused). Four modules
// are switched by hand at step 12 (a full phase, a joint phase, a frozen LoRA phase);
// or (`policy`) the policy switches every module itself at a window's end, which the
// compiled path decides after queueing the next step ahead of the decision (and twice
// more, compiled: paused at that window's end, and stepped to it with a live change
// made while its decision waits; the trained input gradients on the named tile, as in
// `wide`); or (`wide`) the hand switch at batch 8 (136 rows: two
// rows of wide tiles) on small's kernels: every forward without an adapter on the named
// tile (NAMED_FORWARD's thresholds lowered), every trained base's input gradient there
// too in the replay (over its weight transposed, NAMED_INPUT_GRAD's lowered), every
// other forward and input gradient on the wide tile (GEMM_WIDE's thresholds at 1), every trained base's weight
// gradient on a named tile (NAMED_WGRAD's sides lowered: fc1 and fc2 on 8 x 8), which
// the micro model's small products otherwise never take; the fused path runs first there, so the kernels it
// makes are its own; or (`tiled`) the hand switch on micro's blocks at head width 64 and
// 65 tokens (32 x 32 images, one head of 64), whose attention runs on register tiles.
// Run as a script in a child process (Dawn's driver is chosen by environment):
//   node --import tsx compiled-parity-run.ts SPEC...   (SPEC: STEPS[:plain|policy|wide|tiled]; plain: no augmentation)
// prints one JSON line: each spec's runs, with each path's losses, weights, recordings
// and kernels per step.
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '../../src/engine/backend-node';
import { setKernels } from '../../src/engine/kernel-path';
import type { RecordedStep } from '../../src/engine/compiled/record';
import { GEMM_WIDE } from '../../src/engine/ops/webgpu/gemm';
import { kernelKeys } from '../../src/engine/ops/webgpu/kernel';
import { NAMED_WGRAD } from '../../src/engine/ops/webgpu/named-wgrad';
import { NAMED_FORWARD } from '../../src/engine/ops/webgpu/named-forward';
import { NAMED_INPUT_GRAD } from '../../src/engine/ops/webgpu/named-input-grad';
import { Trainer } from '../../src/engine/trainer';
import { reply } from './dawn';
import { microRun, trainWithSwitch } from './path-parity-run';
import type { RunConfig } from '../../src/engine/config';

export interface CompiledRun {
  losses: number[];
  weights: Record<string, number[]>;
  frozen: string[];
  /** the monitor's window records' losses and gradient norms: the device-side sums */
  windows: { loss: number; gradNorms: number[] }[];
  /** the steps at which modules switched (joint) and froze (LoRA), in event order */
  phases: { module: string; to: string; step: number }[];
  /** steps queued ahead of a window's decision: committed, and taken back by a switch */
  ahead: { committed: number; withdrawn: number };
  /**
   * compiled only, the last recording's commit point: the launch before it, its index and
   * the launches in all, and whether the arena counts the optimiser's table (a uniform)
   * and the loss (a step's own) as scratch
   */
  commit: { before: string | null; at: number; of: number; scratch: { table: boolean; loss: boolean } } | null;
  /** compiled only: recordings made, and kernels per step by name in the last phase */
  recordings: number;
  /**
   * The forward and input-gradient kernels by tile (the key's TMxTNxTK/RMxRN): compiled,
   * the last recording's launches; fused, the kernels first made during its run (each once)
   */
  productTiles: Record<string, number>;
  /** Named-tile kernels (weight gradients, forwards, input gradients) by name and tile (`NAME TMxTNxTK/RMxRN`), counted as productTiles are */
  namedTiles: Record<string, number>;
  /** the weight gradients each launch of several ran (its key's `/xN`), in the last recording's order; empty op by op */
  groupedWgrads: number[];
  /** whether a frozen base's thin gradients rode in an input-gradient launch of the last recording; null op by op (no recording) */
  rode: boolean | null;
  /** the attention kernels' keys of the last recording (op by op: those this run made) */
  attention: string[];
  kernels: Record<string, number> | null;
  tensors: number;
}

/** Each weight's largest difference between two runs, relative to its largest magnitude in `ref` (at least 1e-6). */
export function weightErrors(ref: CompiledRun, other: CompiledRun): Record<string, number> {
  return Object.fromEntries(Object.entries(ref.weights).map(([name, w]) => {
    const scale = Math.max(...w.map(Math.abs), 1e-6);
    return [name, Math.max(...w.map((x, i) => Math.abs(x - other.weights[name]![i]!))) / scale];
  }));
}

/** How a policy run is driven: in one go, stopped once (`pause`), or a step at a time with a live change between. */
export type Drive = { pauseAt: number; live: boolean };

/**
 * `policy`: no hand switch, the policy switches; `drive.pauseAt`: the run stops there and
 * goes on (a pause at a window's end: its decision is made by the stop's read-back, not a
 * step later); with `drive.live`, it steps there one step at a time (no stop's read-back)
 * and then takes a live change that no window passes, which must not reach the decision
 * on that window's statistics.
 */
export async function parityRun(kernels: 'compiled' | 'fused', steps: number, augment: boolean | undefined, policy = false, drive: Drive = { pauseAt: 0, live: false }, batch?: number, model?: Partial<RunConfig['model']>): Promise<CompiledRun> {
  setKernels(kernels);
  const before = new Set(kernelKeys());
  const { cfg, data } = microRun(steps, augment, model);
  if (batch) cfg.optim.batchSize = batch;
  // patience 2: from the second window on every window could switch (only its own
  // statistics are still unknown at its end), so the compiled path queues the next step
  // ahead of each decision; with thresholds every window passes, the global rule then
  // switches every module at the second window, taking that step back
  cfg.prelora = { ...cfg.prelora, patience: 2, ...(policy ? { weightThreshold: 1e6, lossThreshold: 1e6 } : {}) };
  const losses: number[] = [];
  const windows: CompiledRun['windows'] = [];
  const phases: CompiledRun['phases'] = [];
  const t = new Trainer(cfg, data, (e) => {
    if (e.type === 'progress') losses.push(...e.records.map((r) => r.loss));
    if (e.type === 'window') windows.push({ loss: e.window.loss, gradNorms: Object.values(e.window.modules).map((m) => m.gradNorm) });
    if (e.type === 'phase') phases.push({ module: e.change.module, to: e.change.to, step: e.change.step });
  });
  const { weights, frozen } = policy ? await trainAlone(t, steps, drive) : await trainWithSwitch(t, steps);
  const step = (t as unknown as { compiled: { recordings: number; recorded: RecordedStep | null } | null }).compiled;
  const recordings = step?.recordings ?? 0;
  const r = step?.recorded ?? null;
  const commit = r && {
    before: r.dispatches[r.commitAt - 1]?.kernel.name ?? null, at: r.commitAt, of: r.dispatches.length,
    scratch: { table: r.arena.isScratch(r.table), loss: r.arena.isScratch(r.loss) },
  };
  const keys = r ? r.dispatches.map((d) => d.kernel.key) : kernelKeys().filter((k) => !before.has(k));
  const productTiles = tilesOf(keys, ['linear.forward', 'linear.input-grad']);
  const namedTiles = tilesOf(keys, ['linear.weight-grad-named', 'linear.forward-named', 'linear.input-grad-named'], true);
  const groupedWgrads = r ? keys.flatMap((k) => (k.startsWith('linear.weight-grad-named/') && /\/x\d+$/.test(k) ? [Number(k.split('/x').pop())] : [])) : [];
  const rode = r ? keys.some((k) => k.startsWith('linear.input-grad/') && k.includes('/ride-')) : null;
  const attention = [...new Set(keys.filter((k) => k.startsWith('attention.')))];
  const kernelsByName = t.compiledKernels();
  t.dispose();
  return { losses, weights, frozen, windows, phases, ahead: { ...t.aheadSteps }, commit, recordings, productTiles, namedTiles, groupedWgrads, rode, attention, kernels: kernelsByName, tensors: tf.memory().numTensors };
}

/** The keys of kernels `names` counted by the tile in them (with `byName`, by `NAME TILE`). */
function tilesOf(keys: string[], names: string[], byName = false): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of keys) {
    // the key: name/TMxTNxTK/RMxRN/...
    const [name, shape, thread] = key.split('/');
    const tile = `${byName ? `${name} ` : ''}${shape}/${thread}`;
    if (names.includes(name!)) out[tile] = (out[tile] ?? 0) + 1;
  }
  return out;
}

/** `steps` steps as the policy decides, driven as `drive` says; then every weight and the frozen modules. */
async function trainAlone(t: Trainer, steps: number, drive: Drive): Promise<{ weights: Record<string, number[]>; frozen: string[] }> {
  const { pauseAt, live } = drive;
  if (live) {
    while (t.stepsDone < pauseAt) await t.step();
    const { errors } = t.setPolicy({ weightThreshold: 1e-9, lossThreshold: 1e-9 });
    if (errors.length) throw new Error(JSON.stringify(errors));
  } else if (pauseAt) await t.run(pauseAt);
  await t.run(steps - pauseAt);
  const weights: Record<string, number[]> = {};
  for (const [name, v] of t.model.namedVariables()) weights[name] = Array.from(await v.data());
  const frozen = [...t.modules].filter(([, s]) => s.phase === 'lora').map(([id]) => id);
  return { weights, frozen };
}

/** Micro's blocks with one head 64 wide over 65 tokens: attention on register tiles (`tiled`). */
export const TILED_MODEL = { imageSize: 32, width: 64, heads: 1 };

/** The runs of one spec, `STEPS[:plain|policy|wide|tiled]`: compiled and fused, and with `policy` the paused and live compiled runs. */
export interface SpecRuns { compiled: CompiledRun; fused: CompiledRun; paused: CompiledRun | null; live: CompiledRun | null }

/**
 * One spec's runs. `wide` lowers GEMM_WIDE's thresholds to 1, NAMED_FORWARD's to 4 and
 * 1, and NAMED_WGRAD's sides (every side from 4, 8 x 8 from 32 by 128) for its runs
 * only, and
 * runs the fused path first, so that the product kernels it makes are its own: its
 * spec must come first in the process, or kernels an earlier spec made go uncounted.
 */
export async function specRuns(spec: string): Promise<SpecRuns> {
  const m = /^(\d+)(?::(plain|policy|wide|tiled))?$/.exec(spec);
  if (!m) throw new Error(`spec "${spec}": write STEPS or STEPS:plain, STEPS:policy, STEPS:wide, STEPS:tiled`);
  if (m[2] === 'tiled') {
    const steps = Number(m[1]);
    // op by op first, so that the attention kernels it lists are the ones it made
    const fused = await parityRun('fused', steps, undefined, false, undefined, undefined, TILED_MODEL);
    const compiled = await parityRun('compiled', steps, undefined, false, undefined, undefined, TILED_MODEL);
    return { compiled, fused, paused: null, live: null };
  }
  const steps = Number(m[1]);
  const augment = m[2] === 'plain' ? false : undefined;
  const policy = m[2] === 'policy';
  const wide = m[2] === 'wide';
  const thresholds = { ...GEMM_WIDE };
  const named = { ...NAMED_WGRAD };
  const forwards = { ...NAMED_FORWARD };
  const inputGrads = { ...NAMED_INPUT_GRAD };
  if (wide) {
    Object.assign(GEMM_WIDE, { minK: 1, minRows: 1, minTiles: 1, sideMinTiles: 1 });
    Object.assign(NAMED_WGRAD, { minSide: 4, squareMin: 32, squareMax: 128 });
    Object.assign(NAMED_FORWARD, { minN: 4, minTiles: 1 });
  }
  // the policy's runs too: a step queued ahead and withdrawn has made the transposed copies
  if (wide || policy) Object.assign(NAMED_INPUT_GRAD, { minN: 4, minTiles: 1 });
  try {
    const batch = wide ? 8 : undefined;
    const fusedFirst = wide ? await parityRun('fused', steps, augment, false, undefined, batch) : null;
    const compiled = await parityRun('compiled', steps, augment, policy, undefined, batch);
    const fused = fusedFirst ?? await parityRun('fused', steps, augment, policy);
    // the compiled run paused at the switching window's end, and stepped to it with a live
    // change after it (policy only)
    const paused = policy ? await parityRun('compiled', steps, augment, true, { pauseAt: 20, live: false }) : null;
    const live = policy ? await parityRun('compiled', steps, augment, true, { pauseAt: 20, live: true }) : null;
    return { compiled, fused, paused, live };
  } finally {
    Object.assign(GEMM_WIDE, thresholds);
    Object.assign(NAMED_WGRAD, named);
    Object.assign(NAMED_FORWARD, forwards);
    Object.assign(NAMED_INPUT_GRAD, inputGrads);
  }
}

// every spec in one process, on one device: the kernels are compiled once for all of
// them (on SwiftShader a process's first run spends about 40 s making pipelines)
if (process.argv[1]?.endsWith('compiled-parity-run.ts')) {
  const info = await initNodeBackend('webgpu');
  if (info.name !== 'webgpu') throw new Error(`wanted webgpu, got ${info.name}`);
  const specs = process.argv.slice(2);
  const out: Record<string, SpecRuns> = {};
  for (const spec of specs.length ? specs : ['40']) out[spec] = await specRuns(spec);
  reply(out);
}
