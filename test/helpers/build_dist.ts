// build_dist.ts — vitest globalSetup (vitest.config.ts, test/stress/vitest.config.ts): the suites
// that run the compiled dist/ (examples, worker threads, checkpoint children, the stress suites)
// must never pass on stale code. Before any test runs, dist/ is compiled from lib/ts with the
// project's TypeScript (`tsc -p tsconfig.json`) when it is missing, when a lib/ts file (or
// tsconfig.json) is newer than its compiled counterpart, or when the last compilation failed; a
// compilation that fails fails the run, with the compiler's message.
//
// ENTRENA_TEST_SKIP_BUILD=1 skips the compilation (to iterate on lib/ts suites while the tree does
// not compile); the suites that run dist/ then fail, since `requireDist` (test/helpers/dist.ts)
// refuses a stale dist/.
//
// The stamp dist/.build-ok is written only after a successful compilation: tsc writes its output
// even when it reports errors, so without the stamp a failed build would look fresh to the next run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const src = join(root, 'lib', 'ts');
const dist = join(root, 'dist');
const stamp = join(dist, '.build-ok');

function* sources(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sources(p);
    else if (e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) yield p;
  }
}

const mtime = (p: string): number => (existsSync(p) ? statSync(p).mtimeMs : -Infinity);

/**
 * Why dist/ must be rebuilt, or null when it is up to date: missing, or a lib/ts file newer than
 * its compiled counterpart; with `sinceBuild`, also a missing stamp (the last build failed or was
 * not this setup's) or a source newer than it.
 */
export function staleReason(options: { sinceBuild?: boolean } = {}): string | null {
  if (!existsSync(join(dist, 'index.js'))) return 'dist/index.js is missing';
  const built = options.sinceBuild ? mtime(stamp) : -Infinity;
  if (options.sinceBuild) {
    if (built === -Infinity) return 'dist/ was not built by a successful run of this setup (or the last build failed)';
    if (mtime(join(root, 'tsconfig.json')) > built) return 'tsconfig.json changed since the last build';
  }
  for (const f of sources(src)) {
    const rel = relative(src, f);
    const out = join(dist, rel.replace(/\.ts$/, '.js'));
    const t = mtime(f);
    if (t > mtime(out)) return `lib/ts/${rel} is newer than dist/${rel.replace(/\.ts$/, '.js')}`;
    if (options.sinceBuild && t > built) return `lib/ts/${rel} changed since the last build`;
  }
  return null;
}

/** Compiles lib/ts into dist/; throws with the compiler's output when it fails. */
export function buildDist(): void {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!existsSync(tsc)) throw new Error(`build_dist: ${relative(root, tsc)} is missing: run \`npm install\` first`);
  if (existsSync(stamp)) unlinkSync(stamp);
  // The stamp gets the time the compilation started: a source edited while tsc runs is newer.
  const started = new Date();
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) {
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() || String(r.error ?? `exit status ${r.status}, signal ${r.signal}`);
    throw new Error(`build_dist: compiling lib/ts into dist/ failed (\`tsc -p tsconfig.json\`), so the suites that run dist/ cannot run on current code:\n${output}`);
  }
  writeFileSync(stamp, `${started.toISOString()}\n`);
  utimesSync(stamp, started, started);
}

/**
 * Runs `fn` holding a lock on dist/ (a directory, created atomically), so that two test runs
 * started together in one checkout do not compile into it at once; a lock older than the
 * compiler's time limit is taken to be a crashed run's and removed.
 */
function withLock<T>(fn: () => T): T {
  const lock = join(dist, '.build-lock');
  mkdirSync(dist, { recursive: true });
  const deadline = Date.now() + 360_000;
  for (;;) {
    try { mkdirSync(lock); break; } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (Date.now() - mtime(lock) > 330_000) { rmSync(lock, { recursive: true, force: true }); continue; }
      if (Date.now() > deadline) throw new Error(`build_dist: ${lock} is held by another run for too long`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try { return fn(); } finally { rmSync(lock, { recursive: true, force: true }); }
}

export default function setup(): void {
  if (process.env.ENTRENA_TEST_SKIP_BUILD === '1') return;
  withLock(() => {
    // Checked under the lock: a run that waited finds what the other one built.
    const why = staleReason({ sinceBuild: true });
    if (why === null) return;
    const t0 = Date.now();
    buildDist();
    console.log(`build_dist: compiled lib/ts into dist/ in ${((Date.now() - t0) / 1000).toFixed(1)} s (${why})`);
  });
}
