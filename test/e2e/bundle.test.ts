// The page's production build: its main chunk, the first download, holds no tfjs (the
// engine is the worker's chunk) and stays under 800 KB.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAIN_CHUNK_LIMIT_BYTES, mainChunkProblems, type ChunkReport } from '../../scripts/chunk-report';
import { buildPage } from '../helpers/browser';

describe('the production build', () => {
  it('has a main chunk without tfjs, under 800 KiB', () => {
    buildPage();
    const chunks = JSON.parse(readFileSync('dist/.vite/chunks.json', 'utf8')) as ChunkReport[];
    const main = chunks.find((c) => c.isEntry)!;
    expect(main.modules).toContain('src/ui/main.tsx'); // the report sees the page's modules
    expect(main.modules.some((m) => m.startsWith('node_modules/react-dom/'))).toBe(true);
    expect(mainChunkProblems(chunks)).toEqual([]);
    expect(main.bytes).toBeLessThan(MAIN_CHUNK_LIMIT_BYTES);
    expect(readFileSync(`dist/${main.fileName}`).length).toBe(main.bytes); // the report measures the file served
  }, 120_000);
});
