// dist.ts — for the suites that run the compiled dist/ (child processes, worker threads): the path
// of dist/index.js, and a check that fails (never skips) a suite when dist/ is missing or older
// than lib/ts. The globalSetup test/helpers/build_dist.ts compiles dist/ before the run, so this
// fails only when that setup was skipped (ENTRENA_TEST_SKIP_BUILD=1) or could not run.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { staleReason } from './build_dist.js';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const distIndex = join(root, 'dist', 'index.js');

/** dist/index.js when it is current, else an error that fails the calling suite. @example beforeAll(requireDist) */
export function requireDist(): string {
  const why = staleReason();
  if (why !== null)
    throw new Error(`this suite runs the compiled dist/, which is not current (${why}): run it through vitest (the globalSetup test/helpers/build_dist.ts compiles dist/), or \`npx tsc -p tsconfig.json\``);
  return distIndex;
}
