// AdamW through the state changes a PreLoRA run makes (a re-warm of some variables, then
// of all; a reset of some; a variable that joins late, one with no gradient for a step,
// one released), with clipping as the trainer does it, and a checkpoint: the state
// exported after step 5, imported into a fresh optimiser with the weights of then, and
// the last three steps taken again. Shared by the unit tests (composite path, cpu and
// wasm) and the fused kernels' run on Dawn (the same computation two ways).
import * as tf from '@tensorflow/tfjs';
import { makeConfig } from '../../src/engine/config';
import { AdamW, clipByGlobalNorm, type Ramp } from '../../src/engine/optimizer';
import { variableFrom } from '../../src/engine/variable';
import { seededNormal } from './tf';

/** Odd sizes; more variables than one fused launch takes; one spans several workgroups. */
export const SHAPES = [[7, 5], [13], [3, 3], [29, 11], [4], [70, 130], [2, 17]];
const STEPS = 8;
/** the checkpoint: after this many steps */
const SAVED_AT = 5;

export interface ParamReadout {
  t: number;
  rewarm: Ramp | null;
  m: number[] | null;
  v: number[] | null;
}

export interface ScenarioResult {
  /** every variable's values after the last step, in SHAPES order */
  weights: number[][];
  /** the optimiser's state at the end, per variable in SHAPES order (null: released) */
  params: (ParamReadout | null)[];
  updates: number;
  modelRewarm: Ramp | null;
  /** max |restored - uninterrupted| over the final weights and moments: 0 is bit for bit */
  restoredDiff: number;
  /** tensors left behind by the whole scenario */
  leaked: number;
}

/** The gradients of step `s` (0-based): variable 6 joins at step 3, 3 has none at step 2, 0 is released after step 3. */
function gradsAt(vars: tf.Variable[], s: number): tf.NamedTensorMap {
  const grads: tf.NamedTensorMap = {};
  vars.forEach((v, i) => {
    if ((i === 6 && s < 3) || (i === 3 && s === 2) || (i === 0 && s > 3)) return;
    grads[v.name] = seededNormal(v.shape, 100 * s + i, 3);
  });
  return grads;
}

/** One step as the trainer takes it, in a tidy. */
function step(opt: AdamW, vars: tf.Variable[], s: number, clipNorm: number): void {
  tf.tidy(() => {
    const clipped = clipByGlobalNorm(gradsAt(vars, s), clipNorm);
    opt.apply(clipped.grads, s > 3 ? vars.slice(1) : vars, 0.01 * (1 + s / 2), clipped.scale);
  });
}

/** What a phase change does to the optimiser after step `s`. */
function changesAfter(opt: AdamW, vars: tf.Variable[], s: number): void {
  if (s === 0) opt.rewarm([vars[1]!, vars[4]!], 3);
  if (s === 1) {
    opt.reset([vars[2]!, vars[3]!]);
    opt.rewarm('all', 2);
  }
  if (s === 3) opt.release([vars[0]!]);
}

async function readState(opt: AdamW, vars: tf.Variable[]) {
  const state = opt.exportState();
  const params = await Promise.all(vars.map(async (v): Promise<ParamReadout | null> => {
    const p = state.params[v.name];
    if (!p) return null;
    const read = async (t: tf.Tensor | null) => (t ? Array.from(await t.data()) : null);
    return { t: p.t, rewarm: p.rewarm, m: await read(p.m), v: await read(p.v) };
  }));
  for (const p of Object.values(state.params)) tf.dispose([p.m ?? [], p.v ?? []]);
  return { updates: state.updates, modelRewarm: state.modelRewarm, params };
}

const flat = (r: { weights: number[][]; params: (ParamReadout | null)[] }) =>
  [...r.weights.flat(), ...r.params.flatMap((p) => [...(p?.m ?? []), ...(p?.v ?? [])])];

export async function adamwScenario(): Promise<ScenarioResult> {
  const before = tf.memory().numTensors;
  const cfg = { ...makeConfig('micro').optim, clipNorm: 1 }; // the gradients' norm is well above 1: clipping acts
  const tag = Math.random().toString(36).slice(2);
  const vars = SHAPES.map((sh, i) => variableFrom(seededNormal(sh, 50 + i), true, `adamw-${tag}/${i}`));
  const decays = (v: tf.Variable) => v.rank === 2;
  const opt = new AdamW(cfg, decays);
  let saved: { state: ReturnType<AdamW['exportState']>; weights: tf.Tensor[] } | null = null;
  for (let s = 0; s < STEPS; s++) {
    if (s === SAVED_AT) saved = { state: opt.exportState(), weights: vars.map((v) => tf.clone(v)) };
    step(opt, vars, s, cfg.clipNorm);
    changesAfter(opt, vars, s);
  }
  const weights = await Promise.all(vars.map(async (v) => Array.from(await v.data())));
  const end = await readState(opt, vars);
  opt.dispose();

  // the checkpoint: the weights and the optimiser of then, the last steps again
  const restored = new AdamW(cfg, decays);
  vars.forEach((v, i) => v.assign(saved!.weights[i]!));
  restored.importState(saved!.state, vars);
  tf.dispose([...saved!.weights, ...Object.values(saved!.state.params).flatMap((p) => [p.m ?? [], p.v ?? []])]);
  for (let s = SAVED_AT; s < STEPS; s++) step(restored, vars, s, cfg.clipNorm);
  const again = { weights: await Promise.all(vars.map(async (v) => Array.from(await v.data()))), params: (await readState(restored, vars)).params };
  restored.dispose();
  tf.dispose(vars);

  const a = flat({ weights, params: end.params }), b = flat(again);
  let restoredDiff = a.length === b.length ? 0 : Infinity;
  a.forEach((x, i) => { restoredDiff = Math.max(restoredDiff, Math.abs(x - b[i]!)); });
  return { weights, ...end, restoredDiff, leaked: tf.memory().numTensors - before };
}
