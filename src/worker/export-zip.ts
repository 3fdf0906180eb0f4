// A model export as one zip for the page to download: the safetensors stored as they
// are (trained float32 weights barely deflate), the text deflated.
import { zipSync, type Zippable } from 'fflate';
import type { ExportFile } from '../engine/io/export';

export function zipExport(files: ExportFile[]): Uint8Array {
  const entries: Zippable = {};
  for (const f of files) {
    const binary = typeof f.contents !== 'string';
    entries[f.path] = [binary ? f.contents as Uint8Array : new TextEncoder().encode(f.contents as string), { level: binary ? 0 : 6 }];
  }
  return zipSync(entries);
}
