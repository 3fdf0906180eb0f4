/// <reference types="vitest/config" />
// Vite builds the page and its module worker; vitest runs the Node tests.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { chunkReport } from './scripts/chunk-report.ts';

// Cross-origin isolation gives the wasm backend its threads (SharedArrayBuffer).
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

// Vite 8's compressing minifier breaks tfjs's threaded wasm worker
// ("e is not defined"); mangling alone is safe.
const output = { minify: { compress: false, mangle: true } } as const;

export default defineConfig({
  plugins: [react(), chunkReport()],
  server: { headers: isolation },
  preview: { headers: isolation },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096, rolldownOptions: { output } },
  worker: { format: 'es', rolldownOptions: { output } },
  test: {
    environment: 'node',
    pool: 'forks',
    // two files at a time: vitest runs one on two cores by default (cores - 1), while
    // most train files wait on one core (wasm) or on a Dawn child process
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // every file's temporary folders removed when it ends
    setupFiles: ['test/helpers/setup-temp.ts'],
    // unit: no training, seconds (`npm run test:fast`); train: training steps, CLI
    // processes and whole-model numerics, minutes; e2e: the production build in
    // Chromium, built once (globalSetup) and served to two files at a time, each on a
    // port of its own (one at a time the e2e files took 374 s, two 305 s)
    projects: [
      // one module cache per worker, not per file: tfjs and ESLint load once (user CPU
      // of the unit tests 24.4 s -> 7.6 s, measured)
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'], isolate: false } },
      { extends: true, test: { name: 'train', include: ['test/train/**/*.test.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], globalSetup: ['test/helpers/e2e-setup.ts'] } },
    ],
  },
});
