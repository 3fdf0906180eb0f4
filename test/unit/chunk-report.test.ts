// The main-chunk rule refuses what it is for: tfjs in the page's entry chunk, and size.
import { describe, expect, it } from 'vitest';
import { MAIN_CHUNK_LIMIT_BYTES, mainChunkProblems, type ChunkReport } from '../../scripts/chunk-report';

const chunk = (modules: string[], bytes = 700_000, isEntry = true): ChunkReport => ({ fileName: 'assets/index-x.js', isEntry, bytes, modules });

describe('the main-chunk rule', () => {
  it('passes a page chunk of React and the UI', () => {
    expect(mainChunkProblems([chunk(['src/ui/main.tsx', 'node_modules/react-dom/index.js']), chunk(['x'], 10, false)])).toEqual([]);
  });

  it('names tfjs in the main chunk, and a chunk over the limit', () => {
    const bad = chunk(['src/ui/main.tsx', 'node_modules/@tensorflow/tfjs-core/dist/index.js', 'node_modules/@tensorflow/tfjs-core/dist/ops.js'], 1_650_935);
    expect(mainChunkProblems([bad])).toEqual([
      'assets/index-x.js holds tfjs (2 modules, e.g. node_modules/@tensorflow/tfjs-core/dist/index.js): the page must leave the engine to the worker',
      `assets/index-x.js is 1650935 B, over the ${MAIN_CHUNK_LIMIT_BYTES} B limit`,
    ]);
  });
});
