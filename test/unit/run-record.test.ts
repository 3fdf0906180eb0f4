// A run as data to take away: tidy CSV tables (read back, one observation per row,
// fields quoted as RFC 4180 says), the JSON record (the CLI's summary of the same
// events), and the page's log keeping every event while its charts keep a thinned copy.
import { beforeEach, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/engine/events';
import { runRecord, runTables, toCsv } from '../../src/engine/run-record';
import { summarize } from '../../src/engine/summary';
import { runJson } from '../../src/ui/export/run-files';
import { dateStamp, runStem } from '../../src/ui/export/names';
import { useStore } from '../../src/ui/store';
import { buildConfig } from '../../src/ui/store/config';
import { MAX_POINTS } from '../../src/ui/store/runs';

/** A CSV as rows of fields (quoted fields with commas, quotes and line breaks). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; } else if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i++; } else field += c;
  }
  return rows;
}

const table = (csv: string) => {
  const [header, ...rows] = parseCsv(csv);
  return rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]])));
};

/** A small run's events, as the engine sends them: two read-backs, two windows over two modules, a switch, an evaluation. */
function events(): EngineEvent[] {
  const records = (from: number) => [0, 1].map((i) => ({ step: from + i, epoch: 0, loss: 2 - 0.1 * (from + i), lr: 1e-3 * (from + i) }));
  const win = (step: number, change: number | null) => ({
    step, loss: 2 - step / 10, 'lossChange%': change,
    modules: {
      'blocks.0.query': { norm: 1, 'normChange%': change, 'update%': change, gradNorm: 0.5, 'gradChange%': change },
      'blocks.1.fc2': { norm: 2, 'normChange%': change, 'update%': change === null ? null : change / 2, gradNorm: 0.25, 'gradChange%': null },
    },
  });
  const memory = { numTensors: 40, numBytes: 4096 };
  return [
    { type: 'params', step: 0, total: 1000, trainable: 1000, optimizerBytes: 8000, memory },
    { type: 'progress', records: records(1), phase: 'full', samplesPerSec: 50, seconds: 0.64 },
    { type: 'memory', step: 2, phase: 'full', memory },
    { type: 'window', window: win(2, null) },
    { type: 'progress', records: records(3), phase: 'full', samplesPerSec: 60, seconds: 0.5 },
    { type: 'window', window: win(4, 1.5) },
    { type: 'phase', change: { module: 'blocks.0.query', from: 'full', to: 'joint', step: 4, rank: 8, decidedBy: { metric: 'update%', value: 1.5, rule: 'global', threshold: 2, patience: 3, lossThreshold: 10 }, rankedBy: { metric: 'gradChange%', scope: 'family', window: 4 }, lossBefore: 1.6, lossAfter: 1.6 } },
    { type: 'phase', change: { module: 'blocks.1.fc2', from: 'full', to: 'joint', step: 4, rank: 4, decidedBy: 'forced' } },
    { type: 'evaluation', evaluation: { step: 4, loss: 1.7, accuracy: 0.4, count: 200 } },
  ];
}

describe('a run\'s tables', () => {
  it('are tidy: a row per step, window, module window, change; numbers read back exactly, missing values empty', () => {
    const t = runTables(events(), [{ step: 3, update: { weightThreshold: 2.5, metric: 'gradChange%' } }]);
    expect(Object.keys(t)).toEqual(['losses.csv', 'throughput.csv', 'evaluations.csv', 'windows.csv', 'module-windows.csv', 'phases.csv', 'params.csv', 'memory.csv', 'settings.csv']);
    const losses = table(t['losses.csv']!);
    expect(losses.map((r) => Number(r.step))).toEqual([1, 2, 3, 4]);
    expect(losses.map((r) => Number(r.lr))).toEqual([1e-3, 2e-3, 3e-3, 4e-3]);
    expect(losses.map((r) => Number(r.loss))).toEqual([1.9, 1.8, 2 - 0.1 * 3, 1.6]);
    expect(table(t['throughput.csv']!)).toEqual([
      { step: '2', steps: '2', seconds: '0.64', samplesPerSec: '50', phase: 'full', cold: 'false' },
      { step: '4', steps: '2', seconds: '0.5', samplesPerSec: '60', phase: 'full', cold: 'false' },
    ]);
    expect(table(t['windows.csv']!)).toEqual([{ step: '2', loss: '1.8', 'lossChange%': '' }, { step: '4', loss: '1.6', 'lossChange%': '1.5' }]);
    const modules = table(t['module-windows.csv']!);
    expect(modules).toHaveLength(4); // 2 windows x 2 modules
    expect(modules[3]).toEqual({ step: '4', module: 'blocks.1.fc2', layer: '1', family: 'fc2', norm: '2', 'normChange%': '1.5', 'update%': '0.75', gradNorm: '0.25', 'gradChange%': '' });
    expect(table(t['phases.csv']!)).toEqual([
      { step: '4', module: 'blocks.0.query', layer: '0', family: 'query', from: 'full', to: 'joint', rank: '8', decidedBy: 'policy', metric: 'update%', rule: 'global', value: '1.5', threshold: '2', patience: '3', lossThreshold: '10', rankMetric: 'gradChange%', rankScope: 'family', rankWindow: '4', lossBefore: '1.6', lossAfter: '1.6' },
      { step: '4', module: 'blocks.1.fc2', layer: '1', family: 'fc2', from: 'full', to: 'joint', rank: '4', decidedBy: 'forced', metric: '', rule: '', value: '', threshold: '', patience: '', lossThreshold: '', rankMetric: '', rankScope: '', rankWindow: '', lossBefore: '', lossAfter: '' },
    ]);
    expect(table(t['evaluations.csv']!)).toEqual([{ step: '4', loss: '1.7', accuracy: '0.4', count: '200' }]);
    expect(table(t['settings.csv']!)).toEqual([{ step: '3', setting: 'prelora.weightThreshold', value: '2.5' }, { step: '3', setting: 'prelora.metric', value: 'gradChange%' }]);
    expect(table(t['memory.csv']!)).toEqual([{ step: '2', phase: 'full', tensors: '40', bytes: '4096', bytesInGPU: '' }]);
    // counts only: memory at a change point (before any moment, or just after a reset) is no
    // figure of the run's memory, memory.csv's read-backs are
    expect(table(t['params.csv']!)).toEqual([{ step: '0', total: '1000', trainable: '1000' }]);
  });

  it('quotes what needs it', () => {
    const csv = toCsv(['a', 'b'], [['x,y', 'say "hi"'], ['line\nbreak', null], [-1.5, true]]);
    expect(csv).toBe('a,b\r\n"x,y","say ""hi"""\r\n"line\nbreak",\r\n-1.5,true\r\n');
    expect(parseCsv(csv)).toEqual([['a', 'b'], ['x,y', 'say "hi"'], ['line\nbreak', ''], ['-1.5', 'true']]);
  });
});

describe('a run\'s record', () => {
  beforeEach(() => useStore.setState({ runs: [], activeId: null, error: null }));

  it('holds the config that ran, its live changes, the CLI\'s summary of its events, and every event (not the charts\' thinned copy)', () => {
    const s = useStore.getState();
    const config = buildConfig(s);
    const run = s.addRun(config, 'nano');
    s.onWorkerEvent({ type: 'ready', backend: { name: 'wasm', reason: 'as chosen', adapter: null, memoryBudgetBytes: 1 } as never });
    useStore.getState().onWorkerEvent({ type: 'started', runId: run.id, config, init: 'model.safetensors' });
    const sent = events();
    // a long run: more read-backs than the chart keeps points
    const extra: EngineEvent[] = Array.from({ length: MAX_POINTS }, (_, i) => ({
      type: 'progress', phase: 'full', samplesPerSec: 50, seconds: 0.1, records: [{ step: 5 + i, epoch: 0, loss: 1.5, lr: 1e-3 }],
    }));
    for (const e of [...sent, ...extra]) useStore.getState().onWorkerEvent({ type: 'engine', runId: run.id, event: e });
    useStore.getState().onWorkerEvent({ type: 'policy', runId: run.id, step: 3, update: { weightThreshold: 2.5 } });
    const view = useStore.getState().runs[0]!;
    expect(view.losses.length).toBeLessThan(MAX_POINTS + 4); // the chart's copy is thinned
    const record = runJson(view);
    expect(record.events).toEqual([...sent, ...extra]);
    expect(record.policyChanges).toEqual([{ step: 3, update: { weightThreshold: 2.5 } }]);
    expect(record.config.prelora.weightThreshold).toBe(2.5);
    expect(record.run).toMatchObject({ label: view.label, preset: 'nano', backend: 'wasm', init: 'model.safetensors', state: 'starting' });
    expect(record.summary).toEqual(summarize([...sent, ...extra], {
      backend: 'wasm', kernels: null, mode: config.prelora.mode, rule: config.prelora.rule, seed: config.seed, batchSize: config.optim.batchSize,
      model: config.model, wallSeconds: null,
    }));
    expect(record.summary.steps).toBe(4 + MAX_POINTS);
    // its time is the run table's, training time, by that name: the page keeps no wall clock
    // through pauses, and gave its training time as wallSeconds, which the CLI's is
    expect(record.summary.trainingSeconds).toBeCloseTo(view.seconds, 9);
    expect(record.run.trainingSeconds).toBe(view.seconds);
    expect(record.summary.wallSeconds).toBeNull();
    expect(JSON.parse(JSON.stringify(runRecord(record.run, record.config, record.events, record.policyChanges)))).toEqual(JSON.parse(JSON.stringify(record)));
    // a run dropped from the page takes its log with it
    useStore.getState().removeRun(run.id);
    expect(runJson({ ...view }).events).toEqual([]);
  });

  it('names files for the run: its label, preset and start', () => {
    const startedAt = new Date(2026, 10, 30, 14, 5).getTime();
    expect(dateStamp(startedAt)).toBe('2026-11-30-1405');
    expect(runStem({ label: '#3 PreLoRA (module)', named: false, preset: 'nano', startedAt })).toBe('prelora-3-prelora-module-nano-2026-11-30-1405');
    expect(runStem({ label: '#12 LoRA r8', named: false, preset: null, startedAt })).toBe('prelora-12-lora-r8-2026-11-30-1405');
    // a resumed run's saved name says its preset and start already (they came twice, the start as the resume's)
    expect(runStem({ label: '#1 PreLoRA (module), micro, 12/5/2026, 12:39:42 AM', named: true, preset: 'micro', startedAt })).toBe('prelora-1-prelora-module-micro-12-5-2026-12-39-42-am');
  });
});
