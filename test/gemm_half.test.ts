// gemm_half.test.ts — the CPU GEMM on bfloat16 and float16 (dtype codes 3 and 4; native/cpu/gemm.cc:
// float32 panels packed from the 16-bit operands, float32 accumulation, C rounded once) through the
// raw binding, against
//   - the exact product, computed here in float64 from the 16-bit inputs and rounded once to 16 bits
//     (round16, a JavaScript port of core/half.h): the fast result must be that value or a
//     neighbouring 16-bit value (float32 accumulation), or — where cancellation makes float32's own
//     error exceed that — within the float32 bound (K + 4)·2⁻²⁴·(|alpha|·Σ|a·b| + |beta·c|);
//   - with inputs whose partial sums float32 holds exactly (small integers), round16 of the exact
//     value bit for bit, and so the reference GEMM (gemm_ref) bit for bit;
//   - the reference GEMM (arg 21 `reference`), bit for bit against round16 of the same float64 sum;
//   - PyTorch (test/fixtures/half_gemm.json, scripts/gen_half_gemm_fixtures.py): torch.mm/addmm on
//     bfloat16, and float16 products as PyTorch's float32 product rounded to float16 (torch 1.13
//     has no float16 matmul on the CPU), within one 16-bit unit.
// All four layouts, batches with strides (and a shared A), padded leading dimensions, sizes off the
// register tiles and across the cache blocks (K over KC = 320 accumulates in a float32 workspace),
// alpha/beta, beta = 0 over NaN, K = 0 and alpha = 0. The default kernel runs here; the portable
// kernel and a single thread run the same cases in child processes.
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const binding: any = createRequire(import.meta.url)('node-gyp-build')(root);
binding.init(new Float64Array(128));

const BF16 = 3;
const F16 = 4;

interface Outcome {
  cases: number;
  failures: string[];
  /** Elements that needed the float32 bound rather than the one-unit rule (heavy cancellation). */
  cancellations: number;
  /** Elements of C checked. */
  elements: number;
  exactCases: number;
  kernel: string;
}

/**
 * The 16-bit conversions of core/half.h in JavaScript: bits ↔ number, rounding to nearest even.
 * Self-contained (its source text also runs in the child processes).
 */
function halfCodec() {
  const f = new Float32Array(1), u = new Uint32Array(f.buffer);
  const f32Bits = (x: number): number => { f[0] = x; return u[0]; };
  const fromBits = (b: number): number => { u[0] = b >>> 0; return f[0]; };
  const bf16FromF32 = (x: number): number => {
    const b = f32Bits(x);
    if ((b & 0x7fffffff) >>> 0 > 0x7f800000) return 0x7fc0;
    return ((b + 0x7fff + ((b >>> 16) & 1)) / 65536) & 0xffff;
  };
  const f32FromBf16 = (h: number): number => fromBits(h << 16);
  const f16FromF32 = (x: number): number => {
    const b = f32Bits(x);
    const sign = (b >>> 16) & 0x8000, ax = (b & 0x7fffffff) >>> 0;
    if (ax >= 0x7f800000) return sign | (ax > 0x7f800000 ? 0x7e00 : 0x7c00);
    if (ax >= 0x477ff000) return sign | 0x7c00;
    if (ax < 0x38800000) {
      if (ax <= 0x33000000) return sign;
      const e = ax >>> 23, m = (ax & 0x7fffff) | 0x800000, shift = 126 - e;
      let r = m >>> shift;
      const rest = m & ((1 << shift) - 1), half = 1 << (shift - 1);
      if (rest > half || (rest === half && (r & 1))) r++;
      return sign | r;
    }
    const r = ax - 0x38000000;
    let h = r >>> 13;
    const rest = r & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++;
    return sign | h;
  };
  const f32FromF16 = (h: number): number => {
    const s = h & 0x8000 ? -1 : 1, e = (h >>> 10) & 0x1f, m = h & 0x3ff;
    if (e === 0x1f) return m ? NaN : s * Infinity;
    if (e === 0) return s * m * 2 ** -24;
    return s * (1 + m / 1024) * 2 ** (e - 15);
  };
  /** dtype 3 (bfloat16) or 4 (float16): [to bits, from bits]; a number rounds through float32. */
  const codec = (dt: number): [(x: number) => number, (h: number) => number] =>
    dt === 3 ? [(x) => bf16FromF32(Math.fround(x)), f32FromBf16] : [(x) => f16FromF32(Math.fround(x)), f32FromF16];
  /** Position on the number line (±0 equal), so that neighbouring 16-bit values differ by 1. */
  const ordinal = (h: number): number => (h & 0x8000 ? -(h & 0x7fff) : h);
  return { codec, ordinal };
}

/**
 * Runs every case through the fast and the reference GEMM of binding `b` and returns the failures.
 * Self-contained for the child processes (it receives halfCodec's source as an argument there).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function runCases(b: any, codecs: ReturnType<typeof halfCodec>): Outcome {
  const { codec, ordinal } = codecs;
  let seed = 0x1b873593;
  const rand = (): number => {
    seed ^= seed << 13; seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5; seed >>>= 0;
    return (seed / 2 ** 32) * 2 - 1;
  };
  // [m, n, k]: tiny (the direct loop), odd sizes off the 6×16 / 8×12 / 4×8 tiles, K across KC (320:
  // several K blocks, float32 workspace), M across MC (144), N across the narrowed column blocks,
  // and products large enough for the threaded paths.
  const shapes: number[][] = [
    [1, 1, 1], [3, 7, 5], [7, 17, 33], [17, 33, 7], [6, 16, 64], [33, 65, 17], [12, 32, 257],
    [65, 129, 33], [5, 7, 0], [2, 300, 3], [1, 300, 65], [300, 1, 65], [97, 113, 71], [20, 36, 700],
    [13, 40, 333], [150, 40, 330], [129, 200, 650], [150, 1000, 350],
  ];
  const scalars: number[][] = [[1, 0], [0.5, 0], [1, 1], [-1.5, 0.25], [0, 2], [2, 1], [1, -1], [0, 0], [-1, 0]];
  const failures: string[] = [];
  let cases = 0, cancellations = 0, elements = 0, exactCases = 0, variant = 0;
  for (const dt of [3, 4]) {
    const [toBits, fromBits] = codec(dt);
    const round16 = (x: number): number => toBits(x);
    for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]]) {
      for (const [m, n, k] of shapes) {
        variant++;
        const big = m * n * k > 1_000_000;
        if (big && variant % 2 === 0) continue;  // the largest shapes in half the layouts
        const [alpha, beta] = scalars[variant % scalars.length];
        // Every third case: small integers, whose float32 partial sums are exact, so the fast result
        // is round16(exact) bit for bit (float16's range caps the magnitudes).
        const exact = variant % 3 === 0;
        const lim = dt === 3 ? 16 : 4;
        const value = (): number => (exact ? Math.round(rand() * lim) : rand() * 2);
        const pad = variant % 3 === 0 ? 0 : (variant % 5) + 1;
        const batch = big ? 1 : m * n * k > 50_000 ? 1 + (variant % 3) : 1 + (variant % 4);
        const aRows = ta ? k : m, aCols = ta ? m : k;
        const bRows = tb ? n : k, bCols = tb ? k : n;
        const lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        const strideA = variant % 2 === 0 ? 0 : aRows * lda + 5;
        const strideB = bRows * ldb + 3;
        const strideC = m * ldc + 7;
        const lenA = Math.max((batch - 1) * strideA + aRows * lda, 1);
        const lenB = Math.max((batch - 1) * strideB + bRows * ldb, 1);
        const lenC = Math.max((batch - 1) * strideC + m * ldc, 1);
        const A = new Uint16Array(lenA).map(() => round16(value()));
        const B = new Uint16Array(lenB).map(() => round16(value()));
        // beta = 0 must not read C: a NaN there would show in the result.
        const nan = dt === 3 ? 0x7fc0 : 0x7e00;
        const C0 = new Uint16Array(lenC).map(() => (beta === 0 ? nan : round16(exact ? Math.round(rand() * lim) : rand())));
        const fa = Float64Array.from(A, fromBits), fb = Float64Array.from(B, fromBits), fc = Float64Array.from(C0, fromBits);
        const hA = b.alloc(0, lenA * 2), hB = b.alloc(0, lenB * 2), hC = b.alloc(0, lenC * 2), hR = b.alloc(0, lenC * 2);
        b.write(hA, 0, A); b.write(hB, 0, B); b.write(hC, 0, C0); b.write(hR, 0, C0);
        const args = (h: unknown) => [dt, ta, tb, m, n, k, alpha, hA, 0, lda, strideA, hB, 0, ldb, strideB,
          beta, h, 0, ldc, strideC, batch];
        b.gemm(...args(hC), false);
        b.gemm(...args(hR), true);
        const got = new Uint16Array(lenC), ref = new Uint16Array(lenC);
        b.read(hC, 0, got); b.read(hR, 0, ref);
        b.free(hA); b.free(hB); b.free(hC); b.free(hR);
        cases++;
        if (exact) exactCases++;
        const name = `${dt === 3 ? 'bf16' : 'f16'} ${ta ? 'T' : 'N'}${tb ? 'T' : 'N'} m=${m} n=${n} k=${k} ` +
          `alpha=${alpha} beta=${beta} pad=${pad} batch=${batch}${exact ? ' (exact inputs)' : ''}`;
        let bad = 0, first = '';
        const note = (msg: string) => { if (!bad) first = msg; bad++; };
        const inC = new Uint8Array(lenC);
        for (let bi = 0; bi < batch; bi++) {
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              const idx = bi * strideC + i * ldc + j;
              inC[idx] = 1;
              elements++;
              // The float64 sum in gemm_ref's order, so that its rounding is gemm_ref's bit for bit.
              let s = 0, mag = 0;
              for (let p = 0; p < k; p++) {
                const x = ta ? fa[bi * strideA + p * lda + i] : fa[bi * strideA + i * lda + p];
                const y = tb ? fb[bi * strideB + j * ldb + p] : fb[bi * strideB + p * ldb + j];
                s += x * y;
                mag += Math.abs(x * y);
              }
              const cin = beta === 0 ? 0 : beta * fc[idx];
              const want = alpha * s + cin;
              const w = round16(want);
              const where = `C[${bi}][${i}][${j}]`;
              if (ref[idx] !== w) note(`${where}: reference 0x${ref[idx].toString(16)}, round16(${want}) = 0x${w.toString(16)}`);
              const g = got[idx];
              if (exact) {
                // ±0 compare equal: alpha·0 keeps alpha's sign in the fast path, the reference adds +0.
                if (ordinal(g) !== ordinal(w) || ordinal(g) !== ordinal(ref[idx])) {
                  note(`${where} = 0x${g.toString(16)} (${fromBits(g)}), exact inputs want 0x${w.toString(16)} (${fromBits(w)})`);
                }
              } else if (Math.abs(ordinal(g) - ordinal(w)) > 1) {
                const tol = (k + 4) * 2 ** -24 * (Math.abs(alpha) * mag + Math.abs(cin)) + Math.abs(fromBits(w) - want);
                if (Math.abs(fromBits(g) - want) <= tol + 1e-300) cancellations++;
                else note(`${where} = 0x${g.toString(16)} (${fromBits(g)}), want round16(${want}) = 0x${w.toString(16)} ±1 unit`);
              }
            }
          }
        }
        // Padding and gaps between rows and batch entries stay untouched.
        for (let idx = 0; idx < lenC; idx++) {
          if (!inC[idx] && (got[idx] !== C0[idx] || ref[idx] !== C0[idx])) note(`wrote outside C at element ${idx}`);
        }
        if (bad) failures.push(`${name}: ${bad} bad entries; first ${first}`);
      }
    }
  }
  return { cases, failures, cancellations, elements, exactCases, kernel: b.cpuFeatures().gemmKernel };
}

function runInChild(env: Record<string, string>): Outcome {
  const script = `
    const { createRequire } = require('node:module');
    const b = createRequire(${JSON.stringify(path.join(root, 'package.json'))})('node-gyp-build')(${JSON.stringify(root)});
    b.init(new Float64Array(128));
    const halfCodec = ${halfCodec.toString()};
    const runCases = ${runCases.toString()};
    process.stdout.write(JSON.stringify(runCases(b, halfCodec())));
  `;
  const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`child process failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Outcome;
}

const codecs = halfCodec();

/** Allocates a storage holding `bits` (16-bit patterns). */
function storage(bits: Uint16Array | number[]): unknown {
  const arr = bits instanceof Uint16Array ? bits : Uint16Array.from(bits);
  const h = binding.alloc(0, Math.max(arr.length, 1) * 2);
  binding.write(h, 0, arr);
  return h;
}
function readBits(h: unknown, n: number): Uint16Array {
  const out = new Uint16Array(n);
  binding.read(h, 0, out);
  return out;
}

describe('cpu gemm on bfloat16 and float16', () => {
  it('the JavaScript port of core/half.h gives the known bit patterns', () => {
    // (The GEMM test below, K = 1, then checks it against the native rounding on every 16-bit value.)
    const [bf, fromBf] = codecs.codec(BF16), [hf, fromHf] = codecs.codec(F16);
    expect([1, -2, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.4e38, NaN, 2 ** -133].map(bf))
      .toEqual([0x3f80, 0xc000, 0x3f80, 0x3f82, 0x7f80, 0x7fc0, 0x0001]);
    expect([1, -2, 65504, 65519, 65520, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 1 + 2 ** -11, NaN].map(hf))
      .toEqual([0x3c00, 0xc000, 0x7bff, 0x7bff, 0x7c00, 0x0001, 0x0000, 0x0002, 0x3c00, 0x7e00]);
    expect([0x3f80, 0xc0a0, 0x0001].map(fromBf)).toEqual([1, -5, 2 ** -133]);
    expect([0x3c00, 0xfbff, 0x0001, 0x7c00].map(fromHf)).toEqual([1, -65504, 2 ** -24, Infinity]);
  });

  it('default kernel: round16(exact) ±1 unit, bit-exact with exact inputs and against gemm_ref', () => {
    const out = runCases(binding, codecs);
    expect(out.cases).toBeGreaterThan(100);
    expect(out.exactCases).toBeGreaterThan(30);
    expect(out.failures).toEqual([]);
    // Cancellation beyond one unit is rare with these inputs (tens in a million elements); many more
    // would mean a kernel that loses accuracy.
    expect(out.cancellations).toBeLessThan(out.elements / 10_000);
  });

  it('portable kernel (ENTRENA_GEMM=portable) passes the same cases', () => {
    const out = runInChild({ ENTRENA_GEMM: 'portable' });
    expect(out.kernel).toBe('portable');
    expect(out.failures).toEqual([]);
    expect(out.cancellations).toBeLessThan(out.elements / 10_000);
  });

  it('a single thread (ENTRENA_NUM_THREADS=1: the blocked nest, K blocks innermost) passes the same cases', () => {
    const out = runInChild({ ENTRENA_NUM_THREADS: '1' });
    expect(out.failures).toEqual([]);
  });

  it('K = 0 and alpha = 0 give round16(beta·C) without reading A or B; beta = 0 overwrites NaN', () => {
    for (const dt of [BF16, F16]) {
      const [toBits, fromBits] = codecs.codec(dt);
      const m = 4, n = 40, k = 3;
      const c0 = Array.from({ length: m * n }, (_, i) => toBits((i - 80) / 7));
      const nanBits = dt === BF16 ? 0x7fc0 : 0x7e00;
      const hA = storage(new Array(m * k).fill(nanBits)), hB = storage(new Array(k * n).fill(nanBits));
      for (const kk of [0, k]) {
        const hC = storage(c0);
        binding.gemm(dt, false, false, m, n, kk, kk === 0 ? 1 : 0, hA, 0, Math.max(kk, 1), 0, hB, 0, n, 0, 0.3, hC, 0, n, 0, 1, false);
        expect(Array.from(readBits(hC, m * n))).toEqual(c0.map((h) => toBits(Math.fround(0.3) * fromBits(h))));
        binding.free(hC);
      }
      binding.free(hA); binding.free(hB);
      // beta = 0 over NaN: C = A·B exactly (ones times twos).
      const one = toBits(1), two = toBits(2);
      const hA1 = storage(new Array(m * k).fill(one)), hB2 = storage(new Array(k * n).fill(two));
      const hC = storage(new Array(m * n).fill(nanBits));
      binding.gemm(dt, false, false, m, n, k, 1, hA1, 0, k, 0, hB2, 0, n, 0, 0, hC, 0, n, 0, 1, false);
      expect(Array.from(readBits(hC, m * n))).toEqual(new Array(m * n).fill(toBits(6)));
      binding.free(hA1); binding.free(hB2); binding.free(hC);
    }
  });

  it('rounds once, to nearest even, as core/half.h (K = 1: C = round16(alpha·a), every 16-bit a)', () => {
    // Every 16-bit value times alphas that make ties, overflow, subnormal results and NaN; a product
    // wide enough for the packed path and its vector store (AVX2), checked against the JS port.
    for (const dt of [BF16, F16]) {
      const [toBits, fromBits] = codecs.codec(dt);
      const m = 65536, n = 16;
      const a = new Uint16Array(m).map((_, i) => i);
      const b = new Uint16Array(n).fill(toBits(1));
      for (const alpha of [1, 1.00390625, 0.7, 3.5, 2 ** -10, 1e4]) {
        const hA = storage(a), hB = storage(b), hC = binding.alloc(0, m * n * 2);
        binding.gemm(dt, false, false, m, n, 1, alpha, hA, 0, 1, 0, hB, 0, n, 0, 0, hC, 0, n, 0, 1, false);
        const got = readBits(hC, m * n);
        for (let i = 0; i < m; i++) {
          const want = toBits(Math.fround(Math.fround(alpha) * fromBits(a[i])));
          const nan = Number.isNaN(fromBits(want));
          for (let j = 0; j < n; j++) {
            // A NaN keeps its sign in float16 (sign | 0x7E00), which JavaScript's NaN cannot carry.
            if (nan && Number.isNaN(fromBits(got[i * n + j]))) continue;
            // ±0 compare equal: the sum starts at +0, so (+0) + (−0)·1 is +0 where the product is −0.
            if (codecs.ordinal(got[i * n + j]) !== codecs.ordinal(want)) {
              throw new Error(`dtype ${dt} alpha ${alpha} a=0x${a[i].toString(16)}: 0x${got[i * n + j].toString(16)}, want 0x${want.toString(16)}`);
            }
          }
        }
        binding.free(hA); binding.free(hB); binding.free(hC);
      }
    }
  });

  it('matches PyTorch (test/fixtures/half_gemm.json) within one 16-bit unit', () => {
    const fx = JSON.parse(readFileSync(path.join(root, 'test/fixtures/half_gemm.json'), 'utf8'));
    const hex = (s: string) => Uint16Array.from(s.match(/.{4}/g) ?? [], (h) => parseInt(h, 16));
    let checked = 0, off = 0;
    for (const c of fx.cases) {
      const dt = c.dtype === 'bfloat16' ? BF16 : F16;
      const A = hex(c.a), B = hex(c.b), C0 = hex(c.c), want = hex(c.out);
      const lda = c.ta ? c.m : c.k, ldb = c.tb ? c.k : c.n;
      const hA = storage(A), hB = storage(B), hC = storage(C0);
      binding.gemm(dt, c.ta, c.tb, c.m, c.n, c.k, c.alpha, hA, 0, lda, 0, hB, 0, ldb, 0, c.beta, hC, 0, c.n, 0, 1, false);
      const got = readBits(hC, c.m * c.n);
      binding.free(hA); binding.free(hB); binding.free(hC);
      for (let i = 0; i < want.length; i++) {
        const d = Math.abs(codecs.ordinal(got[i]) - codecs.ordinal(want[i]));
        if (d > 1) throw new Error(`${c.name} element ${i}: 0x${got[i].toString(16)}, PyTorch 0x${want[i].toString(16)}`);
        if (d) off++;
        checked++;
      }
    }
    expect(fx.cases.length).toBeGreaterThanOrEqual(8);
    // Most elements agree exactly (both sum in float32 and round once; the orders differ).
    expect(off).toBeLessThan(checked / 10);
  });
});
