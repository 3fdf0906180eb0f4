// Saved runs in the browser's IndexedDB (through idb): per run its latest checkpoint
// file and a small record to list it by (name, step, size, when), in two stores so a
// listing never reads the files. The worker writes (it holds the tensors); the page
// lists, renames and deletes. A full quota is an error that says what to delete.
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { RunConfig } from '../engine/config';
import type { DataIdentity } from './saved-data';

export const SAVED_RUNS_DB = 'prelora-playground';
const DB_VERSION = 1;

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
  /** the uploaded data it trained on, and the bytes it takes when kept with it (absent: saved before data was kept, or none uploaded) */
  data?: (DataIdentity & { bytes: number }) | null;
}

/** The space a saved run takes: its checkpoint and the data kept with it. */
export const savedBytes = (r: SavedRunInfo) => r.bytes + (r.data?.bytes ?? 0);

/** Where a saved run's kept data lies in the files store, beside its checkpoint. */
const dataKey = (id: string) => `${id}/data`;

interface Schema extends DBSchema {
  runs: { key: string; value: SavedRunInfo };
  files: { key: string; value: { id: string; bytes: Uint8Array } };
}

/** The storage is full: the message names the saved runs to delete, largest first. */
export class StorageFullError extends Error {
  override name = 'StorageFullError';
}

const MB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 2 : 1)} MB`;

function isQuota(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === 'QuotaExceededError' || (name === 'AbortError' && /quota/i.test(String((err as Error).message)));
}

export class SavedRuns {
  private constructor(private readonly db: IDBPDatabase<Schema>) {}

  static async open(): Promise<SavedRuns> {
    const db = await openDB<Schema>(SAVED_RUNS_DB, DB_VERSION, {
      upgrade(d) {
        d.createObjectStore('runs', { keyPath: 'id' });
        d.createObjectStore('files', { keyPath: 'id' });
      },
    });
    return new SavedRuns(db);
  }

  /** Every saved run, the latest saved first. */
  async list(): Promise<SavedRunInfo[]> {
    return (await this.db.getAll('runs')).sort((a, b) => b.savedAt - a.savedAt);
  }

  /** Save (or replace) a run's checkpoint; on a full quota nothing is kept of this save and the error says what to delete. */
  async save(info: Omit<SavedRunInfo, 'bytes' | 'createdAt'>, bytes: Uint8Array): Promise<SavedRunInfo> {
    const tx = this.db.transaction(['runs', 'files'], 'readwrite');
    const before = await tx.objectStore('runs').get(info.id);
    const record: SavedRunInfo = { ...info, name: before?.name ?? info.name, createdAt: before?.createdAt ?? info.savedAt, bytes: bytes.byteLength };
    try {
      await Promise.all([tx.objectStore('runs').put(record), tx.objectStore('files').put({ id: info.id, bytes }), tx.done]);
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

  async rename(id: string, name: string): Promise<void> {
    const tx = this.db.transaction('runs', 'readwrite');
    const info = await tx.store.get(id);
    if (info) await tx.store.put({ ...info, name });
    await tx.done;
  }

  async remove(id: string): Promise<void> {
    const tx = this.db.transaction(['runs', 'files'], 'readwrite');
    await Promise.all([tx.objectStore('runs').delete(id), tx.objectStore('files').delete(id), tx.objectStore('files').delete(dataKey(id)), tx.done]);
  }

  close(): void {
    this.db.close();
  }
}
