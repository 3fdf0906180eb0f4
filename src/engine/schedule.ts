// Learning rate: linear warm-up from 0, then cosine decay to lr * minLrRatio.
import type { RunConfig } from './config';

/** A short run keeps the warm-up in proportion: at most a fifth of its steps. */
export function proportionalWarmup(warmupSteps: number, steps: number): number {
  return Math.min(warmupSteps, Math.floor(steps / 5));
}

/**
 * The one warm-up rule of a run whose length was chosen: at most a fifth of the run,
 * unless the warm-up itself was set by name. The page (its steps, a link), `npm run
 * train` and `npm run bench` apply it alike, whether the length came from --steps or
 * --set schedule.steps (the CLIs kept the preset's 20 warm-up steps of a 50-step run set
 * by --set, and a fifth of it by --steps).
 */
export function fitWarmup(schedule: { steps: number; warmupSteps: number }, warmupSetByName: boolean): void {
  if (!warmupSetByName) schedule.warmupSteps = proportionalWarmup(schedule.warmupSteps, schedule.steps);
}

/** lr for the update with 0-based index `step`. */
export function learningRate(step: number, cfg: Pick<RunConfig, 'optim' | 'schedule'>): number {
  const { lr } = cfg.optim;
  const { steps, warmupSteps, minLrRatio } = cfg.schedule;
  if (step < warmupSteps) return (lr * (step + 1)) / warmupSteps;
  const decaySteps = Math.max(1, steps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / decaySteps);
  const floor = lr * minLrRatio;
  return floor + 0.5 * (lr - floor) * (1 + Math.cos(Math.PI * progress));
}
