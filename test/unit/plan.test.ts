// The PreLoRA plan from plain data (no tfjs): a policy switch carries the statistic that
// decided it, the windows the rule saw and the rank metric; static LoRA's modules are
// planned at step 0; the PEFT arguments follow the plan.
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
      statistic: { metric: 'update%', value: 1.2, threshold: 3 },
      windows: [
        { step: 10, 'update%': 9, 'lossChange%': null },
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
