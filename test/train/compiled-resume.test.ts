// Exact resume on the compiled WebGPU step (Dawn on SwiftShader, in a child process):
// the micro run saved mid-LoRA with a window half done, its checkpoint bytes read back
// into a fresh trainer, continued 20 steps: the same losses and the same monitor windows
// (their sums so far carried onto the new step's device buffers) as the run that saved
// and went on, and nothing left behind.
import { beforeAll, describe, expect, it } from 'vitest';
import type { ResumeRun } from '../helpers/compiled-resume-run';
import { runOnDawn } from '../helpers/dawn';
import { maxRelError } from '../helpers/tf';

const SAVE_AT = 25;
const MORE = 20;

describe('a checkpoint resumes a compiled WebGPU run exactly', () => {
  let r: ResumeRun;
  beforeAll(async () => {
    r = await runOnDawn<ResumeRun>('test/helpers/compiled-resume-run.ts', [String(SAVE_AT), String(MORE)], 1_200_000);
  }, 1_200_000);

  it('is saved on the compiled step, mid-LoRA, a window half done', () => {
    expect(r.path).toBe('compiled');
    expect(r.savedPhases.filter((p) => p === 'lora')).toHaveLength(4);
    expect(r.windowSteps).toBe(SAVE_AT % 10);
  });

  it('gives the next 20 losses and the windows of the run that went on (1e-6 relative)', () => {
    expect(r.resumed.losses).toHaveLength(MORE);
    expect(maxRelError(r.resumed.losses, r.straight.losses)).toBeLessThan(1e-6);
    expect(r.straight.windows.length).toBeGreaterThan(0);
    expect(r.resumed.windows).toHaveLength(r.straight.windows.length);
    expect(maxRelError(r.resumed.windows, r.straight.windows)).toBeLessThan(1e-6);
  });

  it('records the LoRA phase once and leaves no tensor behind', () => {
    expect(r.recordings).toBe(1);
    expect(r.tensorsLeft).toBe(0);
  });
});
