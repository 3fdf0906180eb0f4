// The PreLoRA policy, table-driven: both switch rules, the rank buckets, and their edges.
import { describe, expect, it } from 'vitest';
import {
  allocateRanks, decide, layerWeights, lossTestHolds, minMaxNormalise, rankFor, rankSet,
  type ModuleWindow, type PolicySettings, type WindowRecord,
} from '../../src/engine/policy';

const settings: PolicySettings = {
  rule: 'global', metric: 'update%', weightThreshold: 5, lossThreshold: 10, useLossTest: true,
  patience: 3, minFullSteps: 0, layerWeights: 'uniform', rankMetric: 'gradChange%', rankScope: 'family',
  minRank: 4, maxRank: 32,
};

/**
 * A history of windows: `loss[i]` is window i's lossChange% (null for the first), and
 * `metric[id][i]` the module's metric in window i (its gradChange% too, unless given).
 */
function history(loss: (number | null)[], metric: Record<string, (number | null)[]>, grad?: Record<string, number>): WindowRecord[] {
  return loss.map((lossChange, i) => ({
    step: (i + 1) * 50,
    loss: 2 - i * 0.01,
    'lossChange%': lossChange,
    modules: Object.fromEntries(Object.entries(metric).map(([id, values]): [string, ModuleWindow] => [id, {
      norm: 10, 'normChange%': values[i] ?? null, 'update%': values[i] ?? null, gradNorm: 1,
      'gradChange%': grad?.[id] ?? values[i] ?? null,
    }])),
  }));
}

describe('rank buckets', () => {
  it('are the powers of two between minRank and maxRank', () => {
    expect(rankSet(4, 32)).toEqual([4, 8, 16, 32]);
    expect(rankSet(8, 8)).toEqual([8]);
    expect(rankSet(1, 64)).toEqual([1, 2, 4, 8, 16, 32, 64]);
  });

  it.each([
    [0, 4], [0.1, 4], [0.25, 4], [0.2501, 8], [0.5, 8], [0.51, 16], [0.75, 16], [0.76, 32], [1, 32],
  ])('x = %s -> rank %s (index max(0, ceil(4x) - 1))', (x, rank) => {
    expect(rankFor(x, rankSet(4, 32))).toBe(rank);
  });

  it('min-max normalises, and all-equal values map to 0', () => {
    expect(minMaxNormalise([2, 4, 6])).toEqual([0, 0.5, 1]);
    expect(minMaxNormalise([3, 3, 3])).toEqual([0, 0, 0]);
  });

  it('gives minRank to every module of an all-equal family', () => {
    const last = history([null], { 'blocks.0.value': [2], 'blocks.1.value': [2], 'blocks.2.value': [2] })[0]!;
    expect(allocateRanks(last, ['blocks.0.value', 'blocks.1.value'], Object.keys(last.modules), settings)).toEqual({ 'blocks.0.value': 4, 'blocks.1.value': 4 });
  });

  it('normalises within the family (or across all modules with scope all)', () => {
    const metric = { 'blocks.0.query': [1], 'blocks.1.query': [1], 'blocks.0.fc1': [1], 'blocks.1.fc1': [1] };
    const grads = { 'blocks.0.query': 10, 'blocks.1.query': 20, 'blocks.0.fc1': 0, 'blocks.1.fc1': 100 };
    const last = history([null], metric, grads)[0]!;
    const full = Object.keys(metric);
    // within query: 10 -> 0 (rank 4), 20 -> 1 (rank 32)
    expect(allocateRanks(last, ['blocks.0.query', 'blocks.1.query'], full, settings)).toEqual({ 'blocks.0.query': 4, 'blocks.1.query': 32 });
    // across all: 10 -> 0.1 (4), 20 -> 0.2 (4)
    expect(allocateRanks(last, ['blocks.0.query', 'blocks.1.query'], full, { ...settings, rankScope: 'all' }))
      .toEqual({ 'blocks.0.query': 4, 'blocks.1.query': 4 });
  });

  // A frozen module's gradient norm is 0: its gradChange% is 100 in the window after the
  // freeze and null after that. Counted in, it moved the same module from rank 4 to 16
  // depending only on when its siblings froze (issue 11, item 1). Only modules still in
  // full training, the switching ones included, take part.
  const family = (changes: (number | null)[]): WindowRecord => ({
    step: 150, loss: 1, 'lossChange%': 1,
    modules: Object.fromEntries(changes.map((g, l): [string, ModuleWindow] => [`blocks.${l}.value`, {
      norm: 10, 'normChange%': 0, 'update%': 0, gradNorm: g === null ? 0 : 1, 'gradChange%': g,
    }])),
  });
  it.each([
    { name: 'three siblings frozen long ago (null): the switching module is alone', changes: [1.7, null, null, null], full: [0], want: { 0: 4 } },
    { name: 'a sibling frozen in the last window (100) and two long ago', changes: [1.7, 100, null, null], full: [0], want: { 0: 4 } },
    { name: 'a still-full sibling counts; frozen ones do not', changes: [1.7, null, 0.2, 100], full: [0, 2], want: { 0: 16 } },
    { name: 'two switch together, a frozen one in between is left out', changes: [3, 100, 1, null], full: [0, 2], want: { 0: 16, 2: 4 } },
  ])('ranks only against modules still in full training: $name', ({ changes, full, want }) => {
    const last = family(changes);
    const ids = (ls: number[]) => ls.map((l) => `blocks.${l}.value`);
    const switching = ids(Object.keys(want).map(Number));
    const s = { ...settings, maxRank: 16 };
    const expected = Object.fromEntries(Object.entries(want).map(([l, r]) => [`blocks.${l}.value`, r]));
    expect(allocateRanks(last, switching, ids(full), s)).toEqual(expected);
    // the same with scope all: the frozen modules of every family stay out
    expect(allocateRanks(last, switching, ids(full), { ...s, rankScope: 'all' })).toEqual(expected);
  });
});

describe('layer weights', () => {
  it('uniform sums to 1; deep (depth >= 8) gives the last layer 0.45 and the rest 0.55 by l^10, as the paper', () => {
    expect(layerWeights(4, 'uniform')).toEqual([0.25, 0.25, 0.25, 0.25]);
    for (const depth of [8, 12, 24]) {
      const deep = layerWeights(depth, 'deep');
      expect(deep[depth - 1]).toBe(0.45);
      expect(deep.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      expect(deep[1]! / deep[0]!).toBeCloseTo(2 ** 10, 6);
    }
    expect(layerWeights(1, 'deep')).toEqual([1]);
  });

  // The paper's split puts the second-last layer above the last for depth <= 7 (depth 4:
  // 0.541 vs 0.45), which the authors' code rejects. Deep weights must rise with depth.
  it.each(Array.from({ length: 24 }, (_, i) => i + 1))('deep weights rise strictly with depth and sum to 1 (depth %i)', (depth) => {
    const deep = layerWeights(depth, 'deep');
    expect(deep).toHaveLength(depth);
    expect(deep.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    for (let l = 1; l < depth; l++) expect(deep[l]!, `layer ${l}`).toBeGreaterThan(deep[l - 1]!);
  });

  it('deep weights of shallow models (depth <= 7) are l^10 over all layers', () => {
    const raw = [1, 2, 3, 4].map((l) => l ** 10);
    const sum = raw.reduce((a, b) => a + b, 0);
    layerWeights(4, 'deep').forEach((w, i) => expect(w).toBeCloseTo(raw[i]! / sum, 12));
  });
});

describe('global rule (paper)', () => {
  const two = (a: number[], b: number[]) => ({ 'blocks.0.value': [null, ...a], 'blocks.1.value': [null, ...b] });
  const rows = [
    // the paper's threshold pairs (weight% / loss%), just met and just missed
    { name: '5/10: below both', w: 5, l: 10, a: [4.9, 4.9], b: [1, 1], loss: [9.9, 10], switches: true },
    { name: '5/10: a family mean equal to the threshold does not settle (strict <)', w: 5, l: 10, a: [5, 5], b: [5, 5], loss: [1, 1], switches: false },
    { name: '5/10: one loss change over', w: 5, l: 10, a: [1, 1], b: [1, 1], loss: [10, 10.01], switches: false },
    { name: '1/5: below both', w: 1, l: 5, a: [0.9, 0.5], b: [0.2, 0.9], loss: [5, 4], switches: true },
    { name: '1/5: one module over, the family mean (0.85) under', w: 1, l: 5, a: [0.9, 0.5], b: [0.2, 1.2], loss: [5, 4], switches: true },
    { name: '0.5/2.5: mean 0.495 settles', w: 0.5, l: 2.5, a: [0.4, 0.4], b: [0.4, 0.59], loss: [2.5, 1], switches: true },
    { name: '0.5/2.5: mean 0.505 does not', w: 0.5, l: 2.5, a: [0.4, 0.4], b: [0.4, 0.61], loss: [2.5, 1], switches: false },
    { name: '0.25/1: loss 1.5 over', w: 0.25, l: 1, a: [0.2, 0.2], b: [0.2, 0.2], loss: [1, 1.5], switches: false },
    { name: '0.25/1: below both', w: 0.25, l: 1, a: [0.2, 0.2], b: [0.2, 0.2], loss: [0.5, 0.9], switches: true },
  ];
  it.each(rows)('$name', ({ w, l, a, b, loss, switches }) => {
    const h = history([null, ...loss], two(a, b));
    const d = decide(h, ['blocks.0.value', 'blocks.1.value'], { ...settings, weightThreshold: w, lossThreshold: l });
    expect(d.switching).toEqual(switches ? ['blocks.0.value', 'blocks.1.value'] : []);
  });

  it('its statistic is what it compared with the threshold: each module\'s family\'s layer-weighted mean at the last window', () => {
    // one module over (1.2), its family's mean under (0.85): each was recorded with its own
    // value, so blocks.1.value read as switched by a 1.2 against a threshold of 1
    const h = history([null, 5, 4], { ...two([0.9, 0.5], [0.2, 1.2]), 'blocks.0.fc1': [null, 0.3, 0.3] });
    const d = decide(h, ['blocks.0.value', 'blocks.1.value', 'blocks.0.fc1'], { ...settings, weightThreshold: 1, lossThreshold: 5 });
    expect(d.switching).toHaveLength(3);
    expect(d.tested['blocks.0.value']!.at(-1)).toBeCloseTo(0.85, 12);
    expect(d.tested['blocks.1.value']!.at(-1)).toBeCloseTo(0.85, 12);
    expect(d.tested['blocks.0.fc1']!.at(-1)).toBeCloseTo(0.3, 12);
    // deep weights (depth 2: 1 and 1024 over 1025)
    const deep = decide(h, ['blocks.0.value', 'blocks.1.value'], { ...settings, weightThreshold: 2, lossThreshold: 5, layerWeights: 'deep' });
    expect(deep.tested['blocks.0.value']!.at(-1)).toBeCloseTo((0.5 + 1024 * 1.2) / 1025, 12);
  });

  it('a family\'s mean is over its modules still in full training, not one already switched', () => {
    // blocks.0.value was switched by hand: frozen, its gradChange% is null and its update% 0
    const h = history([null, 1, 1], two([0, 0], [6, 6]));
    for (const w of h) w.modules['blocks.0.value']!['gradChange%'] = null;
    // the mean over both (3) would settle under 5; blocks.1.value's own 6 does not
    expect(decide(h, ['blocks.1.value'], settings).switching).toEqual([]);
    expect(decide(h, ['blocks.1.value'], { ...settings, weightThreshold: 6.5 }).switching).toEqual(['blocks.1.value']);
    // on gradChange% the switched module's null held the family unsettled at any threshold
    expect(decide(h, ['blocks.1.value'], { ...settings, metric: 'gradChange%', weightThreshold: 1e5 }).switching).toEqual(['blocks.1.value']);
  });

  it('the loss test needs patience windows, and the layer weighting can change the verdict', () => {
    expect(lossTestHolds(history([null, 1], {}), settings)).toBe(false); // 2 windows < patience 3
    expect(lossTestHolds(history([null, 1, 1], {}), settings)).toBe(true);
    // layer 0 barely moves, layer 1 (last) a lot: uniform mean 3.05 vs deep (1 * 0.1 + 1024 * 6) / 1025 = 5.99
    const h = history([null, 1, 1], two([0.1, 0.1], [6, 6]));
    expect(decide(h, ['blocks.0.value', 'blocks.1.value'], { ...settings, weightThreshold: 3.2 }).switching).toHaveLength(2);
    expect(decide(h, ['blocks.0.value', 'blocks.1.value'], { ...settings, weightThreshold: 3.2, layerWeights: 'deep' }).switching).toHaveLength(0);
  });
});

describe('per-module rule', () => {
  const s = { ...settings, rule: 'module' as const, weightThreshold: 1 };
  const h = history([null, 1, 1, 1], {
    'blocks.0.fc1': [null, 0.5, 0.5, 0.5], // settled
    'blocks.0.fc2': [null, 5, 0.5, 0.5], // settled for the last 2 pairs only: enough with patience 3
    'blocks.1.fc1': [null, 0.5, 0.5, 3], // moved again
    'blocks.1.fc2': [null, 9, 9, 9], // never settles
  });
  const active = ['blocks.0.fc1', 'blocks.0.fc2', 'blocks.1.fc1', 'blocks.1.fc2'];

  it('switches each module on its own metric', () => {
    const d = decide(h, active, s);
    expect(d.switching).toEqual(['blocks.0.fc1', 'blocks.0.fc2']);
    expect(d.tested).toEqual({ 'blocks.0.fc1': [0.5, 0.5], 'blocks.0.fc2': [0.5, 0.5] });
  });

  it('never switches a module that never settles, whatever the patience', () => {
    for (const patience of [2, 3, 4]) expect(decide(h, active, { ...s, patience }).switching).not.toContain('blocks.1.fc2');
  });

  it('waits for minFullSteps and, when asked, for the loss test', () => {
    expect(decide(h, active, { ...s, minFullSteps: 250 }).switching).toEqual([]); // last window at step 200
    const noisy = history([null, 1, 30, 1], { 'blocks.0.fc1': [null, 0.5, 0.5, 0.5] });
    expect(decide(noisy, ['blocks.0.fc1'], s).switching).toEqual([]);
    expect(decide(noisy, ['blocks.0.fc1'], { ...s, useLossTest: false }).switching).toEqual(['blocks.0.fc1']);
  });

  it('a threshold changed between windows affects the next decision only', () => {
    // window 4 with threshold 1: fc2 of layer 1 does not switch; the user raises it to 10
    expect(decide(h, ['blocks.1.fc2'], s).switching).toEqual([]);
    expect(decide(h, ['blocks.1.fc2'], { ...s, weightThreshold: 10 }).switching).toEqual(['blocks.1.fc2']);
    // modules that already switched are not active any more, so a lower threshold cannot undo them
    expect(decide(h, ['blocks.1.fc2'], { ...s, weightThreshold: 0.1 }).switching).toEqual([]);
  });
});
