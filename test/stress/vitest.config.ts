// test/stress/vitest.config.ts — the long reliability suites (`npm run test:stress`): checkpoint
// kills, the 10,000-step soak, event-loop responsiveness under training, the sanitizer run, the CUDA
// kernels under the host emulation (cuda_emu.test.ts), the packages installed from their tarballs
// with the CUDA one, and the linux-arm64 one under qemu (packages.test.ts). Not part of `npm test`
// (the root config excludes test/stress). One file at a time: they measure memory and latency,
// which a neighbour would disturb.
import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/stress/**/*.test.ts'],
    // Several of these suites run the compiled dist/ in child processes: compile it first when a
    // lib/ts file is newer (a compile error fails the run).
    globalSetup: ['test/helpers/build_dist.ts'],
    testTimeout: 600_000,
    hookTimeout: 600_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
    // The soak samples RSS after a full GC, so that V8's lazy collection does not read as a leak.
    execArgv: ['--expose-gc'],
  },
});
