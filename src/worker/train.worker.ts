// The training worker: wiring only. The logic lives in host.ts (tested in Node); here
// it gets the browser's backend, the served files, image decoding, IndexedDB and Web Locks.
import { initBrowserBackend } from '../engine/backend-browser';
import { DatasetError } from '../engine/data/errors';
import { decodeImage } from './decode-image';
import { TrainingHost } from './host';
import type { WorkerEvent } from './protocol';
import { heldLocks, holdLock } from './run-locks';
import { SavedRuns } from './saved-runs';

// files under the served public/ folder (the bundled MNIST)
async function readPublic(path: string): Promise<Uint8Array> {
  const res = await fetch(new URL(`/${path}`, self.location.origin));
  if (!res.ok) throw new DatasetError(`could not load the bundled ${path} (HTTP ${res.status})`);
  return new Uint8Array(await res.arrayBuffer());
}

const host = new TrainingHost({
  post: (e: WorkerEvent, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(e, transfer),
  initBackend: initBrowserBackend,
  readPublic,
  decode: decodeImage,
  openSaved: () => SavedRuns.open(),
  holdLock,
  lockHeld: async (name) => (await heldLocks()).has(name),
});

self.onmessage = (msg: MessageEvent<unknown>) => void host.receive(msg.data);
