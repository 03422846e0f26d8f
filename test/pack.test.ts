// pack.test.ts — entrena installs like a real package: `npm pack` of entrena (no binary in it) and
// of the platform package of this machine (@entrena/linux-x64 here, generated from the built addon
// by scripts/platform-packages.mjs), then `npm install` of the tarballs into a fresh project,
// offline, with a PATH that holds only node, npm and sh — no compiler, no make, no python — must
// compile nothing (the install script finds the platform package), and `import('entrena')` from
// that project must train one step with the addon of the platform package, as `info()` reports.
// The work is scripts/pack_check.mjs (also `npm run pack:check`); it stages a copy of the sources
// and generates the packages in a temporary folder, so the checkout is only read. The CUDA package
// is added by the stress suite (test/stress/packages.test.ts).
//
// Offline: the tarball's runtime dependencies (node-addon-api, node-gyp-build and whatever the
// package.json lists, with their own dependencies) are packed from this project's node_modules —
// `npm install` here has put exactly the versions the lockfile pins there — and installed beside
// the tarball with --offline and an empty npm cache, so npm resolves entrena's ranges without a
// registry. When that is not possible (a dependency missing from node_modules, no built addon to
// package), the script answers "SKIP: <reason>" and this test skips, printing the reason.
//
// About half a minute (the TypeScript compile of "prepare" and the install).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

describe('npm pack', () => {
  it('entrena and its platform package install offline without a compiler and train', { timeout: 600_000 }, (ctx) => {
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'pack_check.mjs')], { cwd: root, encoding: 'utf8', timeout: 590_000, maxBuffer: 64 << 20 });
    const lines = (r.stdout ?? '').trim().split('\n');
    const last = lines.at(-1) ?? '';
    if (r.status === 3) {
      const reason = lines.find((l) => l.startsWith('SKIP:')) ?? last;
      console.warn(`pack.test.ts skipped: ${reason}`);
      ctx.skip(reason);
      return;
    }
    expect(r.status, `pack_check failed:\n${r.stderr.slice(-6000)}\n${r.stdout.slice(-2000)}`).toBe(0);
    const res = JSON.parse(last) as { ok: boolean; addon: string; addonSource: string; loss: number; after: number; installScriptRan: boolean; compiledOnInstall: boolean; files: number };
    expect(res.ok).toBe(true);
    expect(res.installScriptRan).toBe(true);
    expect(res.compiledOnInstall).toBe(false);
    expect(res.addonSource).toBe('platform-package');
    expect(res.addon.endsWith(join('node_modules', '@entrena', `${process.platform}-${process.arch}`, 'entrena.node'))).toBe(true);
    expect(Number.isFinite(res.loss)).toBe(true);
    // One SGD step at lr 0.1 on a fresh MLP lowers the loss on its own batch.
    expect(res.after).toBeLessThan(res.loss);
  });
});
