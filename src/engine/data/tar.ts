// A tar reader fed in pieces (as a .tar.gz inflates), so that each entry's size is
// checked against the data limit from its header before its bytes are inflated, and
// entries that are not files (links, devices, folders) are passed over, not kept. Every
// byte of the stream counts (headers, padding, entries passed over), so a .tar.gz
// cannot inflate past the limit in parts it does not keep.
// ustar, with GNU long names and pax `path` records (as GNU tar and bsdtar write them).
import { DatasetError } from './errors';
import { DataBudget, gunzipStream, isGzip } from './inflate';
import { MAX_FILES } from './limits';

const BLOCK = 512;
/** a name record (GNU `L`, pax `x`) longer than a path may be is not a name */
const MAX_NAME_RECORD = 64 * 1024;

interface Body {
  name: string;
  type: string;
  size: number;
  /** null while it may still be a view of one piece; bytes are copied only across pieces */
  data: Uint8Array | null;
  filled: number;
  keep: boolean;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b.subarray(0, b.indexOf(0) < 0 ? b.length : b.indexOf(0)));

function octal(b: Uint8Array): number {
  if (b[0]! & 0x80) return Number.POSITIVE_INFINITY; // base-256: an entry of 8 GB or more
  const s = text(b).trim();
  return s === '' ? 0 : /^[0-7]+$/.test(s) ? parseInt(s, 8) : Number.NaN;
}

export class TarReader {
  readonly files: { name: string; path: string; bytes: Uint8Array }[] = [];
  private readonly head = new Uint8Array(BLOCK);
  private headFill = 0;
  private body: Body | null = null;
  private padding = 0;
  private nextName: string | null = null;
  private entries = 0;
  /** a zero block: the archive's end */
  done = false;

  constructor(private readonly archive: string, private readonly budget: DataBudget) {}

  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length && !this.done) {
      if (this.padding > 0) {
        const n = Math.min(this.padding, chunk.length - at);
        this.padding -= n;
        at += n;
      } else if (this.body) {
        at = this.fill(this.body, chunk, at);
      } else {
        const n = Math.min(BLOCK - this.headFill, chunk.length - at);
        this.head.set(chunk.subarray(at, at + n), this.headFill);
        this.headFill += n;
        at += n;
        if (this.headFill === BLOCK) {
          this.headFill = 0;
          this.header();
        }
      }
    }
  }

  /** After the last piece: an entry cut short is an error, as is no entry at all. */
  end(): void {
    // no header read whole: what it holds is no tar (a gzip of something else named .tgz),
    // not an archive cut short (it said "download it again")
    if (this.entries === 0 && !this.body) throw new DatasetError(`${this.archive}: not a readable tar archive (no entries)`);
    if (this.body || this.headFill > 0) {
      throw new DatasetError(`${this.archive}: the archive is cut short${this.body ? ` in ${this.body.name}` : ''}: download it again`);
    }
  }

  private fill(body: Body, chunk: Uint8Array, at: number): number {
    const n = Math.min(body.size - body.filled, chunk.length - at);
    if (body.keep) {
      // a body inside one piece is a view of it (no copy); one across pieces is copied
      if (body.filled === 0 && n === body.size) body.data = chunk.subarray(at, at + n);
      else (body.data ??= new Uint8Array(body.size)).set(chunk.subarray(at, at + n), body.filled);
    }
    body.filled += n;
    if (body.filled === body.size) this.finish(body);
    return at + n;
  }

  private header(): void {
    const h = this.head;
    if (h.every((b) => b === 0)) {
      this.done = true;
      return;
    }
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    if (octal(h.subarray(148, 156)) !== sum) {
      throw new DatasetError(`${this.archive}: not a readable tar archive (entry ${this.entries + 1} has a broken header)`);
    }
    if (++this.entries > MAX_FILES) throw new DatasetError(`${this.archive}: more than ${MAX_FILES} entries: a dataset has fewer files`);
    const prefix = text(h.subarray(345, 500));
    const name = this.nextName ?? (prefix && text(h.subarray(257, 263)).startsWith('ustar') ? `${prefix}/` : '') + text(h.subarray(0, 100));
    this.nextName = null;
    const size = octal(h.subarray(124, 136));
    const type = String.fromCharCode(h[156]!);
    if (!Number.isFinite(size)) throw new DatasetError(`${this.archive}: ${name} has no readable size: the archive is damaged`);
    const meta = type === 'L' || type === 'x';
    const keep = meta || type === '0' || type === '\0' || type === '7';
    if (meta && size > MAX_NAME_RECORD) throw new DatasetError(`${this.archive}: entry ${this.entries} has a name record of ${size} bytes: the archive is damaged`);
    this.budget.take(BLOCK + Math.ceil(size / BLOCK) * BLOCK, `${this.archive}: ${name} takes`);
    this.body = { name, type, size, data: null, filled: 0, keep };
    if (size === 0) this.finish(this.body);
  }

  private finish(body: Body): void {
    this.body = null;
    this.padding = (BLOCK - (body.size % BLOCK)) % BLOCK;
    const data = body.data ?? new Uint8Array(0);
    if (body.type === 'L') this.nextName = text(data);
    else if (body.type === 'x') this.nextName = paxPath(data) ?? this.nextName;
    else if (body.keep) this.files.push({ name: body.name.split('/').pop()!, path: body.name, bytes: data });
  }
}

/** The `path` of pax records (`<len> path=<name>\n`), if any. */
function paxPath(data: Uint8Array): string | null {
  const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(new TextDecoder().decode(data));
  return m ? m[1]! : null;
}

/** A .tar or .tar.gz file's files, bounded by `budget`. */
export function untar(bytes: Uint8Array, archive: string, budget: DataBudget): TarReader['files'] {
  const tar = new TarReader(archive, budget);
  if (isGzip(bytes)) {
    gunzipStream(bytes, archive, budget, (chunk) => {
      tar.push(chunk);
      return !tar.done;
    });
  } else {
    tar.push(bytes);
  }
  tar.end();
  return tar.files;
}
