// The selected run replayed with the what-if settings, for every view that shows it
// (the what-if panel, the layer panel, the weight chart): computed once per change of
// the run or the settings (about a millisecond for 24 modules x 40 windows).
import { recordedFromParts, type RecordedRun } from '../../engine/explore/recorded';
import { realShares, replay, type Replay, type ReplaySettings } from '../../engine/explore/replay';
import type { PredictedShares } from '../../engine/explore/shares';
import { useStore } from '../store';
import { useActiveRun } from '../store/hooks';
import type { RunView } from '../store/runs';
import { whatIfSettings, type WhatIfSettings } from '../store/what-if';

export interface WhatIf {
  run: RunView;
  recorded: RecordedRun;
  settings: ReplaySettings;
  replay: Replay;
  /** what the run's real switches gave, counted the same way */
  real: PredictedShares | null;
  /** any setting differs from the run's own */
  changed: boolean;
}

let last: { run: RunView; whatIf: WhatIfSettings; out: WhatIf | null } | null = null;

/** The parts of a run a replay reads: a progress event (every logEvery steps) changes none of them. */
const sameInputs = (a: RunView, b: RunView) => a.id === b.id && a.windows === b.windows && a.changes === b.changes && a.config === b.config;

/** Null without a selected run, before its first window, or for static LoRA (nothing to decide). */
export function computeWhatIf(run: RunView | undefined, whatIf: WhatIfSettings): WhatIf | null {
  if (!run || run.windows.length === 0 || run.config.prelora.mode === 'lora') return null;
  // the same object while the inputs stay, so the views (and the heat map's sweep) do not recompute
  if (last && sameInputs(last.run, run) && last.whatIf === whatIf) return last.out;
  const recorded = recordedFromParts(run.config, run.windows, run.changes);
  const settings = whatIfSettings(run, whatIf);
  const own = whatIfSettings(run, {});
  const changed = (Object.keys(whatIf) as (keyof WhatIfSettings)[]).some((k) => whatIf[k] !== own[k]);
  const out = { run, recorded, settings, replay: replay(recorded, settings), real: realShares(recorded), changed };
  last = { run, whatIf, out };
  return out;
}

export function useWhatIf(): WhatIf | null {
  const run = useActiveRun();
  const whatIf = useStore((s) => s.whatIf);
  return computeWhatIf(run, whatIf);
}
