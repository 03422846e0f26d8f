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
//
// The second case proves @entrena/linux-arm64 on this x64 machine under emulation:
// `scripts/pack_check.mjs --target=linux-arm64` cross-builds prebuilds/linux-arm64/entrena.node and
// fetches Debian's arm64 node into .cache/linux-arm64/root (scripts/test_linux_arm64.mjs
// --build-only), packs entrena and @entrena/linux-arm64, installs them offline with
// `npm install --os=linux --cpu=arm64 --libc=glibc --ignore-scripts` and a compiler-free PATH, runs
// entrena's install script with the arm64 node under qemu-aarch64 (it must take the package and
// build nothing), then imports entrena with that node and trains five SGD steps: process.arch arm64,
// the platform package's addon, the NEON GEMM kernel, the loss going down at every step. Skipped,
// saying why, without qemu-aarch64 or aarch64-linux-gnu-g++ (Debian: apt-get install qemu-user
// g++-aarch64-linux-gnu) or when the Debian mirror cannot be reached for the sysroot. About 45 s with
// the build and sysroot cached, 2 minutes from a clean tree on two cores; bounded at 10.
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

describe('the linux-arm64 package, installed for arm64 and run under qemu-aarch64', () => {
  const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
  const linuxX64 = process.platform === 'linux' && process.arch === 'x64';
  const missing = ['qemu-aarch64', 'aarch64-linux-gnu-g++'].filter((t) => !has(t));
  const why = !linuxX64 ? 'needs a linux-x64 host' : missing.length ? `${missing.join(' and ')} not installed` : '';
  const title = why
    ? `skipped: ${why}`
    : 'entrena and @entrena/linux-arm64 (npm --cpu=arm64): the arm64 node under qemu loads the package, NEON GEMM, the loss goes down';

  it.skipIf(Boolean(why))(title, { timeout: 600_000 }, (ctx) => {
    const r = node([join(root, 'scripts', 'pack_check.mjs'), '--target=linux-arm64'], 590_000);
    const lines = (r.stdout ?? '').trim().split('\n');
    if (r.status === 3) {
      const reason = lines.find((l) => l.startsWith('SKIP:')) ?? lines.at(-1);
      console.log(`skipped: ${reason}`);
      ctx.skip();
      return;
    }
    expect(r.status, `pack_check --target=linux-arm64 failed:\n${(r.stderr ?? '').slice(-6000)}\n${(r.stdout ?? '').slice(-2000)}`).toBe(0);
    const res = JSON.parse(lines.at(-1)!) as {
      addon: string; addonSource: string; arch: string; gemmKernel: string; losses: number[]; after: number; installScript: string;
      compiledOnInstall: boolean; platformPackagesInstalled: string[]; packedBytes: number;
      packages: Array<{ name: string; packedBytes: number; unpackedBytes: number; config: Record<string, unknown> }>;
      buildSeconds: number; packSeconds: number; installSeconds: number; runSeconds: number;
    };
    const arm = res.packages.find((p) => p.name === '@entrena/linux-arm64')!;
    console.log(`sizes: entrena ${(res.packedBytes / 2 ** 20).toFixed(2)} MiB; @entrena/linux-arm64 ${(arm.packedBytes / 2 ** 20).toFixed(2)} MiB packed / ` +
      `${(arm.unpackedBytes / 2 ** 20).toFixed(2)} MiB unpacked; seconds: build ${res.buildSeconds.toFixed(0)}, pack ${res.packSeconds.toFixed(0)}, ` +
      `install ${res.installSeconds.toFixed(0)}, train under qemu ${res.runSeconds.toFixed(0)}; loss ${[...res.losses, res.after].map((l) => l.toFixed(3)).join(' -> ')}`);
    expect(res.compiledOnInstall).toBe(false);
    expect(res.platformPackagesInstalled).toEqual(['linux-arm64']);
    expect(res.installScript).toMatch(/^entrena: using the prebuilt addon @entrena\/linux-arm64@/m);
    expect(res.arch).toBe('arm64');
    expect(res.gemmKernel).toBe('neon');
    expect(res.addonSource).toBe('platform-package');
    expect(res.addon.endsWith(join('node_modules', '@entrena', 'linux-arm64', 'entrena.node'))).toBe(true);
    expect(arm.config).toMatchObject({ backend: 'cpu', napi: 8 });
    expect(res.losses.length).toBe(5);
    for (let i = 1; i < res.losses.length; i++) expect(res.losses[i]).toBeLessThan(res.losses[i - 1]);
    expect(res.after).toBeLessThan(res.losses.at(-1)!);
  });
});
