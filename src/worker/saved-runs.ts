// Saved runs in the browser's IndexedDB (through idb): per run its latest checkpoint
// file and a small record to list it by (name, step, size, when), in two stores so a
// listing never reads the files; and its branch points (earlier checkpoints a what-if
// branch starts from) in a third, at most MAX_POINTS per run. The worker writes (it holds the tensors); the page
// lists, renames and deletes. A full quota is an error that says what to delete.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { RunConfig } from '../engine/config';
import type { DataIdentity } from './saved-data';

export const SAVED_RUNS_DB = 'prelora-playground';
const DB_VERSION = 2;
/** Branch points kept per run: past it the inner point whose neighbours are closest goes (the first and last stay). */
export const MAX_POINTS = 12;

/** What a saved run is listed by; `bytes` is its checkpoint file's size. */
export interface SavedRunInfo {
  id: string;
  name: string;
  /** the step it was saved at, of `config.schedule.steps` */
  step: number;
  /** why it was saved last: every N steps, at a pause, at the end */
  reason: 'interval' | 'pause' | 'done';
  /** when it was first and last saved (ms since the epoch) */
  createdAt: number;
  savedAt: number;
  preset: string | null;
  /** the backend it trained on: a resume on another one continues, but not bit for bit */
  backend: string;
  config: RunConfig;
  /** its checkpoint file's size */
  bytes: number;
  /** its branch points (checkpoints kept from while it trained), by step, with each file's size */
  points: { step: number; bytes: number }[];
  /** the weights file its model started from (Load weights), null for a fresh model; absent: saved before this was kept */
  init?: string | null;
  /** the uploaded data it trained on, and the bytes it takes when kept with it (absent: saved before data was kept, or none uploaded) */
  data?: (DataIdentity & { bytes: number }) | null;
  /**
   * the user stopped it after this save, at `step` (a reset, another run started in its
   * place, a new backend chosen): it was not interrupted, and still resumes from its checkpoint; the next save clears it
   */
  stopped?: UserStop;
  /**
   * when the page last renamed it (ms since the epoch; absent: never), kept by every save
   * after it: a save's listing that reaches the page after a later rename's is older
   */
  renamedAt?: number;
}

/** How the user stopped a run: Reset, another run started (or opened) in its place, or another backend (its worker went with it). */
export interface UserStop {
  step: number;
  by: 'reset' | 'replaced' | 'backend';
}

/**
 * Whether a saved run was interrupted (the page went, the worker crashed, the device was
 * lost) rather than finished or stopped by the user: what the page offers to resume on opening.
 */
export const wasInterrupted = (r: Pick<SavedRunInfo, 'reason' | 'stopped'>) => r.reason !== 'done' && !r.stopped;

/** The bytes a saved run takes: its latest checkpoint, its branch points and the data kept with it. */
export const savedBytes = (r: Pick<SavedRunInfo, 'bytes' | 'points' | 'data'>) => r.points.reduce((n, p) => n + p.bytes, r.bytes + (r.data?.bytes ?? 0));

/** Where a saved run's kept data lies in the files store, beside its checkpoint. */
const dataKey = (id: string) => `${id}/data`;

interface Schema extends DBSchema {
  runs: { key: string; value: SavedRunInfo };
  files: { key: string; value: { id: string; bytes: Uint8Array } };
  /** keyed `id@step` */
  points: { key: string; value: { key: string; bytes: Uint8Array } };
}

const pointKey = (id: string, step: number) => `${id}@${step}`;
const pointsOf = (id: string) => IDBKeyRange.bound(`${id}@`, `${id}@\uffff`);

/** Points (by step) thinned to MAX_POINTS: drop the inner point whose neighbours are closest. */
export function thinPoints<P extends { step: number }>(points: P[]): P[] {
  const out = [...points].sort((a, b) => a.step - b.step);
  const gap = (i: number) => out[i + 1]!.step - out[i - 1]!.step;
  while (out.length > MAX_POINTS) {
    let drop = 1;
    for (let i = 2; i < out.length - 1; i++) if (gap(i) < gap(drop)) drop = i;
    out.splice(drop, 1);
  }
  return out;
}

/** The storage is full: the message names the saved runs to delete, largest first. */
export class StorageFullError extends Error {
  override name = 'StorageFullError';
}

const MB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 2 : 1)} MiB`;

function isQuota(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === 'QuotaExceededError' || (name === 'AbortError' && /quota/i.test(String((err as Error).message)));
}

/** The saved runs' order, in the store and on the page: the latest saved first. */
export const latestFirst = (a: Pick<SavedRunInfo, 'savedAt'>, b: Pick<SavedRunInfo, 'savedAt'>) => b.savedAt - a.savedAt;

export class SavedRuns {
  private constructor(private readonly db: IDBPDatabase<Schema>) {}

  static async open(): Promise<SavedRuns> {
    const db = await openDB<Schema>(SAVED_RUNS_DB, DB_VERSION, {
      upgrade(d, old) {
        if (old < 1) {
          d.createObjectStore('runs', { keyPath: 'id' });
          d.createObjectStore('files', { keyPath: 'id' });
        }
        if (old < 2) d.createObjectStore('points', { keyPath: 'key' });
      },
    });
    return new SavedRuns(db);
  }

  /** Every saved run, the latest saved first (latestFirst). */
  async list(): Promise<SavedRunInfo[]> {
    // a run saved before branch points were kept has none
    return (await this.db.getAll('runs')).map((r) => ({ ...r, points: r.points ?? [] })).sort(latestFirst);
  }

  /**
   * Save (or replace) a run's checkpoint, and keep it as a branch point too when `point`;
   * on a full quota nothing is kept of this save and the error says what to delete.
   */
  async save(info: Omit<SavedRunInfo, 'bytes' | 'createdAt' | 'points'>, bytes: Uint8Array, point = false): Promise<SavedRunInfo> {
    const tx = this.db.transaction(['runs', 'files', 'points'], 'readwrite');
    const before = await tx.objectStore('runs').get(info.id);
    const had = (before?.points ?? []).filter((p) => p.step !== info.step);
    const points = point ? thinPoints([...had, { step: info.step, bytes: bytes.byteLength }]) : had;
    const gone = had.filter((p) => !points.includes(p));
    const record: SavedRunInfo = {
      ...info, name: before?.name ?? info.name, renamedAt: before?.renamedAt, createdAt: before?.createdAt ?? info.savedAt, bytes: bytes.byteLength, points,
    };
    const pointStore = tx.objectStore('points');
    try {
      await Promise.all([
        tx.objectStore('runs').put(record), tx.objectStore('files').put({ id: info.id, bytes }),
        ...(point ? [pointStore.put({ key: pointKey(info.id, info.step), bytes })] : []),
        ...gone.map((p) => pointStore.delete(pointKey(info.id, p.step))),
        tx.done,
      ]);
    } catch (err) {
      throw await this.full(err, info.id, `"${record.name}" at step ${info.step} (${MB(bytes.byteLength)})`);
    }
    return record;
  }

  /** Keep a run's uploaded data beside its checkpoint (once: it does not change); a full quota is refused as a save is. */
  async saveData(id: string, name: string, bytes: Uint8Array): Promise<void> {
    try {
      await this.db.put('files', { id: dataKey(id), bytes });
    } catch (err) {
      throw await this.full(err, id, `the uploaded data of "${name}" (${MB(bytes.byteLength)})`);
    }
  }

  /** A saved run's kept data, or null when none is kept. */
  async readData(id: string): Promise<Uint8Array | null> {
    return (await this.db.get('files', dataKey(id)))?.bytes ?? null;
  }

  /** The error for a failed write: on a full quota, what to delete (the other saved runs, largest first). */
  private async full(err: unknown, id: string, what: string): Promise<unknown> {
    if (!isQuota(err)) return err;
    const others = (await this.list()).filter((r) => r.id !== id).sort((a, b) => savedBytes(b) - savedBytes(a));
    const fix = others.length
      ? `delete saved runs to make room: ${others.map((r) => `"${r.name}" (${MB(savedBytes(r))})`).join(', ')}`
      : 'no other saved runs to delete: free space for this site in the browser, or save less often (schedule.checkpointEvery)';
    return new StorageFullError(`could not save ${what}: the browser's storage for this page is full; ${fix}`);
  }

  /** A saved run's checkpoint file, or null when it is gone. */
  async read(id: string): Promise<Uint8Array | null> {
    return (await this.db.get('files', id))?.bytes ?? null;
  }

  /** A run's branch point at `step`, or null when it is gone (thinned out, or the run deleted). */
  async readPoint(id: string, step: number): Promise<Uint8Array | null> {
    return (await this.db.get('points', pointKey(id, step)))?.bytes ?? null;
  }

  async rename(id: string, name: string): Promise<void> {
    const tx = this.db.transaction('runs', 'readwrite');
    const info = await tx.store.get(id);
    if (info) await tx.store.put({ ...info, name, renamedAt: Date.now() });
    await tx.done;
  }

  /** Record that the user stopped a saved run (see `stopped`); its listing as it is now, or null when it has none. */
  async markStopped(id: string, stopped: UserStop): Promise<SavedRunInfo | null> {
    const tx = this.db.transaction('runs', 'readwrite');
    const info = await tx.store.get(id);
    const marked = info ? { ...info, points: info.points ?? [], stopped } : null;
    if (marked) await tx.store.put(marked);
    await tx.done;
    return marked;
  }

  async remove(id: string): Promise<void> {
    const tx = this.db.transaction(['runs', 'files', 'points'], 'readwrite');
    await Promise.all([
      tx.objectStore('runs').delete(id), tx.objectStore('files').delete(id), tx.objectStore('files').delete(dataKey(id)),
      tx.objectStore('points').delete(pointsOf(id)), tx.done,
    ]);
  }

  close(): void {
    this.db.close();
  }
}
