// Which weight gradients, forwards and input gradients take a named tile (named-wgrad.ts,
// named-forward.ts, named-input-grad.ts), how the weight gradients split, the launches and scratch the
// linear makes for them, and the tuning flags that set them. The kernels' floats are
// checked on Dawn (fused-ops, compiled); these are the rules.
import { describe, expect, it } from 'vitest';
import { Linear } from '../../src/engine/linear';
import { qkvOptions } from '../../src/engine/vit';
import { useBackend } from '../helpers/tf';
import { backwardDispatches, canRide, forwardDispatches, groupsWeightGrad, namedInputGradFor, parseWgradGroup, weightGradGroupDispatches, weightGradScratch, WGRAD_GROUP, type BackwardSpec } from '../../src/engine/ops/webgpu/linear';
import { parseNamedForward, takesNamedForward } from '../../src/engine/ops/webgpu/named-forward';
import { parseNamedInputGrad, transposeDispatches } from '../../src/engine/ops/webgpu/named-input-grad';
import { NAMED_WGRAD, namedWgradLaunch, namedWgradTile, parseNamedWgrad } from '../../src/engine/ops/webgpu/named-wgrad';

const T88 = { TM: 128, TN: 128, TK: 16, RM: 8, RN: 8 };
const T84 = { TM: 128, TN: 64, TK: 16, RM: 8, RN: 4 };
const T48 = { TM: 64, TN: 128, TK: 16, RM: 4, RN: 8 };
const b128 = 8320, b32 = 2080; // rows: batch x 65 tokens

describe('the named tile of a trained base\'s weight gradient', () => {
  it.each([
    ['small fc1 (384 x 1,536)', 384, 1536, T88],
    ['small fc2 (1,536 x 384)', 1536, 384, T88],
    ['small attention (384 x 384)', 384, 384, T84],
    ['tiny fc1 (192 x 768): the tile\'s 128 along dout', 192, 768, T48],
    ['tiny fc2 (768 x 192)', 768, 192, T84],
    ['tiny attention (192 x 192)', 192, 192, T84],
    ['a patch embedding of 48 inputs (a side under 128)', 48, 192, null],
    ['a head of 10 classes (not a multiple of 4)', 192, 10, null],
    ['din not a multiple of 4', 130, 260, null],
  ])('%s', (_, dIn, dOut, tile) => {
    expect(namedWgradTile(dIn, dOut)).toEqual(tile);
  });

  it('is none with the setting off', () => {
    const saved = { ...NAMED_WGRAD };
    try {
      NAMED_WGRAD.on = false;
      expect(namedWgradTile(384, 1536)).toBeNull();
    } finally {
      Object.assign(NAMED_WGRAD, saved);
    }
  });
});

describe('the split of a named-tile weight gradient', () => {
  it.each([
    // 36 tiles: 22 splits hold 792
    ['small fc at batch 128', b128, 384, 1536, T88, 22, 792],
    // 18 tiles: 44 splits, both bounds
    ['small attention at batch 128', b128, 384, 384, T84, 44, 792],
    // 6 tiles: 132 splits would fit 792 tiles; the sum's pass over the partials caps them at 44
    ['tiny attention at batch 128', b128, 192, 192, T84, 44, 264],
    // 2,080 rows: 32 splits of 65 rows (at least 64 a split)
    ['tiny attention at batch 32', b32, 192, 192, T84, 32, 192],
    ['100 rows: one split', 100, 384, 1536, T88, 1, 36],
    // one of three in a launch: 54 tiles, 14 splits hold 792 (each job's 252 workgroups)
    ['small attention among three at batch 128', b128, 384, 384, T84, 14, 252, 3],
    // 36 tiles: 22 splits
    ['small attention among two at batch 128', b128, 384, 384, T84, 22, 396, 2],
    // 18 tiles: still 44
    ['tiny attention among three at batch 128', b128, 192, 192, T84, 44, 264, 3],
  ])('%s', (_, rows, dIn, dOut, tile, splits, workgroups, among = 1) => {
    const l = namedWgradLaunch(rows, dIn, dOut, tile, among);
    expect([l.splits, l.workgroups]).toEqual([splits, workgroups]);
    // every row in one split, none left over
    expect((l.splits - 1) * l.rowsPerSplit).toBeLessThan(rows);
    expect(l.splits * l.rowsPerSplit).toBeGreaterThanOrEqual(rows);
  });
});

describe('the backward\'s weight-gradient launch', () => {
  const spec = (over: Partial<BackwardSpec>): BackwardSpec => ({
    rows: b128, dIn: 384, dOut: 1536, rank: 0, scale: 0, gelu: true, residual: false, inputGrad: true, base: true, ...over,
  });
  // buffers as names: the launches are data
  const bufs = { x: 'x', dg: 'dg', u: 'u', dy: 'dy', w: 'w', wm: 'wm', loraA: 'A', loraB: 'B', xa: 'xa', dx: 'dx', dxa: 'dxa', part: 'part', dw: 'dw', db: 'db', da: 'da', dB: 'dB' };
  const weightGrad = (s: BackwardSpec) => backwardDispatches<string>(s, bufs).find((d) => d.kernel.name === 'linear.weight-grad')!;

  it('runs a trained base without an adapter on its named tile, over x, dg and u into the partials, its scratch the split\'s', () => {
    const s = spec({});
    const d = weightGrad(s);
    expect(d.kernel.key).toBe('linear.weight-grad-named/128x128x16/8x8/gelu');
    expect(d.buffers).toEqual(['x', 'dg', 'u', 'part']);
    expect(d.params).toEqual([b128, 384, 1536, 22, 379, 384 * 1536 + 1536]);
    expect(d.workgroups).toBe(792);
    expect(weightGradScratch(s)).toEqual({ floats: 22 * (384 * 1536 + 1536), splits: 22, rowsPerSplit: 379, total: 384 * 1536 + 1536 });
  });

  it.each([
    ['with an adapter', { rank: 8 }],
    ['a frozen base\'s adapter', { rank: 8, base: false }],
    ['a side under 128', { dIn: 48 }],
  ])('keeps the GEMM tile\'s kernel %s', (_, over) => {
    expect(weightGrad(spec(over)).kernel.key).toMatch(/^linear\.weight-grad\/64x64x16\/4x4\//);
  });
});

describe('the weight gradients of one shape and input in one launch (the query\'s, key\'s and value\'s)', () => {
  const attention = (over: Partial<BackwardSpec> = {}): BackwardSpec => ({
    rows: b128, dIn: 384, dOut: 384, rank: 0, scale: 0, gelu: false, residual: false, inputGrad: true, base: true, splitAmong: 3, ...over,
  });
  const jobs = (n: number, spec = attention()) => Array.from({ length: n }, (_, i) => ({ spec, dy: `dy${i}`, dg: `dg${i}`, u: `u${i}`, part: `part${i}`, dw: `dw${i}`, db: `db${i}` }));
  const keyOf = (d: { kernel: { key: string } }) => d.kernel.key;

  it('runs them in one launch over x, each job\'s dy and partials, each split as splitAmong says (as op by op), then their sums in one', () => {
    const [w, sum, ...rest] = weightGradGroupDispatches<string>('x', jobs(3), 16);
    expect(rest).toEqual([]);
    expect(w!.kernel.key).toBe('linear.weight-grad-named/128x64x16/8x4/id/x3');
    expect(w!.buffers).toEqual(['x', 'dy0', 'dy1', 'dy2', 'part0', 'part1', 'part2']);
    // each job's first workgroup, then one job's params: its split is the one its own launch takes
    const own = weightGradScratch(attention());
    expect(own.splits).toBe(14);
    expect(w!.params).toEqual([0, 252, 504, b128, 384, 384, 14, own.rowsPerSplit, own.total]);
    expect(w!.workgroups).toBe(3 * 252);
    expect(sum!.kernel.name).toBe('linear.weight-grad-sum');
    expect(sum!.buffers).toEqual(['part0', 'dw0', 'db0', 'part1', 'dw1', 'db1', 'part2', 'dw2', 'db2']);
  });

  it('splits them over launches the device binds: 8 storage buffers a stage, three without a GELU (seven buffers) but two sums; behind a GELU two a launch', () => {
    expect(weightGradGroupDispatches<string>('x', jobs(3), 8).map(keyOf)).toEqual([
      'linear.weight-grad-named/128x64x16/8x4/id/x3', 'linear.weight-grad-sum/base/shared-x2/l2', 'linear.weight-grad-sum/base/shared-x1/l2']);
    const gelu = weightGradGroupDispatches<string>('x', jobs(3, attention({ gelu: true })), 8);
    expect(gelu.map(keyOf).slice(0, 2)).toEqual(['linear.weight-grad-named/128x64x16/8x4/gelu/x2', 'linear.weight-grad-named/128x64x16/8x4/gelu/x1']);
    expect(gelu[0]!.buffers).toEqual(['x', 'dg0', 'u0', 'dg1', 'u1', 'part0', 'part1']);
  });

  it('splits the query\'s, key\'s and value\'s among those whose bases train without an adapter (qkvOptions, both paths\' rule)', async () => {
    await useBackend('wasm');
    const init = new Float32Array(8 * 8);
    const [query, key, value] = ['q', 'k', 'v'].map((n) => new Linear(n, 8, 8, init, 'qkv/'));
    const among = () => qkvOptions({ query: query!, key: key!, value: value! }).splitAmong;
    try {
      expect(among()).toBe(3);
      // PreLoRA's switch: the adapter trains beside the base a while (its joint steps), then the base freezes
      key!.addAdapter(2);
      expect(among()).toBe(2);
      key!.freezeBase();
      value!.addAdapter(2);
      value!.freezeBase();
      expect(among()).toBe(1);
      expect(groupsWeightGrad(attention({ splitAmong: among() }))).toBe(false);
    } finally {
      for (const l of [query, key, value]) l!.dispose();
    }
  });

  it('refuses jobs of other shapes, splits or GELUs in one launch, a job that groups none, and as many jobs as they are not split among', () => {
    for (const over of [{ dOut: 388 }, { rows: 4160 }, { gelu: true }, { splitAmong: 2 }]) {
      const mixed = [...jobs(2), { ...jobs(1)[0]!, spec: attention(over) }];
      expect(() => weightGradGroupDispatches<string>('x', mixed, 16), JSON.stringify(over)).toThrow(/other shapes in one launch/);
    }
    expect(() => weightGradGroupDispatches<string>('x', jobs(2, attention({ rank: 8 })), 16)).toThrow(/only trained bases/);
    expect(() => weightGradGroupDispatches<string>('x', [], 16)).toThrow(/only trained bases/);
    expect(() => weightGradGroupDispatches<string>('x', jobs(2), 16)).toThrow(/2 weight gradients split as 3 sharing a launch/);
  });

  it('leaves a grouped linear\'s backward its input gradient alone, and groups only a trained base on a named tile split among several', () => {
    const bufs = { x: 'x', dy: 'dy', w: 'w', dx: 'dx', part: 'part', dw: 'dw', db: 'db', leaveWeightGrad: true };
    expect(backwardDispatches<string>(attention(), bufs).map((d) => d.kernel.name)).toEqual(['linear.input-grad']);
    expect(groupsWeightGrad(attention())).toBe(true);
    for (const over of [{ splitAmong: undefined }, { splitAmong: 1 }, { rank: 8 }, { base: false, rank: 8 }, { dIn: 48 }]) {
      expect(groupsWeightGrad(attention(over))).toBe(false);
      expect(() => backwardDispatches<string>(attention(over), { ...bufs, loraB: 'B', wm: 'wm', xa: 'xa', dxa: 'dxa', da: 'da', dB: 'dB' })).toThrow(/left to a launch of several/);
    }
  });

  it('is off with its flag: each split as alone, none grouped; the flag takes on or off', () => {
    try {
      WGRAD_GROUP.on = false;
      expect(groupsWeightGrad(attention())).toBe(false);
      expect(weightGradScratch(attention()).splits).toBe(44);
    } finally {
      WGRAD_GROUP.on = true;
    }
    expect(parseWgradGroup('off')).toEqual({ on: false });
    expect(parseWgradGroup('on')).toEqual({ on: true });
    expect(parseWgradGroup('shared')).toMatch(/--wgrad-group: write on or off \(got "shared"\)/);
  });
});

describe('the named-tile flag', () => {
  it.each([
    ['off', { on: false, targetWorkgroups: 792, maxSplits: 44 }],
    ['264', { on: true, targetWorkgroups: 264, maxSplits: 44 }],
    ['1056/32', { on: true, targetWorkgroups: 1056, maxSplits: 32 }],
  ])('takes %s', (text, want) => {
    expect(parseNamedWgrad(text)).toEqual(want);
  });

  it.each([
    ['0', /--wgrad-named: .*from 1 to 8192.*\(got "0"\)/],
    ['792/0', /--wgrad-named: splits at most, from 1 to 4096 \(got 0\)/],
    ['on', /or off \(got "on"\)/],
    ['<script>', /\(got "<script>"\)/],
  ])('refuses %s', (text, message) => {
    expect(parseNamedWgrad(text)).toMatch(message);
  });
});

describe('the named forward', () => {
  it.each([
    ['small attention (K and N 384)', b128, 384, 384, true],
    ['small fc1 (N 1,536)', b128, 384, 1536, true],
    ['small fc2 (N 384)', b128, 1536, 384, true],
    ['tiny fc1 (N 768)', b128, 192, 768, true],
    ['tiny fc2 (N 192: it lost there)', b128, 768, 192, false],
    ['tiny attention (N 192)', b128, 192, 192, false],
    ['tiny fc1 at batch 32 (198 tiles)', b32, 192, 768, true],
    ['small attention at batch 32 (99 tiles)', b32, 384, 384, false],
    ['small fc1 at batch 32 (396 tiles)', b32, 384, 1536, true],
    ['K not a multiple of 4', b128, 390, 384, false],
  ])('%s', (_, rows, k, n, named) => {
    expect(takesNamedForward(rows, k, n)).toBe(named);
  });

  it.each([
    ['rank 1', 1, true],
    ['rank 64 (a K slice of A: 256 vec4s, one a thread)', 64, true],
    ['rank 128 (512 vec4s: more than the threads)', 128, false],
  ])('with an adapter of %s', (_, rank, named) => {
    expect(takesNamedForward(b128, 192, 768, rank)).toBe(named);
  });

  it('is the forward\'s launch, over the buffers the GEMM tile\'s binds; with an adapter on its merged weight, a side workgroup per 64 rows ahead of the tiles; merged in the loads, the GEMM tile\'s', () => {
    const spec = { rows: b128, dIn: 384, dOut: 1536, rank: 0, scale: 0, gelu: true, residual: false };
    const [d] = forwardDispatches<string>(spec, { x: 'x', w: 'w', b: 'b', u: 'u', g: 'g' });
    expect([d!.kernel.key, d!.buffers, d!.params, d!.workgroups]).toEqual(['linear.forward-named/64x128x16/4x8/r0/gelu/nores', ['x', 'w', 'b', 'u', 'g'], [b128, 1536, 384], 130 * 12]);
    const ad = { x: 'x', w: 'w', b: 'b', u: 'u', g: 'g', loraA: 'A', loraB: 'B', wm: 'wm', xa: 'xa' };
    const lora = forwardDispatches<string>({ ...spec, rank: 8, scale: 1, merge: 'batch' }, ad);
    expect(lora).toHaveLength(1);
    expect([lora[0]!.kernel.key, lora[0]!.buffers, lora[0]!.params, lora[0]!.workgroups]).toEqual(['linear.forward-named/64x128x16/4x8/r8/gelu/nores', ['x', 'wm', 'b', 'A', 'u', 'g', 'xa'], [b128, 1536, 384], 130 + 130 * 12]);
    const loads = forwardDispatches<string>({ ...spec, rank: 8, scale: 1, merge: 'loads' }, ad);
    expect(loads.at(-1)!.kernel.key).toMatch(/^linear\.forward\/128x64x16\/8x4\/r8\/gelu\/nores\/merged$/);
  });

  it.each([
    ['off', { on: false }],
    ['768/100', { on: true, minN: 768, minTiles: 100 }],
  ])('takes the flag %s', (text, want) => {
    expect(parseNamedForward(text)).toMatchObject(want);
  });

  it.each([['384', /write MINN\/MINTILES/], ['<b>/1', /\(got "<b>\/1"\)/]])('refuses the flag %s', (text, message) => {
    expect(parseNamedForward(text)).toMatch(message);
  });
});

describe('a trained base\'s input gradient on the named tile, over its weight transposed', () => {
  const spec = (rows: number, dIn: number, dOut: number, o: Partial<BackwardSpec> = {}): BackwardSpec =>
    ({ rows, dIn, dOut, rank: 0, scale: 0, gelu: false, residual: false, inputGrad: true, base: true, ...o });

  it.each([
    ['small q, k, v, o (K 384, N 384: 390 tiles)', b128, 384, 384, true],
    ['small fc2 (K 384, N 1,536)', b128, 1536, 384, true],
    ['small fc1 (K 1,536, N 384): K over 768', b128, 384, 1536, false],
    ['tiny fc2 (K 192, N 768: 780 tiles)', b128, 768, 192, true],
    ['tiny fc2 at batch 32 (198 tiles)', b32, 768, 192, false],
    ['tiny attention (N 192)', b128, 192, 192, false],
    ['K 768, the most', b128, 384, 768, true],
    ['K 772', b128, 384, 772, false],
    ['256 tiles, the least (4,096 rows, N 512)', 4096, 512, 384, true],
    ['252 tiles (4,032 rows)', 4032, 512, 384, false],
    ['din not a multiple of 4', b128, 390, 384, false],
    ['dout not a multiple of 4', b128, 384, 382, false],
  ])('%s', (_, rows, dIn, dOut, named) => {
    expect(namedInputGradFor(spec(rows, dIn, dOut))).toBe(named);
  });

  it('takes no rider: a frozen base\'s thin gradients wait for another host', () => {
    const frozen = spec(b128, 384, 384, { rank: 8, scale: 1, base: false, inputGrad: false });
    const riders = backwardDispatches<string>(frozen, { x: 'rx', dy: 'rdy', wm: 'rwm', loraB: 'rB', xa: 'rxa', dx: 'rdx', dxa: 'rdxa', da: 'rda', dB: 'rdB', part: 'rp', deferSum: true });
    const rider = { spec: frozen, dispatch: riders.at(-1)! };
    const limits = { storageBuffers: 16, sharedBytes: 32768 };
    const host = spec(b128, 384, 384);
    const g = { x: 'x', dy: 'dy', dx: 'dx', part: 'p', dw: 'dw', db: 'db' };
    expect(canRide(host, backwardDispatches<string>(host, { ...g, w: 'w' })[0]!, rider, limits)).toBe(true);
    expect(canRide(host, backwardDispatches<string>(host, { ...g, wt: 'wt' })[0]!, rider, limits)).toBe(false);
    expect(() => backwardDispatches<string>(host, { ...g, wt: 'wt' }, rider)).toThrow(/no rider/);
  });

  it.each([
    ['with an adapter', { rank: 8 }],
    ['with its base frozen', { base: false }],
    ['without an input gradient (the patch embedding)', { inputGrad: false }],
  ])('is none %s', (_, o) => {
    expect(namedInputGradFor(spec(b128, 384, 384, o))).toBe(false);
  });

  it('is dy WT\'s launch over the copy (written, added to, or through the GELU of the input), and the copies\' launch takes several weights', () => {
    const s = spec(b128, 1536, 384);
    const g = { x: 'x', dy: 'dy', wt: 'wt', dx: 'dx', part: 'p', dw: 'dw', db: 'db' };
    const keys = [{}, { accumulateDx: true }, { dxGeluOf: 'gu' }].map((o) => backwardDispatches<string>(s, { ...g, ...o })[0]!);
    expect(keys.map((d) => d.kernel.key)).toEqual(['write', 'add', 'gelu'].map((k) => `linear.input-grad-named/64x128x16/4x8/${k}`));
    expect([keys[2]!.buffers, keys[2]!.params, keys[2]!.workgroups]).toEqual([['dy', 'wt', 'gu', 'dx'], [b128, 1536, 384], 130 * 12]);
    expect(() => backwardDispatches<string>({ ...s, gelu: true }, { ...g, dg: 'dg', u: 'u' })).toThrow(/without a GELU/);
    const launches = transposeDispatches<string>([{ w: 'a', wt: 'at', dIn: 384, dOut: 1536 }, { w: 'b', wt: 'bt', dIn: 100, dOut: 40 }, { w: 'c', wt: 'ct', dIn: 384, dOut: 384 }], 2);
    expect(launches.map((d) => [d.kernel.key, d.buffers, d.params, d.workgroups])).toEqual([
      ['linear.transpose/x2', ['a', 'at', 'b', 'bt'], [0, 384, 1536, 576, 100, 40], 576 + 8],
      ['linear.transpose/x1', ['c', 'ct'], [0, 384, 384], 144],
    ]);
  });

  it.each([
    ['384/256/768', { on: true, minN: 384, minTiles: 256, maxK: 768 }],
    ['off', { on: false }],
  ])('reads the flag %s', (text, want) => {
    expect(parseNamedInputGrad(text)).toMatchObject(want);
  });

  it.each([['384/256', /write MINN\/MINTILES\/MAXK/], ['<b>/1/2', /\(got "<b>\/1\/2"\)/]])('refuses the flag %s', (text, message) => {
    expect(parseNamedInputGrad(text)).toMatch(message);
  });
});
