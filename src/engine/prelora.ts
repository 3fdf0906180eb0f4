// The PreLoRA controller: per-module phases full -> joint -> lora, driven by the
// policy at the end of every window (mode `prelora`), set once at the start (mode
// `lora`: static LoRA from step 0) or never (mode `full`). It owns the monitor and the
// window history; the trainer hosts it and rebuilds its optimiser when told to.
import type * as tf from '@tensorflow/tfjs';
import type { PreLoRAConfig } from './config';
import { finiteWindow } from './divergence';
import type { Phase, PhaseChange, RunPhase } from './events';
import type { Linear } from './linear';
import { applyLive, type PolicyUpdate } from './live';
import { Monitor } from './monitor';
import { lossTestApplies, parseModuleId, type WindowRecord } from './policy';
import { deriveSeed } from './random';
import { activeModules, maySwitch, stepForced, stepWindow, windowCouldSwitch, type StepperState, type Switch } from './stepper';
import { FAMILIES, type Family } from './vit-families';

export interface ModuleState {
  id: string;
  phase: Phase;
  rank: number | null;
  /** step at which the adapter was added */
  switchedAt: number | null;
  /**
   * its joint phase's length as it switched (the decision's jointSteps): a live change sets
   * the next switches', not this one's (it moved the freezes already due). Absent in
   * checkpoints saved before it was kept: those take the live setting.
   */
  jointSteps?: number;
}

/** What the controller needs from the trainer that hosts it. */
export interface ControllerHost {
  currentStep(): number;
  /** training loss on a fixed probe batch, read back */
  probeLoss(): Promise<number>;
  /**
   * A phase changed: drop the released variables' optimiser state, reset the moments of
   * those `changed` (when `resetMoments`) and, after a freeze, re-warm their learning rate.
   * `changed` is `all` under the global rule (the paper rebuilds AdamW), else the
   * adapters of the modules that changed, so no other module's training is touched.
   */
  phaseChanged(change: { released: tf.Variable[]; changed: tf.Variable[] | 'all'; froze: boolean }): void;
  /** read back pending steps, so timing and memory readings split cleanly at the change */
  flush(): Promise<unknown>;
  /**
   * Whether the host queues the next step ahead of a window's decision (and takes it back
   * when the decision switches a module), so that the device never waits for the
   * window's statistics; else the decision is made at the window's end.
   */
  decidesLate(): boolean;
  /** The decision on the window that closed before the last queued step switches modules: take that step back (if it was queued ahead of the decision). */
  withdrawAhead(): void;
  onWindow(record: WindowRecord): void;
  onPhaseChange(change: PhaseChange): void;
}

/** The controller's state as a checkpoint keeps it (plain data; the monitor's is apart). */
export interface ControllerState {
  settings: PreLoRAConfig;
  /** each module's state, and its adapter's alpha when it has one */
  modules: (ModuleState & { alpha: number | null })[];
  history: WindowRecord[];
  forced: string[];
}

export class PreLoRAController {
  readonly settings: PreLoRAConfig;
  readonly states = new Map<string, ModuleState>();
  readonly history: WindowRecord[] = [];
  readonly monitor: Monitor;
  private readonly forced = new Set<string>();
  /** a closed window whose record is still on its way (afterStep) */
  private closing: Promise<WindowRecord> | null = null;
  /**
   * and, while its decision waits for that record (settleWindow), the settings it takes:
   * those of the window's end, so a live change made meanwhile counts from the next
   * decision on, as where the decision is made at the window's end
   */
  private deciding: PreLoRAConfig | null = null;

  constructor(
    config: PreLoRAConfig,
    /** the run's length: no policy switch in its last window, where it could not pay off */
    private readonly totalSteps: number,
    private readonly modules: Map<string, Linear>,
    private readonly seed: number,
    private readonly host: ControllerHost,
  ) {
    this.settings = structuredClone(config);
    for (const id of modules.keys()) this.states.set(id, { id, phase: 'full', rank: null, switchedAt: null });
    this.monitor = new Monitor(modules);
  }

  /** Modules that may still switch: full, in a targeted family. */
  active(): string[] {
    return activeModules(this.stepperState(), this.settings.targets);
  }

  /** The pure stepper's state, read off the phases: the modules whose base still trains alone. */
  private stepperState(): StepperState {
    return { full: [...this.states.values()].filter((s) => s.phase === 'full').map((s) => s.id) };
  }

  /**
   * Mode `lora`: every targeted module gets an adapter of the static rank and a frozen base
   * at step 0. Whether it did: its phase change told the host (phaseChanged), which says the
   * parameter counts then.
   */
  startStatic(): boolean {
    if (this.settings.mode !== 'lora') return false;
    const released: tf.Variable[] = [];
    for (const id of this.active()) {
      this.addAdapter(id, this.settings.rank);
      this.states.get(id)!.rank = this.settings.rank;
      released.push(...this.freezeBase(id));
      this.host.onPhaseChange({ module: id, from: 'full', to: 'lora', step: 0, rank: this.settings.rank, decidedBy: 'static' });
    }
    this.host.phaseChanged({ released, changed: 'all', froze: false });
    return true;
  }

  observe(grads: tf.NamedTensorMap, loss: tf.Scalar): void {
    this.monitor.observe(grads, loss);
  }

  /** Live settings: they count from the next decision on; switches already made stay. */
  setPolicy(update: PolicyUpdate): void {
    applyLive(this.settings, update);
  }

  /** Switch one module at the next step boundary, whatever the policy says. */
  forceSwitch(id: string): void {
    const s = this.states.get(id);
    if (!s) throw new Error(`no module "${id}": use blocks.<layer>.<${FAMILIES.join('|')}>`);
    // the baselines keep their one shape: full training never switches, static LoRA has its adapters from step 0
    if (this.settings.mode !== 'prelora') {
      throw new Error(`${id} cannot switch in a ${this.settings.mode === 'full' ? 'full-training' : 'static LoRA'} run (prelora.mode=${this.settings.mode}), the baseline PreLoRA is compared with: start a run with prelora.mode=prelora to switch modules`);
    }
    // a family outside the targets trains fully to the end: the config's checks (the
    // optimiser's table, the device's LoRA ranks) count adapters in the targets only
    const { family } = parseModuleId(id);
    const { targets } = this.settings;
    if (!targets.includes(family as Family)) {
      throw new Error(`${id} is not in prelora.targets (${targets.join(', ')}), so it trains fully to the end: add ${family} to prelora.targets to switch it`);
    }
    if (s.phase === 'full') this.forced.add(id);
  }

  /**
   * After each optimiser step: record the window that closed a step ago, finish joint
   * phases, apply forced switches, close a window. A window whose statistics cannot
   * switch anything, whatever they are (windowCouldSwitch), is recorded at the next step
   * boundary: the device runs that step while its numbers come back. Waited for at the
   * boundary, a window end cost about 2.8 ms (tiny, batch 128, H200: 0.28 ms a step with
   * windows of 10 steps, the same device time). A window that could switch one is
   * decided there too where the host queues the next step ahead of the decision
   * (decidesLate): a decision that switches takes that step back first, so the switch
   * falls at the window's end as if the host had waited; else it is decided here.
   */
  async afterStep(): Promise<void> {
    await this.settleWindow();
    const step = this.host.currentStep();
    const { jointSteps, windowSteps, mode } = this.settings;
    const due = [...this.states.values()].filter((s) => s.phase === 'joint' && step - s.switchedAt! >= (s.jointSteps ?? jointSteps));
    if (due.length) await this.freeze(due.map((s) => s.id));
    await this.applyForced();
    // a window is windowSteps steps from the last one's end: cut at multiples of the step, a
    // live change from 10 to 25 at step 22 closed a window of 5 steps at 25, whose small
    // change read as settled
    if (this.monitor.stepsInWindow < windowSteps) return;
    const closing = this.monitor.endWindow(step, windowSteps);
    const decides = mode === 'prelora' && windowCouldSwitch(this.stepperState(), this.history, this.settings, this.totalSteps, step, [...this.states.keys()]);
    // the settings the decision takes: the window end's, whatever a live change does while it waits
    const settings = decides ? structuredClone(this.settings) : null;
    if (!settings || this.host.decidesLate()) {
      closing.catch(() => undefined); // its failure (a lost device) is the settling step's
      this.closing = closing;
      this.deciding = settings;
      return;
    }
    this.record(await closing);
    await this.switchModules(this.policySwitches(settings), settings);
  }

  /** Whether a closed window's decision is still to be made (its statistics on their way). */
  get decisionPending(): boolean {
    return this.deciding !== null;
  }

  /**
   * The window closed a step or more ago, recorded (its event out) once its numbers are
   * back, and decided where its decision waited for them; nothing when none is on its way.
   */
  async settleWindow(): Promise<void> {
    const closing = this.closing;
    const settings = this.deciding;
    this.closing = null;
    this.deciding = null;
    if (!closing) return;
    this.record(await closing);
    if (!settings) return;
    const switches = this.policySwitches(settings);
    // a step the host queued ahead of this decision belongs to the phase it ends
    if (switches.length) this.host.withdrawAhead();
    await this.switchModules(switches, settings);
  }

  /**
   * The policy's switches on the last window, under `settings`; none on a window whose
   * statistics are not finite (the host reads back at once and finds the run diverged):
   * per module, the modules whose own numbers were still finite switched on it, their
   * probe losses NaN, on a window the charts never showed.
   */
  private policySwitches(settings: PreLoRAConfig): Switch[] {
    const last = this.history.at(-1);
    if (last && !finiteWindow(last)) return [];
    return stepWindow(this.stepperState(), this.history, settings, this.totalSteps).switches;
  }

  private record(window: WindowRecord): void {
    this.history.push(window);
    this.host.onWindow(window);
  }

  /** Switch the modules the user forced; safe at any step boundary (the worker calls it while paused). */
  async applyForced(): Promise<void> {
    if (this.forced.size === 0) return;
    await this.settleWindow(); // their ranks come from the last window
    const ids = [...this.forced];
    this.forced.clear();
    const { switches } = stepForced(this.stepperState(), ids, this.history.at(-1), this.settings, this.host.currentStep());
    await this.switchModules(switches, this.settings, () => 'forced');
  }

  private addAdapter(id: string, rank: number): void {
    this.modules.get(id)!.addAdapter(rank, this.settings.alpha ?? rank, deriveSeed(this.seed, `lora:${id}`));
  }

  /**
   * Add the switching modules' adapters (joint phase, or straight to LoRA without one);
   * nothing when none switches. `settings`: the decision's; `why` defaults to the policy's
   * metric. Each change records the settings it was decided and ranked under: a live
   * change may set others before the run ends, and the plan labels each switch with its own.
   */
  private async switchModules(
    switches: Switch[], settings: PreLoRAConfig,
    why: (sw: Switch) => PhaseChange['decidedBy'] = (sw) => ({
      metric: settings.metric, value: sw.tested!.at(-1)!, rule: settings.rule, tested: sw.tested!, threshold: settings.weightThreshold, patience: settings.patience,
      lossThreshold: lossTestApplies(settings) ? settings.lossThreshold : null,
    }),
  ): Promise<void> {
    if (switches.length === 0) return;
    await this.host.flush();
    const step = this.host.currentStep();
    const ids = switches.map((sw) => sw.module);
    const lossBefore = await this.host.probeLoss();
    for (const sw of switches) this.addAdapter(sw.module, sw.rank);
    const lossAfter = await this.host.probeLoss();
    // the window the ranks read: the last recorded (a decision's own; a forced switch's the one before its step's)
    const window = this.history.at(-1)?.step;
    const rankedBy = { metric: settings.rankMetric, scope: settings.rankScope, ...(window !== undefined ? { window } : {}) };
    for (const sw of switches) {
      Object.assign(this.states.get(sw.module)!, { phase: 'joint', rank: sw.rank, switchedAt: step, jointSteps: settings.jointSteps });
      this.host.onPhaseChange({ module: sw.module, from: 'full', to: 'joint', step, rank: sw.rank, decidedBy: why(sw), rankedBy: { ...rankedBy }, lossBefore, lossAfter });
    }
    this.host.phaseChanged({ released: [], changed: this.scope(ids, settings), froze: false });
    if (settings.jointSteps === 0) await this.freeze(ids, settings);
  }

  /** Freeze the bases of modules whose joint phase ended; `settings` gives the rule of what re-warms (the live ones, or a decision's). */
  private async freeze(ids: string[], settings: PreLoRAConfig = this.settings): Promise<void> {
    await this.host.flush();
    const step = this.host.currentStep();
    const released: tf.Variable[] = [];
    for (const id of ids) {
      released.push(...this.freezeBase(id));
      this.host.onPhaseChange({ module: id, from: 'joint', to: 'lora', step, rank: this.states.get(id)!.rank, decidedBy: 'joint-done' });
    }
    this.host.phaseChanged({ released, changed: this.scope(ids, settings), froze: true });
  }

  /**
   * What a phase change of these modules resets and re-warms: the whole model under the
   * global rule (the paper; all modules switch at once there), else only their adapters,
   * so that one module's switch or freeze cannot move another module's statistics.
   */
  private scope(ids: string[], settings: PreLoRAConfig = this.settings): tf.Variable[] | 'all' {
    if (settings.rule === 'global') return 'all';
    return ids.flatMap((id) => {
      const a = this.modules.get(id)!.adapter;
      return a ? [a.A, a.B] : [];
    });
  }

  /** Freeze one module's base: no weight gradient, no snapshot; returns what the optimiser may drop. */
  private freezeBase(id: string): tf.Variable[] {
    const lin = this.modules.get(id)!;
    lin.freezeBase();
    this.monitor.release(id);
    this.states.get(id)!.phase = 'lora';
    return [lin.weight, lin.bias];
  }

  exportState(): ControllerState {
    return structuredClone({
      settings: this.settings,
      modules: [...this.states.values()].map((st) => ({ ...st, alpha: this.modules.get(st.id)!.adapter?.alpha ?? null })),
      history: this.history,
      forced: [...this.forced],
    });
  }

  /**
   * Take a saved state: the settings as they were changed live, each module's phase
   * (adapters added, bases frozen as saved: the values come after, from the checkpoint's
   * tensors), the window history and the pending forced switches.
   */
  importState(s: ControllerState): void {
    for (const m of s.modules) {
      const lin = this.modules.get(m.id);
      if (!lin || !this.states.has(m.id)) throw new Error(`the checkpoint names module "${m.id}", which this model does not have`);
      if (m.phase === 'full') continue;
      if (m.rank === null || m.alpha === null) throw new Error(`module "${m.id}" is ${m.phase} in the checkpoint but has no rank`);
      if (lin.adapter && lin.adapter.rank !== m.rank) lin.removeAdapter();
      if (!lin.adapter) lin.addAdapter(m.rank, m.alpha, deriveSeed(this.seed, `lora:${m.id}`));
      lin.adapter!.alpha = m.alpha;
      if (m.phase === 'lora' && !lin.baseFrozen) lin.freezeBase();
    }
    Object.assign(this.settings, structuredClone(s.settings));
    for (const m of s.modules) {
      this.states.set(m.id, { id: m.id, phase: m.phase, rank: m.rank, switchedAt: m.switchedAt, ...(typeof m.jointSteps === 'number' ? { jointSteps: m.jointSteps } : {}) });
    }
    this.history.splice(0, this.history.length, ...structuredClone(s.history));
    this.forced.clear();
    // a switch by hand is taken in a PreLoRA run's targets only (forceSwitch): one pending in
    // an older checkpoint outside them, in a baseline, or naming no module of this model, is
    // dropped as it would be refused now
    for (const id of s.forced) if (this.states.has(id) && maySwitch(this.settings, id)) this.forced.add(id);
  }

  /** `full` until the first module leaves full training, `lora` once every targeted module is frozen. */
  runPhase(): RunPhase {
    const targets = new Set<Family>(this.settings.targets);
    const targeted = [...this.states.values()].filter((s) => targets.has(parseModuleId(s.id).family as Family));
    if (targeted.every((s) => s.phase === 'full')) return 'full';
    return targeted.every((s) => s.phase === 'lora') ? 'lora' : 'mixed';
  }

  dispose(): void {
    this.closing = null; // a window on its way when the run is let go is not recorded
    this.deciding = null;
    this.monitor.dispose();
  }
}
