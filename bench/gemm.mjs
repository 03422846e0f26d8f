// bench/gemm.mjs — CPU GEMM benchmark: entrena's fast gemm (native/cpu/gemm.cc) against the reference
// and against PyTorch on the same machine, with the same thread count.
//
// Run: node bench/gemm.mjs [--quick] [--only=1024,2048]   (needs the built addon: build/Release/entrena.node)
// First checks every timed case against the reference GEMM (or, for n ≥ 1024 where the triple-loop
// reference is too slow, against a sample of entries computed here in float64), then times and
// prints GFLOP/s (2·M·N·K / seconds) beside PyTorch's torch.mm, measured in the same run by a
// long-lived Debian /usr/bin/python3 (python3-torch): batches of ours and of PyTorch's alternate,
// so the noise of a shared machine hits both sides of each pair; the ratio is the median of the
// per-pair ratios. Shape legend: M×K×N with
// C (M×N) = op(A) (M×K) · op(B) (K×N); NT means B is stored transposed (dX = dY·Wᵀ in a Linear
// backward), TN means A is (dW = Xᵀ·dY). Environment: ENTRENA_NUM_THREADS, ENTRENA_GEMM=portable.
//
// bf16 rows (n = 256, 512, 1024): our bfloat16 GEMM (float32 panels packed from the bfloat16
// operands, float32 accumulation, C rounded once) against torch.mm on bfloat16 CPU tensors, checked
// against a float64 product of the same bfloat16 inputs (rtol 2⁻⁷ of max|C|: one bfloat16 rounding
// plus float32 accumulation). The PyTorch peer's own bfloat16 result is checked the same way and its
// error printed beside ours (inputs in [-1, 1) for bf16, so that sums cancel as in training).
//
// A second peer, oneDNN's dnnl_sgemm (float32 only), is timed the same way in the same rounds by
// bench/dnnl_sgemm.c, compiled here with the system C compiler when libdnnl-dev is installed
// (apt-get install libdnnl-dev); without it the column is skipped with a line saying so. The header
// names the CPU (model, avx2/avx512f/avx512_bf16 or neon), the GEMM kernel entrena ran
// (cpuFeatures().gemmKernel) and the OpenBLAS core PyTorch's BLAS picked; the peers run in the
// environment of bench/peer.mjs (no OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, MALLOC_MMAP_THRESHOLD_ set).
// With ENTRENA_BLAS=/path/to/libopenblas.so.0 (the external-BLAS seam, native/cpu/blas.cc) a third
// column times our GEMM with the seam on — the large products then run in that library — beside the
// same process with it off, in the same rounds: `seam/ours` says what handing them over gains.
import { createRequire } from 'node:module';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { PYTHON, cpuLine, loadLine, peerBlas, peerEnv } from './peer.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const b = createRequire(import.meta.url)('node-gyp-build')(root);
b.init(new Float64Array(128));
const threads = b.numThreads();
const quick = process.argv.includes('--quick');
const target = quick ? 0.03 : 0.12;  // seconds per timed batch, each side
const runs = quick ? 3 : 9;

const F32 = 0;
const F64 = 1;
const BF16 = 3;

// float32 → bfloat16 bits (round to nearest even, NaN → 0x7FC0: core/half.h) and back.
const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
function bf16FromF32(x) {
  f32[0] = x;
  const b = u32[0];
  if ((b & 0x7fffffff) >>> 0 > 0x7f800000) return 0x7fc0;
  return ((b + 0x7fff + ((b >>> 16) & 1)) / 65536) & 0xffff;
}
function f32FromBf16(h) { u32[0] = h << 16; return f32[0]; }

/** Cases to time: dtype, transposes, M, K, N. */
const cases = [];
for (const n of [64, 128, 256, 512, 1024, 2048]) cases.push({ dt: F32, ta: false, tb: false, m: n, k: n, n });
for (const [m, k, n] of [[128, 784, 512], [128, 512, 256]]) {
  cases.push({ dt: F32, ta: false, tb: false, m, k, n, tag: 'forward' });
  cases.push({ dt: F32, ta: false, tb: true, m, k: n, n: k, tag: 'dX = dY·Wᵀ' });
  cases.push({ dt: F32, ta: true, tb: false, m: k, k: m, n, tag: 'dW = Xᵀ·dY' });
}
for (const n of [256, 1024]) cases.push({ dt: F64, ta: false, tb: false, m: n, k: n, n });
for (const n of [256, 512, 1024]) cases.push({ dt: BF16, ta: false, tb: false, m: n, k: n, n });
// --only=a,b keeps the cases whose label contains one of the strings (e.g. --only=2048,f32\ NT).
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7).split(',');
if (only) cases.splice(0, cases.length, ...cases.filter((c) => only.some((o) => label(c).includes(o))));

// ---- helpers -------------------------------------------------------------------------------------

let seed = 12345;
function rand() {
  // xorshift32: deterministic inputs in [-1, 1)
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return (seed / 2 ** 32) * 2 - 1;
}

/** A storage of `len` random values of dtype `dt`; `arr` holds the values (bfloat16 as float32). */
function makeOperand(dt, len) {
  const arr = dt === F64 ? new Float64Array(len) : new Float32Array(len);
  for (let i = 0; i < len; i++) arr[i] = rand();
  if (dt === BF16) {
    const bits = Uint16Array.from(arr, bf16FromF32);
    arr.set(Array.from(bits, f32FromBf16));
    const h = b.alloc(0, bits.byteLength);
    b.write(h, 0, bits);
    return { h, arr };
  }
  const h = b.alloc(0, arr.byteLength);
  b.write(h, 0, arr);
  return { h, arr };
}

function setup(c) {
  const A = makeOperand(c.dt, c.m * c.k);
  const B = makeOperand(c.dt, c.k * c.n);
  const C = makeOperand(c.dt, c.m * c.n);
  const lda = c.ta ? c.m : c.k;
  const ldb = c.tb ? c.k : c.n;
  const run = (reference = false) =>
    b.gemm(c.dt, c.ta, c.tb, c.m, c.n, c.k, 1, A.h, 0, lda, 0, B.h, 0, ldb, 0, 0, C.h, 0, c.n, 0, 1, reference);
  const read = () => {
    if (c.dt === BF16) {
      const bits = new Uint16Array(c.m * c.n);
      b.read(C.h, 0, bits);
      return Float32Array.from(bits, f32FromBf16);
    }
    const out = c.dt === F32 ? new Float32Array(c.m * c.n) : new Float64Array(c.m * c.n);
    b.read(C.h, 0, out);
    return out;
  };
  const entry = (i, j) => {
    let s = 0;
    for (let p = 0; p < c.k; p++) {
      const a = c.ta ? A.arr[p * lda + i] : A.arr[i * lda + p];
      const bv = c.tb ? B.arr[j * ldb + p] : B.arr[p * ldb + j];
      s += a * bv;
    }
    return s;
  };
  const free = () => { b.free(A.h); b.free(B.h); b.free(C.h); };
  return { run, read, entry, free };
}

function label(c) {
  const t = `${c.ta ? 'T' : 'N'}${c.tb ? 'T' : 'N'}`;
  return `${{ [F32]: 'f32', [F64]: 'f64', [BF16]: 'bf16' }[c.dt]} ${t} ${c.m}×${c.k}×${c.n}`;
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];

// ---- check against the reference -------------------------------------------------------------------

function check(c, s) {
  s.run(false);
  const fast = s.read();
  let ref;
  const samples = [];
  // The reference GEMM rounds bfloat16 results too: those are compared with float64 sums instead.
  if (Math.max(c.m, c.n, c.k) < 1024 && c.dt !== BF16) {
    s.run(true);
    ref = s.read();
    for (let i = 0; i < ref.length; i++) samples.push([i, ref[i]]);
  } else {
    for (let t = 0; t < 256; t++) {
      const i = Math.floor(((rand() + 1) / 2) * c.m), j = Math.floor(((rand() + 1) / 2) * c.n);
      samples.push([i * c.n + j, s.entry(i, j)]);
    }
  }
  let maxAbs = 0, maxErr = 0;
  for (const [idx, v] of samples) {
    maxAbs = Math.max(maxAbs, Math.abs(v));
    maxErr = Math.max(maxErr, Math.abs(fast[idx] - v));
  }
  const rtol = { [F32]: 1e-4, [F64]: 1e-10, [BF16]: 2 ** -7 }[c.dt];
  if (!(maxErr <= rtol * maxAbs)) {
    throw new Error(`${label(c)}: fast GEMM differs from the reference: max |err| ${maxErr} > ${rtol}·${maxAbs}`);
  }
  return maxErr / maxAbs;
}

// ---- timing ---------------------------------------------------------------------------------------

// One timed batch of ours: `reps` calls (chosen at the first batch to last about `target` seconds).
function timer(c, s) {
  const flops = 2 * c.m * c.n * c.k;
  s.run();  // warm-up: page in buffers, grow the packing buffers
  let t0 = process.hrtime.bigint();
  s.run();
  const once = Number(process.hrtime.bigint() - t0) / 1e9;
  const reps = Math.max(1, Math.round(target / Math.max(once, 1e-7)));
  return () => {
    t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) s.run();
    return (flops * reps) / (Number(process.hrtime.bigint() - t0) / 1e9) / 1e9;
  };
}

const pause = () => new Promise((resolve) => setTimeout(resolve, quick ? 50 : 150));

// ---- PyTorch: a long-lived /usr/bin/python3 that times one batch of torch.mm per request ----------

const torchServer = String.raw`
import json, sys, time
import torch
threads = int(sys.argv[1]); target = float(sys.argv[2])
torch.set_num_threads(threads)
print(json.dumps({"version": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
cur = None
for line in sys.stdin:
    c = json.loads(line)
    if cur is None or cur[0] != c["id"]:
        dt = {0: torch.float32, 1: torch.float64, 3: torch.bfloat16}[c["dt"]]
        m, k, n = c["m"], c["k"], c["n"]
        rnd = (lambda *s: (torch.rand(*s) * 2 - 1).to(dt)) if c["dt"] == 3 else (lambda *s: torch.rand(*s, dtype=dt))
        a = rnd(k, m).t() if c["ta"] else rnd(m, k)
        b = rnd(n, k).t() if c["tb"] else rnd(k, n)
        o = torch.empty(m, n, dtype=dt)
        torch.mm(a, b, out=o)
        # Its result against a float64 product of the same inputs, as a fraction of max|C|.
        exact = a.double() @ b.double()
        check = ((o.double() - exact).abs().max() / exact.abs().max()).item()
        t = time.perf_counter(); torch.mm(a, b, out=o); once = time.perf_counter() - t
        cur = (c["id"], a, b, o, max(1, round(target / max(once, 1e-7))), 2.0 * m * n * k, check)
    _, a, b, o, reps, flops, check = cur
    t = time.perf_counter()
    for i in range(reps): torch.mm(a, b, out=o)
    print(json.dumps({"rate": flops * reps / (time.perf_counter() - t) / 1e9, "check": check}), flush=True)
`;

/** Starts the PyTorch timing process; resolves to { ask(case, id) → GFLOP/s, close(), version } or { note }. */
async function startTorch() {
  const py = PYTHON;
  const probe = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    return { note: `PyTorch column skipped: ${py} cannot import torch (${(probe.stderr || String(probe.error)).trim().split('\n').pop()})` };
  }
  const child = spawn(py, ['-c', torchServer, String(threads), String(target)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: peerEnv(threads),
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error('the PyTorch timing process ended early');
    return JSON.parse(value);
  };
  const hello = await next();
  return {
    version: hello.version,
    threads: hello.threads,
    /** One timed batch: GFLOP/s; `full` gives { rate, check } (check: max error / max|C| vs float64). */
    async ask(c, id, full = false) {
      child.stdin.write(JSON.stringify({ id, dt: c.dt, ta: c.ta, tb: c.tb, m: c.m, k: c.k, n: c.n }) + '\n');
      const r = await next();
      return full ? r : r.rate;
    },
    close() { child.stdin.end(); },
  };
}

// ---- oneDNN: bench/dnnl_sgemm.c, compiled here, one batch of dnnl_sgemm per request ---------------

/** Starts the oneDNN timing process; resolves to { ask(case, id) → { rate, check } | null, close() } or { note }. */
async function startDnnl() {
  if (!existsSync('/usr/include/dnnl.h')) return { note: 'oneDNN column skipped: libdnnl-dev is not installed (apt-get install libdnnl-dev)' };
  const cc = ['cc', 'gcc', 'clang'].find((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);
  if (!cc) return { note: 'oneDNN column skipped: no C compiler (cc, gcc or clang) found' };
  const exe = path.join(root, 'build', 'bench', 'dnnl_sgemm');
  mkdirSync(path.dirname(exe), { recursive: true });
  const built = spawnSync(cc, ['-O2', '-std=c11', '-D_POSIX_C_SOURCE=199309L', path.join(root, 'bench', 'dnnl_sgemm.c'), '-o', exe, '-ldnnl', '-lm'], { encoding: 'utf8' });
  if (built.status !== 0) return { note: `oneDNN column skipped: ${cc} could not build bench/dnnl_sgemm.c: ${(built.stderr || '').trim().split('\n').slice(-3).join(' ')}` };
  const child = spawn(exe, [], { stdio: ['pipe', 'pipe', 'inherit'], env: peerEnv(threads) });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const version = spawnSync('sh', ['-c', "dpkg-query -W -f '${Version}' libdnnl-dev 2>/dev/null"], { encoding: 'utf8' }).stdout.trim();
  return {
    version: version || 'unknown version',
    async ask(c, id) {
      child.stdin.write(`${id} ${c.dt} ${c.ta ? 1 : 0} ${c.tb ? 1 : 0} ${c.m} ${c.k} ${c.n} ${target}\n`);
      const { value, done } = await lines.next();
      if (done) throw new Error('the oneDNN timing process ended early');
      const [rate, check] = value.trim().split(/\s+/);
      return rate === 'skip' ? null : { rate: Number(rate), check: Number(check) };
    },
    close() { child.stdin.end(); },
  };
}

// ---- main ------------------------------------------------------------------------------------------

const features = b.cpuFeatures();
console.log(`entrena GEMM benchmark: ${threads} thread(s), GEMM kernel ${features.gemmKernel}`);
console.log(`CPU: ${cpuLine()}; ${loadLine()}`);

const started = Date.now();
const torch = await startTorch();
if (torch.note) console.log(torch.note);
else console.log(`PyTorch ${torch.version}, torch.set_num_threads(${torch.threads}), torch.mm, ${peerBlas(threads)}`);
const dnnl = await startDnnl();
if (dnnl.note) console.log(dnnl.note);
else console.log(`oneDNN ${dnnl.version}, dnnl_sgemm (float32 only), OMP_NUM_THREADS=${threads}`);
console.log('entrena and the peers alternate batch by batch; the peers run without OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE, with MALLOC_MMAP_THRESHOLD_=268435456');

// The external-BLAS seam, when ENTRENA_BLAS loaded a library: timed with it on and off in turn.
const seam = b.blasInfo();
if (seam.library) console.log(`ENTRENA_BLAS=${seam.library}: products of M·N·K ≥ ${seam.minWork}, K ≥ ${seam.minK}, M ≥ ${seam.minM} go to it in the 'seam' column`);
else if (seam.error) console.log(`seam column skipped: ${seam.error}`);
const withSeam = (on, fn) => { if (seam.library) b.setBlasEnabled(on); try { return fn(); } finally { if (seam.library) b.setBlasEnabled(false); } };
if (seam.library) b.setBlasEnabled(false);

const rows = [];
for (const [i, c] of cases.entries()) {
  const s = setup(c);
  try {
    const ourErr = check(c, s);
    if (seam.library) withSeam(true, () => check(c, s));
    const ours = timer(c, s);
    const viaSeam = seam.library ? withSeam(true, () => timer(c, s)) : null;
    const seamRates = [], seamRatios = [];
    const mine = [], theirs = [], ratios = [], onednn = [], dratios = [];
    let torchCheck = null;
    if (!torch.note) torchCheck = (await torch.ask(c, i, true)).check;  // PyTorch's warm-up batch
    // oneDNN's warm-up batch, which also checks its result (a mis-specified call would time garbage).
    const dnnlFirst = dnnl.note ? null : await dnnl.ask(c, i);
    if (dnnlFirst && !(dnnlFirst.check <= 1e-4)) throw new Error(`${label(c)}: dnnl_sgemm differs from a float64 dot product by ${dnnlFirst.check} of max|C|`);
    for (let r = 0; r < runs; r++) {
      // Alternating batches see the same machine: a neighbour's load slows both sides of a pair.
      // The pauses let each side's idle threads stop spinning (OpenBLAS's for up to ~0.1 s, ours
      // for microseconds) before the other side is timed.
      await pause();
      const o = ours();
      mine.push(o);
      if (viaSeam) {
        await pause();
        const v = withSeam(true, viaSeam);
        seamRates.push(v);
        seamRatios.push(v / o);
      }
      if (!torch.note) {
        await pause();
        const t = await torch.ask(c, i);
        theirs.push(t);
        ratios.push(o / t);
      }
      if (dnnlFirst) {
        await pause();
        const d = (await dnnl.ask(c, i)).rate;
        onednn.push(d);
        dratios.push(o / d);
      }
    }
    rows.push({
      case: label(c) + (c.tag ? ` (${c.tag})` : ''),
      ourErr: ourErr.toExponential(1),
      torchErr: torchCheck === null ? '-' : torchCheck.toExponential(1),
      ours: median(mine).toFixed(1),
      torch: theirs.length ? median(theirs).toFixed(1) : '-',
      ratio: ratios.length ? median(ratios).toFixed(2) + '×' : '-',
      dnnl: onednn.length ? median(onednn).toFixed(1) : '-',
      dratio: dratios.length ? median(dratios).toFixed(2) + '×' : '-',
      seam: seamRates.length ? median(seamRates).toFixed(1) : '-',
      sratio: seamRatios.length ? median(seamRatios).toFixed(2) + '×' : '-',
    });
  } finally {
    s.free();
  }
}
if (!torch.note) torch.close();
if (!dnnl.note) dnnl.close();
console.log(`checked all ${cases.length} cases against the reference (rtol 1e-4 of max|C| for f32, 1e-10 for f64, 2^-7 for bf16)`);

const head = { case: 'case (M×K×N)', ourErr: 'err ours', torchErr: 'err PyTorch', ours: 'entrena GFLOP/s', torch: 'PyTorch GFLOP/s', ratio: 'ours/PyTorch', dnnl: 'oneDNN GFLOP/s', dratio: 'ours/oneDNN', seam: 'seam GFLOP/s', sratio: 'seam/ours' };
const cols = ['ours', 'torch', 'ratio', 'dnnl', 'dratio', ...(seam.library ? ['seam', 'sratio'] : []), 'ourErr', 'torchErr'];
const width = Object.fromEntries(Object.keys(head).map((k) => [k, Math.max(head[k].length, ...rows.map((r) => r[k].length))]));
const line = (r) => `${r.case.padEnd(width.case)}  ${cols.map((k) => r[k].padStart(width[k])).join('  ')}`;
console.log('\n' + line(head));
console.log('-'.repeat(line(head).length));
for (const r of rows) console.log(line(r));
console.log('err: max |C − float64 product| / max|C| (ours on all or sampled entries; PyTorch on its own inputs, all entries)');
console.log(`\n${loadLine()} at the end; medians of ${runs} alternating batches of ~${target * 1000} ms each side, with pauses between (ratio: the median of the per-pair ratios); total ${((Date.now() - started) / 1000).toFixed(1)} s`);
