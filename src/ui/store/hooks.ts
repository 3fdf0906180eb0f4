// React hooks over the store's selectors.
import { useStore } from './index';
import { selectActive, selectLive } from './selectors';

export const useActiveRun = () => useStore(selectActive);
export const useLiveRun = () => useStore(selectLive);
