// What a set of switches would give over a run, from the config alone: the trainable
// parameter share (over the run and at its end), the share of steps with every targeted
// module in LoRA, and the matmul FLOPs saved against full training (src/engine/flops.ts,
// the same count as a run's summary).
import type { ModelConfig } from '../config';
import { flopsPerStep, moduleShape, runFlops, type ShapeChange } from '../flops';
import { parseModuleId } from '../policy';
import { countParams } from '../size';
import { trainableShare } from '../trainable-share';
import type { Family } from '../vit-families';
import { maxOf } from '../extremes';

export interface PredictedShares {
  /** trainable parameters / the base model's (trainableShare), averaged over the run's steps */
  trainableMean: number;
  /** ... after the run's last step */
  trainableEnd: number;
  /** steps with every targeted module's base frozen / all steps (the summary's `lora` phase) */
  loraSteps: number;
  /** module-steps in the LoRA phase / all targeted module-steps: how much of the model trained as LoRA */
  moduleLora: number;
  /** 1 - matmul FLOPs / those of full training */
  flopsSaved: number;
}

export interface PlannedSwitch {
  module: string;
  step: number;
  rank: number;
}

/** Phase changes of these switches: joint at the switch, lora `jointSteps` later (if within the run). */
export function shapeChanges(switches: readonly PlannedSwitch[], jointSteps: number, steps: number): ShapeChange[] {
  return switches.flatMap((sw) => {
    const joint: ShapeChange = { module: sw.module, to: 'joint', step: sw.step, rank: sw.rank };
    const freeze = sw.step + jointSteps;
    return freeze <= steps ? [joint, { module: sw.module, to: 'lora', step: freeze, rank: sw.rank }] : [joint];
  });
}

/** The shares of planned switches, each freezing `jointSteps` after it. */
export function predictShares(
  model: ModelConfig, batchSize: number, steps: number, targeted: number,
  switches: readonly PlannedSwitch[], jointSteps: number,
): PredictedShares {
  return sharesOf(model, batchSize, steps, targeted, shapeChanges(switches, jointSteps, steps));
}

/** The shares of these phase changes over `steps` steps (a plan's, or a run's as recorded). */
export function sharesOf(model: ModelConfig, batchSize: number, steps: number, targeted: number, shape: readonly ShapeChange[]): PredictedShares {
  const changes = shape.filter((c) => c.step <= steps).sort((a, b) => a.step - b.step);
  let trainable = countParams(model), done = 0, area = 0;
  const frozenAt: number[] = [];
  for (const c of changes) {
    area += (c.step - done) * trainable;
    done = c.step;
    const [din, dout] = moduleShape(model, parseModuleId(c.module).family as Family);
    if (c.to === 'joint') trainable += c.rank! * (din + dout);
    else {
      trainable -= din * dout + dout;
      frozenAt.push(c.step);
    }
  }
  area += (steps - done) * trainable;
  const full = steps * flopsPerStep(model, { batchSize });
  const allFrozen = targeted > 0 && frozenAt.length === targeted ? maxOf(frozenAt) : steps;
  return {
    trainableMean: steps > 0 ? trainableShare(model, area / steps) : 1,
    trainableEnd: trainableShare(model, trainable),
    loraSteps: steps > 0 ? (steps - allFrozen) / steps : 0,
    moduleLora: steps > 0 && targeted > 0 ? frozenAt.reduce((a, s) => a + steps - s, 0) / (steps * targeted) : 0,
    flopsSaved: full > 0 ? 1 - runFlops(model, batchSize, steps, changes) / full : 0,
  };
}
