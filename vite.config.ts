/// <reference types="vitest/config" />
// Vite builds the page and its module worker; vitest runs the Node tests.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Cross-origin isolation gives the wasm backend its threads (SharedArrayBuffer).
const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

// Vite 8's compressing minifier breaks tfjs's threaded wasm worker
// ("e is not defined"); mangling alone is safe.
const output = { minify: { compress: false, mangle: true } } as const;

export default defineConfig({
  plugins: [react()],
  server: { headers: isolation },
  preview: { headers: isolation },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096, rolldownOptions: { output } },
  worker: { format: 'es', rolldownOptions: { output } },
  test: {
    include: ['test/unit/**/*.test.ts', 'test/e2e/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
