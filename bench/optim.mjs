// bench/optim.mjs — the fused native training kernels: one Adam step over 10M float32 parameters
// (native/cpu/optim.cc) against the machine's memory bandwidth and PyTorch's Adam, and
// BatchNorm1d forward + backward at [128, 512] (native/cpu/batchnorm.cc) against PyTorch's.
//
// Run: node bench/optim.mjs [--quick]      (needs the built addon: build/Release/entrena.node)
// Checks first, then times (medians of several runs):
//   - Adam: one step is checked against a float64 JavaScript reference on a sample of elements.
//     Adam is memory bound: it reads param, grad, exp_avg, exp_avg_sq and writes the last three
//     back, 7 × 4 bytes per float32 element. The bandwidth it reaches is printed beside two copies
//     measured in the same run (read 4 + write 4 bytes per element): the binding's strided cast kernel (float32 to float32)
//     kernel over 10M float32, and `read` into a Float32Array (a plain memcpy); the faster of the
//     two is the reference. Counted bytes, not bus traffic: a copy's stores to a destination not
//     in cache also read it first (read-for-ownership, 3 transfers per 2 counted), while Adam writes
//     back lines it has just read, so Adam can show more than 100% of the copy's figure.
//   - PyTorch: torch.optim.Adam with foreach=True and foreach=False, and nn.BatchNorm1d, timed by
//     spawning Debian's /usr/bin/python3 (python3-torch) with the same thread count; skipped with a
//     note when torch does not import.
//   - BatchNorm1d: forward + backward (training) at [128, 512] checked against a float64
//     JavaScript reference, then timed.
// The header names the CPU, entrena's GEMM kernel and the OpenBLAS core of PyTorch's BLAS; the
// PyTorch process runs in bench/peer.mjs's environment (no OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE,
// MALLOC_MMAP_THRESHOLD_ set).
// Environment: ENTRENA_NUM_THREADS.
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { PYTHON, cpuLine, loadLine, peerBlas, peerEnv } from './peer.mjs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const b = createRequire(import.meta.url)('node-gyp-build')(root);
let scratch = new Float64Array(128); // the array init returns is the one the unary call reads
scratch = b.init(scratch) ?? scratch;
const threads = b.numThreads();
const quick = process.argv.includes('--quick');
const F32 = 0;
const ADAM = 1;
const N = quick ? 2_000_000 : 10_000_000;
const REPS = quick ? 5 : 11;

const median = (xs) => [...xs].sort((a, c) => a - c)[Math.floor(xs.length / 2)];
function time(fn, reps = REPS, warm = 2) {
  for (let i = 0; i < warm; i++) fn();
  const ts = [];
  for (let i = 0; i < reps; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return median(ts);
}
const gbs = (bytes, s) => (bytes / s / 1e9).toFixed(2);

function uniform(n, seed, lo, hi) {
  const h = b.alloc(0, n * 4);
  b.random(0, F32, n, h, 0, seed, 0, lo, hi);
  return h;
}
function read(h, off, n) {
  const a = new Float32Array(n);
  b.read(h, off * 4, a);
  return a;
}

// ---- copy bandwidth: the strided cast kernel (float32 → float32), 1-D contiguous ----------------

const src = uniform(N, 1, -1, 1), dst = b.alloc(0, N * 4);
scratch.fill(0);
scratch[0] = 1;          // ndim
scratch[1] = N;          // shape[0]
scratch[16 + 0] = 0;     // operand 0 (out): offset
scratch[16 + 1] = 1;     //                  stride
scratch[32 + 0] = 0;     // operand 1 (in): offset
scratch[32 + 1] = 1;
const copyS = time(() => b.cast(F32, F32, dst, src));
{
  const i = N - 3, a = read(src, i, 3), c = read(dst, i, 3);
  if (a.some((v, k) => v !== c[k])) throw new Error('copy kernel check failed');
}
const copyBytes = N * 8;
// A second probe: `read` copies a buffer into a typed array with memcpy (read 4 + write 4 bytes).
const hostCopy = new Float32Array(N);
const memcpyS = time(() => b.read(src, 0, hostCopy));
if (hostCopy[N - 1] !== read(src, N - 1, 1)[0]) throw new Error('memcpy probe check failed');
// The reference bandwidth is the faster of the two copies.
const copyGBs = Math.max(copyBytes / copyS, copyBytes / memcpyS) / 1e9;
b.free(src);
b.free(dst);

// ---- fused Adam ------------------------------------------------------------------------------

// The host scalars of lib/ts/optim/fused_host.ts adamHost (plain node cannot import TypeScript):
// h = [lr, beta1, beta2, eps, weightDecay, lr/(1 − beta1^t), sqrt(1 − beta2^t)], flags 0.
function adamScalars(o, step) {
  const h = new Float64Array(16);
  const [b1, b2] = o.betas;
  h.set([o.lr, b1, b2, o.eps, o.weightDecay, o.lr / (1 - b1 ** step), Math.sqrt(1 - b2 ** step)]);
  return { kind: ADAM, h, flags: 0 };
}
const opts = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 };
const p = uniform(N, 2, -1, 1), g = uniform(N, 3, -1, 1), m = uniform(N, 4, -0.1, 0.1), v = uniform(N, 5, 0, 0.01);

// Check one step (step 3, non-zero state) against float64 JavaScript on samples at both ends and
// in the middle (different threads' chunks).
{
  const s = adamScalars(opts, 3);
  const spots = [0, Math.floor(N / 2) - 2048, N - 4096].map((o) => [o, 4096]);
  const before = spots.map(([o, n]) => [read(p, o, n), read(g, o, n), read(m, o, n), read(v, o, n)]);
  b.optimStep(s.kind, F32, [p], [g], [m], [v], null, [N], s.h, s.flags);
  let worst = 0;
  spots.forEach(([o, n], k) => {
    const [p0, g0, m0, v0] = before[k];
    const after = read(p, o, n);
    const [, b1, b2, eps, , stepSize, bc2s] = s.h;
    for (let i = 0; i < n; i++) {
      const mi = b1 * m0[i] + (1 - b1) * g0[i];
      const vi = b2 * v0[i] + (1 - b2) * g0[i] * g0[i];
      const ref = p0[i] - (stepSize * mi) / (Math.sqrt(vi) / bc2s + eps);
      worst = Math.max(worst, Math.abs(after[i] - ref) / (1e-6 + Math.abs(ref)));
    }
  });
  if (worst > 1e-5) throw new Error(`fused Adam check failed: worst relative error ${worst}`);
  console.log(`check: fused Adam step matches the float64 reference on 12288 sampled elements (worst rel. error ${worst.toExponential(1)})`);
}
let step = 3;
const adamS = time(() => {
  const s = adamScalars(opts, ++step);
  b.optimStep(s.kind, F32, [p], [g], [m], [v], null, [N], s.h, s.flags);
});
const adamBytes = N * 4 * 7;
const adamGBs = adamBytes / adamS / 1e9;
for (const h of [p, g, m, v]) b.free(h);

// ---- BatchNorm1d [128, 512] ------------------------------------------------------------------

const BN = [128, 512];
const bnTotal = BN[0] * BN[1], C = BN[1];
const hx = uniform(bnTotal, 6, -2, 3), hdy = uniform(bnTotal, 7, -1, 1), hw = uniform(C, 8, 0.5, 1.5), hb = uniform(C, 9, -1, 1);
const hy = b.alloc(0, bnTotal * 4), hdx = b.alloc(0, bnTotal * 4);
const rm = uniform(C, 10, 0, 0), rv = uniform(C, 11, 1, 1);
const sm = b.alloc(0, C * 4), si = b.alloc(0, C * 4), dw = b.alloc(0, C * 4), db = b.alloc(0, C * 4);
const bnFwd = () => b.batchnormForward(F32, BN[0], C, 1, 1e-5, 0.1, true, hx, 0, hy, 0, hw, hb, rm, rv, sm, si);
const bnBwd = () => b.batchnormBackward(F32, BN[0], C, 1, 1e-5, true, hx, 0, hdy, 0, hw, sm, si, rm, rv, hdx, 0, dw, db);
{
  bnFwd();
  bnBwd();
  const x = read(hx, 0, bnTotal), dy = read(hdy, 0, bnTotal), w = read(hw, 0, C), bias = read(hb, 0, C);
  const y = read(hy, 0, bnTotal), dx = read(hdx, 0, bnTotal);
  let worst = 0;
  for (const c of [0, 1, 255, 511]) {
    let mean = 0, vr = 0, sdy = 0, sdyx = 0;
    for (let i = 0; i < BN[0]; i++) mean += x[i * C + c];
    mean /= BN[0];
    for (let i = 0; i < BN[0]; i++) vr += (x[i * C + c] - mean) ** 2;
    const invstd = 1 / Math.sqrt(vr / BN[0] + 1e-5);
    for (let i = 0; i < BN[0]; i++) { sdy += dy[i * C + c]; sdyx += dy[i * C + c] * (x[i * C + c] - mean) * invstd; }
    for (let i = 0; i < BN[0]; i++) {
      const k = i * C + c, xh = (x[k] - mean) * invstd;
      const yr = xh * w[c] + bias[c];
      const dxr = (invstd / BN[0]) * w[c] * (BN[0] * dy[k] - sdy - xh * sdyx);
      worst = Math.max(worst, Math.abs(y[k] - yr) / (1e-3 + Math.abs(yr)), Math.abs(dx[k] - dxr) / (1e-3 + Math.abs(dxr)));
    }
  }
  if (worst > 1e-4) throw new Error(`batchnorm check failed: worst relative error ${worst}`);
  console.log(`check: BatchNorm1d forward + backward match the float64 reference on 4 channels (worst rel. error ${worst.toExponential(1)})`);
}
const bnFwdS = time(bnFwd, REPS * 10, 5);
const bnBwdS = time(bnBwd, REPS * 10, 5);

// ---- PyTorch on the same CPU -------------------------------------------------------------------

const py = `
import json, time, statistics, torch
torch.set_num_threads(${threads})
n, reps = ${N}, ${REPS}
def med(fn, reps, warm=2):
    for _ in range(warm): fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts)
out = {'torch': torch.__version__}
for foreach in (True, False):
    p = torch.nn.Parameter(torch.rand(n) * 2 - 1)
    p.grad = torch.rand(n) * 2 - 1
    opt = torch.optim.Adam([p], lr=1e-3, foreach=foreach)
    with torch.no_grad():
        out['adam_foreach' if foreach else 'adam_single'] = med(opt.step, reps)
    del p, opt
bn = torch.nn.BatchNorm1d(512).train()
x = (torch.rand(128, 512) * 5 - 2).requires_grad_(True)
dy = torch.rand(128, 512) * 2 - 1
y = bn(x)
def fwd():
    global y
    y = bn(x)
def bwd():
    y.backward(dy, retain_graph=True)
out['bn_fwd'] = med(fwd, reps * 10, 5)
y = bn(x)
out['bn_bwd'] = med(bwd, reps * 10, 5)
print(json.dumps(out))
`;
let torch = null, torchNote = '';
const r = spawnSync(PYTHON, ['-c', py], { encoding: 'utf8', timeout: 600_000, env: peerEnv(threads) });
if (r.status === 0) torch = JSON.parse(r.stdout.trim().split('\n').pop());
else torchNote = `PyTorch comparison skipped: ${(r.stderr || r.error?.message || 'python3 failed').trim().split('\n').pop()}`;

// ---- report --------------------------------------------------------------------------------------

const ms = (s) => (s * 1e3).toFixed(3).padStart(8) + ' ms';
const us = (s) => (s * 1e6).toFixed(1).padStart(8) + ' µs';
console.log(`\nentrena fused kernels, ${threads} thread(s), float32${quick ? ' (--quick)' : ''}${torch ? `, PyTorch ${torch.torch} (${peerBlas(threads)})` : ''}`);
console.log(`CPU: ${cpuLine()}; ${loadLine()} at the end; entrena GEMM kernel ${b.cpuFeatures().gemmKernel}`);
console.log(`copy (cast f32→f32, ${N / 1e6}M elements)      ${ms(copyS)}   ${gbs(copyBytes, copyS)} GB/s (read + write)`);
console.log(`copy (memcpy via read, ${N / 1e6}M elements)      ${ms(memcpyS)}   ${gbs(copyBytes, memcpyS)} GB/s (read + write)`);
console.log(`Adam step, fused (${N / 1e6}M params)            ${ms(adamS)}   ${gbs(adamBytes, adamS)} GB/s = ${(adamGBs / copyGBs * 100).toFixed(0)}% of the faster copy's bandwidth`);
if (torch) {
  console.log(`Adam step, torch foreach=True                ${ms(torch.adam_foreach)}   entrena is ${(torch.adam_foreach / adamS).toFixed(2)}× faster`);
  console.log(`Adam step, torch foreach=False (single)      ${ms(torch.adam_single)}   entrena is ${(torch.adam_single / adamS).toFixed(2)}× faster`);
}
console.log(`BatchNorm1d [128, 512] forward (training)     ${us(bnFwdS)}${torch ? `   torch ${us(torch.bn_fwd).trim()}, ratio torch/entrena ${(torch.bn_fwd / bnFwdS).toFixed(2)}` : ''}`);
console.log(`BatchNorm1d [128, 512] backward               ${us(bnBwdS)}${torch ? `   torch ${us(torch.bn_bwd).trim()} (autograd call included), ratio ${(torch.bn_bwd / bnBwdS).toFixed(2)}` : ''}`);
if (torchNote) console.log(torchNote);
