// gemm_native.test.ts — the fast CPU GEMM (native/cpu/gemm.cc) against the reference gemm_ref, through
// the raw binding: all four transpose combinations, odd and block-crossing sizes, K = 0, batches with
// strides, leading dimensions wider than the rows, alpha/beta values, beta = 0 over NaN, f32 and f64.
// The default kernel (AVX2+FMA where the CPU has it) runs in this process; the portable kernel runs
// the same cases in a child process started with ENTRENA_GEMM=portable (the choice is made once per
// process), and a bit-level comparison shows that the child really ran a different kernel.
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const binding: any = createRequire(import.meta.url)('node-gyp-build')(root);
binding.init(new Float64Array(128));

interface Outcome {
  cases: number;
  failures: string[];
  probe: number[];
  /** A small product (23×29×40, alpha 1, beta 0), bit for bit: the direct path where it is on. */
  smallProbe: number[];
  /** Products the direct float32 path ran during the cases (cpuFeatures().gemmDirectCalls). */
  directCalls: number;
  kernel: string;  // cpuFeatures().gemmKernel: the micro-kernel the process chose
  /** The child's external-BLAS state after the cases (runInChild only). */
  blas?: { library: string | null; error: string | null; calls: number };
}

/**
 * Runs every case through the fast and the reference GEMM of binding `b` and returns the failures.
 * Self-contained (no closure over module scope) because its source text also runs in the child
 * process. The tolerance is the rigorous bound for a K-term dot product in the storage precision,
 * (K + 4)·ε·(|alpha|·Σ|a·b| + |beta·c|): a wrong or missing term breaks it, rounding never does.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function runCases(b: any): Outcome {
  let seed = 0x2545f491;
  const rand = (): number => {
    seed ^= seed << 13; seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5; seed >>>= 0;
    return (seed / 2 ** 32) * 2 - 1;
  };
  // [m, n, k]: odd sizes, edge tiles in M and N, K = 0, and sizes that cross the MC (144), KC (320
  // for f32, 256 for f64) and NC (4080 for f32, 2040 for f64) blocks; the larger ones take the threaded path, and the
  // largest (with batch ≥ 2) is split into more rectangles than there are threads.
  const shapes: number[][] = [
    [1, 1, 1], [1, 7, 3], [3, 1, 7], [7, 3, 1], [7, 17, 33], [17, 33, 7], [33, 65, 17], [6, 16, 64],
    [12, 32, 257], [65, 129, 33], [129, 65, 129], [5, 7, 0], [150, 40, 300], [2, 4100, 3], [1, 300, 65],
    [300, 1, 65], [48, 48, 48], [97, 113, 71], [256, 260, 230], [20, 36, 700], [13, 40, 333],
    // Row remainders 1–5 of the 6-row tiles and 8 / 14 / 24 columns (the direct path's masks).
    [4, 24, 10], [10, 14, 5], [22, 9, 200], [71, 8, 64],
  ];
  const scalars: number[][] = [[1, 0], [0.5, 0], [1, 1], [-1.5, 0.25], [0, 2], [2, 1], [1, -1], [0, 0]];
  const failures: string[] = [];
  const directBefore = b.cpuFeatures().gemmDirectCalls;
  let cases = 0;
  let variant = 0;
  for (const dt of [0, 1]) {
    const eps = dt === 0 ? 2 ** -24 : 2 ** -53;
    const Arr = dt === 0 ? Float32Array : Float64Array;
    const size = dt === 0 ? 4 : 8;
    for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]]) {
      for (const [m, n, k] of shapes) {
        variant++;
        const [alpha, beta] = scalars[variant % scalars.length];
        const pad = variant % 3 === 0 ? 0 : (variant % 5) + 1; // leading dimension beyond the row
        const batch = m * n * k > 50_000 ? 1 + (variant % 3) : 1 + (variant % 4);
        const aRows = ta ? k : m, aCols = ta ? m : k;
        const bRows = tb ? n : k, bCols = tb ? k : n;
        const lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        // Batch strides with a gap between entries (and stride 0 for A every other variant: a shared
        // weight matrix broadcast over the batch).
        const strideA = variant % 2 === 0 ? 0 : aRows * lda + 5;
        const strideB = bRows * ldb + 3;
        const strideC = m * ldc + 7;
        const lenA = (batch - 1) * strideA + aRows * lda;
        const lenB = (batch - 1) * strideB + bRows * ldb;
        const lenC = (batch - 1) * strideC + m * ldc;
        const A = new Arr(Math.max(lenA, 1)).map(rand);
        const B = new Arr(Math.max(lenB, 1)).map(rand);
        // beta = 0 must not read C: fill it with NaN so that any read shows up in the result.
        const C0 = new Arr(Math.max(lenC, 1)).map(() => (beta === 0 ? NaN : rand()));
        const hA = b.alloc(0, A.length * size), hB = b.alloc(0, B.length * size);
        const hC = b.alloc(0, C0.length * size), hR = b.alloc(0, C0.length * size);
        b.write(hA, 0, A); b.write(hB, 0, B); b.write(hC, 0, C0); b.write(hR, 0, C0);
        const args = (h: unknown) => [dt, ta, tb, m, n, k, alpha, hA, 0, lda, strideA, hB, 0, ldb, strideB,
          beta, h, 0, ldc, strideC, batch];
        b.gemm(...args(hC), false);
        b.gemm(...args(hR), true);
        const got = new Arr(C0.length), ref = new Arr(C0.length);
        b.read(hC, 0, got); b.read(hR, 0, ref);
        b.free(hA); b.free(hB); b.free(hC); b.free(hR);
        cases++;
        const name = `dt=${dt === 0 ? 'f32' : 'f64'} ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'} m=${m} n=${n} k=${k} ` +
          `alpha=${alpha} beta=${beta} pad=${pad} batch=${batch}`;
        let bad = 0, first = '';
        const inC = new Uint8Array(C0.length);
        for (let bi = 0; bi < batch; bi++) {
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              const idx = bi * strideC + i * ldc + j;
              inC[idx] = 1;
              let s = 0;
              if (alpha !== 0) {
                for (let p = 0; p < k; p++) {
                  const a = ta ? A[bi * strideA + p * lda + i] : A[bi * strideA + i * lda + p];
                  const bv = tb ? B[bi * strideB + j * ldb + p] : B[bi * strideB + p * ldb + j];
                  s += Math.abs(a * bv);
                }
              }
              const cAbs = beta === 0 ? 0 : Math.abs(beta * C0[idx]);
              const tol = (k + 4) * eps * (Math.abs(alpha) * s + cAbs) + 1e-300;
              const err = Math.abs(got[idx] - ref[idx]);
              if (!(err <= tol)) {
                if (!bad) first = `C[${bi}][${i}][${j}] = ${got[idx]}, reference ${ref[idx]}, tolerance ${tol}`;
                bad++;
              }
            }
          }
        }
        // Padding and gaps between rows and batch entries must stay untouched.
        for (let idx = 0; idx < C0.length; idx++) {
          if (!inC[idx] && !Object.is(got[idx], C0[idx]) && !(Number.isNaN(got[idx]) && Number.isNaN(C0[idx]))) {
            if (!bad) first = `wrote outside C at element ${idx}`;
            bad++;
          }
        }
        if (bad) failures.push(`${name}: ${bad} bad entries; first ${first}`);
      }
    }
  }
  const directCalls = b.cpuFeatures().gemmDirectCalls - directBefore;
  // Probes for the kernel in use, returned bit for bit: one long-K product, one small one.
  const probeOf = (pm: number, pn: number, pk: number): number[] => {
    const PA = new Float32Array(pm * pk).map(rand), PB = new Float32Array(pk * pn).map(rand);
    const hA = b.alloc(0, PA.byteLength), hB = b.alloc(0, PB.byteLength), hC = b.alloc(0, pm * pn * 4);
    b.write(hA, 0, PA); b.write(hB, 0, PB);
    b.gemm(0, false, false, pm, pn, pk, 1, hA, 0, pk, 0, hB, 0, pn, 0, 0, hC, 0, pn, 0, 1, false);
    const out = new Float32Array(pm * pn);
    b.read(hC, 0, out);
    b.free(hA); b.free(hB); b.free(hC);
    return Array.from(out);
  };
  const probe = probeOf(23, 29, 500), smallProbe = probeOf(23, 29, 40);
  return { cases, failures, probe, smallProbe, directCalls, kernel: b.cpuFeatures().gemmKernel };
}

function runInChild(env: Record<string, string>): Outcome {
  const script = `
    const { createRequire } = require('node:module');
    const b = createRequire(${JSON.stringify(path.join(root, 'package.json'))})('node-gyp-build')(${JSON.stringify(root)});
    b.init(new Float64Array(128));
    const runCases = ${runCases.toString()};
    process.stdout.write(JSON.stringify({ ...runCases(b), blas: b.blasInfo() }));
  `;
  const r = spawnSync(process.execPath, ['-e', script], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`child process failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Outcome;
}

describe('cpu gemm (native) against gemm_ref', () => {
  let defaultProbe: number[] = [];

  it('default kernel matches the reference on every case', () => {
    const out = runCases(binding);
    defaultProbe = out.probe;
    // The kernel the library reports is the one this CPU should get (aarch64: NEON, baseline there).
    const f = binding.cpuFeatures();
    const expected = process.env.ENTRENA_GEMM === 'portable' ? 'portable'
      : f.avx2 && f.fma ? 'avx2' : process.arch === 'arm64' ? 'neon' : 'portable';
    expect(out.kernel).toBe(expected);
    expect(out.cases).toBeGreaterThan(100);
    expect(out.failures).toEqual([]);
  });

  it('portable kernel (ENTRENA_GEMM=portable) matches the reference on every case', () => {
    const out = runInChild({ ENTRENA_GEMM: 'portable' });
    expect(out.cases).toBeGreaterThan(100);
    expect(out.failures).toEqual([]);
    expect(out.kernel).toBe('portable');
    const f = binding.cpuFeatures();
    if (f.avx2 && f.fma && process.env.ENTRENA_GEMM !== 'portable') {
      // The AVX2 kernel fuses multiply-adds and sums in a different order: if the child's bits equal
      // ours, the environment variable did not select the portable kernel.
      if (defaultProbe.length === 0) defaultProbe = runCases(binding).probe;
      expect(out.probe).not.toEqual(defaultProbe);
    }
  });

  // The external-BLAS seam (native/cpu/blas.cc) through Debian's OpenBLAS: the products over the
  // seam's size threshold go to cblas_sgemm/cblas_dgemm, the others stay on our kernels; all must
  // match the reference, the padding untouched.
  const openblas = ['/usr/lib/x86_64-linux-gnu/libopenblas.so.0', '/usr/lib/aarch64-linux-gnu/libopenblas.so.0', '/usr/lib64/libopenblas.so.0']
    .find((p) => existsSync(p));
  it.skipIf(!openblas)(`the external-BLAS seam (ENTRENA_BLAS=${openblas ?? 'libopenblas.so.0'}) matches the reference on every case` +
    (openblas ? '' : ' — skipped: no libopenblas.so.0 here (Debian: apt-get install libopenblas0-pthread)'), () => {
    const out = runInChild({ ENTRENA_BLAS: openblas! });
    expect(out.failures).toEqual([]);
    expect(out.blas).toMatchObject({ library: openblas, error: null });
    // 6 of the shapes are over the threshold, in 4 layouts and 2 dtypes (48 calls), less those with
    // alpha = 0, which are only C = beta·C and never reach a library.
    expect(out.blas!.calls).toBeGreaterThanOrEqual(30);
    // Without it, nothing goes to a library.
    expect(binding.blasInfo()).toMatchObject({ library: null, calls: 0 });
  });

  it('an ENTRENA_BLAS that does not load leaves our kernels in use and says why', () => {
    const out = runInChild({ ENTRENA_BLAS: '/nonexistent/libcblas.so' });
    expect(out.failures).toEqual([]);
    expect(out.blas!.library).toBeNull();
    expect(out.blas!.calls).toBe(0);
    expect(out.blas!.error).toMatch(/^ENTRENA_BLAS: cannot load \/nonexistent\/libcblas\.so: /);
    // A library without CBLAS (libc has no cblas_sgemm) is refused the same way.
    const libc = ['/lib/x86_64-linux-gnu/libc.so.6', '/lib/aarch64-linux-gnu/libc.so.6'].find((p) => existsSync(p));
    if (libc) expect(runInChild({ ENTRENA_BLAS: libc }).blas!.error).toBe(`ENTRENA_BLAS: ${libc} has no cblas_sgemm/cblas_dgemm (a CBLAS library is needed)`);
  });

  // The direct path (small float32 products, AVX2): read in place, no packing. It must run on the
  // small cases, and with it off (ENTRENA_GEMM_DIRECT_WORK=0) the packed path must give the same
  // bits on a small product (the same summation order and C update).
  const f0 = binding.cpuFeatures();
  const hasDirect = f0.gemmDirectMaxWork > 0;
  it.skipIf(!hasDirect)('the direct path of small float32 products runs and equals the packed path bit for bit' +
    (hasDirect ? '' : ` — skipped: the direct path needs the AVX2 kernel (this process runs '${f0.gemmKernel}')`), () => {
    const on = runCases(binding);
    expect(on.failures).toEqual([]);
    expect(on.directCalls).toBeGreaterThan(50);
    const off = runInChild({ ENTRENA_GEMM_DIRECT_WORK: '0' });
    expect(off.failures).toEqual([]);
    expect(off.directCalls).toBe(0);
    expect(off.smallProbe).toEqual(on.smallProbe);
    expect(off.probe).toEqual(on.probe);
  });

  it('runs single-threaded too (ENTRENA_NUM_THREADS=1)', () => {
    const out = runInChild({ ENTRENA_NUM_THREADS: '1' });
    expect(out.failures).toEqual([]);
  });

  it('beta = 0 overwrites NaN and alpha = 0 ignores A and B', () => {
    const m = 8, n = 20, k = 5;
    const hA = binding.alloc(0, m * k * 4), hB = binding.alloc(0, k * n * 4), hC = binding.alloc(0, m * n * 4);
    binding.write(hA, 0, new Float32Array(m * k).fill(1));
    binding.write(hB, 0, new Float32Array(k * n).fill(2));
    binding.write(hC, 0, new Float32Array(m * n).fill(NaN));
    binding.gemm(0, false, false, m, n, k, 1, hA, 0, k, 0, hB, 0, n, 0, 0, hC, 0, n, 0, 1, false);
    const c = new Float32Array(m * n);
    binding.read(hC, 0, c);
    expect(Array.from(c)).toEqual(new Array(m * n).fill(10));
    // K = 0: C = beta·C.
    binding.gemm(0, false, false, m, n, 0, 1, hA, 0, 1, 0, hB, 0, n, 0, 0.5, hC, 0, n, 0, 1, false);
    binding.read(hC, 0, c);
    expect(Array.from(c)).toEqual(new Array(m * n).fill(5));
    binding.free(hA); binding.free(hB); binding.free(hC);
  });
});
