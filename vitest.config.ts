// vitest.config.ts — the suites of `npm test`. GPU tests (test/gpu, plain node:test files run with
// `node --test` on the GPU machine) and the long stress suites (test/stress) are not part of it.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The suites that run the compiled dist/ must not pass on stale code: compile it first when a
    // lib/ts file is newer (a compile error fails the run).
    globalSetup: ['test/helpers/build_dist.ts'],
    exclude: ['test/gpu/**', 'test/stress/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: one fork per core keeps the native thread pools from oversubscribing the machine.
    pool: 'forks',
    maxWorkers: 2,
  },
});
