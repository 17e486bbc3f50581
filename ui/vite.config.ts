import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vitest/config';
// @ts-expect-error -- plain ESM helper shared with the Python staleness test
import { sourceHash } from './scripts/source-hash.mjs';

const outDir = resolve(__dirname, '../ui_dist');

/** Writes ui_dist/.source-hash so a test can tell when ui_dist is stale. */
function sourceHashPlugin(): Plugin {
  return {
    name: 'patterdash-source-hash',
    apply: 'build',
    closeBundle() {
      writeFileSync(resolve(outDir, '.source-hash'), `${sourceHash(__dirname) as string}\n`);
    },
  };
}

export default defineConfig({
  plugins: [react(), sourceHashPlugin()],
  base: '/',
  build: {
    outDir,
    emptyOutDir: true,
    assetsDir: 'assets',
    sourcemap: false,
    // Fonts must be files under assets/, not data: URLs (keeps CSS small).
    assetsInlineLimit: 0,
  },
  server: {
    proxy: {
      '/api': { target: 'http://127.0.0.1:8000', changeOrigin: false },
      '/healthz': 'http://127.0.0.1:8000',
    },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
