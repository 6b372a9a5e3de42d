/**
 * Builds the dashboard: `npx vite build --config ui/vite.config.ts` writes ui/dist, which the
 * daemon serves at `/`. `npx vite --config ui/vite.config.ts` serves it with live reload and
 * forwards the API and websocket to a daemon on 127.0.0.1:8080.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const daemon = 'http://127.0.0.1:8080';

export default defineConfig({
  root: fileURLToPath(new URL('./src', import.meta.url)),
  // Relative asset URLs, so the page also works behind a proxy that mounts it under a path.
  base: './',
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
  },
  server: {
    host: '127.0.0.1',
    // The daemon refuses websocket Origins other than its own Host; without changeOrigin both
    // stay the dev server's, so the check passes.
    proxy: {
      '/ws': { target: daemon, ws: true },
      '/api': daemon,
      '/metrics': daemon,
      '/healthz': daemon,
    },
  },
});
