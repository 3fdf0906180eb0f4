// A run log as `npm run train -- --out FILE` writes it ({ config, backend, summary,
// events }) read back for a replay, checked before anything reads it: its config by the
// config's own schema and validation, the events a replay reads (windows, phase changes)
// by their shapes; errors are values that name the file, the place and how to make a
// good one.
import * as v from 'valibot';
import { formatErrors, validateConfig, type RunConfig } from '../config';
import { RUN_CONFIG_SCHEMA } from '../config/schema';
import { PHASES, type EngineEvent } from '../events';
import { moduleId, parseModuleId } from '../policy';
import { FAMILIES } from '../vit-families';
import type { RunSummary } from '../summary';
import { recordedRun, type RecordedRun } from './recorded';

export interface RunLog {
  config: RunConfig;
  summary: RunSummary | null;
  run: RecordedRun;
}

const HOW = 'write one with npm run train -- --out RUN.json';

const change = v.nullable(v.number());
const MODULE_WINDOW = v.object({ norm: v.number(), 'normChange%': change, 'update%': change, gradNorm: v.number(), 'gradChange%': change });
/** The events a replay reads, as the engine emits them (events.ts); others are passed over. */
const READ_EVENTS = {
  window: v.object({
    type: v.literal('window'),
    window: v.object({ step: v.number(), windowSteps: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))), loss: v.number(), 'lossChange%': change, modules: v.record(v.string(), MODULE_WINDOW) }),
  }),
  phase: v.object({
    type: v.literal('phase'),
    change: v.object({
      module: v.string(), from: v.picklist(PHASES), to: v.picklist(PHASES), step: v.number(), rank: v.nullable(v.number()),
      decidedBy: v.union([v.object({ metric: v.string(), value: v.number() }), v.string()]),
    }),
  }),
};

/** The first issue, at its dotted path under `under` (the path's root where it has none). */
const issueAt = (issues: readonly v.BaseIssue<unknown>[], under: string) => {
  const first = issues[0]!;
  const path = v.getDotPath(first);
  return `${under && path ? `${under}.${path}` : under || path || '(it)'}: expected ${first.expected} (got ${first.received})`;
};

/**
 * The events, checked where a replay reads them; the first problem names its place. Every
 * window holds the model's modules, each block's linears as the config has them (a replay
 * read ids that were none with a stack trace, and windows of 2 layers under a config of 24
 * as shares of the wrong model), at steps that go up; a phase change names one of them.
 * The model's modules are counted and each id checked by its parts, never listed: a config
 * of depth 300,000,000 had its 1.8 billion ids listed (4 GB) before an event was read, and
 * the process died of it; what this allocates is in proportion to the log, not the config.
 */
function checkEvents(events: unknown[], config: RunConfig): string | null {
  const { depth } = config.model;
  const count = depth * FAMILIES.length;
  const known = (id: string) => {
    let ref;
    try {
      ref = parseModuleId(id);
    } catch {
      return false; // not blocks.<layer>.<family>
    }
    // written back as the model writes it: "blocks.01.query" is none of its ids
    return ref.layer < depth && (FAMILIES as readonly string[]).includes(ref.family) && moduleId(ref.layer, ref.family) === id;
  };
  let lastStep = -Infinity;
  for (const [i, e] of events.entries()) {
    const type = e !== null && typeof e === 'object' ? (e as { type?: unknown }).type : undefined;
    if (typeof type !== 'string') return `events[${i}] is not an event (an object with a "type")`;
    if (type !== 'window' && type !== 'phase') continue;
    const read = v.safeParse(READ_EVENTS[type], e);
    if (!read.success) return `events[${i}] (a ${type} event) ${issueAt(read.issues, '')}`;
    if (type === 'window') {
      const { step, modules } = (e as { window: { step: number; modules: object } }).window;
      // ids are an object's keys, so none twice: all known and as many as the model's are the model's
      const ids = Object.keys(modules);
      const stray = ids.find((id) => !known(id));
      if (stray !== undefined) return `events[${i}] (a window event) has module "${stray}", which the config's model has not`;
      if (ids.length !== count) return `events[${i}] (a window event) has ${ids.length} modules where the config's model (depth ${depth}) has ${count}`;
      if (step <= lastStep) return `events[${i}] (a window event) is at step ${step}, not after the window before it (step ${lastStep})`;
      lastStep = step;
    } else {
      const { module } = (e as { change: { module: string } }).change;
      if (!known(module)) return `events[${i}] (a phase event) names module "${module}", which the config's model has not`;
    }
  }
  return null;
}

export function parseRunLog(json: unknown, file: string): { log: RunLog; error: null } | { log: null; error: string } {
  const refuse = (why: string) => ({ log: null, error: `${file}: ${why}: ${HOW}` });
  const o = json as { config?: unknown; events?: unknown; summary?: RunSummary };
  if (!o || typeof o !== 'object' || Array.isArray(o) || o.config === undefined || !Array.isArray(o.events)) {
    return refuse('not a run log (it needs config and events)');
  }
  const shaped = v.safeParse(RUN_CONFIG_SCHEMA, o.config);
  if (!shaped.success) return refuse(`its config is not a run's config (${issueAt(shaped.issues, 'config')})`);
  const config = shaped.output as RunConfig;
  const invalid = validateConfig(config, { ranWith: config.prelora });
  if (invalid.length) return refuse(`its config does not check (${formatErrors(invalid)})`);
  const bad = checkEvents(o.events, config);
  if (bad) return refuse(bad);
  const run = recordedRun(config, o.events as EngineEvent[]);
  if (run.windows.length === 0) {
    return { log: null, error: `${file}: the run has no window statistics (it ended before its first window of ${config.prelora.windowSteps} steps): train longer or lower prelora.windowSteps` };
  }
  return { log: { config, summary: o.summary ?? null, run }, error: null };
}
