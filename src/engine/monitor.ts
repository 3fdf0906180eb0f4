// Per-module statistics for the PreLoRA policy, computed on the device and read back
// ONCE per window as one stacked tensor: weight norm, true relative update against a
// snapshot copy of W, window-mean gradient norm, and the window-mean training loss.
// The changes between windows (normChange%, gradChange%, lossChange%) are then plain JS.
import * as tf from '@tensorflow/tfjs';
import { kernelPath } from './kernel-path';
import type { Linear } from './linear';
import { copyInto, copyOf, isExclusive } from './ops/webgpu/dispatch';
import { namedGradNorms } from './ops/webgpu/grad-norms';
import { windowStatsFused } from './ops/webgpu/window-stats';
import type { ModuleWindow, WindowRecord } from './policy';

const pct = (now: number, before: number | undefined) =>
  before === undefined || before === 0 ? null : (100 * Math.abs(now - before)) / Math.abs(before);

/**
 * W as it is now. On WebGPU a real copy: a fused or compiled step updates W in place,
 * and a clone (which shares W's data) would have made the update copy W every window.
 */
function snapshot(w: tf.Tensor): tf.Tensor {
  return tf.keep(kernelPath() === 'fused' ? copyOf(w) : tf.clone(w));
}

/**
 * Per module, against its snapshot W_a (0 for frozen modules, which have none): ||W_b||,
 * ||W_b - W_a||, ||W_a||, and <W_b - W_a, W_b + W_a> = ||W_b||^2 - ||W_a||^2 without the
 * cancellation of subtracting two float32 norms (which is only good to ~1e-4 in %), as
 * four rows of one tensor. tfjs's ops: the reference, and the path off WebGPU.
 */
function windowStatsComposite(weights: tf.Tensor[], snaps: (tf.Tensor | null)[]): tf.Tensor {
  const zero = tf.scalar(0);
  const diffs = snaps.map((snap, i) => (snap ? tf.sub(weights[i]!, snap) : null));
  return tf.concat([
    tf.stack(weights.map((w) => tf.norm(w))),
    tf.stack(diffs.map((d) => (d ? tf.norm(d) : zero))),
    tf.stack(snaps.map((snap) => (snap ? tf.norm(snap) : zero))),
    tf.stack(diffs.map((d, i) => (d ? tf.sum(tf.mul(d, tf.add(weights[i]!, snaps[i]!))) : zero))),
  ]);
}

/** What a window in progress holds, as a checkpoint keeps it; the tensors are the monitor's own. */
export interface MonitorState {
  steps: number;
  previous: WindowRecord | null;
  /** per module (the model's order): steps of this window in which its base had a gradient */
  gradSteps: number[];
  /** modules frozen in this window: their snapshots go when it closes */
  releasing: string[];
  gradSum: tf.Tensor | null;
  lossSum: tf.Tensor | null;
  /** W at the last snapshot, for the modules that have one: the monitor's own tensors, read them before the window closes (on WebGPU it then overwrites them) */
  snapshots: Record<string, tf.Tensor>;
}

export class Monitor {
  private readonly ids: string[];
  private gradSum: tf.Tensor | null = null;
  private lossSum: tf.Tensor | null = null;
  private steps = 0;
  /** per module: steps of this window in which its base had a gradient (a freeze stops the count) */
  private gradSteps: number[];
  /** W at the last snapshot, for modules whose base trained in this window */
  private readonly snapshots = new Map<string, tf.Tensor>();
  /** modules frozen during this window: their snapshots go when it closes */
  private readonly releasing = new Set<string>();
  private previous: WindowRecord | null = null;
  /** stands in for a frozen module's gradient norm, made once (not uploaded every step) */
  private readonly zero = tf.keep(tf.scalar(0));
  /** a compiled step sums on the device: copies of its sums, taken when the window ends */
  private deviceSums: (() => [tf.Tensor, tf.Tensor]) | null = null;
  /** a closed window's statistics while their read-back is on its way (endWindow) */
  private inFlight: tf.Tensor | null = null;

  constructor(private readonly modules: Map<string, Linear>) {
    this.ids = [...modules.keys()];
    this.gradSteps = this.ids.map(() => 0);
    for (const [id, lin] of modules) this.snapshots.set(id, snapshot(lin.weight));
  }

  /** Add one step whose sums a compiled step kept on the device (it restarts them at a window's first step). */
  observeOnDevice(sums: () => [tf.Tensor, tf.Tensor]): void {
    // a module's base has a gradient unless it is frozen
    this.ids.forEach((id, i) => { if (!this.modules.get(id)!.baseFrozen) this.gradSteps[i]!++; });
    this.deviceSums = sums;
    this.steps++;
  }

  /** Add one step: the loss and the norm of each module's raw weight gradient (0 when frozen). Call inside a tidy. */
  observe(grads: tf.NamedTensorMap, loss: tf.Scalar): void {
    const names = this.ids.map((id) => this.modules.get(id)!.weight.name);
    names.forEach((n, i) => { if (grads[n]) this.gradSteps[i]!++; });
    const norms = kernelPath() === 'fused'
      ? namedGradNorms(grads, names) // one launch, from clipping's reduction
      : tf.stack(names.map((n) => {
        const g = grads[n];
        return g ? tf.norm(g) : this.zero;
      })) as tf.Tensor1D;
    const gradSum = tf.keep(this.gradSum ? tf.add(this.gradSum, norms) : norms);
    const lossSum = tf.keep(this.lossSum ? tf.add(this.lossSum, loss) : tf.clone(loss));
    this.gradSum?.dispose();
    this.lossSum?.dispose();
    this.gradSum = gradSum;
    this.lossSum = lossSum;
    this.steps++;
  }

  /** The tensor a closed window's read-back holds until its numbers land (not the run's: a memory reading leaves it out), or null. */
  get readInFlight(): tf.Tensor | null {
    return this.inFlight;
  }

  get stepsInWindow(): number {
    return this.steps;
  }

  /** The window's sums so far (gradient norms, loss) as tensors, or null when a compiled step holds them or none was observed. */
  get windowSums(): [tf.Tensor, tf.Tensor] | null {
    return !this.deviceSums && this.gradSum && this.lossSum ? [this.gradSum, this.lossSum] : null;
  }

  /** Copy the sums a compiled step keeps on the device into tensors of our own (it goes on adding to its copy). */
  private takeDeviceSums(): void {
    if (!this.deviceSums) return;
    this.gradSum?.dispose();
    this.lossSum?.dispose();
    [this.gradSum, this.lossSum] = this.deviceSums();
    this.deviceSums = null;
  }

  /**
   * Close the window: its statistics queued and their one read-back started, then fresh
   * sums and snapshots, all before this returns, so the next window may start on the
   * device while the numbers are on their way; the record (against the previous
   * window's) when they are back. Await each window's record before closing the next.
   */
  async endWindow(step: number, windowSteps: number): Promise<WindowRecord> {
    this.takeDeviceSums();
    if (this.steps === 0 || !this.gradSum || !this.lossSum) throw new Error('endWindow before any observed step');
    const gradSum = this.gradSum, lossSum = this.lossSum;
    const stacked = tf.tidy(() => {
      const weights = this.ids.map((id) => this.modules.get(id)!.weight);
      const snaps = this.ids.map((id) => this.snapshots.get(id) ?? null);
      const stats = kernelPath() === 'fused' ? windowStatsFused(weights, snaps) : windowStatsComposite(weights, snaps);
      return tf.concat([stats, gradSum, tf.reshape(tf.div(lossSum, this.steps), [1])]);
    });
    this.inFlight = stacked;
    const read = stacked.data().finally(() => { // disposed even when the read fails (a lost device)
      stacked.dispose();
      if (this.inFlight === stacked) this.inFlight = null;
    });
    read.catch(() => undefined); // a failure is the awaiting step's, never unhandled
    gradSum.dispose();
    lossSum.dispose();
    this.gradSum = null;
    this.lossSum = null;
    this.steps = 0;
    const gradSteps = this.gradSteps;
    this.gradSteps = this.ids.map(() => 0);
    const tracked = this.ids.map((id) => this.snapshots.has(id));
    this.refreshSnapshots(); // queued after the statistics that read the old ones
    const values = await read;

    const M = this.ids.length;
    const prev = this.previous;
    const modules: Record<string, ModuleWindow> = {};
    this.ids.forEach((id, i) => {
      const at = (k: number) => values[k * M + i]!;
      const norm = at(0), update = at(1), snapNorm = at(2), squares = at(3), gradTotal = at(4);
      const trained = gradSteps[i]! > 0;
      // the mean over the steps with a gradient; a module frozen all window has none
      const gradNorm = trained ? gradTotal / gradSteps[i]! : 0;
      modules[id] = {
        norm,
        // both relative to ||W_a||, the norm at the previous snapshot; a frozen W moves 0.
        // | ||W_b|| - ||W_a|| | = |<W_b - W_a, W_b + W_a>| / (||W_b|| + ||W_a||)
        'normChange%': tracked[i] ? (snapNorm > 0 ? (100 * Math.abs(squares)) / ((norm + snapNorm) * snapNorm) : null) : 0,
        'update%': tracked[i] ? (snapNorm > 0 ? (100 * update) / snapNorm : null) : 0,
        gradNorm,
        'gradChange%': trained ? pct(gradNorm, prev?.modules[id]?.gradNorm) : null,
      };
    });
    const loss = values[5 * M]!;
    const record: WindowRecord = { step, windowSteps, loss, 'lossChange%': pct(loss, prev?.loss), modules };
    this.previous = record;
    return record;
  }

  private refreshSnapshots(): void {
    for (const [id, snap] of this.snapshots) {
      const w = this.modules.get(id)!.weight;
      if (this.releasing.has(id)) {
        snap.dispose();
        this.snapshots.delete(id);
      } else if (kernelPath() === 'fused' && isExclusive(snap)) {
        copyInto(snap, w); // the copy it holds, overwritten: no tensor made or freed
      } else {
        snap.dispose();
        this.snapshots.set(id, snapshot(w));
      }
    }
    this.releasing.clear();
  }

  /**
   * A frozen module no longer moves: its snapshot copy (and its memory) goes when this
   * window closes, not now, since its base trained up to the freeze and the window
   * must report that movement; from the next window on it reports 0.
   */
  release(id: string): void {
    if (this.snapshots.has(id)) this.releasing.add(id);
  }

  exportState(): MonitorState {
    this.takeDeviceSums(); // a window in progress on a compiled step: its sums so far
    return {
      steps: this.steps, previous: this.previous, gradSteps: [...this.gradSteps], releasing: [...this.releasing], gradSum: this.gradSum, lossSum: this.lossSum,
      snapshots: Object.fromEntries(this.snapshots),
    };
  }

  /** Take a saved window in progress (copies of its tensors), replacing its own. */
  importState(s: MonitorState): void {
    for (const id of [...Object.keys(s.snapshots), ...s.releasing]) if (!this.modules.has(id)) throw new Error(`the monitor's state names module "${id}", which this model does not have`);
    if (s.gradSteps.length !== this.ids.length) throw new Error(`the monitor's state counts ${s.gradSteps.length} modules, this model has ${this.ids.length}`);
    const copy = (t: tf.Tensor | null) => (t ? tf.keep(tf.clone(t)) : null);
    this.gradSum?.dispose();
    this.lossSum?.dispose();
    this.gradSum = copy(s.gradSum);
    this.lossSum = copy(s.lossSum);
    for (const snap of this.snapshots.values()) snap.dispose();
    this.snapshots.clear();
    for (const [id, t] of Object.entries(s.snapshots)) this.snapshots.set(id, tf.keep(tf.reshape(t, this.modules.get(id)!.weight.shape)));
    this.steps = s.steps;
    this.gradSteps = [...s.gradSteps];
    this.releasing.clear();
    for (const id of s.releasing) this.releasing.add(id);
    this.previous = structuredClone(s.previous);
  }

  dispose(): void {
    for (const s of this.snapshots.values()) s.dispose();
    this.snapshots.clear();
    this.releasing.clear();
    this.gradSum?.dispose();
    this.lossSum?.dispose();
    this.zero.dispose();
  }
}
