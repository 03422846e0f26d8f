// arm64.test.ts (stress) — runs scripts/test_arm64.mjs (`npm run test:arm64`) one step at a time:
// the clang -Wall -Wextra -Werror check of native/**/*.cc, the kernel check program
// (native/test/kernel_check.cc: GEMM, elementwise, reductions against float64 references) built
// natively, and cross-compiled for aarch64 (g++ and clang) and run under qemu-aarch64 with the NEON
// and the portable GEMM kernels. A step whose tools are missing is skipped, and its title says
// which (Debian: apt-get install clang g++-aarch64-linux-gnu qemu-user). Three to four minutes on two
// busy cores from a clean tree (mostly the builds), about one and a half on a rerun.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const script = join(root, 'scripts', 'test_arm64.mjs');
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const lacking = (...tools: string[]) => tools.filter((t) => !has(t));

const steps: Array<[step: string, what: string, tools: string[]]> = [
  ['clang-warnings', 'clang++ -Wall -Wextra -Werror finds nothing in native/**/*.cc (x86-64 and aarch64)', ['clang++']],
  ['x86-64', 'kernel check, native build: AVX2 and portable GEMM kernels match the references', ['g++']],
  ['aarch64', 'kernel check under qemu-aarch64 (g++): NEON and portable GEMM kernels match the references', ['aarch64-linux-gnu-g++', 'qemu-aarch64']],
  ['aarch64-clang', 'kernel check under qemu-aarch64, GEMM compiled by clang: the NEON kernel matches', ['clang++', 'aarch64-linux-gnu-g++', 'qemu-aarch64']],
];

describe('CPU kernels on aarch64 (qemu) and under clang (scripts/test_arm64.mjs)', () => {
  for (const [step, what, tools] of steps) {
    const missing = lacking(...tools);
    const hostOnly = step === 'x86-64' && process.arch !== 'x64';
    const title = missing.length ? `${step}: skipped, ${missing.join(' and ')} not installed` : hostOnly ? `${step}: skipped, the host is ${process.arch}` : `${step}: ${what}`;
    it.skipIf(missing.length > 0 || hostOnly)(title, () => {
      const r = spawnSync(process.execPath, [script, `--only=${step}`], { cwd: root, encoding: 'utf8', timeout: 600_000 });
      const out = r.stdout + r.stderr;
      console.log(out.trim());
      expect(r.status, out).toBe(0);
      // The step ran and passed (not skipped inside the script), and each run checked something.
      expect(out).toMatch(new RegExp(`^PASS ${step}:`, 'm'));
      expect(out).toMatch(/test:arm64: 1 passed, 0 failed, 0 skipped/);
      for (const m of out.matchAll(/(\d+) checks, (\d+) failures/g)) {
        expect(Number(m[1])).toBeGreaterThan(1000);
        expect(Number(m[2])).toBe(0);
      }
    }, 600_000);
  }
});
