// What the page's build holds, chunk by chunk, and the rule for its main chunk: no
// tfjs (the engine runs in the worker's chunk) and under 800 KB. A Vite plugin writes
// the report to dist/.vite/chunks.json; the build test checks it.
import { relative } from 'node:path';
import type { Plugin } from 'vite';

export interface ChunkReport {
  fileName: string;
  isEntry: boolean;
  bytes: number;
  /** module ids relative to the project, e.g. `src/ui/main.tsx`, `node_modules/react-dom/...` */
  modules: string[];
}

/** The page's first download: 725,801 B measured with the engine out of it, 1,650,935 B with it in. */
export const MAIN_CHUNK_LIMIT_BYTES = 800 * 1024;

export function chunkReport(): Plugin {
  return {
    name: 'chunk-report',
    apply: 'build',
    generateBundle(_options, bundle) {
      const chunks: ChunkReport[] = [];
      for (const out of Object.values(bundle)) {
        if (out.type !== 'chunk') continue;
        const modules = out.moduleIds.map((id) => relative(process.cwd(), id.replace(/^\0/, '')));
        chunks.push({ fileName: out.fileName, isEntry: out.isEntry, bytes: Buffer.byteLength(out.code), modules });
      }
      this.emitFile({ type: 'asset', fileName: '.vite/chunks.json', source: JSON.stringify(chunks, null, 1) });
    },
  };
}

/** What is wrong with the page's main (entry) chunk, one line each; empty when it is fine. */
export function mainChunkProblems(chunks: ChunkReport[], limit = MAIN_CHUNK_LIMIT_BYTES): string[] {
  const entries = chunks.filter((c) => c.isEntry);
  if (entries.length !== 1) return [`expected one entry chunk, found ${entries.length}`];
  const main = entries[0]!;
  const problems: string[] = [];
  const tfjs = main.modules.filter((m) => m.includes('node_modules/@tensorflow/'));
  if (tfjs.length) problems.push(`${main.fileName} holds tfjs (${tfjs.length} modules, e.g. ${tfjs[0]}): the page must leave the engine to the worker`);
  if (main.bytes > limit) problems.push(`${main.fileName} is ${main.bytes} B, over the ${limit} B limit`);
  return problems;
}
