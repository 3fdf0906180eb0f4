// The page's waits on the worker's answers: a model export is named by the answer itself,
// and an error ends only the wait it answers (an upload's, weights', an export's), not
// one still on its way behind it (a save's full quota while an export waits its turn).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useStore } from '../../src/ui/store';
import { buildConfig } from '../../src/ui/store/config';
import type { Command } from '../../src/worker/protocol';

/** The files the page handed the person, by name. */
function downloads(): string[] {
  const names: string[] = [];
  vi.stubGlobal('document', { createElement: () => ({ set download(n: string) { names.push(n); }, click() {} }) });
  vi.stubGlobal('URL', Object.assign(class extends URL {}, { createObjectURL: () => 'blob:x', revokeObjectURL() {} }));
  return names;
}

describe('keep slice: waits on the worker', () => {
  const sent: Command[] = [];
  const send = useStore.getState().send;
  beforeEach(() => {
    sent.length = 0;
    useStore.setState({ runs: [], activeId: null, error: null, exporting: null, uploading: false, loadingWeights: false, send: (cmd) => { sent.push(cmd); } });
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    useStore.setState({ send });
  });

  it('names a transformers-4 export by its answer, though a save\'s error came while it waited', () => {
    const saved = downloads();
    const s = useStore.getState();
    const run = s.addRun(buildConfig(s));
    s.exportModel(run.id, 'transformers4');
    expect(sent).toEqual([{ type: 'exportModel', runId: run.id, naming: 'transformers4' }]);
    // the run's save (ahead of the export in the worker) finds the quota full
    s.onWorkerEvent({ type: 'error', runId: run.id, message: 'could not save "x" at step 100: the browser\'s storage for this page is full; …' });
    expect(useStore.getState().exporting).toEqual({ runId: run.id, naming: 'transformers4' }); // before: null, the button no longer busy
    s.onWorkerEvent({ type: 'model', runId: run.id, zip: new ArrayBuffer(4), files: [], naming: 'transformers4' });
    expect(saved).toHaveLength(1);
    expect(saved[0]).toMatch(/-model-transformers4\.zip$/); // before: …-model.zip
    expect(useStore.getState().exporting).toBeNull();
  });

  it('an error ends only the wait of the command it answers; a let-go run ends its export\'s', () => {
    const s = useStore.getState();
    const run = s.addRun(buildConfig(s));
    useStore.setState({ uploading: true, loadingWeights: true, exporting: { runId: run.id, naming: 'transformers5' }, heldRunId: run.id });
    s.onWorkerEvent({ type: 'error', runId: null, message: 'unknown command "x"' });
    expect(useStore.getState()).toMatchObject({ uploading: true, loadingWeights: true, exporting: { runId: run.id } }); // before: all three cleared
    s.onWorkerEvent({ type: 'error', runId: null, message: 'could not read the weights: …', about: 'loadWeights' });
    expect(useStore.getState()).toMatchObject({ uploading: true, loadingWeights: false, exporting: { runId: run.id } });
    s.onWorkerEvent({ type: 'error', runId: null, message: 'x.png: …', about: 'loadDataset' });
    expect(useStore.getState()).toMatchObject({ uploading: false, exporting: { runId: run.id } });
    s.onWorkerEvent({ type: 'held', run: null }); // the worker let the run go: its export never comes
    expect(useStore.getState().exporting).toBeNull();
    expect(useStore.getState().error).toBe('x.png: …');
  });
});
