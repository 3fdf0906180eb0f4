// What a dataset may take, one owner for each number: bytes a page upload may have,
// bytes once unpacked (files read, archives inflated), files per folder or archive,
// and how many files are open at once. Each refusal says the limit and how to raise it.
import { DEFAULT_DATA_MB, formatBytes, RUN_LIMITS } from '../config';
import { printable } from './names';

/** Larger page uploads are refused before they are read: a tab holds them twice (page and worker). */
export const MAX_UPLOAD_BYTES = 512 * 1024 ** 2;

/**
 * Files in a folder (sub-folders included) or entries in an archive. The largest sets
 * this reads have 60,000 images; far more is a wrong folder, and each entry costs objects.
 */
export const MAX_FILES = 100_000;

/**
 * Pixels an uploaded image may declare (its header's width x height), checked before it
 * is decoded: decoding makes a bitmap and an RGBA copy of the whole image (a 1 MB PNG
 * may declare 16384 x 16384, 1 GB each). 64 megapixels holds any camera's photo.
 */
export const MAX_IMAGE_PIXELS = 64 * 2 ** 20;

/** Files read at once from a folder: 25,000 opened together ran out of descriptors (EMFILE). */
export const READ_CONCURRENCY = 16;

/** The bytes a dataset may take once unpacked, and what to tell a user who needs more. */
export interface DataLimit {
  bytes: number;
  /** how to raise it, said where it is hit; `need`: the bytes the data takes so far with the part refused, where known */
  raise: (need?: number) => string;
}

/**
 * The config's limit, `data.maxDataMB` (the CLI raises it with `--set`). The value named
 * is twice the limit, or the data's need so far where that is more (twice alone failed
 * again and again: 1 -> 2 -> 4 -> 8 MB for the bundled MNIST); files not read yet may
 * need more, hence twice at least (a tar's fourth 16 MB batch past 64 MB needs 128).
 */
export function configDataLimit(maxDataMB: number): DataLimit {
  return {
    bytes: maxDataMB * 2 ** 20,
    raise: (need) => {
      const twice = Math.min(RUN_LIMITS.dataMB, 2 * maxDataMB);
      const more = need === undefined ? twice : Math.max(twice, Math.ceil(need / 2 ** 20));
      if (maxDataMB >= RUN_LIMITS.dataMB || more > RUN_LIMITS.dataMB) return `${RUN_LIMITS.dataMB} MiB is the most a dataset may take: use fewer or smaller files`;
      return `raise it with --set data.maxDataMB=${more} or more (at most ${RUN_LIMITS.dataMB}), or use fewer or smaller files`;
    },
  };
}

/**
 * The page's limit fits the device: a quarter of its memory (`navigator.deviceMemory`,
 * in GB; Chrome reports at most 8), and never more than the CLI's default.
 */
export function pageDataLimit(deviceMemoryGB?: number): DataLimit {
  const cap = DEFAULT_DATA_MB * 2 ** 20;
  const device = deviceMemoryGB && deviceMemoryGB > 0 ? (deviceMemoryGB * 2 ** 30) / 4 : cap;
  return {
    bytes: Math.min(cap, device),
    raise: () => 'the page takes at most a quarter of this device\'s memory: use a smaller set (fewer files, or a smaller synthetic one), or train on larger sets with the CLI (--set data.maxDataMB)',
  };
}

/** A page upload over MAX_UPLOAD_BYTES or MAX_FILES: the reason, or null when it may be read. */
export function uploadProblem(files: { name: string; size: number }[]): string | null {
  const what = files.length === 1 ? printable(files[0]!.name) : `these ${files.length} files`;
  if (files.length > MAX_FILES) return `${files.length} files are more than the ${MAX_FILES} a dataset may have: pick the folder of one dataset`;
  const total = files.reduce((n, f) => n + f.size, 0);
  if (total > MAX_UPLOAD_BYTES) {
    return `${what}: ${formatBytes(total)} is more than the ${formatBytes(MAX_UPLOAD_BYTES)} an upload may have: upload fewer batches or a smaller set`;
  }
  return null;
}
