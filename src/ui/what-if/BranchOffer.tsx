// Branch the selected run with the what-if settings: from its latest branch point
// before the first decision that differs, a new run trains on with them and shows
// beside it on the charts. Where no checkpoint is early enough (or the run cannot
// branch) it says why; "Train a run with these settings" is the way then.
import { branchPoint, firstDifference } from '../../engine/explore/branch';
import { useStore } from '../store';
import type { WhatIf } from './use-replay';

export function BranchOffer({ w, busy }: { w: WhatIf; busy: boolean }) {
  const savedAs = w.run.savedAs;
  const points = useStore((s) => s.savedRuns.find((r) => r.id === savedAs)?.points);
  const branch = useStore((s) => s.branchWhatIf);
  if (!w.changed) return null;
  const say = (text: string) => <p className="hint" data-testid="branch-note">{text}</p>;
  if (w.run.config.prelora.mode !== 'prelora') {
    return say(`A ${w.run.config.prelora.mode} run cannot branch into PreLoRA (a run's mode is fixed when it starts): train a run with these settings.`);
  }
  const differs = firstDifference(w.recorded.real, w.replay.switches);
  if (differs === null) return say('With these settings every decision over the recorded windows is the run\'s own: a branch would be the same run so far.');
  const steps = (points ?? []).map((p) => p.step);
  const at = branchPoint(steps, differs);
  if (at === null) {
    const every = w.run.config.schedule.checkpointEvery;
    return say(`The first decision that differs is at step ${differs}, and this run has no checkpoint before it ` +
      `(${steps.length ? `it has them at steps ${steps.join(', ')}` : 'none kept'}; it saves ${every > 0 ? `every ${every} steps` : 'only at pauses'}, schedule.checkpointEvery): ` +
      'train a run with these settings instead.');
  }
  return (
    <p className="branch" data-testid="branch-offer" data-from={at} data-differs={differs}>
      <button data-testid="branch" onClick={() => branch(at)} disabled={busy}
        title={busy ? 'wait for the running run to pause or finish' : 'stops the worker\'s current run (its checkpoint stays in Saved runs)'}>
        Branch from step {at}
      </button>{' '}
      <small>the run&apos;s checkpoint at step {at}, before step {differs} where the first decision differs, trained on with these settings as a new run beside it</small>
    </p>
  );
}
