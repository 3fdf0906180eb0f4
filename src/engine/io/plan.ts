// The PreLoRA plan of a run as JSON (pure, no tfjs: the page builds it from a run's
// events, the export from the trainer): per module when it switched, what decided it
// (the policy's statistic at that window and its threshold, the windows the rule looked
// at, the rank metric, all as they were at the switch), its rank and alpha; the switches
// grouped by step; and the PEFT `LoraConfig` keyword arguments that apply the same
// adapters with `get_peft_model`.
import type { PreLoRAConfig } from '../config';
import { lossTestApplies, testedWindows, type Metric, type WindowRecord } from '../policy';
import { switchCause, type Phase, type PhaseChange } from '../events';
import { hubModule, PEFT_NAMINGS, patternKey } from './hf-names';
import { loraKwargs, type AdapterSpec } from './peft';

/** A module as the plan reads it (the controller's ModuleState has this shape). */
export interface PlanModule {
  id: string;
  phase: Phase;
  rank: number | null;
  switchedAt: number | null;
}

export interface PlanInput {
  /**
   * the policy settings as the run ended (live changes included): a switch takes those
   * its change recorded, these only where an event recorded before they were kept has none
   */
  settings: PreLoRAConfig;
  /** the run's planned length and the steps completed */
  totalSteps: number;
  step: number;
  states: PlanModule[];
  changes: PhaseChange[];
  history: readonly WindowRecord[];
}

export const PLAN_FORMAT = 'prelora-plan';
export const PLAN_VERSION = 1;

/** The step a module got its adapter: static LoRA's modules have no `switchedAt`, only their step-0 change. */
function switchStep(s: PlanModule, changes: PhaseChange[]): number | null {
  if (s.rank === null) return null;
  return s.switchedAt ?? changes.find((c) => c.module === s.id && c.from === 'full')?.step ?? null;
}

function moduleEntry(s: PlanModule, input: PlanInput) {
  const { settings, changes, history, totalSteps } = input;
  const peft = Object.fromEntries(PEFT_NAMINGS.map((n) => [n, patternKey(s.id, n)]));
  const base = { module: s.id, hub: hubModule(s.id), peft, phase: s.phase };
  const switched = changes.find((c) => c.module === s.id && c.from === 'full');
  const step = switchStep(s, changes);
  if (!switched || step === null) return { ...base, switchStep: null };
  const frozen = changes.find((c) => c.module === s.id && c.to === 'lora');
  const d = switched.decidedBy;
  const why = switchCause(d);
  const policy = typeof d === 'object' ? d : null;
  const metric = (policy?.metric ?? settings.metric) as Metric;
  // the settings at the switch, not the run's end (a live change may have set others since)
  const threshold = policy?.threshold ?? settings.weightThreshold;
  const patience = policy?.patience ?? settings.patience;
  const lossThreshold = policy?.lossThreshold !== undefined ? policy.lossThreshold : lossTestApplies(settings) ? settings.lossThreshold : null;
  const rankedBy = switched.rankedBy ?? { metric: settings.rankMetric, scope: settings.rankScope };
  // the windows whose values the rule tested: `patience` snapshots make `patience - 1`
  // changes, the last ones up to the window it decided on (the oldest snapshot's own value,
  // its change from the one before, was listed too, tested by no rule, and could be over the
  // threshold); a forced switch was decided by none, so only the window its rank came from
  // (recorded with it: one forced at a window's last step read the window before)
  const upTo = switched.rankedBy?.window ?? step;
  const upToWindows = history.filter((w) => w.step <= upTo);
  const seen = why === 'policy' ? testedWindows(upToWindows, patience) : upToWindows.slice(-1);
  const last = seen.at(-1);
  // the values the rule compared, as it recorded them (the global rule's are the family's
  // means: the module's own read as over a threshold its family was under); an event
  // recorded before them lists the module's own
  const tested = policy?.tested?.length === seen.length ? policy.tested : null;
  return {
    ...base,
    switchStep: step,
    switchFraction: step / totalSteps,
    frozenStep: frozen?.step ?? null,
    rank: s.rank,
    alpha: settings.alpha ?? s.rank,
    decidedBy: why,
    statistic: policy ? { metric: policy.metric, value: policy.value, rule: policy.rule ?? null, threshold, lossThreshold } : null,
    windows: seen.map((w, i) => ({ step: w.step, [metric]: tested ? tested[i] : (w.modules[s.id]?.[metric] ?? null), 'lossChange%': w['lossChange%'] })),
    rankFrom: last ? { metric: rankedBy.metric, value: last.modules[s.id]?.[rankedBy.metric] ?? null, scope: rankedBy.scope } : null,
    probeLoss: switched.lossBefore !== undefined ? { before: switched.lossBefore, after: switched.lossAfter ?? null } : null,
  };
}

export function buildPlan(input: PlanInput): Record<string, unknown> {
  const { settings: p } = input;
  const modules = input.states.map((s) => moduleEntry(s, input));
  const adapters: AdapterSpec[] = input.states
    .filter((s) => switchStep(s, input.changes) !== null)
    .map((s) => ({ id: s.id, rank: s.rank!, alpha: p.alpha ?? s.rank! }));
  const bySwitch = new Map<number, string[]>();
  for (const s of input.states) {
    const step = switchStep(s, input.changes);
    if (step !== null) bySwitch.set(step, [...(bySwitch.get(step) ?? []), s.id]);
  }
  return {
    format: PLAN_FORMAT,
    version: PLAN_VERSION,
    // the settings as the run ended, live changes included (a module's switch names those
    // it was decided under): said in the block, since a reader would take them for the start's
    run: {
      steps: input.totalSteps, completed: input.step, settingsAt: 'end', mode: p.mode, rule: p.rule, metric: p.metric,
      weightThreshold: p.weightThreshold, lossThreshold: p.lossThreshold, useLossTest: p.useLossTest, patience: p.patience,
      minFullSteps: p.minFullSteps, layerWeights: p.layerWeights, windowSteps: p.windowSteps, jointSteps: p.jointSteps,
      rankMetric: p.rankMetric, rankScope: p.rankScope, minRank: p.minRank, maxRank: p.maxRank, alpha: p.alpha,
      resetMoments: p.resetMoments, rewarmSteps: p.rewarmSteps, targets: p.targets,
    },
    modules,
    schedule: [...bySwitch].sort((a, b) => a[0] - b[0]).map(([step, ids]) => ({ step, fraction: step / input.totalSteps, modules: ids })),
    // Train fully to each schedule step, then wrap the model with these (the modules of
    // that step and those before it); after jointSteps, freeze the base weights.
    peft: adapters.length === 0 ? null : Object.fromEntries(PEFT_NAMINGS.map((n) => [n, loraKwargs(adapters, n)])),
  };
}
