// The attention tuning a bench run may set (`npm run bench -- --attention-tile`):
// settings the kernels can run are taken, the rest refused with what to change; and the
// subgroup probe's reading of its bits and its coverage of those settings.
import { describe, expect, it } from 'vitest';
import { ATTENTION, attentionRows, attentionThreads, attentionTileKey, parseAttentionTile, rowsOf } from '../../src/engine/ops/webgpu/attention';
import { lanesFromBits, MAX_LANES, PROBED_WORKGROUP_SIZES } from '../../src/engine/ops/webgpu/subgroups';

// the default keys a step, which a setting without /k keeps
const KEYS = { forward: 1, query: 2, keyValue: 2 };

describe('the attention tile flag', () => {
  it('takes settings the kernels can run', () => {
    expect(parseAttentionTile('q32/s1024')).toEqual({ rowsPerGroup: 32, stagedFloats: 1024, lanes: 4, rowsPerThread: { forward: 2, query: 2, keyValue: 1 }, keysPerStep: KEYS });
    expect(parseAttentionTile('q96/s2048/l2')).toEqual({ rowsPerGroup: 96, stagedFloats: 2048, lanes: 2, rowsPerThread: { forward: 2, query: 2, keyValue: 1 }, keysPerStep: KEYS });
    // unsaid, the default lanes halved until the workgroup fits 256 threads: older settings still run
    expect(parseAttentionTile('q96/s2048')).toEqual({ rowsPerGroup: 96, stagedFloats: 2048, lanes: 2, rowsPerThread: { forward: 2, query: 2, keyValue: 1 }, keysPerStep: KEYS });
    expect(parseAttentionTile('q256/s1024')).toEqual({ rowsPerGroup: 256, stagedFloats: 1024, lanes: 1, rowsPerThread: { forward: 2, query: 2, keyValue: 1 }, keysPerStep: KEYS });
    expect(parseAttentionTile('q32/s1024/l8')).toEqual({ rowsPerGroup: 32, stagedFloats: 1024, lanes: 8, rowsPerThread: { forward: 2, query: 2, keyValue: 1 }, keysPerStep: KEYS });
    expect(parseAttentionTile('q256/s64/l1')).toEqual({ rowsPerGroup: 256, stagedFloats: 64, lanes: 1, rowsPerThread: { forward: 2, query: 2, keyValue: 1 }, keysPerStep: KEYS });
    // rows fitted to the tokens (the default), and any count that fits 256 threads
    expect(parseAttentionTile('qfit/s1024')).toEqual({ rowsPerGroup: 'fit', stagedFloats: 1024, lanes: 4, rowsPerThread: { forward: 2, query: 2, keyValue: 1 }, keysPerStep: KEYS });
    expect(parseAttentionTile('qfit/s1024/l2')).toEqual({ rowsPerGroup: 'fit', stagedFloats: 1024, lanes: 2, rowsPerThread: { forward: 2, query: 2, keyValue: 1 }, keysPerStep: KEYS });
    expect(parseAttentionTile('q33/s1024')).toEqual({ rowsPerGroup: 33, stagedFloats: 1024, lanes: 4, rowsPerThread: { forward: 2, query: 2, keyValue: 1 }, keysPerStep: KEYS });
    // rows a thread: one figure for every kernel, or the forward's, query gradient's and key/value gradient's
    expect(parseAttentionTile('qfit/s1024/l4/r2')).toEqual({ rowsPerGroup: 'fit', stagedFloats: 1024, lanes: 4, rowsPerThread: { forward: 2, query: 2, keyValue: 2 }, keysPerStep: KEYS });
    expect(parseAttentionTile('qfit/s1024/l4/r1')).toEqual({ rowsPerGroup: 'fit', stagedFloats: 1024, lanes: 4, rowsPerThread: { forward: 1, query: 1, keyValue: 1 }, keysPerStep: KEYS });
    expect(parseAttentionTile('q33/s1024/r2.1.2')).toEqual({ rowsPerGroup: 33, stagedFloats: 1024, lanes: 4, rowsPerThread: { forward: 2, query: 1, keyValue: 2 }, keysPerStep: KEYS });
    // keys a step, after the rows a thread or without them: one figure or each kernel's
    expect(parseAttentionTile('qfit/s1024/l4/r2.2.1/k1')).toEqual({ rowsPerGroup: 'fit', stagedFloats: 1024, lanes: 4, rowsPerThread: { forward: 2, query: 2, keyValue: 1 }, keysPerStep: { forward: 1, query: 1, keyValue: 1 } });
    expect(parseAttentionTile('qfit/s1024/k2.1.2')).toEqual({ rowsPerGroup: 'fit', stagedFloats: 1024, lanes: 4, rowsPerThread: { forward: 2, query: 2, keyValue: 1 }, keysPerStep: { forward: 2, query: 1, keyValue: 2 } });
  });

  it('writes the settings in the form it reads', () => {
    expect(attentionTileKey()).toBe('qfit/s1024/l4/r2.2.1/k1.2.2');
    expect(parseAttentionTile(attentionTileKey())).toEqual({ rowsPerGroup: ATTENTION.rowsPerGroup, stagedFloats: ATTENTION.stagedFloats, lanes: ATTENTION.lanes, rowsPerThread: ATTENTION.rowsPerThread, keysPerStep: ATTENTION.keysPerStep });
  });

  it.each([
    ['32/1024', /write qROWS\/sFLOATS\[\/lLANES\]/],
    ['q32/s1024/l3', /must be 1, 2, 4, 8 \(got 3\)/],
    ['q32/s1024/l0', /got 0\)/],
    ['q32/s1024/l16', /got 16\)/],
    ['q64/s1024/l8', /at most 256 threads \(got 64 x 8\)/],
    ['q0/s1024', /from 1 to 256, or fit \(got 0\)/],
    ['q512/s1024', /got 512/],
    ['qfit/s1024/l8', /at most 256 threads \(got fit, up to 63 x 8\)/],
    // a kernel may fall back to a row a thread (too few workgroups): its threads are checked
    ['q65/s1024/l4/r2', /at most 256 threads \(got 65 x 4\)/],
    ['q32/s1024/l4/r3', /rows a thread \(rF.Q.K, or one figure\) must be 1 or 2 \(got 3\)/],
    ['q32/s1024/l4/r2.2.0', /must be 1 or 2 \(got 0\)/],
    ['q32/s1024/l4/r2.2', /write qROWS\/sFLOATS\[\/lLANES\]\[\/rF.Q.K\]\[\/kF.Q.K\]/],
    ['q32/s1024/k3', /keys a step \(kF.Q.K, or one figure\) must be 1 or 2 \(got 3\)/],
    ['q32/s1024/k2.0.2', /keys a step .* must be 1 or 2 \(got 0\)/],
    ['q32/s1024/k2.2', /write qROWS\/sFLOATS\[\/lLANES\]\[\/rF.Q.K\]\[\/kF.Q.K\]/],
    // keys after rows, not before
    ['q32/s1024/k2/r2', /write qROWS/],
    ['qall/s1024', /ROWS a number or fit/],
    ['q32/s4096', /from 64 to 2048 \(got 4096\)/],
    ['q32/s8', /got 8\)/],
    ['<script>', /got "<script>"/],
  ])('refuses %s', (text, message) => {
    const r = parseAttentionTile(text);
    expect(typeof r).toBe('string');
    expect(r).toMatch(message);
  });
});

describe('the subgroup probe', () => {
  it('probes every workgroup size a tuning with lanes can make', () => {
    let accepted = 0;
    for (let rows = 1; rows <= 256; rows++) {
      for (const lanes of [2, 4, MAX_LANES]) {
        const tile = parseAttentionTile(`q${rows}/s1024/l${lanes}`);
        if (typeof tile === 'string') continue; // refused: more than 256 threads
        accepted++;
        expect(PROBED_WORKGROUP_SIZES, `q${rows}/l${lanes}`).toContain(attentionThreads(rows, lanes));
      }
    }
    expect(accepted).toBe(128 + 64 + 32); // rows up to 128 with 2 lanes, 64 with 4, 32 with 8
  });

  it('probes every workgroup size two rows a thread can make', () => {
    for (let rows = 1; rows <= 256; rows++) {
      for (const lanes of [1, 2, 4, MAX_LANES]) {
        const tile = parseAttentionTile(`q${rows}/s1024/l${lanes}/r2`);
        if (typeof tile === 'string') continue;
        expect(PROBED_WORKGROUP_SIZES, `q${rows}/l${lanes}/r2`).toContain(attentionThreads(rows, lanes, 2));
      }
    }
    // 33 rows two a thread: 17 threads' rows of 4 lanes, 68 threads rounded up to 96
    expect(attentionThreads(33, 4, 2)).toBe(96);
    expect(attentionThreads(65, 4, 2)).toBe(160);
    for (let tokens = 1; tokens <= 1025; tokens++) expect(PROBED_WORKGROUP_SIZES).toContain(attentionThreads(attentionRows(tokens, 2), 4, 2));
  });

  it('fits rows to the tokens within the threads the probe checks', () => {
    // 65 tokens (32 x 32 images, 4 x 4 patches, and the class token) in two blocks of 33
    expect([65, 197, 17, 64, 50, 1].map((t) => attentionRows(t))).toEqual([33, 33, 17, 32, 50, 1]);
    // two rows a thread: a block for every whole 64 tokens
    expect([65, 197, 17, 128, 129, 1].map((t) => attentionRows(t, 2))).toEqual([65, 66, 17, 64, 65, 1]);
    for (let tokens = 1; tokens <= 1025; tokens++) {
      const rows = attentionRows(tokens);
      const blocks = Math.ceil(tokens / rows);
      // at most one idle row a block (32 rows a block left 31 of 96 idle at 65 tokens),
      // and blocks of at least 32 rows where the head has that many
      expect(blocks * rows - tokens, `${tokens} tokens`).toBeLessThan(blocks);
      if (tokens >= 32) expect(rows, `${tokens} tokens`).toBeGreaterThanOrEqual(32);
      expect(PROBED_WORKGROUP_SIZES).toContain(attentionThreads(rows, 4));
    }
  });

  it.each([
    [0b000, 1], [0b001, 2], [0b011, 4], [0b111, 8],
    // a wrong partner at xor 2 stops at 2 lanes whatever xor 4 says
    [0b101, 2], [0b110, 1], [0b010, 1],
  ])('reads bits %i as %i lanes', (bits, lanes) => {
    expect(lanesFromBits(bits)).toBe(lanes);
  });
});

describe('rows a thread', () => {
  it('takes two rows a thread only where the launch keeps enough workgroups', () => {
    // tiny at batch 128 (3 heads, 65 tokens): one block of 65 a head, 384 workgroups
    const tiny = (batch: number) => ({ batch, tokens: 65, heads: 3, width: 192 });
    expect(rowsOf('forward', tiny(128))).toEqual({ perThread: 2, rows: 65 });
    expect(rowsOf('query', tiny(128))).toEqual({ perThread: 2, rows: 65 });
    // the key/value gradient keeps one (twice the registers a thread lost there)
    expect(rowsOf('keyValue', tiny(128))).toEqual({ perThread: 1, rows: 33 });
    // batch 32: 96 workgroups at two rows, under the floor (every kernel lost there)
    expect(rowsOf('forward', tiny(32))).toEqual({ perThread: 1, rows: 33 });
    // small at batch 32 (6 heads): 192, still under; at 64, 384
    expect(rowsOf('forward', { batch: 32, tokens: 65, heads: 6, width: 384 }).perThread).toBe(1);
    expect(rowsOf('forward', { batch: 64, tokens: 65, heads: 6, width: 384 }).perThread).toBe(2);
    // the floor itself: 255 workgroups one row a thread, 256 two
    expect(ATTENTION.twoRowsFrom).toBe(256);
    expect(rowsOf('query', { batch: 85, tokens: 65, heads: 3, width: 192 })).toEqual({ perThread: 1, rows: 33 });
    expect(rowsOf('query', { batch: 128, tokens: 65, heads: 2, width: 128 })).toEqual({ perThread: 2, rows: 65 });
  });
});
