// The controller's per-window step as a pure function, table-driven: when it switches,
// which modules, at which rank, and the state it hands on (the rank pool shrinks as
// modules switch); forced switches; the run's last window; the targets; which windows
// could switch anything before their statistics are known.
import { describe, expect, it } from 'vitest';
import { parseModuleId, type ModuleWindow, type WindowRecord } from '../../src/engine/policy';
import { activeModules, initialState, stepForced, stepWindow, windowCouldSwitch, type StepperSettings } from '../../src/engine/stepper';

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
    // scope all over the targets: the query modules, full to the end, take no part (their
    // gradChange of 30 put 1.fc1's 10 at a third of the range: rank 4)
    ['targets fc1, scope all: the pool is the targeted modules still full', windows(
      { 'blocks.0.query': [5, 0.5, 0.5], 'blocks.1.query': [5, 0.5, 0.9], 'blocks.0.fc1': [5, 0.5, 2], 'blocks.1.fc1': [5, 0.2, 0.2] },
      { 'blocks.0.query': 30, 'blocks.1.query': 30, 'blocks.0.fc1': 0, 'blocks.1.fc1': 10 },
    ), { ...base, targets: ['fc1'], rankScope: 'all' }, 100, [['blocks.1.fc1', 16]]],
    // global: family means 0.7 (query) and 1.1 (fc1) in the last window: fc1 fails at 1
    ['global: one family above the threshold holds everything', settled, { ...base, rule: 'global' }, 100, []],
    ['global: all at once', settled, { ...base, rule: 'global', weightThreshold: 1.2 }, 100, [['blocks.0.query', 4], ['blocks.1.query', 16], ['blocks.0.fc1', 4], ['blocks.1.fc1', 16]]],
  ] as [string, WindowRecord[], StepperSettings, number, [string, number][]][])('%s', (_, history, s, total, expected) => {
    const modules = Object.keys(history[0]!.modules);
    const { state, switches } = stepWindow(initialState(modules), history, s, total);
    expect(switches.map((sw) => [sw.module, sw.rank])).toEqual(expected);
    const last = history.at(-1)!;
    for (const sw of switches) {
      expect(sw.step).toBe(last.step);
      // what the rule compared: the module's own value, or (global) its family's mean (uniform weights)
      const family = parseModuleId(sw.module).family;
      const mates = s.rule === 'global' ? modules.filter((id) => parseModuleId(id).family === family) : [sw.module];
      expect(sw.tested!.at(-1)).toBeCloseTo(mates.reduce((a, id) => a + last.modules[id]![s.metric]!, 0) / mates.length, 12);
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
    expect(early.switches).toEqual([{ module: 'blocks.1.fc1', step: 3, rank: 4, tested: null }]);
    const late = stepForced(early.state, ['blocks.1.fc1', 'blocks.1.query'], settled.at(-1), base, 31);
    expect(late.switches).toEqual([{ module: 'blocks.1.query', step: 31, rank: 16, tested: null }]);
    expect(late.state.full).toEqual(['blocks.0.query', 'blocks.0.fc1']);
  });
});

/** Ten windows where every module moved, then `last`: eleven windows, steps 10 to 110. */
const longRun = (last: WindowRecord): WindowRecord[] => {
  const tenMoved = windows(Object.fromEntries(Object.keys(last.modules).map((id) => [id, Array.from({ length: 10 }, () => 5)])));
  return [...tenMoved, { ...last, step: 110 }];
};

describe('windowCouldSwitch', () => {
  const all = ['blocks.0.query', 'blocks.1.query', 'blocks.0.fc1', 'blocks.1.fc1'];
  const moved = windows({ 'blocks.0.query': [5, 5], 'blocks.1.query': [5, 5], 'blocks.0.fc1': [5, 5], 'blocks.1.fc1': [5, 5] });
  it.each([
    ['the first window, patience 3', [], base, 100, false],
    ['the second window, patience 3: two changes are one short', settled.slice(0, 1), base, 100, false],
    ['the third window after a settled second: it might', settled.slice(0, 2), base, 100, true],
    ['the third window after a second where everything moved: no pair can pass', moved, base, 100, false],
    ['the run\'s last window', settled.slice(0, 2), base, 35, false],
    ['before minFullSteps', settled.slice(0, 2), { ...base, minFullSteps: 40 }, 100, false],
    ['the loss test failed in the window before', windows({ 'blocks.0.query': [5, 0.5] }, {}, 50), base, 100, false],
    ['patience 2: any window after the first might', moved.slice(0, 1), { ...base, patience: 2 }, 100, true],
    ['global: a family above the threshold in the window before holds everything', settled.slice(0, 2).map((w, i) => (i ? { ...w, modules: { ...w.modules, 'blocks.0.fc1': { ...w.modules['blocks.0.fc1']!, 'update%': 9 } } } : w)), { ...base, rule: 'global' }, 100, false],
    ['global: both families below it', settled.slice(0, 2), { ...base, rule: 'global' }, 100, true],
    ['no family targeted', settled.slice(0, 2), { ...base, targets: [] }, 100, false],
    // a long run: only the last windows count (the decision reads its last `patience`)
    ['the twelfth window after a settled eleventh, ten that moved before it', longRun(settled[1]!), base, 200, true],
    ['the twelfth after an eleventh where everything moved', longRun(moved[1]!), base, 200, false],
  ] as [string, WindowRecord[], StepperSettings, number, boolean][])('%s', (_, history, s, total, could) => {
    const step = 10 * (history.length + 1);
    expect(windowCouldSwitch(initialState(all), history, s, total, step, all)).toBe(could);
  });

  it('never says no where the decision then switches: every window of the tables, every setting', () => {
    const cases: [WindowRecord[], StepperSettings][] = [];
    const settings = [base, { ...base, weightThreshold: 3 }, { ...base, rule: 'global' as const, weightThreshold: 1.2 }, { ...base, useLossTest: false }, { ...base, patience: 2 }];
    for (const s of settings) {
      for (const h of [settled, moved, windows({ 'blocks.0.query': [5, 0.5, 0.5] }, {}, 50)]) cases.push([h, s]);
    }
    let switched = 0;
    for (const [h, s] of cases) {
      for (let n = 1; n <= h.length; n++) {
        const modules = Object.keys(h[0]!.modules);
        const { switches } = stepWindow(initialState(modules), h.slice(0, n), s, 100);
        const could = windowCouldSwitch(initialState(modules), h.slice(0, n - 1), s, 100, h[n - 1]!.step, modules);
        if (switches.length) {
          switched++;
          expect(could).toBe(true);
        }
      }
    }
    expect(switched).toBeGreaterThan(5); // the check met windows that switch
  });
});
