// A trainer's run as the page holds it: its events sent to the store as the worker
// forwards them, with one live change confirmed where the worker would confirm it.
import type { RunConfig } from '../../src/engine/config';
import type { EngineEvent } from '../../src/engine/events';
import type { PolicyUpdate } from '../../src/engine/live';
import { useStore } from '../../src/ui/store';
import type { RunView } from '../../src/ui/store/runs';

/** The page's view of a finished micro run of `config`, its live change `update` confirmed after the progress of `step`. */
export function pageRun(config: RunConfig, events: EngineEvent[], live: { step: number; update: PolicyUpdate }, done: number): RunView {
  const s = useStore.getState();
  const run = s.addRun(config, 'micro');
  s.onWorkerEvent({ type: 'started', runId: run.id, config, init: null });
  const at = events.findIndex((e) => e.type === 'progress' && e.records.at(-1)!.step >= live.step) + 1;
  const send = (e: EngineEvent) => useStore.getState().onWorkerEvent({ type: 'engine', runId: run.id, event: e });
  events.slice(0, at).forEach(send);
  useStore.getState().onWorkerEvent({ type: 'policy', runId: run.id, step: live.step, update: live.update });
  events.slice(at).forEach(send);
  useStore.getState().onWorkerEvent({ type: 'state', runId: run.id, state: 'done', step: done });
  return useStore.getState().runs.find((r) => r.id === run.id)!;
}
