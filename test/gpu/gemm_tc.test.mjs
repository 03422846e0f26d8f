// gemm_tc.test.mjs — the 16-bit dtypes on the CUDA backend: cast and fill of bfloat16/float16
// against the CPU bit for bit, and the tensor-core GEMMs of native/cuda/gemm_tc.cu (bf16 × bf16,
// f16 × f16 with float32 accumulation; float32 with TF32 inputs when the call allows tf32) against
// float64 references computed here from the inputs' exact values.
//
// Like cuda.test.mjs: node:test + node:assert on the raw addon (test/helpers/cuda_addon.mjs), every
// test skips with the reason when there is no GPU; test/stress/cuda_emu_tc.test.ts runs this file
// against the emulated device (scripts/cuda-emu), where mma.sync/ldmatrix/cp.async are emulated
// with the PTX fragment layouts (native/cuda/mma.cuh).
//
// How close: a 16-bit result must lie between round16(ref − e) and round16(ref + e), where ref is
// the float64 value of alpha·op(A)·op(B) + beta·C and e bounds float32 accumulation,
// (K + 16)·2⁻²²·|alpha|·Σ|a·b| + 2⁻²²·|beta·c| — i.e. C is the once-rounded float32 result. TF32:
// ref is computed from the inputs rounded as cvt.rna.tf32.f32 does (10-bit mantissa, ties away),
// with the same e plus half a float32 ulp; products of unrounded float32 inputs would miss it by
// about 2⁻¹¹ relative, and K = 1 cases on exact ties check the rounding direction exactly.
import assert from 'node:assert/strict';
import { addon, scratch, gpuTest, CPU, CUDA, F32, rng } from '../helpers/cuda_addon.mjs';

const BF16 = 3, F16 = 4;
const NAME16 = { [BF16]: 'bfloat16', [F16]: 'float16' };
const simple = process.env.ENTRENA_CUDA_GEMM === 'simple';  // tf32 is then not used (gemm.cu)

// ---- float32 ↔ 16-bit, ports of native/core/half.h (integer-exact) --------------------------------

const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
const bitsOf = (x) => { f32[0] = x; return u32[0]; };
const fromBits = (u) => { u32[0] = u >>> 0; return f32[0]; };
function bf16FromF32(x) {
  const u = bitsOf(x);
  if ((u & 0x7fffffff) > 0x7f800000) return 0x7fc0;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}
const f32FromBf16 = (h) => fromBits(h << 16);
function f16FromF32(x) {
  const u = bitsOf(x), sign = (u >>> 16) & 0x8000, ax = u & 0x7fffffff;
  if (ax >= 0x7f800000) return sign | (ax > 0x7f800000 ? 0x7e00 : 0x7c00);
  if (ax >= 0x477ff000) return sign | 0x7c00;
  if (ax < 0x38800000) {
    if (ax <= 0x33000000) return sign;
    const e = ax >>> 23, m = (ax & 0x7fffff) | 0x800000, shift = 126 - e;
    let r = m >>> shift;
    const rest = m & ((1 << shift) - 1), half = 1 << (shift - 1);
    if (rest > half || (rest === half && (r & 1))) ++r;
    return sign | r;
  }
  const r = ax - 0x38000000;
  let h = r >>> 13;
  const rest = r & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) ++h;
  return sign | h;
}
function f32FromF16(h) {
  const sign = (h & 0x8000) ? -1 : 1, e = (h >>> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  if (e === 0) return sign * m * 2 ** -24;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}
const ENC = { [BF16]: bf16FromF32, [F16]: f16FromF32 };
const DEC = { [BF16]: f32FromBf16, [F16]: f32FromF16 };
/** cvt.rna.tf32.f32: 10-bit mantissa, round to nearest, ties away from zero. */
function tf32(x) {
  const u = bitsOf(x);
  if ((u & 0x7f800000) === 0x7f800000) return x;
  return fromBits(((u + 0x1000) & 0xffffe000) >>> 0);
}

// ---- raw buffers ---------------------------------------------------------------------------------

function upload(dev, typed) {
  const h = addon.alloc(dev, Math.max(typed.byteLength, 4));
  if (typed.byteLength) addon.write(h, 0, typed);
  return h;
}
function download(h, Type, count) {
  const out = new Type(count);
  if (count) addon.read(h, 0, out);
  return out;
}
function setIter(shape, operands) {
  scratch.fill(0);
  scratch[0] = shape.length;
  shape.forEach((s, d) => (scratch[1 + d] = s));
  operands.forEach(({ offset = 0, strides }, o) => {
    scratch[16 + 16 * o] = offset;
    strides.forEach((st, d) => (scratch[16 + 16 * o + 1 + d] = st));
  });
}

// ---- cast and fill -------------------------------------------------------------------------------

// float32 values that exercise every branch of the conversions: NaN (two payloads, both signs), ±Inf,
// ±0, float16 overflow (65504, 65519.99, 65520, 1e10), float16 subnormals and their ties (2^-24,
// 2^-25, 3·2^-25), bfloat16 ties (1 + 2^-8, 1 + 3·2^-8), float32 subnormals, the largest float32.
const SPECIAL = [
  fromBits(0x7fc00000), fromBits(0xffc00001), fromBits(0x7f800001), Infinity, -Infinity, 0, -0, 1, -1, 0.1, -2.5,
  65504, 65519.99, 65520, -65520, 1e10, 2 ** -14, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 2 ** -26, -(2 ** -24) * 1.5,
  6e-8, 1 + 2 ** -8, 1 + 3 * 2 ** -8, -(1 + 2 ** -8), fromBits(0x00000001), fromBits(0x807fffff), 3.4028234663852886e38,
  fromBits(0x3f808000), fromBits(0x3f818000), fromBits(0x3f80ffff),
];
function castInputs() {
  const r = rng(11);
  const v = [...SPECIAL];
  for (let i = 0; i < 200; ++i) v.push((r() - 0.5) * 2 ** Math.floor(-30 + 60 * r()));
  return Float32Array.from(v);
}

// Runs cast(out ← in) on `dev` over a transposing strided view of `n` = rows·cols elements.
function castOn(dev, odt, idt, OutType, input, rows, cols) {
  const a = upload(dev, input);
  const out = addon.alloc(dev, input.length * 8);
  setIter([rows, cols], [{ strides: [cols, 1] }, { strides: [1, rows] }]);
  addon.cast(odt, idt, out, a);
  const res = download(out, OutType, input.length);
  addon.free(a);
  addon.free(out);
  return res;
}

gpuTest('cast float32 → bfloat16/float16 → float32 on cuda equals the CPU bit for bit (NaN, ±Inf, subnormals, overflow, ties)', () => {
  const input = castInputs();
  const n = input.length, rows = 2, cols = n / 2;
  for (const dt of [BF16, F16]) {
    // flat (contiguous) and strided (transposing) kernels
    for (const strided of [false, true]) {
      const run = (dev, odt, idt, Out, x) => (strided ? castOn(dev, odt, idt, Out, x, rows, cols) : castOn(dev, odt, idt, Out, x, 1, n));
      const cpu16 = run(CPU, dt, F32, Uint16Array, input), cuda16 = run(CUDA, dt, F32, Uint16Array, input);
      assert.deepEqual([...cuda16], [...cpu16], `${NAME16[dt]} bits (${strided ? 'strided' : 'flat'})`);
      const cpuBack = run(CPU, F32, dt, Uint32Array, cpu16), cudaBack = run(CUDA, F32, dt, Uint32Array, cpu16);
      assert.deepEqual([...cudaBack], [...cpuBack], `${NAME16[dt]} → float32 bits (${strided ? 'strided' : 'flat'})`);
    }
    // and the CPU agrees with half.h's definition (ported above)
    const bits = castOn(CUDA, dt, F32, Uint16Array, input, 1, n);
    for (let i = 0; i < n; ++i) assert.equal(bits[i], ENC[dt](input[i]), `${NAME16[dt]} of ${input[i]}`);
  }
  // 16 ↔ 16, float64 and int32 sources
  const f64 = Float64Array.from([1e300, -1e-300, 1 / 3, 65519.999, NaN, -7]);
  const i32 = Int32Array.from([0, 1, -1, 257, 65505, -2147483648]);
  for (const [odt, idt, Out, x] of [[BF16, F16, Uint16Array, Uint16Array.from([0x3c00, 0x7c00, 0x0001, 0xfe00, 0x7bff, 0x8000])],
    [F16, BF16, Uint16Array, Uint16Array.from([0x3f80, 0x7f80, 0x0001, 0x7fc0, 0x477f, 0x4780])],
    [BF16, 1, Uint16Array, f64], [F16, 1, Uint16Array, f64], [BF16, 2, Uint16Array, i32], [F16, 2, Uint16Array, i32],
    [1, BF16, Float64Array, Uint16Array.from([0x3f80, 0xff80, 0x0001, 0x7fc1, 0x4049])],
    [2, F16, Int32Array, Uint16Array.from([0x3c00, 0xc500, 0x7bff, 0x0001, 0x3e00])]]) {
    const cpu = castOn(CPU, odt, idt, Out, x, 1, x.length), cuda = castOn(CUDA, odt, idt, Out, x, 1, x.length);
    assert.deepEqual([...cuda], [...cpu], `cast dtype ${idt} → ${odt}`);
  }
});

gpuTest('fill bfloat16/float16 on cuda equals the CPU bit for bit (strided, rounding, overflow, NaN)', () => {
  for (const dt of [BF16, F16])
    for (const value of [7.25, 1 / 3, -65520, 1e-7, NaN, -Infinity, 1e300]) {
      const res = [CPU, CUDA].map((dev) => {
        const out = upload(dev, new Uint16Array(40).fill(0x1234));
        setIter([4, 5], [{ offset: 1, strides: [10, 2] }]);
        addon.fill(dt, out, value);
        const r = download(out, Uint16Array, 40);
        addon.free(out);
        return [...r];
      });
      assert.deepEqual(res[1], res[0], `fill ${NAME16[dt]} ${value}`);
      assert.equal(res[1][1], ENC[dt](value), `fill ${NAME16[dt]} ${value}: half.h's rounding`);
      assert.equal(res[1][0], 0x1234, 'elements outside the view are not written');
    }
});

// ---- GEMM ----------------------------------------------------------------------------------------

/**
 * One GEMM on cuda; returns { got, want, lo, hi, cIndex } per stored C element, checked by the caller.
 * c: { dt (BF16 | F16 | F32), tf32, ta, tb, m, n, k, batch, alpha, beta, pad, offA, offB, offC }
 */
function gemmCase(c) {
  const { dt, ta, tb, m, n, k } = c;
  const batch = c.batch ?? 1, alpha = c.alpha ?? 1, beta = c.beta ?? 0, pad = c.pad ?? 0;
  const offA = c.offA ?? 0, offB = c.offB ?? 0, offC = c.offC ?? 0;
  const lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
  const strideA = (ta ? k : m) * lda + (c.gap ?? 0), strideB = (tb ? n : k) * ldb + (c.gap ?? 0), strideC = m * ldc + (c.gap ?? 0);
  const lenA = offA + batch * strideA, lenB = offB + batch * strideB, lenC = offC + batch * strideC;
  const r = rng(c.seed ?? (m * 131 + n * 17 + k * 7 + (ta ? 1 : 0) + (tb ? 2 : 0)));
  const half = dt !== F32;
  // Values: uniform in [-1, 1) (rounded to the storage type), exact in float64 once decoded.
  const make = (len, scale = 1) => {
    const vals = new Float64Array(len);
    const store = half ? new Uint16Array(len) : new Float32Array(len);
    for (let i = 0; i < len; ++i) {
      const x = (2 * r() - 1) * scale;
      if (half) {
        store[i] = ENC[dt](x);
        vals[i] = DEC[dt](store[i]);
      } else {
        store[i] = x;
        vals[i] = store[i];
      }
    }
    return { vals, store };
  };
  const A = make(lenA), B = make(lenB), C = make(lenC);
  // beta = 0: C must not be read, so seed it with NaN (BLAS semantics).
  if (!beta) {
    C.store.fill(half ? (dt === BF16 ? 0x7fc0 : 0x7e00) : NaN);
    C.vals.fill(NaN);
  }
  const ha = upload(CUDA, A.store), hb = upload(CUDA, B.store), hc = upload(CUDA, C.store);
  addon.gemm(dt, ta, tb, m, n, k, alpha, ha, offA, lda, strideA, hb, offB, ldb, strideB, beta, hc, offC, ldc, strideC, batch, false, !!c.tf32);
  const out = download(hc, half ? Uint16Array : Float32Array, lenC);
  for (const h of [ha, hb, hc]) addon.free(h);

  const useTf32 = dt === F32 && c.tf32 && !simple;
  const av = useTf32 ? A.vals.map(tf32) : A.vals, bv = useTf32 ? B.vals.map(tf32) : B.vals;
  const round = half ? (x) => DEC[dt](ENC[dt](x)) : (x) => Math.fround(x);
  const written = new Uint8Array(lenC);
  const what = `${half ? NAME16[dt] : c.tf32 ? 'tf32' : 'float32'} gemm ${JSON.stringify(c)}`;
  for (let z = 0; z < batch; ++z)
    for (let i = 0; i < m; ++i)
      for (let j = 0; j < n; ++j) {
        let s = 0, sa = 0;
        for (let p = 0; p < k; ++p) {
          const x = av[offA + z * strideA + (ta ? p * lda + i : i * lda + p)];
          const y = bv[offB + z * strideB + (tb ? j * ldb + p : p * ldb + j)];
          s += x * y;
          sa += Math.abs(x * y);
        }
        const ci = offC + z * strideC + i * ldc + j;
        written[ci] = 1;
        const cold = beta ? C.vals[ci] : 0;
        const ref = alpha * s + beta * cold;
        const e = (k + 16) * 2 ** -22 * Math.abs(alpha) * sa + 2 ** -22 * Math.abs(beta * cold) + (half ? 0 : 2 ** -24 * Math.abs(ref));
        const got = half ? DEC[dt](out[ci]) : out[ci];
        const lo = round(ref - e), hi = round(ref + e);
        if (!(got >= lo && got <= hi))
          assert.fail(`${what}: C[${z}][${i}][${j}] = ${got}, expected ${ref} rounded once (within [${lo}, ${hi}])`);
      }
  // Everything outside the M×N blocks (padding, gaps, offsets) is untouched.
  for (let ci = 0; ci < lenC; ++ci)
    if (!written[ci] && !Object.is(out[ci], C.store[ci]) && !(Number.isNaN(out[ci]) && Number.isNaN(C.store[ci])))
      assert.fail(`${what}: C element ${ci} outside the product was written`);
}

const SIZES = [
  { m: 1, n: 1, k: 1 },
  { m: 7, n: 7, k: 7 },
  { m: 33, n: 33, k: 33 },
  { m: 100, n: 100, k: 100 },
  { m: 1, n: 7, k: 33 },
  { m: 33, n: 1, k: 100, alpha: -0.75 },
  { m: 130, n: 257, k: 129, alpha: 0.5, beta: 2 },        // edge tiles in M, N and K; C read
  { m: 64, n: 64, k: 0, beta: 1.5 },                       // K = 0: C = beta·C
  { m: 5, n: 7, k: 300, pad: 3 },                          // odd leading dimensions: scalar loads/stores
  { m: 40, n: 24, k: 72, pad: 8, offA: 8, offB: 16, offC: 2 },  // padded, aligned: vector paths at offsets
  { m: 31, n: 29, k: 40, offA: 1, offB: 3, offC: 1, beta: -1 },  // misaligned pointers
  { m: 150, n: 70, k: 50, batch: 3, gap: 5, beta: 0.25 },  // batches with strides that break alignment
  { m: 129, n: 136, k: 64, batch: 2, gap: 8 },             // batches, aligned strides
  { m: 1100, n: 260, k: 24 },                              // 9 × 3 tiles: the grouped tile order's last, partial group
];
const LAYOUTS = [[false, false], [false, true], [true, false], [true, true]];

for (const dt of [BF16, F16])
  gpuTest(`${NAME16[dt]} GEMM (float32 accumulation, C rounded once): NN, NT, TN, TT; sizes 1…257, K = 0, padding, offsets, batches`, () => {
    for (const [ta, tb] of LAYOUTS) for (const s of SIZES) gemmCase({ dt, ta, tb, ...s });
  });

gpuTest(simple ? 'float32 GEMM with tf32 allowed under ENTRENA_CUDA_GEMM=simple: the plain float32 kernel (no TF32)'
  : 'float32 GEMM with tf32 allowed: TF32 inputs (cvt.rna), float32 accumulation: all layouts and the sizes above', () => {
  for (const [ta, tb] of LAYOUTS) for (const s of SIZES) gemmCase({ dt: F32, tf32: true, ta, tb, ...s });
});

gpuTest('tf32 rounds each input to nearest with ties away from zero (K = 1, exact)', () => {
  // a = 1 + 2^-11 is halfway between 1 and 1 + 2^-10: cvt.rna gives 1 + 2^-10 (round-to-even would
  // give 1); 1 + 2^-11 ± 2^-23 round down / up in every mode; b = 1 + 3·2^-11 ties up to 1 + 2^-9.
  const cases = [
    [1 + 2 ** -11, 1, 1 + 2 ** -10],
    [-(1 + 2 ** -11), 1, -(1 + 2 ** -10)],
    [1 + 2 ** -11 - 2 ** -23, 1, 1],
    [1 + 2 ** -11 + 2 ** -23, 1, 1 + 2 ** -10],
    [1, 1 + 3 * 2 ** -11, 1 + 2 ** -9],
    [1 + 2 ** -11, 1 + 2 ** -11, (1 + 2 ** -10) ** 2],
    [3, 1 / 3, 3 * tf32(1 / 3)],
  ];
  for (const [a, b, want] of cases) {
    const ha = upload(CUDA, Float32Array.of(a)), hb = upload(CUDA, Float32Array.of(b)), hc = upload(CUDA, Float32Array.of(NaN));
    addon.gemm(F32, false, false, 1, 1, 1, 1, ha, 0, 1, 1, hb, 0, 1, 1, 0, hc, 0, 1, 1, 1, false, true);
    const got = download(hc, Float32Array, 1)[0];
    assert.equal(got, simple ? Math.fround(Math.fround(a) * Math.fround(b)) : Math.fround(want), `tf32 ${a} · ${b}`);
    for (const h of [ha, hb, hc]) addon.free(h);
  }
});

gpuTest('float32 GEMM without tf32 keeps full float32 products', () => {
  // 1 + 2^-11 is not a tf32 value: without tf32 the product must be exact.
  const a = 1 + 2 ** -11;
  const ha = upload(CUDA, Float32Array.of(a)), hb = upload(CUDA, Float32Array.of(1)), hc = upload(CUDA, Float32Array.of(0));
  addon.gemm(F32, false, false, 1, 1, 1, 1, ha, 0, 1, 1, hb, 0, 1, 1, 0, hc, 0, 1, 1, 1, false, false);
  assert.equal(download(hc, Float32Array, 1)[0], a);
  for (const h of [ha, hb, hc]) addon.free(h);
  for (const [ta, tb] of LAYOUTS) gemmCase({ dt: F32, tf32: false, ta, tb, m: 100, n: 33, k: 77, beta: 0.5 });
});

gpuTest('bfloat16 GEMM agrees with the CPU reference GEMM (float32) on the decoded inputs', () => {
  // The 16-bit GEMM is checked against the float64 reference above; here, in addition, against the
  // CPU's gemm_ref (binding flag `reference`) in float32 on the decoded inputs, within C's rounding.
  const m = 20, n = 12, k = 50;
  const r = rng(99);
  const A16 = Uint16Array.from({ length: m * k }, () => bf16FromF32(2 * r() - 1));
  const B16 = Uint16Array.from({ length: k * n }, () => bf16FromF32(2 * r() - 1));
  const ha = upload(CUDA, A16), hb = upload(CUDA, B16), hc = upload(CUDA, new Uint16Array(m * n));
  addon.gemm(BF16, false, false, m, n, k, 1, ha, 0, k, m * k, hb, 0, n, k * n, 0, hc, 0, n, m * n, 1);
  const got = download(hc, Uint16Array, m * n);
  const fa = upload(CPU, Float32Array.from(A16, f32FromBf16)), fb = upload(CPU, Float32Array.from(B16, f32FromBf16));
  const fc = upload(CPU, new Float32Array(m * n));
  addon.gemm(F32, false, false, m, n, k, 1, fa, 0, k, m * k, fb, 0, n, k * n, 0, fc, 0, n, m * n, 1, true);
  const want = download(fc, Float32Array, m * n);
  for (let i = 0; i < m * n; ++i) {
    const g = f32FromBf16(got[i]);
    assert.ok(Math.abs(g - want[i]) <= 2 ** -8 * Math.abs(want[i]) + 1e-6, `element ${i}: ${g} vs ${want[i]}`);
  }
  for (const h of [ha, hb, hc, fa, fb, fc]) addon.free(h);
});
