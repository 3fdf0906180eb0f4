// Recording one training step of the ViT as a fixed list of fused-kernel dispatches over
// buffers made once: the batch gathered on the device, the forward, the backward (in the
// order of tfjs's tape, with its gradient sums), the gradient norms, clipping, the
// monitor's window sums and AdamW. The kernels are the fused ops' own (ops/webgpu),
// with the same launch parameters as the eager fused step, so a replay gives its
// numbers. Weights, adapters and moments are the tfjs variables' own buffers, updated
// in place; activations, gradients and scratch belong to the recording.
import type * as tf from '@tensorflow/tfjs';
import type { Linear } from '../linear';
import { adamwDispatches, paramsPerLaunch, tableRows, type AdamWConstants, type AdamWParam } from '../ops/webgpu/adamw';
import * as attention from '../ops/webgpu/attention';
import * as crossEntropy from '../ops/webgpu/cross-entropy';
import { tensorBuffer } from '../ops/webgpu/dispatch';
import { chunksOf, clipDispatches, moduleNormDispatches, sumSquaresDispatches } from '../ops/webgpu/grad-norms';
import { conflicts, type Dispatch } from '../ops/webgpu/kernel';
import * as layerNorm from '../ops/webgpu/layernorm';
import * as linear from '../ops/webgpu/linear';
import { transposeDispatches, transposesPerLaunch, type TransposeJob } from '../ops/webgpu/named-input-grad';
import { qkvOptions, type Norm, type ViT } from '../vit';
import { MODULE_PATH } from '../vit-families';
import { Arena } from './arena';
import type { DeviceData } from './device-data';
import {
  clsRowsBackwardDispatch, clsRowsDispatch, embedBackwardDispatch, embedDispatch, gatherDispatch,
  windowSumsDispatch,
} from './kernels';
import { maxOf } from '../extremes';

export interface StepInputs {
  model: ViT;
  batch: number;
  smoothing: number;
  clipNorm: number;
  adam: AdamWConstants;
  /** what the optimiser updates, in its order (the gradient norms' and AdamW's order) */
  trainable: tf.Variable[];
  /** each trainable variable's moments (m and v interleaved) */
  moments: (v: tf.Variable) => tf.Variable;
  /** the weight of each module the monitor watches, in its order */
  watched: tf.Variable[];
  data: DeviceData;
  /** buffers that outlive a recording: the step word and the monitor's window sums (a window spans phases) */
  persistent: { step: GPUBuffer; gradSum: GPUBuffer; lossSum: GPUBuffer };
  storageBuffers: number;
}

export interface RecordedStep {
  dispatches: Dispatch<GPUBuffer>[];
  arena: Arena;
  /** written before each replay: the optimiser's table */
  table: GPUBuffer;
  /**
   * Where a step queued ahead of a decision stops until the decision (CompiledStep.begin):
   * after the forward and the loss. The launches before it write only this recording's
   * scratch (checked at recording), so a step withdrawn there leaves the run as it was.
   * The forward, not the whole step up to the window sums and AdamW: about as long as
   * the read-back it waits on (at tiny batch 128 on the H200 a window end's wait was
   * 2.8 ms; the forward's launches take 2.87 ms timed one by one, about 2.5 in an
   * untimed step, and the intervals holding a decision ran as fast as the others), and
   * a withdrawn step wastes only it.
   */
  commitAt: number;
  /** read after a replay: the loss and the global gradient norm */
  loss: GPUBuffer;
  norm: GPUBuffer;
  /** the tensors whose buffers are bound, with the data they had: a change means recording again */
  bound: [tf.Tensor, object][];
}

interface LinearRecord {
  lin: Linear;
  spec: linear.BackwardSpec;
  x: GPUBuffer;
  y: GPUBuffer;
  u?: GPUBuffer;
  xa?: GPUBuffer;
  wm?: GPUBuffer;
}

interface LinearOptions {
  gelu?: boolean;
  residual?: GPUBuffer;
  inputGrad?: boolean;
  splitAmong?: number;
}

/**
 * A step begun ahead of a decision and withdrawn must leave nothing changed: every
 * buffer a launch before the commit point writes must be the recording's scratch
 * (`scratch`: made afresh by each step), not a weight, a moment, the window sums, the
 * step word or a constant. Checked at every recording, so a launch moved before the
 * commit point, or a weight written in place there, cannot break a withdrawal unseen.
 */
export function checkAhead<B>(ds: Dispatch<B>[], commitAt: number, scratch: (b: B) => boolean): void {
  for (const d of ds.slice(0, commitAt)) {
    const i = d.buffers.findIndex((b, k) => d.kernel.bindings[k]?.access === 'rw' && !scratch(b));
    if (i >= 0) throw new Error(`${d.kernel.key} writes ${d.kernel.bindings[i]!.name}, which outlives the step, before the commit point`);
  }
}

/** `ds` labelled with what they work on (the per-launch timing's module). */
const labelled = (label: string, ds: Dispatch<GPUBuffer>[]) => ds.map((d) => ({ ...d, label }));

function specOf(l: Linear, rows: number, o: LinearOptions): linear.BackwardSpec {
  const a = l.adapter;
  return {
    rows, dIn: l.dIn, dOut: l.dOut, rank: a?.rank ?? 0, scale: a ? a.alpha / a.rank : 0,
    gelu: !!o.gelu, residual: !!o.residual, inputGrad: o.inputGrad !== false, base: !l.baseFrozen,
    merge: a ? linear.mergePlaceFor(a.rank, linear.LORA_MERGE.compiled) : undefined, splitAmong: o.splitAmong,
  };
}

/**
 * A ring of `size` partial buffers whose sums share launches: `next()` is the buffer a
 * backward writes its partials to, `add(job)` queues its sum (a full ring is summed in
 * one launch, freeing the buffers for the next backwards), `flush()` sums the rest.
 * `keepLast`: a full ring sums all but its newest job, whose partials may not be written
 * yet (its launch rides in a later one); the buffers are then used round the ring.
 */
function sumRing<J>(size: number, make: (i: number) => GPUBuffer, sums: (jobs: J[]) => Dispatch<GPUBuffer>[], emit: (...ds: Dispatch<GPUBuffer>[]) => void, keepLast = false) {
  const buffers = Array.from({ length: size }, (_, i) => make(i));
  let head = 0;
  let pending: J[] = [];
  const sumFirst = (n: number) => {
    if (!n) return;
    emit(...sums(pending.slice(0, n)));
    pending = pending.slice(n);
    head = (head + n) % size;
  };
  return {
    next: () => buffers[(head + pending.length) % size]!,
    add(job: J) {
      pending.push(job);
      if (pending.length === size) sumFirst(keepLast && size > 1 ? size - 1 : size);
    },
    flush: () => sumFirst(pending.length),
  };
}

export function recordStep(device: GPUDevice, s: StepInputs): RecordedStep {
  const arena = new Arena(device);
  const out: Dispatch<GPUBuffer>[] = [];
  // a frozen-base adapter's thin-gradient launch waits here to ride in the next linear's
  // input-gradient launch; a launch that touches what it reads or writes sends it first
  let held: linear.Rider<GPUBuffer> | null = null;
  const release = () => {
    if (held) out.push(held.dispatch);
    held = null;
  };
  const emit = (...ds: Dispatch<GPUBuffer>[]) => {
    for (const d of ds) {
      if (held && conflicts(held.dispatch, d)) release();
      out.push(d);
    }
  };
  const rideLimits = { storageBuffers: s.storageBuffers, sharedBytes: device.limits.maxComputeWorkgroupStorageSize };
  const bound: [tf.Tensor, object][] = [];
  const T = (t: tf.Tensor): GPUBuffer => {
    bound.push([t, t.dataId]);
    return tensorBuffer(t);
  };
  const m = s.model;
  const cfg = m.config;
  const { tokens, patches, patchDim, width: D, mlpWidth: F } = m.dims;
  const B = s.batch;
  const rows = B * tokens;
  const eps = cfg.layerNormEps;
  const shape = { batch: B, tokens, width: D };
  const attn: attention.AttentionSpec = { batch: B, tokens, heads: cfg.heads, width: D };

  const grads = new Map<tf.Variable, GPUBuffer>();
  for (const v of s.trainable) grads.set(v, arena.floats(v.size, `grad ${v.name}`));
  const discard = new Map<number, GPUBuffer>();
  /** the gradient buffer of a variable, or scratch where it does not train */
  const gradOf = (v: tf.Variable): GPUBuffer => grads.get(v) ?? discard.get(v.size) ?? (discard.set(v.size, arena.floats(v.size, 'no gradient')), discard.get(v.size)!);

  // scratch shared by every linear's and LayerNorm's backward: the largest each needs
  const linears: [Linear, number, LinearOptions][] = [[m.patchEmbed, B * patches, { inputGrad: false }]];
  for (const b of m.blocks) {
    const l = b.linears;
    const qkv = qkvOptions(l);
    linears.push([l.query, rows, qkv], [l.key, rows, qkv], [l.value, rows, qkv], [l.output, rows, {}], [l.fc1, rows, { gelu: true }], [l.fc2, rows, {}]);
  }
  linears.push([m.classifier, B, {}]);
  const specs = linears.map(([l, n, o]) => specOf(l, n, o));
  // a frozen base's adapter whose factors both train leaves its gradient sums to shared
  // launches (adapterSumDispatches), its partials in a ring of buffers: as many as a
  // launch binds, and as the split-K scratch of this model's full step holds (tiny at
  // batch 128: four at rank 8, one at rank 32), so the LoRA phase's scratch stays within
  // the full phase's. Its newest partials may wait for their launch to ride (keepLast):
  // a launch sums one adapter fewer than the ring holds, and a ring of one lets no
  // adapter's thin gradients ride (each runs alone, then its sum)
  const deferred = new Set(linears.flatMap(([l], i) => (!specs[i]!.base && l.adapter && grads.has(l.adapter.A) && grads.has(l.adapter.B) ? [l] : [])));
  const scratch = (ofDeferred: boolean) =>
    maxOf(specs.map((sp, i) => (deferred.has(linears[i]![0]) === ofDeferred && (sp.base || sp.rank) ? linear.weightGradScratch(sp).floats : 0)), 1);
  const part = arena.floats(scratch(false), 'split-K partials');
  const fullScratch = maxOf(specs.map((sp) => linear.weightGradScratch({ ...sp, rank: 0, base: true }).floats));
  const thin = scratch(true);
  const adapterSums = sumRing<linear.AdapterSumJob<GPUBuffer>>(deferred.size ? Math.max(1, Math.min(linear.adapterSumsPerLaunch(s.storageBuffers), Math.floor(fullScratch / thin))) : 0,
    (i) => arena.floats(thin, `adapter partials ${i}`), linear.adapterSumDispatches, emit, true);
  // a grouped weight gradient's partials (a group is as large as its splitAmong): the
  // first job's in `part`, the others' each in a buffer of their own
  const grouping = specs.filter((sp) => linear.groupsWeightGrad(sp));
  const groupFloats = maxOf(grouping.map((sp) => linear.weightGradScratch(sp).floats), 0);
  const groupParts = [part, ...Array.from({ length: maxOf(grouping.map((sp) => sp.splitAmong! - 1), 0) }, (_, j) => arena.floats(groupFloats, `grouped partials ${j + 1}`))];
  const maxRank = maxOf(specs.map((sp) => sp.rank), 0);
  // two, in turn: a held thin-gradient launch reads its linear's while the next writes its own
  const dxas = [0, 1].map((i) => arena.floats(rows * maxRank, `adapter input gradient ${i}`));
  let dxaTurn = 0;
  // LayerNorms' (dgamma, dbeta) partial rows, in a ring: their sums share launches
  // (paramSumDispatches), as many as a launch binds
  const lnPartFloats = Math.max(layerNorm.backwardSplit(rows).parts, layerNorm.backwardSplit(B).parts) * 2 * D;
  const lnSums = sumRing<layerNorm.ParamSumJob<GPUBuffer>>(layerNorm.paramSumsPerLaunch(s.storageBuffers), (i) => arena.floats(lnPartFloats, `layernorm partials ${i}`), layerNorm.paramSumDispatches, emit);

  // the adapters' merged weights made ahead of the forward, several adapters a launch
  // ('batch'): they read only parameters
  const merged = new Map<Linear, GPUBuffer>();
  const jobs: linear.MergeJob<GPUBuffer>[] = [];
  linears.forEach(([l], i) => {
    const a = l.adapter;
    if (!a || specs[i]!.merge !== 'batch') return;
    const wm = arena.floats(l.dIn * l.dOut, `${l.name} merged weight`);
    merged.set(l, wm);
    jobs.push({ w: T(l.weight), loraA: T(a.A), loraB: T(a.B), wm, dIn: l.dIn, dOut: l.dOut, rank: a.rank, scale: specs[i]!.scale });
  });
  emit(...linear.mergeDispatches(jobs, linear.mergesPerLaunch(s.storageBuffers)));
  // the trained bases' weights transposed ahead of the forward, several a launch: their
  // input gradients take the named tile over the copies (named-input-grad.ts)
  const transposed = new Map<Linear, GPUBuffer>();
  const copies: TransposeJob<GPUBuffer>[] = [];
  linears.forEach(([l], i) => {
    if (!linear.namedInputGradFor(specs[i]!)) return;
    const wt = arena.floats(l.dIn * l.dOut, `${l.name} transposed weight`);
    transposed.set(l, wt);
    copies.push({ w: T(l.weight), wt, dIn: l.dIn, dOut: l.dOut });
  });
  emit(...transposeDispatches(copies, transposesPerLaunch(s.storageBuffers)));

  const linForward = (l: Linear, x: GPUBuffer, n: number, o: LinearOptions): LinearRecord => {
    const spec = specOf(l, n, o);
    const a = l.adapter;
    const y = arena.floats(n * l.dOut, `${l.name} out`);
    const u = o.gelu ? arena.floats(n * l.dOut, `${l.name} pre-activation`) : undefined;
    const xa = a ? arena.floats(n * a.rank, `${l.name} x A`) : undefined;
    if (spec.merge === 'batch' && !merged.has(l)) throw new Error(`${l.name}: its merged weight was not made ahead of the forward`);
    const wm = a && spec.merge !== 'loads' ? (merged.get(l) ?? arena.floats(l.dIn * l.dOut, `${l.name} merged weight`)) : undefined;
    const f: linear.ForwardBuffers<GPUBuffer> = { x, w: T(l.weight), b: T(l.bias), res: o.residual, xa, wm };
    if (a) Object.assign(f, { loraA: T(a.A), loraB: T(a.B) });
    if (u) Object.assign(f, { u, g: y });
    else f.y = y;
    emit(...labelled(l.name, linear.forwardDispatches(spec, f)));
    return { lin: l, spec, x, y, u, xa, wm };
  };
  /**
   * `geluOf`: the pre-activation of the GELU that made this layer's input (dx is taken
   * through it); `accumulate`: dx is added to what the buffer holds.
   */
  const linBackward = (r: LinearRecord, dy: GPUBuffer, dx: GPUBuffer | undefined, geluOf?: GPUBuffer, accumulate = false, leaveWeightGrad = false): void => {
    const { lin: l, spec } = r;
    const a = l.adapter;
    const defer = deferred.has(l);
    const b: linear.BackwardBuffers<GPUBuffer> = { x: r.x, dx, part: defer ? adapterSums.next() : part, dxGeluOf: geluOf, accumulateDx: accumulate, deferSum: defer, leaveWeightGrad };
    if (spec.base) Object.assign(b, { dw: gradOf(l.weight), db: gradOf(l.bias) });
    if (a) Object.assign(b, { loraB: T(a.B), xa: r.xa, dxa: dxas[dxaTurn++ % 2], da: gradOf(a.A), dB: gradOf(a.B) });
    // the input gradient reads the weight (or its transposed copy), or with an adapter
    // merged by a launch the merged weight the forward made, or merged in its loads the
    // weight and A too
    if (a && spec.merge !== 'loads') b.wm = r.wm;
    else if (transposed.has(l)) b.wt = transposed.get(l);
    else b.w = T(l.weight);
    if (a && spec.merge === 'loads') b.loraA = T(a.A);
    if (spec.rank && !dx) b.dx = arena.floats(spec.rows * spec.dIn, 'unused input gradient');
    if (spec.gelu) Object.assign(b, { dg: dy, u: r.u });
    else b.dy = dy;
    // the held thin gradients ride in this backward's input-gradient launch where they fit
    let ds = labelled(l.name, linear.backwardDispatches(spec, b));
    if (held && ds[0] && linear.canRide(spec, ds[0], held, rideLimits)) {
      // the launch is this linear's input gradient and the rider's adapter gradients
      const rider = held.dispatch.label;
      ds = labelled(l.name, linear.backwardDispatches(spec, b, held));
      ds[0]!.label = `${l.name} + ${rider}`;
      held = null;
    }
    if (defer) {
      // its own thin gradients (the last launch) wait for the next input gradient
      emit(...ds.slice(0, -1));
      release();
      held = { spec, dispatch: ds[ds.length - 1]! };
      adapterSums.add({ part: b.part!, da: b.da!, dB: b.dB!, spec });
    } else emit(...ds);
  };
  const lnForward = (n: Norm, x: GPUBuffer, count: number) => {
    const y = arena.floats(count * D, `${n.name} out`);
    const stats = arena.floats(count * 2, `${n.name} stats`);
    emit(...labelled(n.name, layerNorm.forwardDispatches({ rows: count, D, eps }, { x, gamma: T(n.gamma), beta: T(n.beta), y, stats })));
    return { n, x, y, stats, count };
  };
  /** `accumulate`: dx is added to what the buffer holds (the residual stream's gradient) */
  const lnBackward = (r: ReturnType<typeof lnForward>, dy: GPUBuffer, dx: GPUBuffer, accumulate = false) => {
    // a LayerNorm whose parameters do not train writes scratch a launch must not bind twice: its sum runs alone
    const defer = grads.has(r.n.gamma) && grads.has(r.n.beta);
    const spec = { rows: r.count, D, eps };
    const b = { dy, x: r.x, gamma: T(r.n.gamma), stats: r.stats, dx, part: lnSums.next(), dgamma: gradOf(r.n.gamma), dbeta: gradOf(r.n.beta), accumulate, deferSum: defer };
    emit(...labelled(r.n.name, layerNorm.backwardDispatches(spec, b)));
    if (defer) lnSums.add({ part: b.part, dgamma: b.dgamma, dbeta: b.dbeta, spec });
  };

  // forward: the batch, the embedding, the blocks, the class token's head, the loss
  const x = arena.floats(B * patches * patchDim, 'patches');
  const labels = arena.floats(B, 'labels');
  emit(gatherDispatch({ batch: B, imageSize: cfg.imageSize, channels: cfg.channels, patchSize: cfg.patchSize },
    { data: s.data.data, lut: s.data.lut, labels: s.data.labels, select: s.data.select, x, y: labels }));
  const embed = linForward(m.patchEmbed, x, B * patches, { inputGrad: false });
  let h = arena.floats(rows * D, 'embedded');
  emit(embedDispatch(shape, { tokens: embed.y, positions: T(m.positions), cls: T(m.clsToken), h }));
  const attentionName = (layer: number) => `${MODULE_PATH.block(layer)}.${MODULE_PATH.attention}`;
  const saved = m.blocks.map((blk, layer) => {
    const l = blk.linears;
    const hIn = h;
    const ln1 = lnForward(blk.layernormBefore, hIn, rows);
    const qkv = qkvOptions(l);
    const q = linForward(l.query, ln1.y, rows, qkv);
    const k = linForward(l.key, ln1.y, rows, qkv);
    const v = linForward(l.value, ln1.y, rows, qkv);
    const o = arena.floats(rows * D, 'attention out');
    const lse = arena.floats(B * cfg.heads * tokens, 'attention lse');
    emit(...labelled(attentionName(layer), attention.forwardDispatches(attn, { q: q.y, k: k.y, v: v.y, o, lse })));
    const proj = linForward(l.output, o, rows, { residual: hIn });
    const ln2 = lnForward(blk.layernormAfter, proj.y, rows);
    const fc1 = linForward(l.fc1, ln2.y, rows, { gelu: true });
    const fc2 = linForward(l.fc2, fc1.y, rows, { residual: proj.y });
    h = fc2.y;
    return { ln1, q, k, v, o, lse, proj, ln2, fc1, fc2 };
  });
  const cls = arena.floats(B * D, 'class tokens');
  emit(clsRowsDispatch(shape, { h, out: cls }));
  const lnF = lnForward(m.finalNorm, cls, B);
  const head = linForward(m.classifier, lnF.y, B, {});
  const ce = { batch: B, classes: cfg.numClasses, smoothing: s.smoothing };
  const loss = arena.floats(1, 'loss');
  emit(...crossEntropy.lossDispatches(ce, { logits: head.y, labels, loss }));
  const commitAt = out.length;

  // backward, in the tape's order: the loss's seed gradient is 1
  const one = arena.constant(Float32Array.of(1), 'one');
  const dlogits = arena.floats(B * cfg.numClasses, 'logits gradient');
  emit(...crossEntropy.gradDispatches(ce, { logits: head.y, labels, dy: one, dlogits }));
  const dnorm = arena.floats(B * D, 'final norm gradient');
  linBackward(head, dlogits, dnorm);
  const dcls = arena.floats(B * D, 'class tokens gradient');
  lnBackward(lnF, dnorm, dcls);
  const dh = arena.floats(rows * D, 'residual gradient');
  emit(clsRowsBackwardDispatch(shape, { dcls, dh }));
  const dmlp = arena.floats(rows * F, 'mlp gradient');
  const blockGrad = (name: string) => arena.floats(rows * D, name);
  const [dln, dattn, dq, dk, dv, da] = ['ln2 dy', 'attention dout', 'dq', 'dk', 'dv', 'ln1 dy'].map(blockGrad) as
    [GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer];
  const dScratch = attention.backwardScratchFloats(attn);
  const dvec = dScratch ? arena.floats(dScratch, 'attention D') : null;
  for (let i = m.blocks.length - 1; i >= 0; i--) {
    const r = saved[i]!;
    // dh holds the gradient of the block's output; the residual passes it on unchanged
    // fc2's input gradient is taken through fc1's GELU as it is written, so fc1's own
    // kernels read a plain output gradient
    linBackward(r.fc2, dh, dmlp, r.fc1.u);
    linBackward({ ...r.fc1, spec: { ...r.fc1.spec, gelu: false } }, dmlp, dln);
    // the residual stream's gradient takes each LayerNorm's input gradient in its launch,
    // and the query's and key's input gradients add to the value's, in the tape's order
    // ((v + k) + q): 18 launches fewer at tiny than sums of their own (the LayerNorm's
    // add may be fused with its last multiply by a GPU's compiler: layernorm.ts)
    lnBackward(r.ln2, dln, dh, true);
    linBackward(r.proj, dh, dattn);
    emit(...labelled(attentionName(i), attention.backwardDispatches(attn, { q: r.q.y, k: r.k.y, v: r.v.y, o: r.o, lse: r.lse, dout: dattn, dq: dq, dk: dk, dv: dv, dvec })));
    // the query's, key's and value's weight gradients (one shape, one input) share a
    // launch and their sums one, where two or three train on a named tile (WGRAD_GROUP;
    // unlabelled, the by-group timing counts them as shared)
    const group = ([[r.v, dv], [r.k, dk], [r.q, dq]] as const).filter(([x]) => linear.groupsWeightGrad(x.spec));
    const grouped = (x: LinearRecord) => group.some(([g]) => g === x);
    linBackward(r.v, dv, da, undefined, false, grouped(r.v));
    linBackward(r.k, dk, da, undefined, true, grouped(r.k));
    linBackward(r.q, dq, da, undefined, true, grouped(r.q));
    if (group.length) {
      const jobs = group.map(([x, dy], j) => ({ spec: x.spec, dy, part: groupParts[j]!, dw: gradOf(x.lin.weight), db: gradOf(x.lin.bias) }));
      emit(...linear.weightGradGroupDispatches(r.ln1.y, jobs, s.storageBuffers));
    }
    lnBackward(r.ln1, da, dh, true);
  }
  const dtokens = arena.floats(B * patches * D, 'patch tokens gradient');
  emit(embedBackwardDispatch(shape, device.limits.maxComputeWorkgroupSizeX, { dh, dpos: gradOf(m.positions), dcls: gradOf(m.clsToken), dtokens }));
  linBackward(embed, dtokens, undefined);
  release();
  adapterSums.flush();
  lnSums.flush();

  // the gradient norms (one reduction for clipping and the monitor), the window sums, AdamW
  const gradBuffers = s.trainable.map((v) => grads.get(v)!);
  const ranges = new Map<tf.Variable, [number, number]>();
  let partials = 0;
  for (const v of s.trainable) {
    ranges.set(v, [partials, chunksOf(v.size)]);
    partials += chunksOf(v.size);
  }
  const ss = arena.floats(partials, 'sums of squares');
  emit(...sumSquaresDispatches(s.trainable.map((v) => v.size), gradBuffers, ss, s.storageBuffers - 1));
  const norm = arena.floats(1, 'global norm');
  const factor = arena.floats(1, 'clip factor');
  emit(...clipDispatches(partials, s.clipNorm, { ss, norm, factor }));
  const M = s.watched.length;
  const index = Uint32Array.from(s.watched.flatMap((w) => ranges.get(w) ?? [0, 0]));
  const norms = arena.floats(M, 'module gradient norms');
  emit(...moduleNormDispatches(M, { ss, index: arena.constant(index, 'module ranges'), out: norms }));
  emit(windowSumsDispatch(M, { norms, loss, ...s.persistent }));
  const table = arena.uniform(16 * tableRows(s.trainable.length), 'adamw table');
  const params: AdamWParam<GPUBuffer>[] = s.trainable.map((v, i) => ({
    weights: T(v), moments: T(s.moments(v)), grad: grads.get(v)!, size: v.size, row: i,
  }));
  emit(...adamwDispatches(params, s.adam, paramsPerLaunch(s.storageBuffers), { factor, table }));
  checkAhead(out, commitAt, (b) => arena.isScratch(b));
  return { dispatches: out, commitAt, arena, table, loss, norm, bound };
}
