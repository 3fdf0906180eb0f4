// The page's link follows its next-run settings: read once at start and whenever the
// hash changes (a link pasted into the same tab), rewritten in place as the controls
// change (replaceState: no history entry per keystroke).
import { useStore } from '../store';
import { encodeLink } from './codec';

export function syncLink(): void {
  const read = () => useStore.getState().applyLink(window.location.hash);
  read();
  window.addEventListener('hashchange', read);
  let written: string | null = null;
  const write = () => {
    const next = encodeLink(useStore.getState());
    if (next === written) return;
    written = next;
    const { pathname, search } = window.location;
    window.history.replaceState(window.history.state, '', `${pathname}${search}${next ? `#${next}` : ''}`);
  };
  write();
  useStore.subscribe(write);
}
