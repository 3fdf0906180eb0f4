// Bounded decompression. gzip is inflated slice by slice and stopped the moment it
// passes the data limit (a 1 MB file can hold 1 GB of zeros); what a header promises
// (a zip entry's size here, an IDX count or a tar entry's size in their readers) is
// checked against the limit before its bytes are inflated. The gzip trailer's size is
// never trusted: fflate's gunzipSync allocates it up front (4 GB for a 30-byte file).
import { Gunzip, unzipSync } from 'fflate';
import { formatBytes } from '../config';
import { DatasetError } from './errors';
import { MAX_FILES, type DataLimit } from './limits';

/** Compressed bytes pushed at a time: deflate expands at most 1,032x, so a slice inflates to 17 MB at most. */
const SLICE = 16 * 1024;

export const isGzip = (bytes: Uint8Array) => bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;

/** `need`: the bytes the data takes with the part refused, where known (the fix names a limit that holds them). */
export function pastLimit(what: string, limit: DataLimit, need?: number): DatasetError {
  return new DatasetError(`${what}, past the ${formatBytes(limit.bytes)} limit on a dataset's unpacked data: ${limit.raise(need)}`);
}

/** The bytes a dataset's files take once unpacked, counted against its limit. */
export class DataBudget {
  /** bytes kept so far */
  used = 0;
  /** bytes inflated so far, kept or not (the measure of a decompression bomb) */
  inflated = 0;

  constructor(readonly limit: DataLimit) {}

  /** Count `bytes` more of `what` (e.g. "x.zip: a.bin inflates to"), or refuse them before they are made. */
  take(bytes: number, what: string): void {
    if (this.used + bytes > this.limit.bytes) {
      throw pastLimit(`${what} ${formatBytes(bytes)}${this.used ? ` (after ${formatBytes(this.used)} unpacked)` : ''}`, this.limit, this.used + bytes);
    }
    this.used += bytes;
  }
}

/**
 * Inflate a gzip file (one member or several) into `onChunk`, which returns false to
 * stop early. Throws past the limit, and on broken data with the file's name.
 */
export function gunzipStream(bytes: Uint8Array, file: string, budget: DataBudget, onChunk: (chunk: Uint8Array) => boolean): void {
  let stopped = false;
  let total = 0;
  const stream = new Gunzip((chunk) => {
    if (stopped) return;
    total += chunk.length;
    budget.inflated += chunk.length;
    if (total > budget.limit.bytes) throw pastLimit(`${file}: inflates to more than ${formatBytes(budget.limit.bytes)}`, budget.limit);
    if (!onChunk(chunk)) stopped = true;
  });
  try {
    for (let at = 0; !stopped && at < bytes.length; at += SLICE) stream.push(bytes.subarray(at, at + SLICE), at + SLICE >= bytes.length);
  } catch (err) {
    if (err instanceof DatasetError) throw err;
    throw new DatasetError(`${file}: not a valid gzip file (${(err as Error).message}): use it as published, or unpacked`);
  }
}

/**
 * A gzip file's content, inflating no more than `expect(head)` says the content holds
 * once its first `headBytes` are known (e.g. an IDX header's count x rows x cols).
 * `expect` throws when the promise is past the limit; trailing bytes are never inflated.
 */
export function gunzipExpecting(
  bytes: Uint8Array, file: string, budget: DataBudget, headBytes: number, expect: (head: Uint8Array) => number,
): Uint8Array {
  const head = new Uint8Array(headBytes);
  let headFill = 0;
  let out: Uint8Array | null = null;
  let filled = 0;
  gunzipStream(bytes, file, budget, (chunk) => {
    let at = 0;
    if (!out) {
      at = Math.min(headBytes - headFill, chunk.length);
      head.set(chunk.subarray(0, at), headFill);
      headFill += at;
      if (headFill < headBytes) return true;
      out = new Uint8Array(Math.max(headBytes, expect(head)));
      out.set(head);
      filled = headBytes;
    }
    const n = Math.min(out.length - filled, chunk.length - at);
    out.set(chunk.subarray(at, at + n), filled);
    filled += n;
    return filled < out.length;
  });
  return out ? (out as Uint8Array).subarray(0, filled) : head.subarray(0, headFill);
}

/** A zip's files: every entry's size (from the central directory) is counted before it is inflated. */
export function unzipBounded(bytes: Uint8Array, archive: string, budget: DataBudget): { name: string; path: string; bytes: Uint8Array }[] {
  let entries = 0;
  let files: Record<string, Uint8Array>;
  // fflate keeps entries by name in a plain object: a name given twice kept the last, and
  // "__proto__" set the object's prototype, each entry gone without a word
  const names = new Set<string>();
  try {
    files = unzipSync(bytes, {
      filter: (f) => {
        if (++entries > MAX_FILES) throw new DatasetError(`${archive}: more than ${MAX_FILES} entries: a dataset has fewer files`);
        if (f.name.endsWith('/')) return false;
        if (f.name === '__proto__') throw new DatasetError(`${archive}: an entry is named __proto__, which no dataset file is: rename or remove it`);
        if (names.has(f.name)) throw new DatasetError(`${archive} holds ${f.name} twice: give an archive whose entries are named once`);
        names.add(f.name);
        // a stored entry is copied (its compressed size), a deflated one inflates into
        // a buffer of its declared size (longer data is cut there, never grown)
        budget.take(f.compression === 0 ? f.size : f.originalSize, `${archive}: ${f.name} inflates to`);
        return true;
      },
    });
  } catch (err) {
    if (err instanceof DatasetError) throw err;
    throw new DatasetError(`${archive}: not a readable zip file (${(err as Error).message})`);
  }
  return Object.entries(files).map(([path, data]) => ({ name: path.split('/').pop()!, path, bytes: data }));
}
