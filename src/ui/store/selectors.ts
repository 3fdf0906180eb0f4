// Selectors shared by views and actions: plain functions of the state (no store import,
// so the store may use them too).
import type { PlaygroundState } from './index';
import type { RunView } from './runs';

/** The run the page has selected (the latest started, unless a row of the run table was picked). */
export const selectActive = (s: PlaygroundState): RunView | undefined => s.runs.find((r) => r.id === s.activeId);

/** The run the worker holds: the latest one starting, running or paused. */
export function selectLive(s: Pick<PlaygroundState, 'runs'>): RunView | undefined {
  for (let i = s.runs.length - 1; i >= 0; i--) {
    const r = s.runs[i]!;
    if (r.state === 'starting' || r.state === 'running' || r.state === 'paused') return r;
  }
  return undefined;
}

/**
 * What Resume or Open on a saved run does to the run the worker holds (it holds one at a
 * time), said on the button before it happens, as Start's title says why it waits: a run
 * training or starting holds the button back until it is paused (as Start is); a paused
 * one is named as the run it stops (its checkpoint stays listed, resumable). Null when
 * there is none. Strings and booleans, so views re-render when it changes, not at every step.
 */
export function selectOpenNote(s: Pick<PlaygroundState, 'runs'>): string | null {
  const live = selectLive(s);
  if (!live) return null;
  if (live.state !== 'paused') return `${live.label} is ${live.state}: pause it first (this would stop it)`;
  return `stops ${live.label}, paused now, to bring this one back (its saved checkpoint stays listed here, to resume)`;
}

/** Whether Resume or Open on a saved run waits for the worker's run to pause (see selectOpenNote). */
export const selectOpenBlocked = (s: Pick<PlaygroundState, 'runs'>): boolean => {
  const live = selectLive(s);
  return live !== undefined && live.state !== 'paused';
};

/** A module's latest value of the metric the run uses now (so the layer panel and the chart agree). */
export function latestMetric(run: RunView, module: string): number | null {
  return run.windows.at(-1)?.modules[module]?.[run.config.prelora.metric] ?? null;
}
