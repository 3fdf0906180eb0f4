// Keep slice: what the worker holds for taking away and for the next run. Only the run
// it still holds (the latest: training, paused or finished) can export its model; a
// model export on its way; and the weights the next runs start from.
import type { StateCreator } from 'zustand';
import { formatBytes } from '../../engine/config';
import { MAX_UPLOAD_BYTES } from '../../engine/data/limits';
import { printable } from '../../engine/data/names';
import type { PeftNaming } from '../../engine/io/hf-names';
import type { WeightsInfo, WorkerEvent } from '../../worker/protocol';
import { saveFile } from '../export/download';
import { dateStamp, runStem } from '../export/names';
import { buildConfig } from './config';
import type { PlaygroundState } from './index';

/** A file the person picked, read only when it is sent. */
export interface PickedFile {
  name: string;
  path: string;
  size: number;
  read: () => Promise<ArrayBuffer>;
}

type KeepEvent = Extract<WorkerEvent, { type: 'held' | 'model' | 'weights' }>;

export interface KeepSlice {
  /** the run whose model the worker holds, as it last said (null: none) */
  heldRunId: string | null;
  /** a model export asked of the worker and not yet here */
  exporting: { runId: string; naming: PeftNaming } | null;
  /** the weights the next runs start from, as the worker confirmed them */
  weights: WeightsInfo | null;
  /** the file loaded before the page reloaded (the new worker holds none), until weights are loaded again */
  weightsBeforeReload: string | null;
  loadingWeights: boolean;
  exportModel: (runId: string, naming: PeftNaming) => void;
  /** a model.safetensors (and its config.json) for the next runs; the worker checks it */
  loadWeights: (files: PickedFile[]) => Promise<void>;
  clearWeights: () => void;
  applyKeepEvent: (e: KeepEvent) => void;
}

export const NAMING_SUFFIX: Record<PeftNaming, string> = { transformers5: '', transformers4: '-transformers4' };

export const createKeepSlice: StateCreator<PlaygroundState, [], [], KeepSlice> = (set, get) => ({
  heldRunId: null,
  exporting: null,
  weights: null,
  weightsBeforeReload: null,
  loadingWeights: false,
  exportModel: (runId, naming) => {
    set({ exporting: { runId, naming }, error: null });
    get().send({ type: 'exportModel', runId, naming });
  },
  loadWeights: async (files) => {
    const bytes = files.reduce((n, f) => n + f.size, 0);
    if (bytes > MAX_UPLOAD_BYTES) {
      const names = files.map((f) => printable(f.name)).join(', ');
      return set({ error: `${names}: ${formatBytes(bytes)} is more than the ${formatBytes(MAX_UPLOAD_BYTES)} the page reads: no model this page trains is that large` });
    }
    set({ loadingWeights: true, error: null });
    try {
      const read = await Promise.all(files.map(async (f) => ({ name: f.name, bytes: await f.read() })));
      get().send({ type: 'loadWeights', files: read, config: buildConfig(get()) }, read.map((f) => f.bytes));
    } catch (err) {
      set({ loadingWeights: false, error: `could not read the files: ${(err as Error).message}` });
    }
  },
  clearWeights: () => get().send({ type: 'clearWeights' }),
  applyKeepEvent: (e) => {
    switch (e.type) {
      // an export of a run the worker let go (reset, replaced, its device lost) never comes
      case 'held': return set((s) => ({ heldRunId: e.run, ...(s.exporting && s.exporting.runId !== e.run ? { exporting: null } : {}) }));
      case 'weights': return set({ weights: e.weights, loadingWeights: false, ...(e.weights ? { error: null, weightsBeforeReload: null } : {}) });
      case 'model': {
        const s = get();
        const run = s.runs.find((r) => r.id === e.runId);
        const stem = run ? runStem(run) : `prelora-run-${dateStamp(Date.now())}`;
        // named by the answer itself: what the page last asked for may have been cleared (or be another run's)
        saveFile(`${stem}-model${NAMING_SUFFIX[e.naming]}.zip`, e.zip, 'application/zip');
        return set(s.exporting?.runId === e.runId ? { exporting: null } : {});
      }
    }
  },
});
