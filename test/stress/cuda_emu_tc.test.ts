// cuda_emu_tc.test.ts (stress) — the 16-bit dtypes and the tensor-core GEMMs of the CUDA backend
// without a GPU: test/gpu/gemm_tc.test.mjs against the emulated device (scripts/cuda-emu), where the
// warp-level instructions of native/cuda/mma.cuh (mma.sync m16n8k16 bf16/f16 and m16n8k8 tf32,
// ldmatrix x4 plain and transposed, cp.async, cvt.rna.tf32) run as warp-collective steps over the
// lanes' fragment registers with the PTX fragment layouts. So the kernel source of gemm_tc.cu is
// checked for its indexing, fragment mapping, edge handling, epilogue rounding and barrier structure:
// bf16/f16 against a float64 reference with a float32-accumulation bound on a once-rounded C, TF32
// against the reference on cvt.rna-rounded inputs (exactly on K = 1 ties). Run in the three thread
// orders (a missing __syncthreads between warps fails all three: the emulator runs one warp up to its
// next barrier before the next), under ENTRENA_CUDA_GEMM=simple (the SIMT kernel for 16-bit types),
// and under AddressSanitizer (out-of-bounds reads of the edge chunks). Speed, cp.async's asynchrony
// and the real PTX are left to a GPU run (npm run test:gpu; bench/gpu.mjs).
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
const addon = join(root, 'build-cuda-emu', 'entrena.node');
const gxx = spawnSync('g++', ['--version']).status === 0;
const libasan = gxx ? spawnSync('g++', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).stdout.trim() : '';
const SUITE = join(root, 'test', 'gpu', 'gemm_tc.test.mjs');

function runSuite(addonPath: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', SUITE], {
    cwd: root, encoding: 'utf8', timeout: 1_500_000, env: { ...process.env, ...env, ENTRENA_TEST_CUDA_ADDON: addonPath },
  });
  const count = (what: string) => Number(r.stdout.match(new RegExp(`^# ${what} (\\d+)$`, 'm'))?.[1] ?? NaN);
  return { r, pass: count('pass'), fail: count('fail'), skipped: count('skipped'), notOk: r.stdout.split('\n').filter((l) => /^not ok/.test(l)) };
}

function expectAllPass(res: ReturnType<typeof runSuite>, what: string) {
  const { r, pass, fail, skipped, notOk } = res;
  console.log(`gemm_tc.test.mjs under cuda-emu (${what}): ${pass} passed, ${fail} failed, ${skipped} skipped`);
  expect(notOk, r.stdout.slice(-4000) + r.stderr.slice(-2000)).toEqual([]);
  expect(fail).toBe(0);
  expect(skipped).toBe(0);
  expect(pass).toBeGreaterThanOrEqual(8);
  expect(r.status).toBe(0);
}

describe.skipIf(!gxx)('bf16/f16 cast and the tensor-core GEMMs under the host emulation (no GPU needed)', () => {
  it('builds the addon with the emulated CUDA backend', () => {
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'cuda-emu', 'build.mjs')], { cwd: root, encoding: 'utf8', timeout: 900_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(existsSync(addon)).toBe(true);
  }, 900_000);

  for (const order of ['forward', 'reverse', 'shuffle']) {
    it(`test/gpu/gemm_tc.test.mjs (${order} order): every test runs and passes`, () => {
      expectAllPass(runSuite(addon, { CUDA_EMU_ORDER: order, CUDA_EMU_SEED: '20261123' }), `${order} order`);
    }, 900_000);
  }

  it('ENTRENA_CUDA_GEMM=simple: the SIMT kernel for bf16/f16, and plain float32 when tf32 is allowed', () => {
    expectAllPass(runSuite(addon, { ENTRENA_CUDA_GEMM: 'simple' }), 'ENTRENA_CUDA_GEMM=simple');
  }, 900_000);

  it.skipIf(!libasan.startsWith('/') || !existsSync(libasan))('under AddressSanitizer + UBSan: no report, every test passes', () => {
    const b = spawnSync(process.execPath, [join(root, 'scripts', 'cuda-emu', 'build.mjs')], {
      cwd: root, encoding: 'utf8', timeout: 900_000, env: { ...process.env, CUDA_EMU_SANITIZE: '1' },
    });
    expect(b.status, b.stdout + b.stderr).toBe(0);
    const res = runSuite(join(root, 'build-cuda-emu-asan', 'entrena.node'), { LD_PRELOAD: libasan, ASAN_OPTIONS: 'detect_leaks=0' });
    const reports = (res.r.stdout + res.r.stderr).split('\n').filter((l) => /ERROR: AddressSanitizer|runtime error:/.test(l));
    expect(reports).toEqual([]);
    expectAllPass(res, 'ASan + UBSan');
  }, 3_000_000);
});
