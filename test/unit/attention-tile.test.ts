// The attention tuning a bench run may set (`npm run bench -- --attention-tile`):
// settings the kernels can run are taken, the rest refused with what to change.
import { describe, expect, it } from 'vitest';
import { parseAttentionTile } from '../../src/engine/ops/webgpu/attention';

describe('the attention tile flag', () => {
  it('takes settings the kernels can run', () => {
    expect(parseAttentionTile('q32/s1024')).toEqual({ rowsPerGroup: 32, stagedFloats: 1024, lanes: 4 });
    expect(parseAttentionTile('q96/s2048/l2')).toEqual({ rowsPerGroup: 96, stagedFloats: 2048, lanes: 2 });
    expect(parseAttentionTile('q32/s1024/l8')).toEqual({ rowsPerGroup: 32, stagedFloats: 1024, lanes: 8 });
    expect(parseAttentionTile('q256/s64/l1')).toEqual({ rowsPerGroup: 256, stagedFloats: 64, lanes: 1 });
  });

  it.each([
    ['32/1024', /write qROWS\/sFLOATS\[\/lLANES\]/],
    ['q32/s1024/l3', /1, 2, 4 or 8 \(got 3\)/],
    ['q32/s1024/l16', /got 16\)/],
    ['q64/s1024/l8', /at most 256 threads \(got 64 x 8\)/],
    ['q48/s1024', /multiple of 32 from 32 to 256 \(got 48\)/],
    ['q512/s1024', /got 512/],
    ['q32/s4096', /from 64 to 2048 \(got 4096\)/],
    ['q32/s8', /got 8\)/],
    ['<script>', /got "<script>"/],
  ])('refuses %s', (text, message) => {
    const r = parseAttentionTile(text);
    expect(typeof r).toBe('string');
    expect(r).toMatch(message);
  });
});
