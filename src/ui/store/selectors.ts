// Small selectors shared by views.
import { useStore, type PlaygroundState } from './index';
import type { RunView } from './runs';

export const selectActive = (s: PlaygroundState): RunView | undefined => s.runs.find((r) => r.id === s.activeId);
export const useActiveRun = () => useStore(selectActive);
