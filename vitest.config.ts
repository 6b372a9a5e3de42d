import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['host/**/*.test.ts', 'sim/**/*.test.ts', 'hls/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['node_modules/**', 'build/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: run files in forks, one at a time per core, so a timing-sensitive test
    // never shares its core with a spinning neighbour.
    pool: 'forks',
    maxWorkers: 2,
  },
});
