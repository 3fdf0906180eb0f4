// A branch of a run: a trainer restored from one of its checkpoints takes other
// PreLoRA settings there, through the same live change a running run takes (the one
// path: checked the same, counting from the next decision on), so the branch goes on
// exactly as the run would have with that change made at that step.
import { formatErrors } from '../config';
import type { PolicyUpdate } from '../live';
import type { PolicyChange } from '../run-record';
import type { Trainer } from '../trainer';

/** Apply `update` to a just-restored trainer; the change as it applied (for the run's log), or an error naming the bad setting. */
export function branchSettings(trainer: Trainer, update: PolicyUpdate): PolicyChange {
  const { applied, errors } = trainer.setPolicy(update);
  if (!applied) throw new Error(`the branch's settings are refused: ${formatErrors(errors)}`);
  return { step: trainer.stepsDone, update: applied };
}
