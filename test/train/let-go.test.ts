// Read-backs on their way, for real on WebGPU (Dawn + SwiftShader, in a child process):
// a run let go (the page's reset, a new run) while one is on its way reports nothing
// and leaves no tensor behind once it lands; a window's, on its way at a log boundary,
// is not counted as the run's memory.
import { beforeAll, describe, expect, it } from 'vitest';
import { runOnDawn } from '../helpers/dawn';
import type { LetGoRun } from '../helpers/let-go-run';

describe('read-backs on their way', () => {
  let r: LetGoRun;
  beforeAll(async () => {
    r = await runOnDawn<LetGoRun>('test/helpers/let-go-run.ts', [], 600_000, { crashAtExit: true });
  }, 600_000);

  it('reports nothing once disposed, and leaks nothing', () => {
    expect(r.kernels).toBe('fused');
    expect(r.inFlight).toBe(true); // the read was still on its way: the check below means something
    expect(r.after).toEqual([]);
    expect(r.tensorsLeft).toBe(0);
  });

  it('a window end\'s memory reading is the run\'s own: its statistics on their way are left out', () => {
    expect(r.windowEnd.map((m) => m.step)).toEqual([10]);
    expect(r.windowEnd[0]!.tensors).toBe(r.settled); // as once everything was read back
  });
});
