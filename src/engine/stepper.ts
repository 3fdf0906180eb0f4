// The controller's decision at the end of a window as one pure step, with no tfjs:
// the modules still in full training (state) and the windows so far (statistics) in,
// the switches with their ranks and the new state out. The engine's controller runs
// it, and so do the replay (what-if view, sweeps, `npm run explore`) and the tests, so
// what a replay predicts and what the engine does cannot drift apart.
import { allocateRanks, decide, decisionWindows, parseModuleId, type PolicySettings, type WindowRecord } from './policy';

/** What a decision reads: the policy, the families that may switch, the window length. */
export interface StepperSettings extends PolicySettings {
  targets: readonly string[];
  windowSteps: number;
}

export interface StepperState {
  /** modules whose base still trains alone (any family), in the model's order: those in prelora.targets are the rank pool */
  readonly full: readonly string[];
}

export interface Switch {
  module: string;
  /** steps completed when it switched (the window's end) */
  step: number;
  rank: number;
  /**
   * every value the rule compared with the threshold, in the windows it tested (oldest
   * first; the last is the switch's statistic, policy.ts Decision); null for a forced switch
   */
  tested: number[] | null;
}

export interface StepResult {
  state: StepperState;
  switches: Switch[];
}

export function initialState(moduleIds: Iterable<string>): StepperState {
  return { full: [...moduleIds] };
}

/**
 * Whether a module of a run with these settings may leave full training at all: in a
 * PreLoRA run, in a targeted family (the baselines keep their one shape; a family outside
 * the targets trains fully to the end). What a checkpoint's restore keeps and counts.
 */
export const maySwitch = (s: { mode: string; targets: readonly string[] }, id: string): boolean =>
  s.mode === 'prelora' && s.targets.includes(parseModuleId(id).family);

/** Modules that may still switch: in full training, in a targeted family. */
export function activeModules(state: StepperState, targets: readonly string[]): string[] {
  const t = new Set(targets);
  return state.full.filter((id) => t.has(parseModuleId(id).family));
}

const without = (state: StepperState, ids: string[]): StepperState => {
  const gone = new Set(ids);
  return { full: state.full.filter((id) => !gone.has(id)) };
};

/**
 * The decision at the window that ends the first `end` of `windows` (oldest first; all of
 * them by default). No policy switch in the run's last window (`step + windowSteps >
 * totalSteps`), where it could not pay off.
 */
export function stepWindow(state: StepperState, windows: readonly WindowRecord[], s: StepperSettings, totalSteps: number, end = windows.length): StepResult {
  const history = decisionWindows(windows, end, s.patience);
  const last = history.at(-1);
  if (!last || last.step + s.windowSteps > totalSteps) return { state, switches: [] };
  const decision = decide(history, activeModules(state, s.targets), s);
  if (decision.switching.length === 0) return { state, switches: [] };
  // the rank pool: targeted modules still in full training (one outside the targets trains
  // fully to the end and is no candidate: with scope all its statistic set others' ranks)
  const ranks = allocateRanks(last, decision.switching, activeModules(state, s.targets), s);
  const switches = decision.switching.map((id) => ({ module: id, step: last.step, rank: ranks[id]!, tested: decision.tested[id] ?? null }));
  return { state: without(state, decision.switching), switches };
}

/**
 * Whether the window closing at `step` could switch any module, whatever its statistics
 * turn out to be: the decision on a window that passes every test (every change as low as
 * a finite number goes). Each test passes a value below (or at) its threshold, so a
 * window that cannot switch then cannot switch at all, and no decision waits for its
 * numbers. This rests on that: a test that passed on a larger value would need a best
 * case of its own here. `ids`: every module the model watches.
 */
export function windowCouldSwitch(state: StepperState, history: readonly WindowRecord[], s: StepperSettings, totalSteps: number, step: number, ids: string[]): boolean {
  if (step + s.windowSteps > totalSteps) return false;
  const low = -Number.MAX_VALUE / 4;
  const modules = Object.fromEntries(ids.map((id) => [id, { norm: 0, 'normChange%': low, 'update%': low, gradNorm: 0, 'gradChange%': low }]));
  const best: WindowRecord = { step, loss: 0, 'lossChange%': low, modules };
  // the windows the decision reads (decisionWindows), not a copy of every window so far:
  // at every window of a run that made each window's time grow with the run (100,000
  // windows, a window a step: 6 ms a step, more than a tiny step on the GPU)
  const upTo = [...history.slice(Math.max(0, history.length - Math.max(1, s.patience))), best];
  return decide(decisionWindows(upTo, upTo.length, s.patience), activeModules(state, s.targets), s).switching.length > 0;
}

/**
 * Switches the user forced at `step`, ranked like a policy switch at the last window
 * (or at minRank before any window); modules no longer in full training are ignored.
 */
export function stepForced(state: StepperState, ids: string[], last: WindowRecord | undefined, s: StepperSettings, step: number): StepResult {
  const inFull = new Set(state.full);
  const mine = ids.filter((id) => inFull.has(id));
  if (mine.length === 0) return { state, switches: [] };
  const ranks = last ? allocateRanks(last, mine, activeModules(state, s.targets), s) : Object.fromEntries(mine.map((id) => [id, s.minRank]));
  return { state: without(state, mine), switches: mine.map((id) => ({ module: id, step, rank: ranks[id]!, tested: null })) };
}
