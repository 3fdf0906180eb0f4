// The controller's per-window step as a pure function, table-driven: when it switches,
// which modules, at which rank, and the state it hands on (the rank pool shrinks as
// modules switch); forced switches; the run's last window; the targets.
import { describe, expect, it } from 'vitest';
import type { ModuleWindow, WindowRecord } from '../../src/engine/policy';
import { activeModules, initialState, stepForced, stepWindow, type StepperSettings } from '../../src/engine/stepper';

const base: StepperSettings = {
  rule: 'module', metric: 'update%', weightThreshold: 1, lossThreshold: 10, useLossTest: true,
  patience: 3, minFullSteps: 0, layerWeights: 'uniform', rankMetric: 'gradChange%', rankScope: 'family',
  minRank: 4, maxRank: 16, targets: ['query', 'fc1'], windowSteps: 10,
};

const ids = ['blocks.0.query', 'blocks.1.query', 'blocks.0.fc1', 'blocks.1.fc1'];

/** Windows 1..n of 10 steps: `update[id][i]` the module's update% in window i, gradChange% from `grad` (or 1). */
function windows(update: Record<string, number[]>, grad: Record<string, number> = {}, lossChange = 1): WindowRecord[] {
  const n = Object.values(update)[0]!.length;
  return Array.from({ length: n }, (_, i) => ({
    step: (i + 1) * 10, loss: 2, 'lossChange%': i === 0 ? null : lossChange,
    modules: Object.fromEntries(Object.entries(update).map(([id, v]): [string, ModuleWindow] => [id, {
      norm: 1, 'normChange%': v[i]!, 'update%': i === 0 ? null : v[i]!, gradNorm: 1, 'gradChange%': i === 0 ? null : (grad[id] ?? 1),
    }])),
  }));
}

const settled = windows(
  { 'blocks.0.query': [5, 0.5, 0.5], 'blocks.1.query': [5, 0.5, 0.9], 'blocks.0.fc1': [5, 0.5, 2], 'blocks.1.fc1': [5, 0.2, 0.2] },
  { 'blocks.0.query': 1, 'blocks.1.query': 3, 'blocks.0.fc1': 0, 'blocks.1.fc1': 10 },
);

describe('stepWindow', () => {
  it.each([
    ['too few windows for patience 3', settled.slice(0, 2), base, 100, []],
    ['the run\'s last window: no switch that could not pay off', settled, base, 35, []],
    ['the loss test fails', windows({ 'blocks.0.query': [5, 0.5, 0.5] }, {}, 50), base, 100, []],
    ['the loss test off', windows({ 'blocks.0.query': [5, 0.5, 0.5] }, {}, 50), { ...base, useLossTest: false }, 100, [['blocks.0.query', 4]]],
    ['before minFullSteps', settled, { ...base, minFullSteps: 40 }, 100, []],
    // per module: 0.fc1 moved 2% (> 1); ranks within the family over the modules still full:
    // query 1 vs 3 -> 4 and 16; fc1: 1.fc1 has the pool's highest gradChange (10 vs 0) -> 16
    ['per module: the settled ones, ranked in their family', settled, base, 100, [['blocks.0.query', 4], ['blocks.1.query', 16], ['blocks.1.fc1', 16]]],
    ['a higher threshold takes 0.fc1 too', settled, { ...base, weightThreshold: 3 }, 100, [['blocks.0.query', 4], ['blocks.1.query', 16], ['blocks.0.fc1', 4], ['blocks.1.fc1', 16]]],
    ['targets: only fc1 may switch', settled, { ...base, targets: ['fc1'] }, 100, [['blocks.1.fc1', 16]]],
    // global: family means 0.7 (query) and 1.1 (fc1) in the last window: fc1 fails at 1
    ['global: one family above the threshold holds everything', settled, { ...base, rule: 'global' }, 100, []],
    ['global: all at once', settled, { ...base, rule: 'global', weightThreshold: 1.2 }, 100, [['blocks.0.query', 4], ['blocks.1.query', 16], ['blocks.0.fc1', 4], ['blocks.1.fc1', 16]]],
  ] as [string, WindowRecord[], StepperSettings, number, [string, number][]][])('%s', (_, history, s, total, expected) => {
    const modules = Object.keys(history[0]!.modules);
    const { state, switches } = stepWindow(initialState(modules), history, s, total);
    expect(switches.map((sw) => [sw.module, sw.rank])).toEqual(expected);
    for (const sw of switches) {
      expect(sw.step).toBe(history.at(-1)!.step);
      expect(sw.statistic).toBe(history.at(-1)!.modules[sw.module]![s.metric]);
    }
    expect(state.full).toEqual(modules.filter((id) => !expected.some(([m]) => m === id)));
  });

  it('hands on a state whose rank pool no longer holds the switched modules', () => {
    // window 3: only 1.fc1 settles; window 4: 0.fc1 settles and, alone in its family's pool, gets minRank
    const h = windows({ 'blocks.0.fc1': [5, 2, 2, 0.5, 0.5], 'blocks.1.fc1': [5, 0.2, 0.2, 0.2, 0.2] }, { 'blocks.0.fc1': 0, 'blocks.1.fc1': 10 });
    const first = stepWindow(initialState(['blocks.0.fc1', 'blocks.1.fc1']), h.slice(0, 3), base, 100);
    expect(first.switches.map((s) => [s.module, s.rank])).toEqual([['blocks.1.fc1', 16]]);
    expect(stepWindow(first.state, h.slice(0, 4), base, 100).switches).toEqual([]);
    const second = stepWindow(first.state, h, base, 100);
    expect(second.switches.map((s) => [s.module, s.rank, s.step])).toEqual([['blocks.0.fc1', 4, 50]]);
    expect(second.state.full).toEqual([]);
    expect(activeModules(first.state, base.targets)).toEqual(['blocks.0.fc1']);
  });
});

describe('stepForced', () => {
  it('ranks like the policy at the last window, at minRank before any, and skips modules already switched', () => {
    const s0 = initialState(ids);
    const early = stepForced(s0, ['blocks.1.fc1'], undefined, base, 3);
    expect(early.switches).toEqual([{ module: 'blocks.1.fc1', step: 3, rank: 4, statistic: null }]);
    const late = stepForced(early.state, ['blocks.1.fc1', 'blocks.1.query'], settled.at(-1), base, 31);
    expect(late.switches).toEqual([{ module: 'blocks.1.query', step: 31, rank: 16, statistic: null }]);
    expect(late.state.full).toEqual(['blocks.0.query', 'blocks.0.fc1']);
  });
});
