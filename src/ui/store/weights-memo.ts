// The loaded weights' file name, kept in the tab's sessionStorage: the worker holds the
// weights and a reload makes a new worker, which holds none. After a reload the page
// says which file is no longer loaded (the line read "a fresh model" and nothing more).
import { useStore } from './index';

const KEY = 'prelora.loadedWeights';

/** sessionStorage, where the page has one it may use (none in Node, or where storage is blocked). */
function session(): Storage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null; // a blocked storage throws on access
  }
}

/** At page start: note the file loaded before the reload, then keep the stored name in step with the loaded weights. */
export function rememberLoadedWeights(): void {
  const store = session();
  if (!store) return;
  const before = store.getItem(KEY);
  if (before) useStore.setState({ weightsBeforeReload: before });
  store.removeItem(KEY);
  useStore.subscribe((s, prev) => {
    if (s.weights === prev.weights) return;
    try {
      if (s.weights) store.setItem(KEY, s.weights.file);
      else store.removeItem(KEY);
    } catch { /* full or blocked: the note is a courtesy */ }
  });
}
