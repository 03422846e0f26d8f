// sanitize.test.ts (stress) — runs scripts/sanitize.sh: the addon built with AddressSanitizer +
// UBSan, driven through test/stress/native_boundary.mjs (public ops and the raw binding with
// adversarial inputs, plus crafted extent overflows), one `it` per section. Skips when g++ or
// libasan are missing. Slow: the instrumented build takes about two minutes on two cores.
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const script = join(root, 'scripts', 'sanitize.sh');
const libasan = (() => { try { return execFileSync('g++', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim(); } catch { return ''; } })();
const usable = existsSync(join(root, 'dist', 'index.js')) && libasan.startsWith('/') && existsSync(libasan);
const sections = usable ? execFileSync(process.execPath, [join(import.meta.dirname, 'native_boundary.mjs'), 'list'], { encoding: 'utf8' }).trim().split('\n') : [];

describe.skipIf(!usable)('native boundary under AddressSanitizer + UBSan', () => {
  it('builds the instrumented addon', () => {
    // With no section to run, the script only builds (an empty list would mean "all": pass 'none').
    const r = spawnSync('bash', [script, 'build-only'], { cwd: root, encoding: 'utf8', timeout: 900_000 });
    expect(existsSync(join(root, 'build-asan', 'entrena.node')), r.stdout + r.stderr).toBe(true);
  }, 900_000);

  for (const section of sections) {
    it(`section ${section}: no sanitizer report, every error an EntrenaError`, () => {
      const r = spawnSync('bash', [script, section], { cwd: root, encoding: 'utf8', timeout: 600_000 });
      console.log(r.stdout.trim());
      expect(r.status, r.stdout + r.stderr).toBe(0);
    }, 600_000);
  }
});
