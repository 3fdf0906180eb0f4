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

/** A module's latest value of the metric the run uses now (so the layer panel and the chart agree). */
export function latestMetric(run: RunView, module: string): number | null {
  return run.windows.at(-1)?.modules[module]?.[run.config.prelora.metric] ?? null;
}
