// linux_arm64.test.ts (stress) — runs scripts/test_linux_arm64.mjs (`npm run test:linux-arm64`): the
// N-API addon cross-built for linux-arm64 (node-gyp --arch=arm64, aarch64-linux-gnu-g++) into
// prebuilds/linux-arm64/entrena.node, and tensor, parity_ops, nn, optim, the e2e MLP, linear,
// batchnorm_fused, native_train and half run by vitest on Debian's arm64 node under qemu-aarch64
// against it. Skipped, saying why, without the cross compiler or qemu (Debian: apt-get install
// g++-aarch64-linux-gnu qemu-user), or when the script cannot fetch Debian's arm64 nodejs (no apt,
// no network to the mirror). About four minutes on two busy cores from a clean tree (sysroot 15 s,
// build 45–80 s, the suites 2.5–3.5 min), under three with the sysroot and build cached; bounded at
// 14 (the script stops vitest at 10).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const script = join(root, 'scripts', 'test_linux_arm64.mjs');
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const missing = ['aarch64-linux-gnu-g++', 'qemu-aarch64'].filter((t) => !has(t));
const title = missing.length
  ? `skipped: ${missing.join(' and ')} not installed`
  : 'the cross-built linux-arm64 addon passes the suites under qemu-aarch64 (arm64 node, NEON GEMM)';

describe('linux-arm64: the addon cross-built and tested under qemu (scripts/test_linux_arm64.mjs)', () => {
  it.skipIf(missing.length > 0)(title, (ctx) => {
    const r = spawnSync(process.execPath, [script], {
      cwd: root, encoding: 'utf8', timeout: 840_000, maxBuffer: 64 << 20,
      env: { ...process.env, ENTRENA_LINUX_ARM64_TIMEOUT_S: '600' },
    });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    // The summary lines, not vitest's per-file listing.
    const summary = out.split('\n').filter((l) => /^(PASS|FAIL) |^test:linux-arm64/.test(l)).join('\n');
    console.log(summary || out.slice(-4000));
    const skipped = out.match(/^test:linux-arm64: SKIP — (.*)$/m);
    if (skipped) {
      console.log(`skipped: ${skipped[1]}`);
      ctx.skip();
      return;
    }
    expect(r.status, out.slice(-6000)).toBe(0);
    for (const step of ['sysroot', 'build', 'vitest']) expect(out).toMatch(new RegExp(`^PASS ${step}:`, 'm'));
    // The suites ran on arm64 against the prebuild with the NEON GEMM (checked again by the run's setup file).
    expect(out).toMatch(/^PASS vitest: \d+ files, \d+ passed, 0 failed, \d+ skipped in .*arm64, addon prebuilds\/linux-arm64\/entrena\.node, gemm neon\)$/m);
    const m = out.match(/^test:linux-arm64: (\d+) passed, (\d+) failed, (\d+) skipped$/m);
    expect(m, 'summary line').not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(1000);
    expect(Number(m![2])).toBe(0);
  }, 900_000);
});
