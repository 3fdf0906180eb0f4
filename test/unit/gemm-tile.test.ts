// The tuning flags a run may set (`npm run bench -- --gemm-tile`, `--gemm-wide`, `--split-k`,
// `--thin-grad`, `--layernorm-groups`, `--layernorm-rows`): settings the kernels can run are taken, the rest refused
// with what to change; which products take the wide tile, and which weight gradients load vec4s.
import { describe, expect, it } from 'vitest';
import { GEMM_TILE, GEMM_WIDE, parseGemmTile, parseGemmWide, parseSplitK, tileFor, tileKey, wideTile } from '../../src/engine/ops/webgpu/gemm';
import { parseLayerNormGroups, parseLayerNormRows } from '../../src/engine/ops/webgpu/layernorm';
import { forwardDispatches, largestLoraRank, LORA_MERGE_PLACES, loraSharedBytes, parseLoraMerge } from '../../src/engine/ops/webgpu/linear';
import { forwardLayout, inputGradLayout, weightGradVec4, parseThinGrad } from '../../src/engine/ops/webgpu/linear-kernels';

describe('the GEMM tile flag', () => {
  it('takes shapes the kernels can run', () => {
    expect(parseGemmTile('64x64x16/4x4')).toEqual({ TM: 64, TN: 64, TK: 16, RM: 4, RN: 4 });
    expect(parseGemmTile('128x64x8/8x4')).toEqual({ TM: 128, TN: 64, TK: 8, RM: 8, RN: 4 });
  });

  it.each([
    ['64x64', /write TMxTNxTK\/RMxRN/],
    ['64x64x16/3x4', /multiple of RM/],
    ['64x64x16/2x2', /at most 256 \(got 1024\)/],
    ['64x64x16/8x16', /multiple of TN/],
    ['128x128x32/8x8', /16 KiB/],
    ['64x64x0/4x4', /16 KiB/],
    ['32x64x16/2x4', /multiples of 4/],
    ['192x64x4/12x4', /multiple of TM \(got 256 threads for 192 rows\)/],
    ['<script>', /got "<script>"/],
  ])('refuses %s', (text, message) => {
    const r = parseGemmTile(text);
    expect(typeof r).toBe('string');
    expect(r).toMatch(message);
  });
});

describe('the wide tile of a forward or input gradient', () => {
  const WIDE = { TM: 128, TN: 64, TK: 16, RM: 8, RN: 4 };
  const b128 = 8320, b32 = 2080; // rows: batch x 65 tokens
  it('doubles the tile\'s rows and a thread\'s, keeping its threads', () => {
    expect(wideTile()).toEqual(WIDE);
  });

  // rows, K, N: small's products at batch 128 take it; tiny's (K 192, or 195 tiles) and
  // small's at batch 32 (2,080 rows: it lost there with 408 tiles) do not
  it.each([
    ['tiny query forward', b128, 192, 192, GEMM_TILE],
    ['tiny fc1 forward (K 192, 780 wide tiles)', b128, 192, 768, GEMM_TILE],
    ['tiny fc2 forward (K 768, 195 wide tiles)', b128, 768, 192, GEMM_TILE],
    ['small query forward (390 wide tiles)', b128, 384, 384, WIDE],
    ['small fc1 forward', b128, 384, 1536, WIDE],
    ['small fc2 forward', b128, 1536, 384, WIDE],
    ['small query forward at batch 32', b32, 384, 384, GEMM_TILE],
    ['small fc1 forward at batch 32 (408 wide tiles, 2,080 rows)', b32, 384, 1536, GEMM_TILE],
  ])('%s', (_, rows, k, n, tile) => {
    expect(tileFor(rows, k, n, (t) => forwardLayout(0, false, t))).toEqual(tile);
    expect(tileFor(rows, k, n, (t) => inputGradLayout(8, false, 8, t))).toEqual(tile);
    // merged in the loads (op by op), an adapter's forward keeps the plain rule
    expect(tileFor(rows, k, n, (t) => forwardLayout(8, true, t))).toEqual(tile);
  });

  // a forward with an adapter's side product over a weight merged ahead, from 128 wide
  // tiles: tiny's fc2 (195) takes it, the query's forward (K 192) does not
  it.each([
    ['tiny fc2 forward with its side product (195 wide tiles)', b128, 768, 192, WIDE],
    ['tiny query forward with its side product (K 192)', b128, 192, 192, GEMM_TILE],
    ['small fc2 forward with its side product at batch 32 (2,080 rows)', b32, 1536, 384, GEMM_TILE],
  ])('%s', (_, rows, k, n, tile) => {
    expect(tileFor(rows, k, n, (t) => forwardLayout(8, false, t))).toEqual(tile);
  });

  it('takes an adapter\'s forward on the wide tile in the step: tiny fc2 at batch 128, merged ahead', () => {
    const spec = { rows: b128, dIn: 768, dOut: 192, rank: 8, scale: 1, gelu: false, residual: true, merge: 'batch' as const };
    const [d] = forwardDispatches<string>(spec, { x: 'x', w: 'w', b: 'b', res: 'r', y: 'y', loraA: 'A', loraB: 'B', wm: 'wm', xa: 'xa' });
    expect([d!.kernel.key, d!.workgroups]).toEqual([`linear.forward/${tileKey(WIDE)}/r8/id/res`, 65 + 65 * 3]);
    const [plain] = forwardDispatches<string>({ ...spec, rank: 0 }, { x: 'x', w: 'w', b: 'b', res: 'r', y: 'y' });
    expect(plain!.kernel.key).toBe(`linear.forward/${tileKey(GEMM_TILE)}/r0/id/res`);
  });

  it('stays on GEMM_TILE where the wide tile would need more than 16 KiB of workgroup memory (a merged weight of rank 16)', () => {
    expect(tileFor(b128, 384, 384, (t) => forwardLayout(14, true, t))).toEqual(WIDE);
    expect(tileFor(b128, 384, 384, (t) => forwardLayout(16, true, t))).toEqual(GEMM_TILE);
  });

  it('is off with `off`, and its flag refuses what it cannot read', () => {
    const saved = { ...GEMM_WIDE };
    try {
      Object.assign(GEMM_WIDE, parseGemmWide('off'));
      expect(tileFor(b128, 1536, 384, (t) => forwardLayout(0, false, t))).toEqual(GEMM_TILE);
    } finally {
      Object.assign(GEMM_WIDE, saved);
    }
    expect(parseGemmWide('512/2048/300')).toEqual({ minK: 512, minRows: 2048, minTiles: 300, sideMinTiles: 300 });
    expect(parseGemmWide('512/2048/300/100')).toEqual({ minK: 512, minRows: 2048, minTiles: 300, sideMinTiles: 100 });
    expect(parseGemmWide('512/300')).toMatch(/--gemm-wide: write MINK\/MINROWS\/MINTILES\[\/SIDEMINTILES\] \(e.g. 384\/4096\/256\/128\) or off \(got "512\/300"\)/);
  });
});

describe('which weight gradients load vec4s', () => {
  const base = { rank: 0, base: true };
  it.each([
    ['tiny fc1, behind a GELU', { ...base, gelu: true }, 192, 768, true],
    ['small fc1, behind a GELU', { ...base, gelu: true }, 384, 1536, true],
    ['small fc2, 144 tiles', { ...base, gelu: false }, 1536, 384, true],
    ['small attention linears, 36 tiles', { ...base, gelu: false }, 384, 384, false],
    ['tiny fc2, 36 tiles', { ...base, gelu: false }, 768, 192, false],
    ['a GELU linear with an adapter (the thin gradients read floats)', { rank: 8, base: true, gelu: true }, 192, 768, false],
    ['a frozen base', { rank: 8, base: false, gelu: true }, 192, 768, false],
    ['din not a multiple of 4', { ...base, gelu: true }, 70, 768, false],
    ['dout not a multiple of 4', { ...base, gelu: true }, 192, 130, false],
  ])('%s', (_, v, dIn, dOut, want) => {
    expect(weightGradVec4(v, dIn, dOut)).toBe(want);
  });
});

describe('the split-K flag', () => {
  it('takes a workgroup target', () => {
    expect(parseSplitK('264')).toEqual({ targetWorkgroups: 264, minRows: 64 });
    expect(parseSplitK('528/16')).toEqual({ targetWorkgroups: 528, minRows: 16 });
  });

  it.each(['0', '-5', '2.5', '9000', 'many', '', '528/', '/16'])('refuses "%s"', (text) => {
    expect(parseSplitK(text)).toMatch(/--split-k: workgroups to aim for/);
  });

  it('refuses a split of no rows', () => {
    expect(parseSplitK('528/0')).toMatch(/--split-k: rows a split keeps at least/);
  });
});

describe('the thin-gradient flag', () => {
  it('takes lanes and loads at once', () => {
    expect(parseThinGrad('1/4')).toEqual({ lanes: 1, unroll: 4 });
    expect(parseThinGrad('8/16')).toEqual({ lanes: 8, unroll: 16 });
  });

  it.each([
    ['4', /write LANES\/UNROLL/],
    ['3/8', /lanes a power of two from 1 to 8 \(got 3\)/],
    ['16/8', /got 16/],
    ['0/8', /got 0\)/],
    ['2/0', /unroll from 1 to 16 \(got 0\)/],
    ['2/17', /got 17/],
  ])('refuses "%s"', (text, message) => {
    expect(parseThinGrad(text)).toMatch(message);
  });
});

describe('the LayerNorm backward workgroups flag', () => {
  it('takes a workgroup count', () => {
    expect(parseLayerNormGroups('1024')).toBe(1024);
  });

  it.each(['0', '2.5', '70000', 'all', ''])('refuses "%s"', (text) => {
    expect(parseLayerNormGroups(text)).toMatch(/--layernorm-groups: workgroups, a whole number/);
  });
});

describe('the LayerNorm rows-at-once flag', () => {
  it.each([['1/1', 1, 1], ['4/2', 4, 2], ['2/1', 2, 1]])('takes "%s"', (text, forwardRows, backwardRows) => {
    expect(parseLayerNormRows(text)).toEqual({ forwardRows, backwardRows });
  });

  it.each(['3/1', '4/4', '8/2', '4', '4/2/1', ''])('refuses "%s"', (text) => {
    expect(parseLayerNormRows(text)).toBe(`--layernorm-rows: write F/B, the forward's rows at once 1, 2, 4 and the backward's 1 or 2, e.g. 4/2 (got "${text}")`);
  });
});

describe('the LoRA merge flag', () => {
  it.each(LORA_MERGE_PLACES)('takes "%s"', (place) => {
    expect(parseLoraMerge(place)).toEqual({ compiled: place });
  });

  it.each(['', 'Loads', 'inline'])('refuses "%s"', (text) => {
    expect(parseLoraMerge(text)).toBe(`--lora-merge: use launch or batch or loads (got "${text}")`);
  });
});

describe('the largest LoRA rank a device takes', () => {
  const need = loraSharedBytes;
  it('needs the product tiles\' 8.5 KiB up to rank 64, then the side workgroups\' A tile and 16 rows of the factor (the staged layouts in gemm.ts)', () => {
    expect(need(32)).toBe(8704);
    expect(need(64)).toBe(8704);
    expect(need(128)).toBe(4 * (16 * 68 + 16 * 128));
    expect(need(126)).toBe(need(128)); // the side's columns are whole vec4s
  });

  it.each([16384, 32768, 49152, 65536])('in %i bytes of workgroup memory: it fits, one more does not', (bytes) => {
    const r = largestLoraRank(bytes);
    expect(need(r)).toBeLessThanOrEqual(bytes);
    expect(need(r + 1)).toBeGreaterThan(bytes);
  });

  it('takes the presets\' largest rank (32) in the 16 KiB every WebGPU device has', () => {
    expect(largestLoraRank(16384)).toBeGreaterThanOrEqual(32);
  });
});

