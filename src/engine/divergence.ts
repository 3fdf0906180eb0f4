// A diverged run, found in what the trainer reads back anyway (each step's loss and
// gradient norm, the window's statistics), and what to change: pure, table-tested.
// `--set optim.lr=10 --set optim.clipNorm=0 --set optim.beta2=0` (each within its
// range) gave NaN from step 11 and trained on for 189 more steps before this existed.
import type { RunConfig } from './config';
import type { Divergence } from './events';
import type { WindowRecord } from './policy';

/** Index of the first step whose loss or gradient norm is not finite, or -1. */
export function firstNonFinite(losses: ArrayLike<number>, gradNorms: ArrayLike<number>): number {
  for (let i = 0; i < losses.length; i++) {
    if (!Number.isFinite(losses[i]!) || !Number.isFinite(gradNorms[i]!)) return i;
  }
  return -1;
}

/** Whether every number of a window's statistics is finite (a NaN one is never charted). */
export function finiteWindow(w: WindowRecord): boolean {
  const ok = (v: unknown) => typeof v !== 'number' || Number.isFinite(v);
  return ok(w.loss) && ok(w['lossChange%']) && Object.values(w.modules).every((m) => Object.values(m).every(ok));
}

/** The settings that let a run diverge, each with a value to try. */
export function divergenceFixes(cfg: RunConfig): string[] {
  const { optim, schedule } = cfg;
  const fixes = [`optim.lr=${Number((optim.lr / 10).toPrecision(2))} (now ${optim.lr})`];
  if (optim.clipNorm === 0) fixes.push('optim.clipNorm=1 (now 0: no clipping)');
  else if (optim.clipNorm > 10) fixes.push(`optim.clipNorm=1 (now ${optim.clipNorm})`);
  if (optim.beta2 < 0.9) fixes.push(`optim.beta2=0.999 (now ${optim.beta2})`);
  if (schedule.warmupSteps === 0) fixes.push(`schedule.warmupSteps=${Math.max(1, Math.round(schedule.steps / 15))} (now 0: no warm-up)`);
  return fixes;
}

export function describeDivergence(step: number, loss: number, gradNorm: number, cfg: RunConfig): Divergence {
  const what = Number.isFinite(loss) ? `the gradient norm is ${gradNorm} (loss ${loss.toFixed(4)})` : `the loss is ${loss} (gradient norm ${gradNorm})`;
  return {
    step, loss, gradNorm,
    message: `training diverged at step ${step}: ${what}. The run stopped; what it recorded up to step ${step - 1} stands. ` +
      `Start again with ${divergenceFixes(cfg).join(', ')}`,
  };
}
