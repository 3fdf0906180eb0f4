// A GPU device lost mid-run, for real (Dawn on SwiftShader, `device.destroy()`, in a child
// process), under the worker's logic with saved runs: the engine reports the loss as an
// event and stops, the worker makes a new device and says which checkpoint the run goes
// back to; restored from it on the new device, the run retrains the lost steps with the
// same losses and finishes. A trainer whose device was lost, asked directly (the worker
// lets such a run go), refuses a checkpoint and an export. Work the device refuses (a
// binding past a device limit) stops the run at its next read-back, with no numbers: a
// window's statistics and a switch's probe loss are such read-backs too.
import { beforeAll, describe, expect, it } from 'vitest';
import { runOnDawn } from '../helpers/dawn';
import type { DeviceLossRun } from '../helpers/device-loss-run';
import type { DeviceRefusalRun } from '../helpers/device-refusal-run';
import { maxRelError } from '../helpers/tf';

describe('a lost GPU device', () => {
  let r: DeviceLossRun;
  beforeAll(async () => {
    r = await runOnDawn<DeviceLossRun>('test/helpers/device-loss-run.ts', [], 1_200_000, { crashAtExit: true });
  }, 1_200_000);

  it('is reported as an event; the worker makes a new device and names the checkpoint to go back to', () => {
    expect(r.loss).toEqual({ step: 15, message: 'the GPU device was lost (destroyed: device was destroyed)' });
    expect(r.failed).toBe(true);
    expect(r.backend).toBe('webgpu');
    expect(r.newDevice).toBe(true);
    expect(r.resumedAt).toBe(10);
    expect(r.message).toBe('the GPU device was lost (destroyed: device was destroyed) after step 15; a new webgpu device is ready: ' +
      'resume it from its checkpoint at step 10 (saved runs: "lost"); the steps after it are trained again');
  });

  it('goes on from the checkpoint on the new device: the steps trained again have the same losses, and it finishes', () => {
    expect(r.before.map(([s]) => s)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(r.after.map(([s]) => s)).toEqual(Array.from({ length: 20 }, (_, i) => i + 11));
    const again = r.after.filter(([s]) => s <= 15).map(([, l]) => l);
    expect(maxRelError(again, r.before.slice(10).map(([, l]) => l))).toBeLessThan(1e-6);
    expect(r.endedAt).toBe(30);
    expect([r.tensorsAfterLoss, r.tensorsLeft]).toEqual([0, 0]);
  });

  it('on a paused run, under its pause\'s save or found by a switch by hand or an export: the run is let go and a new device made, as mid-run; the next run trains', () => {
    const lost = 'the GPU device was lost \\(destroyed: device was destroyed\\) after step \\d+; a new webgpu device is ready: ';
    expect(r.pausedLoss.saving.message).toMatch(new RegExp(`^${lost}it had no checkpoint yet: start it again$`));
    // the pause's save holds the step the device was lost after: nothing is trained again
    for (const when of ['switching', 'exporting'] as const) {
      expect(r.pausedLoss[when].message).toMatch(new RegExp(`^${lost}resume it from its checkpoint at step (\\d+) \\(saved runs: "lost while ${when}"\\); it holds every step trained$`));
      // the step the device was lost after is the pause's save's
      const [, after, at] = /after step (\d+);.* at step (\d+) /.exec(r.pausedLoss[when].message)!;
      expect(at).toBe(after);
    }
    for (const paused of Object.values(r.pausedLoss)) {
      expect(paused.states).toEqual(['running', 'paused', 'failed']);
      expect(paused.newDevice).toBe(true);
    }
    expect(r.nextEndedAt).toBe(6);
  });

  it('on a finished run, under its last save or found by its export: the run is let go, failed, a new device made, and its last checkpoint named', () => {
    const ended = (at: number, name: string, after: string) => ({
      message: 'the GPU device was lost (destroyed: device was destroyed) after step 10; a new webgpu device is ready: ' +
        `resume it from its checkpoint at step ${at} (saved runs: "${name}"); ${after}`,
      states: ['running', 'done', 'failed'], newDevice: true, held: null,
    });
    const { errors, ...finished } = r.finishedLoss;
    expect(finished).toEqual(ended(5, 'lost while finishing', 'the steps after it are trained again'));
    // its model, asked for as its end was posted, waited behind the last save: the loss is all the page is told
    // (before, the export then said the run had no newer export, over the line naming the checkpoint)
    expect(errors).toEqual([finished.message]);
    expect(r.exportLoss).toEqual(ended(10, 'lost while exporting', 'it holds every step trained')); // saved whole, at its end
  });

  it('through the Trainer API, a trainer whose device was lost refuses a checkpoint and an export, naming its last read-back step', () => {
    const lost = 'the GPU device was lost (destroyed: device was destroyed) after step 5: its weights went with it, so it has no newer';
    expect(r.trainer.loss).toEqual({ step: 5, message: 'the GPU device was lost (destroyed: device was destroyed)' });
    expect(r.trainer.checkpoint).toBe(`${lost} checkpoint`);
    expect(r.trainer.export).toBe(`${lost} export`);
  });
});

describe('work the GPU device refuses', () => {
  // the compiled step's table has a label; the fused AdamW's, made by tfjs, has none
  it.each([['compiled', '"adamw table"'], ['fused', '(unlabeled)']])('%s: stops the run at the next read-back with the device\'s words and no numbers, where before it read back losses of 0', async (kernels, table) => {
    const r = await runOnDawn<DeviceRefusalRun>('test/helpers/device-refusal-run.ts', [kernels], 600_000, { crashAtExit: true });
    expect(r.kernels).toBe(kernels);
    expect(r.records).toBe(0);
    expect(r.error).toBe(`the GPU refused part of the work of the steps up to 2 ("Binding size (66560) of [Buffer ${table}] is larger than the maximum uniform ` +
      'buffer binding size (65536)."), so their numbers cannot be trusted and the run stops: a setting past this device\'s limits is the usual cause; ' +
      'lower model.width, model.depth or optim.batchSize, or use backend webgpu-composite');
    // the next trainer on the same device watches for itself: a healthy run trains
    expect(r.healthyLosses).toHaveLength(2);
    for (const l of r.healthyLosses) expect(l).toBeGreaterThan(1);
    // a benchmark beside a paused run: the refusal stops the benchmark, not the paused run
    expect(r.benchError).toMatch(/^the GPU refused part of the work of the steps up to 1 \("[^"]+"\), so their numbers cannot be trusted/);
    expect(r.pausedLosses).toHaveLength(1);
    expect(r.pausedLosses[0]).toBeGreaterThan(1);
    // a refusal between steps, with nothing pending, stops the evaluation that follows
    expect(r.evaluationError).toMatch(/^the GPU refused part of the work of the steps up to 4 \("[^"]+"\)/);
    // with no log read-back, the window read after a refusal is not reported: the run stops at its step
    expect(r.windows.before).toBe(1);
    expect(r.windows.after).toBe(1);
    expect(r.windows.error).toMatch(/^the GPU refused part of the work of the steps up to 4 \("[^"]+"\)/);
    // a refusal as a switch probes the loss: the switch does not stand, every module stays full
    expect(r.probe.error).toMatch(/^the GPU refused part of the work of the steps up to 4 \("[^"]+"\)/);
    expect(r.probe.phaseEvents).toBe(0);
    expect(r.probe.allFull).toBe(true);
  }, 600_000);
});
