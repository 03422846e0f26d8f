// packages.test.ts (stress) — every package of this machine, packed and installed as a user gets
// them: scripts/pack_check.mjs --cuda packs entrena, generates and packs @entrena/linux-x64 and the
// CUDA package @entrena/cuda13-linux-x64 (scripts/platform-packages.mjs), installs the tarballs
// offline into a fresh project whose PATH has no compiler, make or python, trains one step and
// reads `info()`:
//   - the addon in use is the platform package's (on a machine with a usable GPU, the CUDA package's);
//   - `cudaPackage` says why the CUDA package is not used here: "no NVIDIA driver: libcuda.so.1 …"
//     on a machine without one; and, with a stand-in libcuda.so.1 on LD_LIBRARY_PATH, "no GPU" and
//     "driver too old" (the driver probe of native/core/cuda_driver.cc, run by the installed package).
// The CUDA package needs build-cuda/Release/entrena.node compiled for the package's architectures
// (SASS sm_75, sm_80, sm_90, PTX compute_90); when it is missing or built for others and nvcc is
// installed, this test builds it first (`npm run packages -- --build-cuda`: about 6 minutes on two
// cores from scratch, seconds when up to date); without nvcc it skips, saying so.
// About half a minute after the build.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const node = (args: string[], timeout: number) => spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout, maxBuffer: 64 << 20 });
const hasNvcc = spawnSync('sh', ['-c', 'command -v nvcc']).status === 0;

/**
 * Whether build-cuda/ holds a binary the CUDA package accepts (platform-packages.mjs checks it);
 * with `build`, it is (re)built for the package first.
 */
function cudaBinaryReady(build = false): { ok: boolean; why: string } {
  const out = mkdtempSync(join(tmpdir(), 'entrena-cuda-pkg-'));
  try {
    const r = node([join(root, 'scripts', 'platform-packages.mjs'), `--only=cuda13-${process.platform}-${process.arch}`, `--out=${out}`, ...(build ? ['--build-cuda'] : [])], 900_000);
    const why = (r.stderr ?? '').trim().split('\n').at(-1) ?? '';
    return { ok: r.status === 0, why: build && r.status !== 0 ? `the build failed: ${(r.stdout + r.stderr).slice(-3000)}` : why };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

describe('the platform packages, installed from their tarballs without a compiler', () => {
  const linuxX64 = process.platform === 'linux' && process.arch === 'x64';
  let ready = linuxX64 ? cudaBinaryReady() : { ok: false, why: 'the CUDA package is built for linux-x64' };
  if (!ready.ok && linuxX64 && hasNvcc) ready = cudaBinaryReady(true);
  const title = ready.ok
    ? 'entrena, @entrena/linux-x64 and @entrena/cuda13-linux-x64: the CPU package is used and info() says why not the CUDA one'
    : `skipped: no CUDA binary for the package (${hasNvcc ? ready.why : 'nvcc is not installed'})`;

  it.skipIf(!ready.ok)(title, { timeout: 600_000 }, () => {
    const r = node([join(root, 'scripts', 'pack_check.mjs'), '--cuda'], 590_000);
    const last = (r.stdout ?? '').trim().split('\n').at(-1) ?? '';
    expect(r.status, `pack_check --cuda failed:\n${r.stderr.slice(-6000)}\n${r.stdout.slice(-2000)}`).toBe(0);
    const res = JSON.parse(last) as {
      addonSource: string; cudaPackage: { name: string; status: string; reason: string }; loss: number; after: number; compiledOnInstall: boolean;
      packedBytes: number; packages: Array<{ name: string; packedBytes: number; unpackedBytes: number; config: Record<string, unknown> }>;
      fakeDriverCases: Array<{ what: string; cudaPackage: { status: string } }>;
    };
    console.log(`sizes: entrena ${(res.packedBytes / 2 ** 20).toFixed(2)} MiB; ` +
      res.packages.map((p) => `${p.name} ${(p.packedBytes / 2 ** 20).toFixed(2)} MiB packed / ${(p.unpackedBytes / 2 ** 20).toFixed(2)} MiB unpacked`).join('; '));
    expect(res.compiledOnInstall).toBe(false);
    expect(res.after).toBeLessThan(res.loss);
    expect(res.cudaPackage.name).toBe('@entrena/cuda13-linux-x64');
    const cuda = res.packages.find((p) => p.name === '@entrena/cuda13-linux-x64')!;
    expect(cuda.config).toMatchObject({ cudart: 'static', sass: ['sm_75', 'sm_80', 'sm_90'], ptx: ['compute_90'] });
    expect(cuda.packedBytes).toBeLessThan(100 * 2 ** 20);
    if (res.cudaPackage.status === 'loaded') {
      expect(res.addonSource).toBe('cuda-package');
    } else {
      expect(res.addonSource).toBe('platform-package');
      expect(['no-driver', 'no-gpu', 'driver-too-old', 'driver-error']).toContain(res.cudaPackage.status);
      if (res.cudaPackage.status === 'no-driver') expect(res.cudaPackage.reason).toMatch(/libcuda\.so\.1/);
      expect(res.fakeDriverCases.map((c) => c.cudaPackage.status)).toEqual(['no-gpu', 'driver-too-old']);
    }
  });
});
