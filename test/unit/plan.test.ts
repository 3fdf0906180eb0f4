// The PreLoRA plan from plain data (no tfjs): a policy switch carries the statistic that
// decided it, the windows whose values the rule tested and the rank metric, under the settings of the
// switch (an event recorded before those were kept: the run's); static LoRA's modules
// are planned at step 0; the PEFT arguments follow the plan.
import { describe, expect, it } from 'vitest';
import { makeConfig } from '../../src/engine/config';
import { buildPlan, type PlanInput } from '../../src/engine/io/plan';
import type { ModuleWindow, WindowRecord } from '../../src/engine/policy';
import type { PhaseChange } from '../../src/engine/events';
import type { ModuleState } from '../../src/engine/prelora';

const settings = { ...makeConfig('micro').prelora, mode: 'prelora' as const, patience: 3, weightThreshold: 3 };
const ids = ['blocks.0.query', 'blocks.0.key'];
const stats = (update: number, grad: number): ModuleWindow => ({ norm: 1, 'normChange%': 0.5, 'update%': update, gradNorm: 1, 'gradChange%': grad });
const window = (step: number, loss: number | null, q: number, k: number): WindowRecord => ({
  step, loss: 2, 'lossChange%': loss, modules: { 'blocks.0.query': stats(q, 40), 'blocks.0.key': stats(k, 10) },
});
const full = (id: string): ModuleState => ({ id, phase: 'full', rank: null, switchedAt: null });

describe('PreLoRA plan', () => {
  it('a policy switch: step, freeze, the statistic and threshold, the windows seen, the rank metric, the probe losses', () => {
    const input: PlanInput = {
      settings, totalSteps: 100, step: 50,
      states: [{ id: 'blocks.0.query', phase: 'lora', rank: 8, switchedAt: 30 }, full('blocks.0.key')],
      changes: [
        { module: 'blocks.0.query', from: 'full', to: 'joint', step: 30, rank: 8, decidedBy: { metric: 'update%', value: 1.2 }, lossBefore: 2.5, lossAfter: 2.5 },
        { module: 'blocks.0.query', from: 'joint', to: 'lora', step: 40, rank: 8, decidedBy: 'joint-done' },
      ],
      history: [window(10, null, 9, 9), window(20, 4, 2.5, 8), window(30, 1, 1.2, 7), window(40, 1, 0, 6)],
    };
    const plan = buildPlan(input) as { modules: Record<string, unknown>[]; schedule: unknown; peft: Record<string, Record<string, unknown>> };
    expect(plan.modules[0]).toEqual({
      module: 'blocks.0.query', hub: 'vit.encoder.layer.0.attention.attention.query',
      peft: { transformers5: 'layers.0.attention.q_proj', transformers4: 'encoder.layer.0.attention.attention.query' },
      phase: 'lora', switchStep: 30, switchFraction: 0.3, frozenStep: 40, rank: 8, alpha: 8, decidedBy: 'policy',
      // an event recorded before the rule was kept: null (its value is the module's own)
      statistic: { metric: 'update%', value: 1.2, rule: null, threshold: 3, lossThreshold: settings.lossThreshold },
      // patience 3: three snapshots, the two changes the rule tested (the window of 10's
      // value, its change from the start, was tested by none)
      windows: [
        { step: 20, 'update%': 2.5, 'lossChange%': 4 },
        { step: 30, 'update%': 1.2, 'lossChange%': 1 },
      ],
      rankFrom: { metric: 'gradChange%', value: 40, scope: 'family' },
      probeLoss: { before: 2.5, after: 2.5 },
    });
    expect(plan.modules[1]).toEqual({
      module: 'blocks.0.key', hub: 'vit.encoder.layer.0.attention.attention.key',
      peft: { transformers5: 'layers.0.attention.k_proj', transformers4: 'encoder.layer.0.attention.attention.key' },
      phase: 'full', switchStep: null,
    });
    expect(plan.schedule).toEqual([{ step: 30, fraction: 0.3, modules: ['blocks.0.query'] }]);
    expect(plan.peft.transformers5).toEqual({
      r: 8, lora_alpha: 8, target_modules: ['layers.0.attention.q_proj'], rank_pattern: { 'layers.0.attention.q_proj': 8 },
      alpha_pattern: { 'layers.0.attention.q_proj': 8 }, lora_dropout: 0, bias: 'none',
    });
  });

  it('a switch is labelled with the settings that decided it, not those of the run\'s end; an event recorded before they were kept takes the end\'s', () => {
    // switched at 30 under weightThreshold 50, patience 2, loss threshold 7, ranks by
    // gradChange% per family; then changed live to 0.5, patience 5, the per-module rule
    // without its loss test, update% over all modules
    const end = { ...settings, weightThreshold: 0.5, patience: 5, rule: 'module' as const, useLossTest: false, rankMetric: 'update%' as const, rankScope: 'all' as const };
    const history = [window(10, null, 9, 9), window(20, 4, 2.5, 8), window(30, 1, 1.48, 7), window(40, 1, 0.2, 6), window(50, 1, 0.1, 5)];
    const decided: PhaseChange = {
      module: 'blocks.0.query', from: 'full', to: 'joint', step: 30, rank: 8, decidedBy: { metric: 'update%', value: 1.48, threshold: 50, patience: 2, lossThreshold: 7 },
      rankedBy: { metric: 'gradChange%', scope: 'family' }, lossBefore: 2.5, lossAfter: 2.5,
    };
    const forced: PhaseChange = { module: 'blocks.0.key', from: 'full', to: 'joint', step: 33, rank: 4, decidedBy: 'forced', rankedBy: { metric: 'gradChange%', scope: 'family' } };
    const states: ModuleState[] = [{ id: 'blocks.0.query', phase: 'joint', rank: 8, switchedAt: 30 }, { id: 'blocks.0.key', phase: 'joint', rank: 4, switchedAt: 33 }];
    type Entry = { statistic: unknown; windows: { step: number }[]; rankFrom: unknown };
    const plan = (changes: PhaseChange[]) => (buildPlan({ settings: end, totalSteps: 100, step: 50, states, changes, history }) as { modules: Entry[]; run: Record<string, unknown> });
    const [query, key] = plan([decided, forced]).modules;
    expect(query!.statistic).toEqual({ metric: 'update%', value: 1.48, rule: null, threshold: 50, lossThreshold: 7 });
    expect(query!.windows.map((w) => w.step)).toEqual([30]); // patience 2: one change tested
    expect(query!.rankFrom).toEqual({ metric: 'gradChange%', value: 40, scope: 'family' });
    // a forced switch was decided by no window: only the one its rank came from, whatever the patience
    expect(key!.windows.map((w) => w.step)).toEqual([30]);
    // forced at a window's last step, it read the window before (that step's closes after it)
    const atEnd: PhaseChange = { ...forced, step: 40, rankedBy: { metric: 'gradChange%', scope: 'family', window: 30 } };
    const lateStates: ModuleState[] = [states[0]!, { id: 'blocks.0.key', phase: 'joint', rank: 4, switchedAt: 40 }];
    const [, late] = (buildPlan({ settings: end, totalSteps: 100, step: 50, states: lateStates, changes: [decided, atEnd], history }) as { modules: Entry[] }).modules;
    expect(late!.windows.map((w) => w.step)).toEqual([30]);
    expect(late!.rankFrom).toEqual({ metric: 'gradChange%', value: 10, scope: 'family' });
    expect(key!.rankFrom).toEqual({ metric: 'gradChange%', value: 10, scope: 'family' });
    // the run block holds the end's, and says so
    expect(plan([decided, forced]).run).toMatchObject({ settingsAt: 'end', weightThreshold: 0.5, patience: 5, rankMetric: 'update%', rankScope: 'all' });

    const before: PhaseChange = { ...decided, decidedBy: { metric: 'update%', value: 1.48 } };
    delete before.rankedBy;
    const [old] = plan([before, forced]).modules;
    expect(old!.statistic).toEqual({ metric: 'update%', value: 1.48, rule: null, threshold: 0.5, lossThreshold: null }); // the end's rule: no loss test
    expect(old!.windows.map((w) => w.step)).toEqual([10, 20, 30]); // the end's patience 5 tests 4: only 3 windows up to 30
    expect(old!.rankFrom).toEqual({ metric: 'update%', value: 1.48, scope: 'all' });
  });

  it('a global-rule switch lists the values the rule compared, its family\'s mean, not the module\'s own', () => {
    // the module's own 2.5 and 1.2 beside a threshold of 1.61 read as over it, where the
    // rule compared its family's means, 1.5 and 1.1
    const decided: PhaseChange = {
      module: 'blocks.0.query', from: 'full', to: 'joint', step: 30, rank: 8,
      decidedBy: { metric: 'update%', value: 1.1, rule: 'global', tested: [1.5, 1.1], threshold: 1.61, patience: 3, lossThreshold: 10 },
    };
    const history = [window(10, null, 9, 9), window(20, 4, 2.5, 8), window(30, 1, 1.2, 7)];
    const states: ModuleState[] = [{ id: 'blocks.0.query', phase: 'joint', rank: 8, switchedAt: 30 }, full('blocks.0.key')];
    const [entry] = (buildPlan({ settings, totalSteps: 100, step: 30, states, changes: [decided], history }) as { modules: { statistic: unknown; windows: unknown[] }[] }).modules;
    expect(entry!.statistic).toEqual({ metric: 'update%', value: 1.1, rule: 'global', threshold: 1.61, lossThreshold: 10 });
    expect(entry!.windows).toEqual([{ step: 20, 'update%': 1.5, 'lossChange%': 4 }, { step: 30, 'update%': 1.1, 'lossChange%': 1 }]);
  });

  it('static LoRA: every module planned at step 0, decided "static"; a full run: no switch, no PEFT config', () => {
    const changes: PhaseChange[] = ids.map((id) => ({ module: id, from: 'full', to: 'lora', step: 0, rank: 4, decidedBy: 'static' }));
    const states: ModuleState[] = ids.map((id) => ({ id, phase: 'lora', rank: 4, switchedAt: null }));
    const plan = buildPlan({ settings: { ...settings, mode: 'lora', alpha: 16 }, totalSteps: 10, step: 10, states, changes, history: [] }) as {
      modules: { switchStep: number; frozenStep: number; decidedBy: string; alpha: number; windows: unknown[] }[]; schedule: unknown; peft: Record<string, Record<string, unknown>>;
    };
    expect(plan.modules.map((m) => [m.switchStep, m.frozenStep, m.decidedBy, m.alpha, m.windows])).toEqual([[0, 0, 'static', 16, []], [0, 0, 'static', 16, []]]);
    expect(plan.schedule).toEqual([{ step: 0, fraction: 0, modules: ids }]);
    expect(plan.peft.transformers4!.rank_pattern).toEqual({ 'encoder.layer.0.attention.attention.query': 4, 'encoder.layer.0.attention.attention.key': 4 });

    const none = buildPlan({ settings: { ...settings, mode: 'full' }, totalSteps: 10, step: 10, states: ids.map(full), changes: [], history: [] });
    expect(none.peft).toBeNull();
    expect(none.schedule).toEqual([]);
  });
});
