// A run let go (the page's reset, a new run) while a read-back is on its way, for real on
// WebGPU (Dawn + SwiftShader, in a child process): the read lands after the run is gone
// and reports nothing, and the run leaves no tensor behind.
import { beforeAll, describe, expect, it } from 'vitest';
import { runOnDawn } from '../helpers/dawn';
import type { LetGoRun } from '../helpers/let-go-run';

describe('a run let go mid read-back', () => {
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
});
