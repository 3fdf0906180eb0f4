// Saved-runs slice: the runs this browser keeps (IndexedDB), listed with their size,
// renamed and deleted here; the worker saves them and brings one back on Resume, paused
// where it was saved, its charts filled from its saved events.
import type { StateCreator } from 'zustand';
import type { EngineEvent } from '../../engine/events';
import type { PresetName } from '../../engine/config';
import type { PolicyChange } from '../../engine/run-record';
import { heldLocks, savedRunLock } from '../../worker/run-locks';
import { latestFirst, SavedRuns, wasInterrupted, type SavedRunInfo, type UserStop } from '../../worker/saved-runs';
import type { PlaygroundState } from './index';
import { selectOpenBlocked, selectOpenNote } from './selectors';

export interface SavedSlice {
  savedRuns: SavedRunInfo[];
  /** what went wrong reading or changing the saved runs (not a run's own error) */
  savedProblem: string | null;
  /** saved runs the worker was training when the page went (unfinished, not stopped by the user), as the page found them on opening */
  interrupted: string[];
  refreshSaved: (opening?: boolean) => Promise<void>;
  renameSaved: (id: string, name: string) => Promise<void>;
  deleteSaved: (id: string) => Promise<void>;
  /** bring a saved run back as a new run of this page, paused where it was saved */
  resumeSaved: (id: string) => void;
  /** run `runId` stopped where it cannot go on (a crash, a failed step): offer its last checkpoint */
  markInterrupted: (runId: string) => void;
  /** the user stopped the run saved as `id` where the worker cannot record it (a new backend ends the worker): listed as stopped, not interrupted */
  markSavedStopped: (id: string, stopped: UserStop) => Promise<void>;
  /** the worker saved run `runId` */
  applySaved: (runId: string, info: SavedRunInfo) => void;
  /** a restored run's earlier events and live changes, into its charts */
  applyRestored: (runId: string, events: EngineEvent[], policyChanges: PolicyChange[]) => void;
}

let store: Promise<SavedRuns> | null = null;
const savedRuns = () => {
  store ??= SavedRuns.open();
  store.catch(() => { store = null; });
  return store;
};

export const createSavedSlice: StateCreator<PlaygroundState, [], [], SavedSlice> = (set, get) => {
  const act = async (what: string, f: (s: SavedRuns) => Promise<unknown>) => {
    try {
      await f(await savedRuns());
      const list = await (await savedRuns()).list();
      // a save that came before this change, its event still waiting for its batch, would
      // otherwise land after this list and undo it (a deleted run's row came back); a save
      // event that reaches the page after this list is older than a rename (applySaved)
      get().flushWorkerEvents();
      set({ savedRuns: list, savedProblem: null });
    } catch (err) {
      set({ savedProblem: `could not ${what}: ${(err as Error).message}` });
    }
  };
  return {
    savedRuns: [],
    savedProblem: null,
    interrupted: [],
    refreshSaved: (opening = false) => act('read the saved runs', async (s) => {
      // a run another tab trains (its worker holds its lock) was not interrupted
      const live = opening ? await heldLocks() : new Set<string>();
      if (opening) set({ interrupted: (await s.list()).filter((r) => wasInterrupted(r) && !live.has(savedRunLock(r.id))).map((r) => r.id) });
    }),
    renameSaved: (id, name) => act('rename the saved run', (s) => s.rename(id, name.trim() || 'unnamed run')),
    deleteSaved: (id) => act('delete the saved run', async (s) => {
      // live in a tab (another's, where this one's button cannot know): it saves on into its entry, and a Delete came back at its next save
      if ((await heldLocks()).has(savedRunLock(id))) throw new Error('it is live in a tab of this page (training or paused there): reset it there first');
      await s.remove(id);
      set((st) => ({ interrupted: st.interrupted.filter((i) => i !== id) }));
    }),
    resumeSaved: (id) => {
      const info = get().savedRuns.find((r) => r.id === id);
      if (!info) return;
      // a run training would stop mid-way: it waits to be paused, as a start does (the button says so)
      if (selectOpenBlocked(get())) return set({ error: selectOpenNote(get()) });
      const run = get().addRun(info.config, (info.preset as PresetName | null) ?? undefined, info.name);
      set((st) => ({
        error: null, interrupted: st.interrupted.filter((i) => i !== id),
        // it started when it was first saved, not now (its files were stamped with the resume)
        runs: st.runs.map((r) => (r.id === run.id ? { ...r, savedAs: id, startedAt: info.createdAt } : r)),
      }));
      get().send({ type: 'restore', runId: run.id, savedId: id });
    },
    markInterrupted: (runId) => set((st) => {
      const id = st.runs.find((r) => r.id === runId)?.savedAs;
      return id && !st.interrupted.includes(id) ? { interrupted: [...st.interrupted, id] } : {};
    }),
    markSavedStopped: (id, stopped) => act('record that the run was stopped (a reload will call it interrupted; it still resumes)', (s) => s.markStopped(id, stopped)),
    applySaved: (runId, saved) => set((st) => {
      // a save made before a rename can reach the page after the rename's listing, which
      // already holds it (or a later one): the listing stays as it is
      const listed = st.savedRuns.find((r) => r.id === saved.id);
      const older = listed && (listed.renamedAt ?? 0) > (saved.renamedAt ?? 0);
      return {
        // in the store's order: a run marked stopped (its savedAt as it was) stays in its place
        ...(older ? {} : { savedRuns: [saved, ...st.savedRuns.filter((r) => r.id !== saved.id)].sort(latestFirst) }),
        runs: st.runs.map((r) => (r.id === runId ? { ...r, savedAs: saved.id } : r)),
      };
    }),
    applyRestored: (runId, events, policyChanges) => {
      const s = get();
      s.applyEngineEvents(runId, events); // one update: one at a time, a long run's restore took time quadratic in its length
      for (const c of policyChanges) s.applyPolicy(runId, c.step, c.update);
    },
  };
};
