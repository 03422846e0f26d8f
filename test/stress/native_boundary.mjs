// native_boundary.mjs — adversarial inputs across the N-API boundary, meant to run under
// AddressSanitizer + UBSan (scripts/sanitize.sh builds the instrumented addon and runs each section
// in its own process, so one report does not hide the next). Plain node, no test framework.
//
//   node test/stress/native_boundary.mjs api        public ops: random shapes, views, NaN, empty, huge
//   node test/stress/native_boundary.mjs raw        the raw binding: random handles, offsets, extents,
//                                                   scratch contents, index values, GEMM strides
//   node test/stress/native_boundary.mjs overflow:<case>   one crafted extent overflow (see OVERFLOW)
//   node test/stress/native_boundary.mjs list       prints the section names
//
// Every call must return or throw an EntrenaError; the process prints `OK <section> <calls>` and
// exits 0, or prints `FAIL ...` and exits 1. A sanitizer report (or a signal) is a failure too —
// the runner looks for it in stderr. Uses the compiled dist/ and whatever addon ENTRENA_ADDON names.

const root = new URL('../../', import.meta.url);
const E = await import(new URL('dist/index.js', root).href);
const { native, scratch } = await import(new URL('dist/native.js', root).href);

const section = process.argv[2] ?? 'api';
const iterations = Number(process.env.ENTRENA_BOUNDARY_ITERS ?? 4000);

// A small seeded PRNG (mulberry32) so a failing run can be replayed with ENTRENA_BOUNDARY_SEED.
let seed = Number(process.env.ENTRENA_BOUNDARY_SEED ?? 12345) >>> 0;
function rnd() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
const pick = (xs) => xs[Math.floor(rnd() * xs.length)];

let calls = 0;
const failures = [];
const trace = process.env.ENTRENA_BOUNDARY_TRACE === '1';
function attempt(label, fn) {
  calls++;
  if (trace) console.error(`[${calls}] ${label}`);
  try {
    const r = fn();
    if (r && typeof r.dispose === 'function') r.dispose();
  } catch (e) {
    if (!(e instanceof E.EntrenaError) || typeof e.code !== 'string') {
      failures.push(`${label}: ${e?.constructor?.name}: ${e?.message}`);
    }
  }
}

// ---- section 'api': the public surface -------------------------------------------------------

function randomTensor() {
  const rank = int(0, 4);
  const shape = Array.from({ length: rank }, () => pick([0, 1, 1, 2, 3, 5]));
  const dtype = pick(['float32', 'float64', 'int32']);
  const n = shape.reduce((a, b) => a * b, 1);
  const vals = Array.from({ length: n }, () => (dtype === 'int32' ? int(-3, 3) : pick([NaN, Infinity, -Infinity, 0, -0, 1e38, -1e38, 1e-45, rnd() * 10 - 5])));
  let t = E.tensor(vals, { shape, dtype });
  const v = int(0, 5);
  if (v === 0 && rank >= 2) { const u = t.transpose(0, rank - 1); t.dispose(); t = u; }
  if (v === 1 && rank >= 1 && shape[0] > 1) { const u = t.narrow(0, 1, shape[0] - 1); t.dispose(); t = u; }
  if (v === 2 && rank >= 1) { const u = t.unsqueeze(0).expand([3, ...t.shape]); t.dispose(); t = u; }
  return t;
}

const UNARY = ['neg', 'abs', 'exp', 'log', 'sqrt', 'rsqrt', 'square', 'sign', 'sigmoid', 'tanh', 'relu', 'gelu', 'silu', 'mish', 'softplus', 'logSigmoid', 'log1p', 'expm1', 'sin', 'cos', 'reciprocal', 'floor', 'round', 'isnan', 'isfinite'];
const BINARY = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'gt', 'le'];
const REDUCE = ['sum', 'mean', 'variance', 'std', 'max', 'min', 'argmax', 'argmin', 'softmax', 'logSoftmax'];

function apiSection() {
  for (let i = 0; i < iterations; i++) {
    const a = randomTensor(), b = randomTensor();
    const dim = int(-5, 4);
    const kind = int(0, 9);
    switch (kind) {
      case 0: { const op = pick(UNARY); attempt(`${op}([${a.shape}])`, () => E[op](a)); break; }
      case 1: { const op = pick(BINARY); attempt(`${op}([${a.shape}], [${b.shape}])`, () => E[op](a, b)); break; }
      case 2: { const op = pick(REDUCE); attempt(`${op}([${a.shape}], ${dim})`, () => (op.includes('oftmax') ? E[op](a, dim) : E[op](a, pick([undefined, dim]), { keepDim: rnd() < 0.5 }))); break; }
      case 3: attempt(`matmul([${a.shape}], [${b.shape}])`, () => E.matmul(a.cast('float32'), b.cast('float32'))); break;
      case 4: {
        const idx = Array.from({ length: int(0, 4) }, () => int(-2, 6));
        attempt(`indexSelect([${a.shape}], ${dim}, [${idx}])`, () => E.indexSelect(a, dim, idx));
        attempt(`gather([${a.shape}], ${dim})`, () => E.gather(a, dim, E.tensor(idx.length ? idx : [0], { dtype: 'int32' }).reshape([...a.shape.map(() => 1).slice(1), idx.length || 1])));
        break;
      }
      case 5: attempt(`concat([${a.shape}], [${b.shape}], ${dim})`, () => E.concat([a, b], dim)); break;
      case 6: {
        // Views that reach far without allocating: expand to huge sizes, then op on them.
        // Only sizes no allocator grants: 2^31 floats would be granted by overcommit and take minutes.
        const huge = pick([2 ** 40, 2 ** 46, 2 ** 52]);
        attempt(`expand huge ${huge}`, () => { const v = E.ones([1]).expand([huge]); try { return v.add(1); } finally { v.dispose(); } });
        attempt(`expand huge sum ${huge}`, () => { const v = E.ones([1, 1]).expand([huge, huge]); try { return v.sum(0); } finally { v.dispose(); } });
        break;
      }
      case 7: attempt(`where([${a.shape}], [${b.shape}])`, () => E.where(a.gt(0), a, b)); break;
      case 8: {
        const w = E.randn([3, 2], { requiresGrad: true });
        attempt('grad through ops', () => { const x = E.randn([int(0, 4), 3]); const l = x.matmul(w).relu().sum(); l.backward(); x.dispose(); return l; });
        attempt('clamp/cast', () => a.clamp(-1, 1).cast(pick(['float32', 'float64', 'int32'])));
        w.grad = null; w.dispose();
        break;
      }
      case 9: {
        a.dispose();
        attempt('use after dispose', () => a.add(1));
        attempt('data after dispose', () => a.data());
        break;
      }
    }
    a.dispose(); b.dispose();
  }
  // Optimizers over odd parameter sets (empty, 0-d, NaN gradients), fused native step.
  for (const name of ['SGD', 'Adam', 'AdamW', 'Adagrad', 'RMSprop', 'Adamax', 'NAdam']) {
    const ps = [E.randn([0], { requiresGrad: true }), E.randn([], { requiresGrad: true }), E.randn([7, 3], { requiresGrad: true, dtype: 'float64' })];
    for (const p of ps) p.grad = E.full(p.shape, pick([NaN, Infinity, 1]), { dtype: p.dtype });
    attempt(`optim.${name}`, () => { const o = new E.optim[name](ps, { lr: 0.1, momentum: 0.9 }); o.step(); o.step(); o.zeroGrad(); });
    for (const p of ps) { p.grad = null; p.dispose(); }
  }
  // BatchNorm over empty, single and NaN batches.
  for (const n of [0, 1, 2, 5]) {
    attempt(`BatchNorm1d n=${n}`, () => { const bn = new E.nn.BatchNorm1d(3); const x = E.full([n, 3], n === 5 ? NaN : 1); const y = bn.forward(x); x.dispose(); return y; });
  }
}

// ---- section 'raw': the binding itself --------------------------------------------------------

const handles = [];
function handle() {
  if (handles.length < 8 || rnd() < 0.1) { const bytes = pick([0, 4, 8, 12, 16, 64, 256]); const h = native.alloc(0, bytes); sizes.set(h, bytes); handles.push(h); }
  return pick(handles);
}
function junkHandle() {
  return pick([null, undefined, 0, {}, 'x', new Float32Array(4), { __brand: 'entrena.buffer' }]);
}
// ENTRENA_BOUNDARY_AVOID_KNOWN=1 steers around the bugs already reported (to look for others).
const avoidKnown = process.env.ENTRENA_BOUNDARY_AVOID_KNOWN === '1';
const known = (id, matches) => avoidKnown && matches;
const sizes = new WeakMap();
const describeArgs = (args) => args.map((a) => (a && typeof a === 'object' ? `h${sizes.get(a) ?? '?'}` : String(a))).join(', ');
const OFF = () => pick([0, 0, 0, 1, 3, 15, 16, 63, 64, 255, -1, -16, 2 ** 31, 2 ** 53]);
const EXT = () => pick([0, 1, 1, 2, 3, 4, 7, 16, 64, -1]);

function fillScratch(nops) {
  const nd = pick([0, 1, 2, 3, 8, 9, -1, NaN]);
  scratch.fill(0);
  scratch[0] = nd;
  for (let d = 0; d < 8; d++) scratch[1 + d] = pick([0, 1, 2, 3, 4, 16, -1, 1.5, NaN, 2 ** 40]);
  for (let o = 0; o < nops; o++) {
    const base = 16 + 16 * o;
    scratch[base] = OFF();
    for (let d = 0; d < 8; d++) scratch[base + 1 + d] = pick([0, 1, 1, 2, 4, 16, -1, -4, 2 ** 40, -(2 ** 40)]);
  }
}

function rawSection() {
  for (let i = 0; i < iterations; i++) {
    const dt = pick([0, 1, 2, 3, -1]);
    switch (int(0, 9)) {
      case 0: attempt('alloc', () => { const h = native.alloc(pick([0, 1]), pick([0, 1, 7, -1, NaN, 1.5, 2 ** 62, 2 ** 53])); native.free(h); }); break;
      case 1: {
        const ta = pick([new Float32Array(int(0, 70)), new Uint8Array(int(0, 300)), new Float64Array(int(0, 40)), new Int32Array(8).subarray(2, 5)]);
        attempt('write', () => native.write(rnd() < 0.05 ? junkHandle() : handle(), OFF(), ta));
        attempt('read', () => native.read(handle(), OFF(), ta));
        break;
      }
      case 2: fillScratch(2); attempt(`unary nd=${scratch[0]}`, () => native.unary(int(-1, 40), dt, handle(), handle(), rnd(), rnd())); break;
      case 3: fillScratch(3); attempt(`binary nd=${scratch[0]}`, () => native.binary(int(-1, 20), dt, handle(), rnd() < 0.3 ? rnd() : handle(), rnd() < 0.3 ? 2 : handle(), 0, 0)); break;
      case 4: fillScratch(4); attempt('where', () => native.where(dt, pick([0, 2]), handle(), handle(), handle(), handle())); break;
      case 5: { const args = [int(-1, 8), dt, EXT(), EXT(), EXT(), handle(), OFF(), handle(), OFF(), 0]; attempt(`reduce ${describeArgs(args)}`, () => native.reduce(...args)); break; }
      case 6:
        { const args = [dt, rnd() < 0.5, EXT(), EXT(), EXT(), handle(), OFF(), handle(), OFF()]; if (!known('softmax-n0', args[3] === 0 && args[2] * args[4] > 0)) attempt(`softmax ${describeArgs(args)}`, () => native.softmax(...args)); }
        { const args = [dt, rnd() < 0.5, EXT(), EXT(), EXT(), handle(), OFF(), handle(), OFF(), handle(), OFF()]; if (!known('softmax-n0', args[3] === 0 && args[2] * args[4] > 0)) attempt(`softmaxBackward ${describeArgs(args)}`, () => native.softmaxBackward(...args)); }
        break;
      case 7: {
        // Index buffers holding arbitrary int32 values: the kernels must range-check every index.
        const idx = handle();
        attempt('fill idx', () => { const v = new Int32Array(4); for (let q = 0; q < 4; q++) v[q] = pick([0, 1, 2, 3, -1, 1000, -(2 ** 31), 2 ** 31 - 1]); native.write(idx, 0, v); });
        const args = [int(-1, 4), dt, EXT(), EXT(), EXT(), handle(), OFF(), idx, OFF(), EXT(), handle(), OFF()];
        attempt(`index ${describeArgs(args)}`, () => native.index(...args));
        break;
      }
      case 8: { const args = [int(0, 1), dt, EXT(), handle(), OFF(), int(0, 9), int(0, 9), 0, 1]; attempt(`random ${describeArgs(args)}`, () => native.random(...args)); break; }
      case 9: {
        const [m, n, k, b] = [EXT(), EXT(), EXT(), pick([0, 1, 2, 3])];
        attempt(`gemm ${m}x${n}x${k}x${b}`, () => native.gemm(pick([0, 1]), rnd() < 0.5, rnd() < 0.5, m, n, k, 1, handle(), OFF(), pick([0, 1, 2, 4, 16, -1]), pick([0, 4, 16, -1]),
          handle(), OFF(), pick([0, 1, 2, 4, 16]), pick([0, 4, 16]), 0, handle(), OFF(), pick([0, 1, 2, 4, 16]), pick([0, 4, 16]), b, rnd() < 0.3));
        break;
      }
    }
    if (rnd() < 0.02 && handles.length) {
      // Free a handle and keep using it: every entry point must see it is freed.
      const h = handles[int(0, handles.length - 1)];
      attempt('free', () => native.free(h));
      sizes.set(h, 'freed');
    }
  }
}

// ---- sections 'overflow:<case>': extents whose product overflows int64 -----------------------
// outer·n·inner = 2^64 wraps to 0, so the range check (which skips empty views) passes and the
// kernel runs over 2^32 rows of a 64-byte buffer.

const OVERFLOW = {
  softmax: () => native.softmax(0, false, 2 ** 32, 2 ** 32, 1, native.alloc(0, 64), 0, native.alloc(0, 64), 0),
  softmaxBackward: () => { const h = () => native.alloc(0, 64); native.softmaxBackward(0, false, 2 ** 32, 2 ** 32, 1, h(), 0, h(), 0, h(), 0); },
  reduce: () => native.reduce(0, 0, 2 ** 32, 2 ** 32, 2 ** 32, native.alloc(0, 64), 0, native.alloc(0, 64), 0, 0),
  index: () => { const h = () => native.alloc(0, 64); native.index(0, 0, 2 ** 32, 2 ** 32, 1, h(), 0, h(), 0, 0, h(), 0); },
  gemm: () => { const h = () => native.alloc(0, 64); native.gemm(0, false, false, 2 ** 33, 1, 1, 1, h(), 0, 2 ** 31, 0, h(), 0, 1, 0, 0, h(), 0, 2 ** 31, 0, 1); },
  elementwiseStride: () => {
    // A stride of 2^62 with two elements: (shape - 1) · stride overflows the span check.
    scratch.fill(0); scratch[0] = 1; scratch[1] = 5;
    for (const o of [0, 1]) { scratch[16 + 16 * o] = 0; scratch[16 + 16 * o + 1] = 2 ** 62; }
    native.unary(1, 0, native.alloc(0, 64), native.alloc(0, 64), 0, 0);  // 1: neg
  },
  // Batch norm's n·c·l = 2^64 wraps to 0 the same way; the per-channel arrays (c elements) are
  // null or hold the one channel, so only the [n, c, l] extent check stands between the call and
  // a kernel that walks 2^64 elements of 64-byte buffers.
  batchnormForward: () => {
    const h = () => native.alloc(0, 64);
    native.batchnormForward(0, 2 ** 32, 1, 2 ** 32, 1e-5, 0.1, true, h(), 0, h(), 0, null, null, null, null, null, null);
  },
  batchnormForwardChannels: () => {
    const h = () => native.alloc(0, 64);
    native.batchnormForward(0, 2 ** 31, 2 ** 33, 1, 1e-5, 0.1, true, h(), 0, h(), 0, null, null, null, null, null, null);
  },
  batchnormBackward: () => {
    const h = () => native.alloc(0, 64);
    native.batchnormBackward(0, 2 ** 32, 1, 2 ** 32, 1e-5, true, h(), 0, h(), 0, null, h(), h(), null, null, h(), 0, null, null);
  },
};

// ---- main -----------------------------------------------------------------------------------------

if (section === 'list') {
  console.log(['api', 'raw', ...Object.keys(OVERFLOW).map((k) => `overflow:${k}`)].join('\n'));
  process.exit(0);
}
if (section === 'api') apiSection();
else if (section === 'raw') rawSection();
else if (section.startsWith('overflow:')) {
  const f = OVERFLOW[section.slice(9)];
  if (!f) { console.log(`FAIL unknown section ${section}`); process.exit(2); }
  attempt(section, f);
} else { console.log(`FAIL unknown section ${section}`); process.exit(2); }

if (failures.length) {
  console.log(`FAIL ${section}: ${failures.length} non-Entrena error(s) in ${calls} calls`);
  for (const f of failures.slice(0, 20)) console.log('  ' + f);
  process.exit(1);
}
console.log(`OK ${section} ${calls}`);
