// Per-module statistics for the PreLoRA policy, computed on the device and read back
// ONCE per window as one stacked tensor: weight norm, true relative update against a
// snapshot copy of W, window-mean gradient norm, and the window-mean training loss.
// The changes between windows (normChange%, gradChange%, lossChange%) are then plain JS.
import * as tf from '@tensorflow/tfjs';
import type { Linear } from './linear';
import type { ModuleWindow, WindowRecord } from './policy';

const pct = (now: number, before: number | undefined) =>
  before === undefined || before === 0 ? null : (100 * Math.abs(now - before)) / Math.abs(before);

/** What a window in progress holds, as a checkpoint keeps it; the tensors are the monitor's own. */
export interface MonitorState {
  steps: number;
  previous: WindowRecord | null;
  gradSum: tf.Tensor | null;
  lossSum: tf.Tensor | null;
  /** W at the last snapshot, for the modules that have one */
  snapshots: Record<string, tf.Tensor>;
}

export class Monitor {
  private readonly ids: string[];
  private gradSum: tf.Tensor | null = null;
  private lossSum: tf.Tensor | null = null;
  private steps = 0;
  /** W at the last snapshot, for modules whose base still trains */
  private readonly snapshots = new Map<string, tf.Tensor>();
  private previous: WindowRecord | null = null;
  /** stands in for a frozen module's gradient norm, made once (not uploaded every step) */
  private readonly zero = tf.keep(tf.scalar(0));

  constructor(private readonly modules: Map<string, Linear>) {
    this.ids = [...modules.keys()];
    for (const [id, lin] of modules) this.snapshots.set(id, tf.keep(tf.clone(lin.weight)));
  }

  /** Add one step: the loss and the norm of each module's raw weight gradient (0 when frozen). Call inside a tidy. */
  observe(grads: tf.NamedTensorMap, loss: tf.Scalar): void {
    const norms = tf.stack(this.ids.map((id) => {
      const g = grads[this.modules.get(id)!.weight.name];
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

  get stepsInWindow(): number {
    return this.steps;
  }

  /** Close the window: one read-back, fresh snapshots, statistics vs the previous window. */
  async endWindow(step: number): Promise<WindowRecord> {
    if (this.steps === 0 || !this.gradSum || !this.lossSum) throw new Error('endWindow before any observed step');
    const gradSum = this.gradSum, lossSum = this.lossSum;
    const stacked = tf.tidy(() => {
      const weights = this.ids.map((id) => this.modules.get(id)!.weight);
      const norms = tf.stack(weights.map((w) => tf.norm(w)));
      // ||W_b - W_a|| and ||W_a|| against the snapshot; 0 for frozen modules (no snapshot)
      const snaps = this.ids.map((id) => this.snapshots.get(id));
      const updates = tf.stack(snaps.map((snap, i) => (snap ? tf.norm(tf.sub(weights[i]!, snap)) : tf.scalar(0))));
      const snapNorms = tf.stack(snaps.map((snap) => (snap ? tf.norm(snap) : tf.scalar(0))));
      const steps = this.steps;
      return tf.concat([norms, updates, snapNorms, tf.div(gradSum, steps), tf.reshape(tf.div(lossSum, steps), [1])]);
    });
    const values = await stacked.data();
    stacked.dispose();
    gradSum.dispose();
    lossSum.dispose();
    this.gradSum = null;
    this.lossSum = null;
    this.steps = 0;

    const M = this.ids.length;
    const prev = this.previous;
    const modules: Record<string, ModuleWindow> = {};
    this.ids.forEach((id, i) => {
      const norm = values[i]!, update = values[M + i]!, snapNorm = values[2 * M + i]!, gradNorm = values[3 * M + i]!;
      const tracked = this.snapshots.has(id);
      modules[id] = {
        norm,
        // both relative to ||W_a||, the norm at the previous snapshot; a frozen W moves 0
        'normChange%': tracked ? pct(norm, snapNorm) : 0,
        'update%': tracked ? (snapNorm > 0 ? (100 * update) / snapNorm : null) : 0,
        gradNorm,
        'gradChange%': pct(gradNorm, prev?.modules[id]?.gradNorm),
      };
    });
    const loss = values[4 * M]!;
    const record: WindowRecord = { step, loss, 'lossChange%': pct(loss, prev?.loss), modules };
    this.previous = record;
    this.refreshSnapshots();
    return record;
  }

  private refreshSnapshots(): void {
    for (const [id, snap] of this.snapshots) {
      snap.dispose();
      this.snapshots.set(id, tf.keep(tf.clone(this.modules.get(id)!.weight)));
    }
  }

  /** A frozen module no longer moves: drop its snapshot copy (and its memory). */
  release(id: string): void {
    this.snapshots.get(id)?.dispose();
    this.snapshots.delete(id);
  }

  exportState(): MonitorState {
    return {
      steps: this.steps, previous: this.previous, gradSum: this.gradSum, lossSum: this.lossSum,
      snapshots: Object.fromEntries(this.snapshots),
    };
  }

  /** Take a saved window in progress (copies of its tensors), replacing its own. */
  importState(s: MonitorState): void {
    for (const id of Object.keys(s.snapshots)) if (!this.modules.has(id)) throw new Error(`the monitor's state names module "${id}", which this model does not have`);
    const copy = (t: tf.Tensor | null) => (t ? tf.keep(tf.clone(t)) : null);
    this.gradSum?.dispose();
    this.lossSum?.dispose();
    this.gradSum = copy(s.gradSum);
    this.lossSum = copy(s.lossSum);
    for (const snap of this.snapshots.values()) snap.dispose();
    this.snapshots.clear();
    for (const [id, t] of Object.entries(s.snapshots)) this.snapshots.set(id, tf.keep(tf.reshape(t, this.modules.get(id)!.weight.shape)));
    this.steps = s.steps;
    this.previous = structuredClone(s.previous);
  }

  dispose(): void {
    for (const s of this.snapshots.values()) s.dispose();
    this.snapshots.clear();
    this.gradSum?.dispose();
    this.lossSum?.dispose();
    this.zero.dispose();
  }
}
