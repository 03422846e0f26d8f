// cuda.test.mjs — the CUDA backend against the CPU backend, family by family (DESIGN principle 10).
//
// Runs with plain `node --test test/gpu/` (npm run test:gpu): node:test and node:assert only, and
// the raw addon build-cuda/Release/entrena.node (npm run build:cuda), so it needs neither the
// TypeScript build nor vitest. Each test makes the same call on device 0 (cpu) and device 1 (cuda)
// from the same host data and compares, |cuda − cpu| ≤ atol + rtol·|cpu| (NaN matches NaN, ±inf
// matches itself). Without a GPU (or without the CUDA build) every test skips and says why.
//
// Raw binding API (native/bindings.cc): elementwise ops read their shape and operand strides from
// the scratch Float64Array given to init(): [0] ndim, [1..8] shape, operand o at 16 + 16·o:
// [0] element offset, [1..8] strides (operand 0 is the output).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  addon, scratch, gpuTest, root, CPU, CUDA, F32, F64, I32, ARRAY, NAME, upload, download, randomArray, close,
} from '../helpers/cuda_addon.mjs';

// ---- helpers -------------------------------------------------------------------------------------

const DTYPES = [F32, F64, I32];

const TOL = {
  [F32]: { rtol: 2e-5, atol: 1e-6 },
  [F64]: { rtol: 1e-12, atol: 1e-13 },
  [I32]: { rtol: 0, atol: 0 },
};

// Scratch layout for elementwise calls.
function setIter(shape, operands) {
  scratch.fill(0);
  scratch[0] = shape.length;
  shape.forEach((s, d) => (scratch[1 + d] = s));
  operands.forEach(({ offset = 0, strides }, o) => {
    scratch[16 + 16 * o] = offset;
    strides.forEach((st, d) => (scratch[16 + 16 * o + 1 + d] = st));
  });
}
const contiguous = (shape) => {
  const st = new Array(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; --d) {
    st[d] = s;
    s *= shape[d];
  }
  return st;
};
const numel = (shape) => shape.reduce((a, b) => a * b, 1);

// Runs `body(dev)` on both devices; body returns a typed array. Returns { cpu, cuda }.
function onBoth(body) {
  return { cpu: body(CPU), cuda: body(CUDA) };
}

// Op ids straight from the op table, so a new op is tested without editing this file.
const opsHeader = fs.readFileSync(path.join(root, 'native', 'core', 'ops.h'), 'utf8');
function opTable(macro) {
  const start = opsHeader.indexOf(`#define ${macro}(X)`);
  const end = opsHeader.indexOf('\n\n', start);
  const body = opsHeader.slice(start, end);
  return [...body.matchAll(/X\((\w+),\s*(\d+),/g)].map((m) => ({ name: m[1], id: Number(m[2]) }));
}
const UNARY = opTable('ENTRENA_UNARY_OPS');
const BINARY = opTable('ENTRENA_BINARY_OPS');
const P0 = 2, P1 = 3;  // op parameters that are also sensible as int32 (slopes, bounds, exponents)

// Float inputs: a sweep through [-4, 4] plus the special values every op must agree on.
function floatInputs(dtype) {
  const vals = [];
  for (let i = 0; i < 97; ++i) vals.push(-4 + (8 * i) / 96);
  vals.push(0, -0, 0.5, -0.5, 1e-7, -1e-7, 25, -25, 90, -90, NaN, Infinity, -Infinity);
  return ARRAY[dtype].from(vals);
}

// ---- device status and memory ------------------------------------------------------------------

gpuTest('cuda reports a device and memory', () => {
  assert.ok(addon.cudaDeviceCount() >= 1);
  const m = addon.cudaMemory();
  for (const k of ['allocatedBytes', 'cachedBytes', 'freeBytes', 'totalBytes']) assert.equal(typeof m[k], 'number', k);
  assert.ok(m.totalBytes > 0 && m.freeBytes <= m.totalBytes);
  addon.cudaEmptyCache();
  addon.synchronize(CUDA);
});

gpuTest('copies round-trip and the caching allocator reuses freed blocks', () => {
  const host = randomArray(F32, 1000, 1);
  const h = upload(CUDA, host);
  assert.deepEqual(download(h, F32, 1000), host);
  // partial transfers at a byte offset
  const part = new Float32Array([1, 2, 3]);
  addon.write(h, 40, part);
  const back = new Float32Array(3);
  addon.read(h, 40, back);
  assert.deepEqual(back, part);
  addon.free(h);
  const before = addon.cudaMemory();
  assert.ok(before.cachedBytes >= 4000, 'the freed block is cached');
  const h2 = addon.alloc(CUDA, 4000);
  const after = addon.cudaMemory();
  assert.equal(after.cachedBytes, before.cachedBytes - 4096, 'a cached 4096-byte block is reused');
  addon.free(h2);
});

gpuTest('an impossible allocation throws ERR_OUT_OF_MEMORY and later allocations still work', () => {
  assert.throws(() => addon.alloc(CUDA, 1e15), (e) => e.code === 'ERR_OUT_OF_MEMORY' && /out of memory/i.test(e.message));
  const h = addon.alloc(CUDA, 1 << 20);
  const v = new Float32Array([4, 5, 6]);
  addon.write(h, 0, v);
  assert.deepEqual(download(h, F32, 3), v);
  addon.free(h);
});

// ---- elementwise -------------------------------------------------------------------------------

function runUnary(dev, op, dtype, input, p0 = P0, p1 = P1) {
  const n = input.length;
  const a = upload(dev, input);
  const out = addon.alloc(dev, Math.max(4, n * input.BYTES_PER_ELEMENT));
  setIter([n], [{ strides: [1] }, { strides: [1] }]);
  addon.unary(op, dtype, out, a, p0, p1);
  return download(out, dtype, n);
}

gpuTest('every unary op matches the CPU (float32, float64, int32)', () => {
  for (const dtype of DTYPES) {
    // int32: positive inputs (no NaN → int conversions, no division by zero), plus the signed
    // arithmetic ops on negatives below.
    const input = dtype === I32 ? Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]) : floatInputs(dtype);
    for (const { name, id } of UNARY) {
      const { cpu, cuda } = onBoth((dev) => runUnary(dev, id, dtype, input));
      close(cuda, cpu, TOL[dtype], `unary ${name} (${NAME[dtype]})`);
    }
  }
  const signed = Int32Array.from([-9, -4, -1, 0, 1, 4, 9]);
  for (const name of ['neg', 'abs', 'square', 'sign', 'relu', 'clamp', 'add_scalar', 'mul_scalar', 'affine', 'rsub_scalar']) {
    const { id } = UNARY.find((u) => u.name === name);
    const { cpu, cuda } = onBoth((dev) => runUnary(dev, id, I32, signed));
    close(cuda, cpu, TOL[I32], `unary ${name} (int32, signed)`);
  }
});

function runBinary(dev, op, dtype, shape, a, aStrides, b, bStrides, p0 = P0, p1 = P1) {
  const n = numel(shape);
  const ha = upload(dev, a), hb = upload(dev, b);
  const out = addon.alloc(dev, Math.max(4, n * a.BYTES_PER_ELEMENT));
  setIter(shape, [{ strides: contiguous(shape) }, { strides: aStrides }, { strides: bStrides }]);
  addon.binary(op, dtype, out, ha, hb, p0, p1);
  return download(out, dtype, n);
}

gpuTest('every binary op matches the CPU (float32, float64, int32)', () => {
  const n = 257;
  for (const dtype of DTYPES) {
    const a = randomArray(dtype, n, 11, dtype === I32 ? -9 : -3, dtype === I32 ? 9 : 3);
    const b = randomArray(dtype, n, 12, dtype === I32 ? 1 : -3, dtype === I32 ? 9 : 3);
    if (dtype === I32) for (let i = 0; i < n; i += 2) b[i] = -b[i];  // signed, never 0
    else {
      a[3] = NaN; b[5] = NaN; a[7] = b[7] = NaN;  // maximum/minimum propagate NaN
      a[9] = Infinity; b[10] = -Infinity; a[11] = b[11];  // ties for eq/ge/le
    }
    for (const { name, id } of BINARY) {
      const { cpu, cuda } = onBoth((dev) => runBinary(dev, id, dtype, [n], a, [1], b, [1]));
      close(cuda, cpu, TOL[dtype], `binary ${name} (${NAME[dtype]})`);
    }
  }
});

gpuTest('binary broadcasting and strided views match the CPU', () => {
  const add = BINARY.find((o) => o.name === 'add').id;
  const mul = BINARY.find((o) => o.name === 'mul').id;
  const shape = [3, 4, 5];
  for (const dtype of DTYPES) {
    // a: [3, 1, 5] broadcast over dim 1; b: [1, 4, 1] broadcast over dims 0 and 2
    const a = randomArray(dtype, 15, 21), b = randomArray(dtype, 4, 22);
    let r = onBoth((dev) => runBinary(dev, add, dtype, shape, a, [5, 0, 1], b, [0, 1, 0]));
    close(r.cuda, r.cpu, TOL[dtype], `add broadcast (${NAME[dtype]})`);
    // a scalar (all strides 0) and a transposed view: b stored [5, 4, 3] read as [3, 4, 5]
    const s = randomArray(dtype, 1, 23), t = randomArray(dtype, 60, 24);
    r = onBoth((dev) => runBinary(dev, mul, dtype, shape, s, [0, 0, 0], t, [1, 3, 12]));
    close(r.cuda, r.cpu, TOL[dtype], `mul scalar × transposed (${NAME[dtype]})`);
  }
  // a strided output (every other element of a [6, 10] buffer) from a rank-4 iteration
  const { cpu, cuda } = onBoth((dev) => {
    const a = upload(dev, randomArray(F32, 30, 31));
    const b = upload(dev, randomArray(F32, 30, 32));
    const out = upload(dev, new Float32Array(60).fill(-1));
    setIter([2, 3, 1, 5], [{ offset: 1, strides: [30, 10, 0, 2] }, { strides: [15, 5, 5, 1] }, { strides: [1, 2, 0, 6] }]);
    addon.binary(add, F32, out, a, b, 0, 0);
    return download(out, F32, 60);
  });
  close(cuda, cpu, TOL[F32], 'add into a strided output');
  // large enough for many blocks, and a rank-8 iteration
  const big = onBoth((dev) => runBinary(dev, add, F32, [1000, 1000], randomArray(F32, 1000, 41), [0, 1], randomArray(F32, 1000, 42), [1, 0]));
  close(big.cuda, big.cpu, TOL[F32], 'outer sum 1000 × 1000');
  const s8 = [2, 3, 2, 2, 3, 2, 2, 3];
  const strided8 = contiguous(s8).map((x, d) => (d % 2 ? x : 0));
  const r8 = onBoth((dev) => runBinary(dev, mul, F64, s8, randomArray(F64, numel(s8), 43), strided8, randomArray(F64, numel(s8), 44), contiguous(s8)));
  close(r8.cuda, r8.cpu, TOL[F64], 'rank-8 broadcast');
});

gpuTest('where, cast and fill match the CPU', () => {
  const n = 100;
  for (const dtype of DTYPES)
    for (const cdt of DTYPES) {
      const { cpu, cuda } = onBoth((dev) => {
        const c = upload(dev, randomArray(cdt, n, 51, -1, 1).map((v) => (Math.abs(v) < 0.3 ? 0 : v)));
        const a = upload(dev, randomArray(dtype, n, 52)), b = upload(dev, randomArray(dtype, 1, 53));
        const out = addon.alloc(dev, n * 8);
        setIter([n], [{ strides: [1] }, { strides: [1] }, { strides: [1] }, { strides: [0] }]);
        addon.where(dtype, cdt, out, c, a, b);
        return download(out, dtype, n);
      });
      close(cuda, cpu, TOL[dtype], `where ${NAME[dtype]} / cond ${NAME[cdt]}`);
    }
  for (const odt of DTYPES)
    for (const idt of DTYPES) {
      const { cpu, cuda } = onBoth((dev) => {
        const a = upload(dev, randomArray(idt, 60, 54, -50, 50));
        const out = addon.alloc(dev, 60 * 8);
        setIter([3, 20], [{ strides: [20, 1] }, { strides: [1, 3] }]);  // transposing copy
        addon.cast(odt, idt, out, a);
        return download(out, odt, 60);
      });
      close(cuda, cpu, { rtol: 0, atol: 0 }, `cast ${NAME[idt]} → ${NAME[odt]}`);
    }
  for (const dtype of DTYPES) {
    const { cpu, cuda } = onBoth((dev) => {
      const out = upload(dev, new ARRAY[dtype](40));
      setIter([4, 5], [{ offset: 1, strides: [10, 2] }]);
      addon.fill(dtype, out, 7.25);
      return download(out, dtype, 40);
    });
    close(cuda, cpu, { rtol: 0, atol: 0 }, `fill ${NAME[dtype]}`);
  }
});

// ---- reductions and softmax -----------------------------------------------------------------------

const REDUCE = ['sum', 'mean', 'max', 'min', 'argmax', 'argmin', 'var', 'prod'];

function runReduce(dev, op, dtype, outer, n, inner, input, p0 = 1) {
  const isArg = op === 4 || op === 5;
  const odt = isArg ? I32 : dtype;
  const hin = upload(dev, input);
  const out = addon.alloc(dev, Math.max(4, outer * inner * 8));
  addon.reduce(op, dtype, outer, n, inner, hin, 0, out, 0, p0);
  return download(out, odt, outer * inner);
}

gpuTest('reductions match the CPU over [outer, n, inner] (sum, mean, max, min, argmax, argmin, var, prod)', () => {
  const shapes = [
    [1, 1, 1], [7, 33, 1], [3, 50, 17], [1000, 3, 64], [2, 300, 1], [1, 1 << 20, 1], [3, 70000, 2], [5, 1, 9],
  ];
  for (const dtype of [F32, F64, I32])
    for (const [outer, n, inner] of shapes) {
      const total = outer * n * inner;
      const input = randomArray(dtype, total, outer * 31 + n * 7 + inner, dtype === I32 ? -3 : -2, dtype === I32 ? 3 : 2);
      for (let op = 0; op < REDUCE.length; ++op) {
        if (dtype === I32 && (op === 1 || op === 6)) continue;  // mean/var need a floating dtype
        // prod over many elements under/overflows identically but uninformatively: short rows only
        if (op === 7 && n > 64) continue;
        const { cpu, cuda } = onBoth((dev) => runReduce(dev, op, dtype, outer, n, inner, input));
        const tol = op === 4 || op === 5 || dtype === I32 ? { rtol: 0, atol: 0 } : dtype === F32 ? { rtol: 1e-4, atol: 1e-5 } : { rtol: 1e-10, atol: 1e-12 };
        close(cuda, cpu, tol, `${REDUCE[op]} ${NAME[dtype]} [${outer}, ${n}, ${inner}]`);
      }
    }
});

gpuTest('reductions propagate NaN, break ties to the first index and handle empty dims as the CPU', () => {
  // rows: a NaN in the middle; ties of the maximum; all equal
  const input = Float32Array.from([1, NaN, 3, NaN, 5, /**/ 2, 7, 7, 1, 7, /**/ 4, 4, 4, 4, 4]);
  for (const op of [2, 3, 4, 5]) {
    const { cpu, cuda } = onBoth((dev) => runReduce(dev, op, F32, 3, 5, 1, input));
    close(cuda, cpu, { rtol: 0, atol: 0 }, `${REDUCE[op]} with NaN and ties`);
  }
  // n = 0: sum → 0, prod → 1, mean/var → NaN; max/min refuse
  for (const op of [0, 1, 6, 7]) {
    const { cpu, cuda } = onBoth((dev) => runReduce(dev, op, F64, 2, 0, 3, new Float64Array(0)));
    close(cuda, cpu, { rtol: 0, atol: 0 }, `${REDUCE[op]} over an empty dimension`);
  }
  assert.throws(() => runReduce(CUDA, 2, F32, 2, 0, 3, new Float32Array(0)), (e) => e.code === 'ERR_SHAPE');
  // var with correction 0 and with correction ≥ n (NaN)
  for (const p0 of [0, 5]) {
    const x = randomArray(F64, 10, 3);
    const { cpu, cuda } = onBoth((dev) => runReduce(dev, 6, F64, 2, 5, 1, x, p0));
    close(cuda, cpu, TOL[F64], `var correction ${p0}`);
  }
});

function runSoftmax(dev, dtype, log, outer, n, inner, input) {
  const hin = upload(dev, input);
  const out = addon.alloc(dev, Math.max(4, input.byteLength));
  addon.softmax(dtype, log, outer, n, inner, hin, 0, out, 0);
  return download(out, dtype, input.length);
}

gpuTest('softmax and log_softmax (forward and backward) match the CPU', () => {
  const shapes = [[1, 1, 1], [4, 10, 1], [3, 1000, 1], [2, 7, 33], [64, 3, 5], [1, 5000, 3]];
  for (const dtype of [F32, F64])
    for (const log of [false, true])
      for (const [outer, n, inner] of shapes) {
        const total = outer * n * inner;
        const x = randomArray(dtype, total, n + inner, -6, 6);
        const tol = dtype === F32 ? { rtol: 1e-5, atol: 1e-6 } : { rtol: 1e-12, atol: 1e-14 };
        const fwd = onBoth((dev) => runSoftmax(dev, dtype, log, outer, n, inner, x));
        close(fwd.cuda, fwd.cpu, tol, `${log ? 'log_' : ''}softmax ${NAME[dtype]} [${outer}, ${n}, ${inner}]`);
        const dy = randomArray(dtype, total, 99 + n);
        const bwd = onBoth((dev) => {
          const y = upload(dev, fwd.cpu), g = upload(dev, dy);
          const dx = addon.alloc(dev, Math.max(4, dy.byteLength));
          addon.softmaxBackward(dtype, log, outer, n, inner, y, 0, g, 0, dx, 0);
          return download(dx, dtype, total);
        });
        close(bwd.cuda, bwd.cpu, { rtol: tol.rtol * 10, atol: tol.atol * 10 }, `${log ? 'log_' : ''}softmax backward ${NAME[dtype]} [${outer}, ${n}, ${inner}]`);
      }
  // a row of −∞ and a row with NaN behave as on the CPU
  const special = Float32Array.from([-Infinity, -Infinity, -Infinity, 1, NaN, 2, 0, 0, Infinity]);
  for (const log of [false, true]) {
    const r = onBoth((dev) => runSoftmax(dev, F32, log, 3, 3, 1, special));
    close(r.cuda, r.cpu, { rtol: 1e-6, atol: 1e-7 }, `${log ? 'log_' : ''}softmax special rows`);
  }
});

// ---- indexing ------------------------------------------------------------------------------------

function runIndex(dev, kind, dtype, outer, nBig, inner, src, idx, nIdx, outInit) {
  const hs = upload(dev, src), hi = upload(dev, idx), ho = upload(dev, outInit);
  addon.index(kind, dtype, outer, nBig, inner, hs, 0, hi, 0, nIdx, ho, 0);
  return download(ho, dtype, outInit.length);
}

gpuTest('index_select, index_add, gather and scatter_add match the CPU', () => {
  const outer = 3, nBig = 11, inner = 5, nIdx = 7;
  const idx = Int32Array.from([0, 10, 3, 3, 7, 0, 3]);  // repeats: the scatters must accumulate
  const perElem = randomArray(I32, outer * nIdx * inner, 61, 0, nBig - 1);
  for (const dtype of DTYPES) {
    const big = randomArray(dtype, outer * nBig * inner, 62);
    const small = randomArray(dtype, outer * nIdx * inner, 63);
    const tol = dtype === F32 ? { rtol: 1e-6, atol: 1e-6 } : dtype === F64 ? { rtol: 1e-14, atol: 1e-14 } : TOL[I32];
    let r = onBoth((dev) => runIndex(dev, 0, dtype, outer, nBig, inner, big, idx, nIdx, new ARRAY[dtype](small.length)));
    close(r.cuda, r.cpu, TOL[I32], `index_select ${NAME[dtype]}`);
    r = onBoth((dev) => runIndex(dev, 1, dtype, outer, nBig, inner, small, idx, nIdx, big.slice()));
    close(r.cuda, r.cpu, tol, `index_add ${NAME[dtype]}`);
    r = onBoth((dev) => runIndex(dev, 2, dtype, outer, nBig, inner, big, perElem, nIdx, new ARRAY[dtype](small.length)));
    close(r.cuda, r.cpu, TOL[I32], `gather ${NAME[dtype]}`);
    r = onBoth((dev) => runIndex(dev, 3, dtype, outer, nBig, inner, small, perElem, nIdx, big.slice()));
    close(r.cuda, r.cpu, tol, `scatter_add ${NAME[dtype]}`);
  }
});

gpuTest('an out-of-range index fails with ERR_INDEX before anything is written', () => {
  const dst = new Float32Array(3 * 4 * 2).fill(1);
  for (const bad of [4, -1]) {
    const idx = Int32Array.from([0, 1, bad]);
    const hs = upload(CUDA, new Float32Array(3 * 3 * 2).fill(5)), hi = upload(CUDA, idx), ho = upload(CUDA, dst);
    assert.throws(() => addon.index(1, F32, 3, 4, 2, hs, 0, hi, 0, 3, ho, 0),
      (e) => e.code === 'ERR_INDEX' && e.message.includes(String(bad)));
    assert.deepEqual(download(ho, F32, dst.length), dst, 'index_add left its destination untouched');
    const per = upload(CUDA, Int32Array.from({ length: 18 }, (_, i) => (i === 17 ? bad : 0)));
    assert.throws(() => addon.index(3, F32, 3, 4, 2, hs, 0, per, 0, 3, ho, 0), (e) => e.code === 'ERR_INDEX');
    assert.deepEqual(download(ho, F32, dst.length), dst, 'scatter_add left its destination untouched');
  }
});

// ---- random --------------------------------------------------------------------------------------

gpuTest('random_uniform and random_normal reproduce the CPU numbers (same Philox stream)', () => {
  for (const dtype of [F32, F64])
    for (const [n, offset] of [[1, 0], [7, 3], [1001, 12345], [1 << 18, 2 ** 40]]) {
      for (const kind of [0, 1]) {
        const [a, b] = kind === 0 ? [-2, 3] : [0.5, 2];
        const { cpu, cuda } = onBoth((dev) => {
          const out = addon.alloc(dev, n * 8);
          addon.random(kind, dtype, n, out, 0, 1234567, offset, a, b);
          return download(out, dtype, n);
        });
        // uniforms are bit-identical; normals go through log/sin/cos, whose device versions may
        // differ from glibc's in the last ulp
        const tol = kind === 0 ? { rtol: 0, atol: 0 } : dtype === F32 ? { rtol: 1e-6, atol: 1e-6 } : { rtol: 1e-13, atol: 1e-13 };
        close(cuda, cpu, tol, `${kind ? 'normal' : 'uniform'} ${NAME[dtype]} n=${n} offset=${offset}`);
      }
    }
});

// ---- GEMM ----------------------------------------------------------------------------------------

function runGemm(dev, dtype, { ta, tb, m, n, k, batch = 1, alpha = 1, beta = 0, pad = 0, A, B, C }) {
  const lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
  const strideA = (ta ? k : m) * lda, strideB = (tb ? n : k) * ldb, strideC = m * ldc;
  const ha = upload(dev, A), hb = upload(dev, B), hc = upload(dev, C);
  addon.gemm(dtype, ta, tb, m, n, k, alpha, ha, 0, lda, strideA, hb, 0, ldb, strideB, beta, hc, 0, ldc, strideC, batch);
  return download(hc, dtype, C.length);
}

function gemmCase(dtype, c) {
  const pad = c.pad ?? 0, batch = c.batch ?? 1;
  const lda = (c.ta ? c.m : c.k) + pad, ldb = (c.tb ? c.k : c.n) + pad, ldc = c.n + pad;
  const A = randomArray(dtype, Math.max(1, batch * (c.ta ? c.k : c.m) * lda), c.m * 3 + c.k, -1, 1);
  const B = randomArray(dtype, Math.max(1, batch * (c.tb ? c.n : c.k) * ldb), c.n * 5 + c.k, -1, 1);
  // beta = 0 must not read C: seed it with NaN then (BLAS semantics)
  const C = c.beta ? randomArray(dtype, Math.max(1, batch * c.m * ldc), 7, -1, 1) : new ARRAY[dtype](Math.max(1, batch * c.m * ldc)).fill(NaN);
  const args = { ...c, A, B, C };
  const { cpu, cuda } = onBoth((dev) => runGemm(dev, dtype, args));
  // float32 accumulates in float: error grows like sqrt(K)·2⁻²⁴ per unit of |a||b|
  const tol = dtype === F32 ? { rtol: 1e-4, atol: 2e-6 * Math.max(1, c.k) } : { rtol: 1e-11, atol: 1e-12 * Math.max(1, c.k) };
  // padding columns of C keep their NaN on both devices; compare all entries
  close(cuda, cpu, tol, `gemm ${NAME[dtype]} ${JSON.stringify({ ...c })}`);
}

gpuTest('gemm matches the CPU: all transposes, odd sizes, alpha/beta, padding, batches', () => {
  const sizes = [
    { m: 1, n: 1, k: 1 },
    { m: 17, n: 33, k: 9 },
    { m: 130, n: 257, k: 129, alpha: 0.5, beta: 2 },
    { m: 64, n: 64, k: 0, beta: 1.5 },            // K = 0: C = beta·C
    { m: 5, n: 7, k: 300, pad: 3 },               // leading dimensions with padding (scalar loads)
    { m: 300, n: 200, k: 50, batch: 3 },
  ];
  for (const dtype of [F32, F64])
    for (const ta of [false, true])
      for (const tb of [false, true])
        for (const s of sizes) gemmCase(dtype, { ...s, ta, tb });
});

gpuTest('gemm 128×128 fast path matches the CPU: edge tiles, misaligned rows, batches', () => {
  // sizes with ≥ one wave of 128×128 tiles, so the fast float32 kernel runs
  const sizes = [
    { m: 1500, n: 1700, k: 77 },                         // edge tiles in M, N and K
    { m: 2048, n: 1536, k: 64, alpha: -1.25, beta: 0.5 },
    { m: 1600, n: 1600, k: 33, pad: 1 },                  // ld not a multiple of 4: scalar loads
    { m: 130, n: 130, k: 20, batch: 40 },                 // batched over gridDim.z
  ];
  for (const ta of [false, true])
    for (const tb of [false, true])
      for (const s of sizes) gemmCase(F32, { ...s, ta, tb });
});

gpuTest('invalid batch norm calls are rejected on cuda as on the cpu', () => {
  for (const dev of [CPU, CUDA]) {
    const x = addon.alloc(dev, 64), y = addon.alloc(dev, 64), other = addon.alloc(dev === CPU ? CUDA : CPU, 64);
    try {
      // Evaluation mode needs the running statistics.
      assert.throws(() => addon.batchnormForward(F32, 2, 2, 1, 1e-5, 0.1, false, x, 0, y, 0, null, null, null, null, null, null),
        (e) => e.code === 'ERR_INVALID_ARGUMENT', `device ${dev}`);
      // The output on the other device.
      assert.throws(() => addon.batchnormForward(F32, 2, 2, 1, 1e-5, 0.1, true, x, 0, other, 0, null, null, null, null, null, null),
        (e) => e.code === 'ERR_DEVICE', `device ${dev}`);
      // Past the end of the buffer (2·2·1 floats fit in 64 bytes; 4·4·2 do not).
      assert.throws(() => addon.batchnormForward(F32, 4, 4, 2, 1e-5, 0.1, true, x, 0, y, 0, null, null, null, null, null, null),
        (e) => e.code === 'ERR_INDEX', `device ${dev}`);
    } finally {
      addon.free(x); addon.free(y); addon.free(other);
    }
  }
});
