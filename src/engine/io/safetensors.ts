// The safetensors format (Hugging Face): 8 bytes of little-endian u64 header length N,
// N bytes of UTF-8 JSON `{name: {dtype, shape, data_offsets: [begin, end]}, ...,
// "__metadata__"?: {string: string}}` (padded with spaces to a multiple of 8), then the
// tensors' little-endian, row-major bytes, offsets relative to the end of the header.
// The reader treats a file as hostile: every number is checked against the file
// before anything is allocated from it; the data must be covered exactly (no gaps, no
// overlaps, nothing after the last tensor), as the reference implementation demands.
// Our own: on npm, `safetensors` is a 0.0.1 stub and @huggingface/hub only reads the
// headers of files on the Hub and writes none.
import { ModelFileError } from './errors';

/** Bytes per element of every dtype the format defines. */
export const DTYPE_BYTES = {
  F64: 8, F32: 4, F16: 2, BF16: 2, F8_E5M2: 1, F8_E4M3: 1,
  I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
} as const;
export type Dtype = keyof typeof DTYPE_BYTES;

/** The reference implementation refuses larger headers (100 MB) as a denial-of-service guard. */
export const MAX_HEADER_BYTES = 100_000_000;

/** A header the writer will not write: over MAX_HEADER_BYTES, which every reader (ours, the reference) refuses. */
export class HeaderTooLargeError extends Error {
  override name = 'HeaderTooLargeError';

  constructor(readonly bytes: number, readonly limit = MAX_HEADER_BYTES) {
    super(`safetensors: a header of ${bytes} bytes is over the format's limit of ${limit} bytes`);
  }
}

export interface TensorEntry {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** byte range within the data section (after the header) */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** in the header's order */
  entries: TensorEntry[];
  metadata: Record<string, string> | null;
  /** where the data section starts in the file: 8 + N */
  dataStart: number;
}

/** One tensor as stored: its little-endian bytes (a view into the file's bytes). */
export interface StoredTensor {
  dtype: Dtype;
  shape: number[];
  bytes: Uint8Array;
}

export type WritableData = Float32Array | Int32Array | Uint8Array;

export interface WritableTensor {
  shape: number[];
  data: WritableData;
}

const fail = (file: string, what: string): never => {
  throw new ModelFileError(`${file}: ${what}`);
};

/** The header length N from the first 8 bytes, checked against the file's size and the limit. */
export function headerLength(first8: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8 || first8.length < 8) {
    fail(file, `only ${fileSize} bytes: a safetensors file starts with an 8-byte header length (truncated, or not a safetensors file)`);
  }
  const view = new DataView(first8.buffer, first8.byteOffset, 8);
  const lo = view.getUint32(0, true), hi = view.getUint32(4, true);
  const n = hi * 2 ** 32 + lo;
  if (hi > 0 || n > MAX_HEADER_BYTES) {
    fail(file, `header length ${n} is over the format's limit of ${MAX_HEADER_BYTES} bytes: not a safetensors file, or corrupted`);
  }
  if (n < 2) fail(file, `header length ${n} is too short for a JSON object: not a safetensors file, or corrupted`);
  if (8 + n > fileSize) {
    fail(file, `the header (${n} bytes) runs past the end of the file (${fileSize} bytes): the file is truncated`);
  }
  return n;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const show = (v: unknown): string => JSON.stringify(v)?.slice(0, 80) ?? String(v);

function parseEntry(name: string, raw: unknown, dataBytes: number, file: string): TensorEntry {
  const at = `tensor "${name}"`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(file, `${at}: its header entry is not an object (got ${show(raw)})`);
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) {
    fail(file, `${at}: unknown dtype ${show(dtype)} (the format's dtypes: ${Object.keys(DTYPE_BYTES).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) fail(file, `${at}: shape must be a list of whole numbers >= 0 (got ${show(shape)})`);
  const [begin, end] = Array.isArray(offsets) && offsets.length === 2 && offsets.every(isCount) ? offsets as [number, number] : [1, 0];
  if (begin > end) fail(file, `${at}: data_offsets must be [begin, end] with 0 <= begin <= end (got ${show(offsets)})`);
  const dims = shape as number[];
  let need = DTYPE_BYTES[dtype as Dtype] as number;
  for (const d of dims) {
    need *= d;
    if (!Number.isSafeInteger(need)) fail(file, `${at}: shape ${show(dims)} is too large to address`);
  }
  if (need !== end - begin) {
    fail(file, `${at}: shape ${show(dims)} of ${dtype} needs ${need} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
  }
  if (end > dataBytes) {
    fail(file, `${at}: data_offsets [${begin}, ${end}] run past the end of the data (${dataBytes} bytes): the file is truncated or corrupted`);
  }
  return { name, dtype: dtype as Dtype, shape: dims, begin, end };
}

/**
 * Parse and check the header. `bytes` holds at least the first 8 + N bytes of a file
 * of `fileSize` bytes (the whole file, or only its head when reading lazily).
 */
export function parseHeader(bytes: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  const n = headerLength(bytes, fileSize, file);
  if (bytes.length < 8 + n) fail(file, `only ${bytes.length} bytes were read of a ${8 + n}-byte header`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    return fail(file, 'the header is not valid UTF-8: not a safetensors file, or corrupted');
  }
  if (text[0] !== '{') fail(file, `the header does not start with "{" (it starts ${show(text.slice(0, 16))}): not a safetensors file`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return fail(file, `the header is not valid JSON (${(err as Error).message}): the file is corrupted`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail(file, 'the header is not a JSON object');
  const dataBytes = fileSize - 8 - n;
  let metadata: Record<string, string> | null = null;
  const entries: TensorEntry[] = [];
  for (const [name, raw] of Object.entries(json as object)) {
    if (name === '__metadata__') {
      const bad = raw === null || typeof raw !== 'object' || Array.isArray(raw)
        ? '' : Object.entries(raw as object).find(([, v]) => typeof v !== 'string');
      if (bad === '') fail(file, `__metadata__ must be an object of strings (got ${show(raw)})`);
      if (bad) fail(file, `__metadata__ must map strings to strings ("${bad[0]}" is ${show(bad[1])})`);
      metadata = raw as Record<string, string>;
      continue;
    }
    entries.push(parseEntry(name, raw, dataBytes, file));
  }
  // The data must be covered exactly: sorted by offset, each tensor starts where the
  // previous one ended, and the last one ends at the end of the file. (A duplicated
  // key, which JSON.parse silently collapses, shows up here as a gap.)
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous: TensorEntry | null = null;
  for (const e of sorted) {
    if (e.begin < cursor) {
      fail(file, `tensor "${e.name}" (bytes ${e.begin}..${e.end}) overlaps tensor "${previous!.name}" (bytes ${previous!.begin}..${previous!.end})`);
    }
    if (e.begin > cursor) fail(file, `bytes ${cursor}..${e.begin} of the data belong to no tensor (before "${e.name}"): the file is corrupted`);
    cursor = e.end;
    previous = e;
  }
  if (cursor !== dataBytes) {
    fail(file, `${dataBytes - cursor} bytes follow the last tensor: the file is corrupted, or not written by a safetensors writer`);
  }
  return { entries, metadata, dataStart: 8 + n };
}

/** Read a whole file held in memory: its tensors by name (views into `bytes`) and metadata. */
export function readSafetensors(bytes: Uint8Array, file: string): { tensors: Map<string, StoredTensor>; metadata: Record<string, string> | null } {
  const header = parseHeader(bytes, bytes.length, file);
  const tensors = new Map<string, StoredTensor>();
  for (const e of header.entries) {
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, bytes: bytes.subarray(header.dataStart + e.begin, header.dataStart + e.end) });
  }
  return { tensors, metadata: header.metadata };
}

/** IEEE half -> float */
function half(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f, frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** A floating-point tensor as float32 (F32 as is; F16, BF16 and F64 converted); any other dtype is refused. */
export function toFloat32(t: StoredTensor, name: string, file: string): Float32Array {
  const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  const n = t.bytes.byteLength / DTYPE_BYTES[t.dtype];
  const out = new Float32Array(n);
  switch (t.dtype) {
    case 'F32': for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true); break;
    case 'F64': for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true); break;
    case 'F16': for (let i = 0; i < n; i++) out[i] = half(view.getUint16(2 * i, true)); break;
    case 'BF16': {
      const word = new DataView(new ArrayBuffer(4));
      for (let i = 0; i < n; i++) {
        word.setUint32(0, view.getUint16(2 * i, true) << 16);
        out[i] = word.getFloat32(0);
      }
      break;
    }
    default: fail(file, `tensor "${name}" is ${t.dtype}: a weight must be floating point (F32, F16, BF16 or F64)`);
  }
  return out;
}

/** An I32 tensor's values; any other dtype is refused. */
export function toInt32(t: StoredTensor, name: string, file: string): Int32Array {
  if (t.dtype !== 'I32') fail(file, `tensor "${name}" is ${t.dtype}, not I32`);
  const view = new DataView(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength);
  return Int32Array.from({ length: t.bytes.byteLength / 4 }, (_, i) => view.getInt32(4 * i, true));
}

const WRITE_DTYPE = (d: WritableData): 'F32' | 'I32' | 'U8' =>
  d instanceof Float32Array ? 'F32' : d instanceof Int32Array ? 'I32' : 'U8';
/** The reference writer orders tensors by dtype alignment (its enum order), largest first, then by name. */
const ALIGNMENT_RANK = { F32: 2, I32: 1, U8: 0 } as const;

/**
 * Serialise tensors (dtype from the array type: F32, I32 or U8) and optional string
 * metadata, as the reference writer does: tensors ordered by alignment then name, the
 * header padded with spaces to a multiple of 8 so every tensor is aligned.
 */
export function writeSafetensors(tensors: Iterable<[string, WritableTensor]>, metadata?: Record<string, string>, maxHeaderBytes = MAX_HEADER_BYTES): Uint8Array {
  const list = [...tensors];
  const names = new Set<string>();
  for (const [name, t] of list) {
    if (name === '__metadata__' || names.has(name)) throw new Error(`safetensors: tensor name "${name}" is reserved or repeated`);
    names.add(name);
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (!t.shape.every(isCount) || count !== t.data.length) {
      throw new Error(`safetensors: tensor "${name}" has shape [${t.shape.join(', ')}] but ${t.data.length} values`);
    }
  }
  list.sort(([an, a], [bn, b]) =>
    ALIGNMENT_RANK[WRITE_DTYPE(b.data)] - ALIGNMENT_RANK[WRITE_DTYPE(a.data)] || (an < bn ? -1 : an > bn ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of list) {
    const begin = offset;
    offset += t.data.byteLength;
    header[name] = { dtype: WRITE_DTYPE(t.data), shape: t.shape, data_offsets: [begin, offset] };
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  // what is written can be read back: a checkpoint of a long run was written whole and
  // then refused at its resume ("header length ... is over the format's limit")
  if (padded > maxHeaderBytes) throw new HeaderTooLargeError(padded, maxHeaderBytes);
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + json.length + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, json.length, true);
  view.setUint32(4, 0, true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const [, t] of list) {
    const d = t.data;
    if (d instanceof Uint8Array) out.set(d, at);
    else if (d instanceof Float32Array) d.forEach((v, i) => view.setFloat32(at + 4 * i, v, true));
    else d.forEach((v, i) => view.setInt32(at + 4 * i, v, true));
    at += d.byteLength;
  }
  return out;
}
