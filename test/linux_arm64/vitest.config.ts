// test/linux_arm64/vitest.config.ts — the run of scripts/test_linux_arm64.mjs (`npm run
// test:linux-arm64`): suites of test/ executed by an arm64 node under qemu-aarch64 against the
// cross-built prebuilds/linux-arm64/entrena.node. Not for the host: setup.ts fails every suite
// unless the process is arm64 and loaded that addon.
import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/*.test.ts'],
    // No globalSetup: these suites import lib/ts directly, not the compiled dist/.
    setupFiles: ['test/linux_arm64/setup.ts'],
    // Worker threads, not forks: a forked worker would run process.execPath, an arm64 executable
    // that the host cannot start without qemu in front of it.
    pool: 'threads',
    maxWorkers: 2,
    // Emulation is 5–20× slower than the host: the root config's 60 s would be tight.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // Every test is "slow" under emulation: list none rather than hundreds.
    slowTestThreshold: 30_000,
  },
});
