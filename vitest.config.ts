import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The native-backend set runs only where a native build exists: .ci/native.sh
    // builds one and runs it with GANON_NATIVE_TESTS=1. `npm test` never counts
    // it as skipped-but-passing.
    exclude: process.env.GANON_NATIVE_TESTS === '1' ? [] : ['test/native/**', 'node_modules/**'],
    // One process per file, both cores: tfjs engines are per-process globals.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 120_000,
    hookTimeout: 120_000,
    setupFiles: ['test/helpers/setup.ts'],
  },
});
