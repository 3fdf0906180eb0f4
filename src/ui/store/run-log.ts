// Every event of each run the page shows, as the worker sent it: the charts keep a
// thinned copy (MAX_POINTS), an export needs all of it. Append-only arrays beside the
// store, not in it: nothing renders them, and copying a growing log at each event
// (as the store's immutable updates do) would cost time quadratic in the run's length.
import type { EngineEvent } from '../../engine/events';
import type { PolicyChange } from '../../engine/run-record';

interface RunLog {
  events: EngineEvent[];
  policyChanges: PolicyChange[];
}

const logs = new Map<string, RunLog>();

function logOf(runId: string): RunLog {
  let log = logs.get(runId);
  if (!log) logs.set(runId, (log = { events: [], policyChanges: [] }));
  return log;
}

export const runLog = {
  event: (runId: string, e: EngineEvent) => { logOf(runId).events.push(e); },
  policy: (runId: string, change: PolicyChange) => { logOf(runId).policyChanges.push(change); },
  /** the run's log so far (copies: the log goes on growing) */
  read: (runId: string): RunLog => {
    const log = logOf(runId);
    return { events: [...log.events], policyChanges: [...log.policyChanges] };
  },
  drop: (runId: string) => { logs.delete(runId); },
};
