// `--dataset PATH` read from disk within bounds: regular files only (a link to
// /dev/zero or a FIFO would read forever), no link that leads out of the folder or to
// a folder, at most MAX_FILES files and the data limit in bytes, and READ_CONCURRENCY
// files open at once (25,000 opened together ran out of descriptors). Every refusal
// names the offending path.
import { constants, type Dirent, type Stats } from 'node:fs';
import { lstat, open, opendir, realpath, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { formatBytes } from '../engine/config';
import { DatasetError } from '../engine/data/errors';
import { pastLimit } from '../engine/data/inflate';
import { MAX_FILES, READ_CONCURRENCY, type DataLimit } from '../engine/data/limits';
import { comparePaths, type UploadFile } from '../engine/data/upload';

interface Found {
  /** as the user will recognise it: under the path they gave */
  shown: string;
  /** what is opened: the file itself, or where a link inside the folder points */
  real: string;
  size: number;
}

function kind(s: Stats | Dirent): string {
  if (s.isFIFO()) return 'a FIFO (named pipe)';
  if (s.isSocket()) return 'a socket';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isDirectory()) return 'a folder';
  return 'not a regular file';
}

/** A file system error as a user error that names the path. */
function named(path: string, err: unknown): DatasetError {
  if (err instanceof DatasetError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    ENOENT: 'no such file or folder', EACCES: 'permission denied', EPERM: 'permission denied',
    ELOOP: 'a link that loops, or a link where a file was expected', ENOTDIR: 'a path through something that is not a folder',
    EISDIR: 'a folder where a file was expected', EMFILE: 'too many open files', ENAMETOOLONG: 'the name is too long',
  };
  return new DatasetError(`${path}: ${why[code ?? ''] ?? `cannot be read (${code ?? (err as Error).message})`}`);
}

const inside = (root: string, p: string) => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);

/** Every regular file under `root` (a folder), checked before any is read. */
async function walk(root: string): Promise<Found[]> {
  const realRoot = await realpath(root);
  const found: Found[] = [];
  const folders = [root];
  let entries = 0;
  while (folders.length) {
    const folder = folders.pop()!;
    try {
      for await (const d of await opendir(folder)) {
        const p = join(folder, d.name);
        if (++entries > MAX_FILES) throw new DatasetError(`${root}: more than ${MAX_FILES} files and folders: point --dataset at the folder of one dataset`);
        if (d.isDirectory()) folders.push(p);
        else if (d.isFile()) found.push({ shown: p, real: p, size: -1 });
        else if (d.isSymbolicLink()) found.push(await followLink(p, root, realRoot));
        else throw new DatasetError(`${p}: ${kind(d)}: only regular files are read: move it out of the folder`);
      }
    } catch (err) {
      throw named(folder, err); // a DatasetError passes as it is
    }
  }
  return found;
}

/** A link is read only when it leads to a regular file inside the folder. */
async function followLink(p: string, root: string, realRoot: string): Promise<Found> {
  const target = await realpath(p).catch((err) => { throw named(p, err); });
  if (!inside(realRoot, target)) {
    throw new DatasetError(`${p}: a link to ${target}, outside ${root}: only files inside the folder are read: copy the file in, or remove the link`);
  }
  const s = await stat(target).catch((err) => { throw named(p, err); });
  if (!s.isFile()) throw new DatasetError(`${p}: a link to ${kind(s)} (${relative(realRoot, target) || '.'}): only links to regular files are followed`);
  return { shown: p, real: target, size: s.size };
}

/** Run `work` over `items`, at most `limit` at a time, in order of the results. */
async function pooled<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

/**
 * Read one regular file, no more than its size when it was checked: opened without
 * blocking (a FIFO that slipped in would wait for a writer) and without following a
 * final link, and checked again on the open descriptor.
 */
async function readRegular(f: Found): Promise<Uint8Array> {
  const fh = await open(f.real, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW).catch((err) => { throw named(f.shown, err); });
  try {
    const s = await fh.stat();
    if (!s.isFile()) throw new DatasetError(`${f.shown}: ${kind(s)}: only regular files are read`);
    const bytes = new Uint8Array(Math.min(s.size, f.size));
    let at = 0;
    while (at < bytes.length) {
      const { bytesRead } = await fh.read(bytes, at, bytes.length - at, at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return bytes.subarray(0, at);
  } catch (err) {
    throw named(f.shown, err);
  } finally {
    await fh.close();
  }
}

/** The files at `path` (one file, or a folder's), refused as a whole past `limit` bytes. */
export async function readDatasetPath(path: string, limit: DataLimit): Promise<UploadFile[]> {
  // the path itself may be a link: the user named it, so it is followed, to a file or a folder
  const top = await stat(path).catch((err) => { throw named(path, err); });
  let found: Found[];
  if (top.isFile()) found = [{ shown: path, real: await realpath(path), size: top.size }];
  else if (top.isDirectory()) found = await walk(path);
  else throw new DatasetError(`${path}: ${kind(top)}: give a dataset file or a folder of them`);
  found.sort((a, b) => comparePaths(a.shown, b.shown)); // the same order on every file system
  await pooled(found.filter((f) => f.size < 0), READ_CONCURRENCY, async (f) => {
    f.size = (await lstat(f.real).catch((err) => { throw named(f.shown, err); })).size;
  });
  const total = found.reduce((n, f) => n + f.size, 0);
  if (total > limit.bytes) throw pastLimit(`${path}: ${formatBytes(total)} in ${found.length} file(s)`, limit, total);
  const files = await pooled(found, READ_CONCURRENCY, async (f) => ({ name: f.shown.split(sep).pop()!, path: f.shown, bytes: await readRegular(f) }));
  return files;
}
