// A run log as `npm run train -- --out FILE` writes it ({ config, backend, summary,
// events }) read back for a replay, with errors as values that name the file and say
// how to make a good one.
import type { RunConfig } from '../config';
import type { EngineEvent } from '../events';
import type { RunSummary } from '../summary';
import { recordedRun, type RecordedRun } from './recorded';

export interface RunLog {
  config: RunConfig;
  summary: RunSummary | null;
  run: RecordedRun;
}

const HOW = 'write one with npm run train -- --out RUN.json';

export function parseRunLog(text: string, file: string): { log: RunLog; error: null } | { log: null; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { log: null, error: `${file}: not JSON (${(err as Error).message}): ${HOW}` };
  }
  const o = json as { config?: RunConfig; events?: EngineEvent[]; summary?: RunSummary };
  if (!o || typeof o !== 'object' || !o.config?.prelora || !o.config.model || !Array.isArray(o.events)) {
    return { log: null, error: `${file}: not a run log (it needs config and events): ${HOW}` };
  }
  const run = recordedRun(o.config, o.events);
  if (run.windows.length === 0) {
    return { log: null, error: `${file}: the run has no window statistics (it ended before its first window of ${o.config.prelora.windowSteps} steps): train longer or lower prelora.windowSteps` };
  }
  return { log: { config: o.config, summary: o.summary ?? null, run }, error: null };
}
