// Link slice: the page's link (`#v=1&preset=tiny&...`) sets the next run; what it asked
// for and could not have is kept here to show, field by field, until dismissed.
import type { StateCreator } from 'zustand';
import type { ConfigError } from '../../engine/config';
import { decodeLink } from '../link/codec';
import { dropFieldErrors } from './config';
import { selectLive } from './selectors';
import type { PlaygroundState } from './index';

export interface LinkSlice {
  /** what the last link read asked for and did not get, each by the name the link gave it */
  linkProblems: ConfigError[];
  /** counts the links read: fields that keep typed text start over from the values it set */
  linkRevision: number;
  /** set the next run from a link's settings (`location.hash`) */
  applyLink: (hash: string) => void;
  /** forget a config field the link set that has no control on the page */
  dropExtra: (path: string) => void;
  dismissLinkProblems: () => void;
}

export const createLinkSlice: StateCreator<PlaygroundState, [], [], LinkSlice> = (set, get) => ({
  linkProblems: [],
  linkRevision: 0,
  applyLink: (hash) => {
    const { state: { backendChoice, ...next }, problems } = decodeLink(hash);
    // a new backend is a new worker: it would stop the live run or benchmark (a link pasted
    // into this tab while a run trained stopped it, losing the steps since its checkpoint)
    const now = get().backendChoice;
    const busy = selectLive(get()) !== undefined || get().benchStatus.state === 'running';
    const kept = backendChoice !== now && busy
      ? [{ path: 'backend', message: `backend stays ${now} while a run or benchmark is live (a new backend stops it): choose ${backendChoice} in the controls once it is done or reset` }]
      : [];
    set((s) => ({ ...next, linkProblems: [...problems, ...kept], linkRevision: s.linkRevision + 1, ...dropFieldErrors(s) }));
    if (!kept.length) get().setBackend(backendChoice);
  },
  dropExtra: (path) => set((s) => ({ extra: Object.fromEntries(Object.entries(s.extra).filter(([p]) => p !== path)) })),
  dismissLinkProblems: () => set({ linkProblems: [] }),
});
