#!/usr/bin/env node
// bench/gpu.mjs — the CUDA backend against PyTorch on the same GPU, in the same run: SGEMM, the
// tensor-core GEMMs (bfloat16, and float32 with TF32), the device-to-device copy rate, the fused Adam step, the reference MLP's training step, BatchNorm1d
// forward + backward, and the caching allocator. Part of `npm run gpu:check` (scripts/gpu_check.mjs),
// also runnable on its own after `npm run build:cuda` and `npm run build:ts`:
//
//   node bench/gpu.mjs [--json FILE] [--runs R] [--only sgemm,bf16,tf32,copy,adam,mlp,bn,alloc]   (mlp includes the bf16-autocast step)
//   node bench/gpu.mjs --emulated    dry run on the emulated device (scripts/cuda-emu), tiny sizes,
//                                    PyTorch on the CPU: checks every workload and the protocol, no speed
//
// Every workload is first checked against a reference (the GEMMs: float64 dot products on the host for a
// sample of entries, of the bfloat16 or tf32-rounded inputs; the copy: read back; Adam, the MLP and BatchNorm: the same computation on our CPU
// backend), then timed. Timing: a batch is `reps` repetitions between two device synchronisations,
// timed on the host (reps chosen so a batch lasts ~60 ms); batches of ours and of PyTorch's
// (bench/gpu_peer.py, one long-lived python3) alternate, and each figure is the median of R batches,
// each ratio the median of the per-pair ratios.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: { emulated: { type: 'boolean', default: false }, runs: { type: 'string', default: '5' }, only: { type: 'string', default: '' }, json: { type: 'string', default: '' } },
});
const emulated = args.emulated;
const RUNS = emulated ? 1 : Number(args.runs);
const TARGET_MS = emulated ? 0 : 60;
const only = args.only.split(',').filter(Boolean);
const jsonOut = args.json;
const wants = (w) => only.length === 0 || only.includes(w);

if (emulated && !process.env.ENTRENA_ADDON) process.env.ENTRENA_ADDON = path.join(root, 'build-cuda-emu', 'entrena.node');
const E = await import(path.join(root, 'dist', 'index.js'));
const { native } = await import(path.join(root, 'dist', 'native.js'));

if (!E.cuda.isAvailable()) {
  console.log(`gpu bench: no CUDA device (cuda.isCompiled() = ${E.cuda.isCompiled()}); nothing to measure`);
  process.exit(2);
}

// ---- sizes ------------------------------------------------------------------------------------------

const SIZES = emulated
  ? { sgemm: [64, 96], tc: [96, 160], copyBytes: 1 << 16, adam: [{ label: '10 k', sizes: [6000, 4000] }], mlp: [8], bn: [[32, 16]], allocCycles: 200 }
  : {
    sgemm: [1024, 2048, 4096, 8192],
    tc: [4096, 8192],  // bf16 and tf32 GEMMs (the targets are for n = 8192)
    copyBytes: 1 << 30,
    // Parameter lists shaped like models': a few large tensors and some small ones.
    adam: [
      { label: '10 M', sizes: [4_000_000, 4_000_000, 1_999_000, 1000] },
      { label: '100 M', sizes: [25_000_000, 25_000_000, 25_000_000, 24_999_000, 1000] },
    ],
    mlp: [128, 4096],
    bn: [[4096, 1024]],
    allocCycles: 10_000,
  };
// The allocator's mixed sizes: small activations to 64 MiB weights (bytes).
const ALLOC_SIZES = [256, 4096, 65_536, 1 << 20, 3 << 20, 16 << 20, 100, 64 << 20, 12_345, 1 << 18];

// ---- timing -----------------------------------------------------------------------------------------

const sync = () => E.cuda.synchronize();
function batch(fn, reps) {
  sync();
  const t = performance.now();
  for (let i = 0; i < reps; i++) fn();
  sync();
  return (performance.now() - t) / reps;
}
function calibrate(fn) {
  fn();  // warm-up: kernels loaded, allocator primed
  const once = batch(fn, 1);
  return TARGET_MS === 0 ? 1 : Math.max(1, Math.min(10_000, Math.round(TARGET_MS / Math.max(once, 1e-3))));
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

// ---- the PyTorch peer -------------------------------------------------------------------------------

async function startPeer() {
  // The first python3 that imports torch: ENTRENA_PYTHON, the one on PATH, Debian's.
  const candidates = [process.env.ENTRENA_PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean);
  const py = candidates.find((c) => spawnSync(c, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);
  if (!py) return { note: `PyTorch column skipped: none of ${candidates.join(', ')} can import torch` };
  const child = spawn(py, [path.join(root, 'bench', 'gpu_peer.py'), emulated ? 'cpu' : 'cuda'], {
    stdio: ['pipe', 'pipe', 'inherit'],
    // The CPU run of the dry run: PyTorch's own OpenBLAS kernels, and glibc kept from returning pages.
    env: { ...process.env, PYTHONUNBUFFERED: '1', MALLOC_MMAP_THRESHOLD_: '268435456' },
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error('the PyTorch process ended early');
    return JSON.parse(value);
  };
  let hello;
  try { hello = await next(); } catch (e) { return { note: `PyTorch column skipped: ${e.message}` }; }
  return {
    hello,
    /** One timed batch of workload `req`; resolves to ms per repetition. */
    async ask(req, reps) {
      child.stdin.write(JSON.stringify({ ...req, reps }) + '\n');
      const r = await next();
      if (r.error) throw new Error(`PyTorch: ${r.error}`);
      return r.ms;
    },
    close() { child.stdin.end(); },
  };
}

// ---- workloads: each returns { check: string, run: () => void, free: () => void } ------------------

const F32 = 0, BF16 = 3, CUDA = 1;
function lcg(seed) {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 4294967296; };
}
function randomF32(n, seed) {
  const r = lcg(seed), a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = r();
  return a;
}

/**
 * The worst error of C = A·B (n×n, row-major; `got(k)` reads C's element k) on 128 sampled entries
 * against float64 dot products, beyond an allowance `slack(ref)`, relative to Σ|a·b|.
 */
function sampledError(A, B, n, got, slack = () => 0) {
  const r = lcg(7);
  let worst = 0;
  for (let t = 0; t < 128; t++) {
    const i = Math.floor(r() * n), j = Math.floor(r() * n);
    let ref = 0, mag = 0;
    for (let p = 0; p < n; p++) { ref += A[i * n + p] * B[p * n + j]; mag += Math.abs(A[i * n + p] * B[p * n + j]); }
    worst = Math.max(worst, Math.max(0, Math.abs(got(i * n + j) - ref) - slack(ref)) / mag);
  }
  return worst;
}

function sgemm(n) {
  const bytes = n * n * 4;
  const hA = native.alloc(CUDA, bytes), hB = native.alloc(CUDA, bytes), hC = native.alloc(CUDA, bytes);
  const A = randomF32(n * n, 1), B = randomF32(n * n, 2);
  native.write(hA, 0, A);
  native.write(hB, 0, B);
  const run = () => native.gemm(F32, false, false, n, n, n, 1, hA, 0, n, 0, hB, 0, n, 0, 0, hC, 0, n, 0, 1);
  run();
  const C = new Float32Array(n * n);
  native.read(hC, 0, C);
  // Sampled check: float32 accumulation over n terms stays within ~1e-7·√n of Σ|a·b|.
  const worst = sampledError(A, B, n, (k) => C[k]);
  if (!(worst <= 1e-5)) throw new Error(`SGEMM n=${n}: sampled error ${worst} (relative to Σ|a·b|) exceeds 1e-5`);
  return { check: `sampled error ${worst.toExponential(1)}`, run, free: () => { native.free(hA); native.free(hB); native.free(hC); } };
}

// float32 → bfloat16 bits and back (native/core/half.h: round to nearest even), and cvt.rna.tf32.
const f32buf = new Float32Array(1), u32buf = new Uint32Array(f32buf.buffer);
function bf16Bits(x) {
  f32buf[0] = x;
  const u = u32buf[0];
  return (u & 0x7fffffff) > 0x7f800000 ? 0x7fc0 : ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}
function fromBits(u) { u32buf[0] = u >>> 0; return f32buf[0]; }
function tf32Round(x) {
  f32buf[0] = x;
  const u = u32buf[0];
  return (u & 0x7f800000) === 0x7f800000 ? x : fromBits((u + 0x1000) & 0xffffe000);
}

/**
 * The tensor-core GEMMs, C = A·B with n×n row-major operands: kind 'bf16' (bfloat16 in and out,
 * float32 accumulation) or 'tf32' (float32 with TF32 inputs). Checked on a sample of entries
 * against float64 dot products of the values the tensor cores multiply (the bfloat16 inputs, or the
 * float32 inputs rounded to tf32), relative to Σ|a·b|: float32 accumulation stays within ~1e-7·√n of
 * it, and a bfloat16 C adds its own rounding, up to 2⁻⁸ of |C|.
 */
function tcGemm(kind, n) {
  const half = kind === 'bf16';
  const es = half ? 2 : 4, bytes = n * n * es;
  const hA = native.alloc(CUDA, bytes), hB = native.alloc(CUDA, bytes), hC = native.alloc(CUDA, bytes);
  const rA = lcg(11), rB = lcg(12);
  const A = new Float64Array(n * n), B = new Float64Array(n * n);
  let sA, sB;
  if (half) {
    sA = new Uint16Array(n * n); sB = new Uint16Array(n * n);
    for (let i = 0; i < n * n; i++) { sA[i] = bf16Bits(2 * rA() - 1); A[i] = fromBits(sA[i] << 16); }
    for (let i = 0; i < n * n; i++) { sB[i] = bf16Bits(2 * rB() - 1); B[i] = fromBits(sB[i] << 16); }
  } else {
    sA = new Float32Array(n * n); sB = new Float32Array(n * n);
    for (let i = 0; i < n * n; i++) { sA[i] = 2 * rA() - 1; A[i] = tf32Round(sA[i]); }
    for (let i = 0; i < n * n; i++) { sB[i] = 2 * rB() - 1; B[i] = tf32Round(sB[i]); }
  }
  native.write(hA, 0, sA);
  native.write(hB, 0, sB);
  const dt = half ? BF16 : F32;
  const run = () => native.gemm(dt, false, false, n, n, n, 1, hA, 0, n, 0, hB, 0, n, 0, 0, hC, 0, n, 0, 1, false, !half);
  run();
  const C = half ? new Uint16Array(n * n) : new Float32Array(n * n);
  native.read(hC, 0, C);
  // A bfloat16 C may be off by its own rounding: half an ulp of 8 significant bits.
  const worst = half
    ? sampledError(A, B, n, (k) => fromBits(C[k] << 16), (ref) => 2 ** -8 * Math.abs(ref))
    : sampledError(A, B, n, (k) => C[k]);
  if (!(worst <= 1e-5)) throw new Error(`${kind} GEMM n=${n}: sampled error ${worst} (relative to Σ|a·b|, beyond C's rounding) exceeds 1e-5`);
  return { check: `sampled error ${worst.toExponential(1)} beyond C's rounding`, run, free: () => { native.free(hA); native.free(hB); native.free(hC); } };
}

function copy(bytes) {
  const n = bytes / 4;
  const src = E.rand([n], { device: 'cuda' }), dst = E.zeros([n], { device: 'cuda' });
  const run = () => { dst.copy_(src); };
  run();
  const a = src.narrow(0, n - 1024, 1024).data(), b = dst.narrow(0, n - 1024, 1024).data();
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) throw new Error(`copy: element ${n - 1024 + i} differs`);
  return { check: 'read back equal', run, free: () => { src.dispose(); dst.dispose(); } };
}

/** Adam on cuda against Adam on the CPU backend over 3 steps on the same data (the kernel's numbers). */
function checkAdam() {
  const n = emulated ? 3000 : 1_000_000;
  E.manualSeed(3);
  const p0 = E.randn([n]), grads = [E.randn([n]), E.randn([n]), E.randn([n])];
  const run = (device) => {
    const p = p0.to(device).detach();
    p.requiresGrad = true;
    const o = new E.optim.Adam([p], { lr: 1e-2, weightDecay: 0.01 });
    for (const g of grads) { p.grad = g.to(device); o.step(); }
    const out = p.to('cpu').data();
    o.zeroGrad();
    p.dispose();
    return out;
  };
  const gpu = run('cuda'), cpu = run('cpu');
  let worst = 0;
  for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(gpu[i] - cpu[i]) / (1e-6 + Math.abs(cpu[i])));
  p0.dispose(); for (const g of grads) g.dispose();
  if (!(worst <= 1e-4)) throw new Error(`Adam: cuda vs cpu after 3 steps, worst relative difference ${worst}`);
  return worst;
}

function adam(sizes) {
  const params = sizes.map((s) => { const p = E.randn([s], { device: 'cuda' }); p.requiresGrad = true; p.grad = E.randn([s], { device: 'cuda' }); return p; });
  const o = new E.optim.Adam(params, { lr: 1e-3 });
  return { run: () => o.step(), free: () => { o.zeroGrad(); for (const p of params) p.dispose(); } };
}

function mlpModel() {
  const { nn } = E;
  return new nn.Sequential(
    new nn.Linear(784, 512), new nn.BatchNorm1d(512), new nn.ReLU(), new nn.Dropout(0.2),
    new nn.Linear(512, 256), new nn.BatchNorm1d(256), new nn.ReLU(), new nn.Dropout(0.2),
    new nn.Linear(256, 10));
}

/**
 * The MLP step on cuda against the CPU backend: same weights and data, dropout off, 3 steps of
 * Adam; `amp` runs both under bfloat16 autocast (then within bfloat16's error, 2e-2).
 */
function checkMlp(batchSize, amp = false) {
  E.manualSeed(5);
  const base = mlpModel();
  const x = E.rand([batchSize, 784]), y = E.randint(0, 10, [batchSize]);
  const losses = (device) => {
    const m = mlpModel().to(device);
    m.loadStateDict(base.stateDict());
    for (const mod of m.modules()) if (mod instanceof E.nn.Dropout) mod.eval();  // dropout off: the two backends draw different masks
    const o = new E.optim.Adam(m.parameters(), { lr: 1e-3 });
    const lossFn = new E.nn.CrossEntropyLoss();
    const xs = x.to(device), ys = y.to(device);
    const out = [];
    for (let i = 0; i < 3; i++) {
      const fwd = () => lossFn.forward(m.forward(xs), ys);
      out.push(E.tidy(() => { o.zeroGrad(); const l = amp ? E.amp.autocast({ device, dtype: 'bfloat16' }, fwd) : fwd(); l.backward(); o.step(); return l.item(); }));
    }
    o.zeroGrad();
    return out;
  };
  const gpu = losses('cuda'), cpu = losses('cpu');
  const worst = Math.max(...gpu.map((l, i) => Math.abs(l - cpu[i]) / Math.abs(cpu[i])));
  if (!(worst <= (amp ? 2e-2 : 1e-3))) throw new Error(`MLP${amp ? ' (bf16 autocast)' : ''}: cuda losses ${gpu} vs cpu ${cpu}`);
  return worst;
}

function mlp(batchSize, amp = false) {
  E.manualSeed(9);
  const m = mlpModel().to('cuda');
  const o = new E.optim.Adam(m.parameters(), { lr: 1e-3 });
  const lossFn = new E.nn.CrossEntropyLoss();
  const x = E.rand([batchSize, 784], { device: 'cuda' }), y = E.randint(0, 10, [batchSize], { device: 'cuda' });
  const fwd = () => lossFn.forward(m.forward(x), y);
  const run = amp
    ? () => E.tidy(() => { o.zeroGrad(); E.amp.autocast({ device: 'cuda', dtype: 'bfloat16' }, fwd).backward(); o.step(); })
    : () => E.tidy(() => { o.zeroGrad(); fwd().backward(); o.step(); });
  return { run, free: () => { o.zeroGrad(); x.dispose(); y.dispose(); } };
}

/** BatchNorm1d forward + backward: output, input gradient and weight gradient against the CPU backend. */
function checkBn(n, c) {
  E.manualSeed(11);
  const x = E.randn([n, c]), g = E.randn([n, c]);
  const run = (device) => {
    const bn = new E.nn.BatchNorm1d(c).to(device);
    const xi = x.to(device).detach();
    xi.requiresGrad = true;
    const y = bn.forward(xi);
    y.backward(g.to(device));
    return [y.to('cpu').data(), xi.grad.to('cpu').data(), bn.weight.grad.to('cpu').data()];
  };
  const gpu = run('cuda'), cpu = run('cpu');
  let worst = 0;
  gpu.forEach((arr, k) => { for (let i = 0; i < arr.length; i++) worst = Math.max(worst, Math.abs(arr[i] - cpu[k][i]) / (1e-3 + Math.abs(cpu[k][i]))); });
  if (!(worst <= 1e-4)) throw new Error(`BatchNorm1d: cuda vs cpu worst relative difference ${worst}`);
  return worst;
}

function bn(n, c) {
  const layer = new E.nn.BatchNorm1d(c).to('cuda');
  const x = E.randn([n, c], { device: 'cuda' });
  x.requiresGrad = true;
  const g = E.randn([n, c], { device: 'cuda' });
  const run = () => E.tidy(() => { x.grad = null; layer.zeroGrad(); layer.forward(x).backward(g); });
  return { run, free: () => { x.grad = null; layer.zeroGrad(); x.dispose(); g.dispose(); } };
}

function alloc(cycles) {
  // Check: every buffer handed out is usable (written and read back) for the first cycles.
  for (let i = 0; i < 20; i++) {
    const bytes = ALLOC_SIZES[i % ALLOC_SIZES.length];
    const h = native.alloc(CUDA, bytes);
    const v = new Int32Array([i * 7 + 1]);
    native.write(h, Math.floor(bytes / 8) * 4, v);
    const back = new Int32Array(1);
    native.read(h, Math.floor(bytes / 8) * 4, back);
    native.free(h);
    if (back[0] !== v[0]) throw new Error(`allocator: a ${bytes}-byte buffer read back ${back[0]}, not ${v[0]}`);
  }
  const run = () => {
    for (let i = 0; i < cycles; i++) native.free(native.alloc(CUDA, ALLOC_SIZES[i % ALLOC_SIZES.length]));
  };
  return { run, free: () => {} };
}

// ---- main -------------------------------------------------------------------------------------------

const peer = await startPeer();
const rows = [];
const started = Date.now();
console.log(`gpu bench on ${emulated ? 'the emulated device (no speed figures)' : 'cuda'}; ` +
  (peer.note ?? `PyTorch ${peer.hello.torch} on ${peer.hello.device} (${peer.hello.name}), batches alternate`));

/**
 * Times `work` (ours) and `req` (PyTorch's) in alternating batches; `metric(ms)` turns ms per
 * repetition into the reported figure (higher is better unless `lowerIsBetter`).
 */
async function measure(name, work, req, { unit, metric, lowerIsBetter = false, target = null, check = '' }) {
  const row = { name, unit, ours: null, torch: null, ratio: null, target, met: null, check, error: null };
  rows.push(row);
  let w = null;
  try {
    w = work();
    if (w.check) row.check = w.check;
    const reps = calibrate(w.run);
    let peerReps = reps;
    if (!peer.note) {
      await peer.ask(req, 1);  // PyTorch's warm-up (and its workload's set-up)
      const once = await peer.ask(req, 1);
      peerReps = TARGET_MS === 0 ? 1 : Math.max(1, Math.min(10_000, Math.round(TARGET_MS / Math.max(once, 1e-3))));
    }
    const mine = [], theirs = [], ratios = [];
    for (let r = 0; r < RUNS; r++) {
      const o = metric(batch(w.run, reps));
      mine.push(o);
      if (!peer.note) {
        const t = metric(await peer.ask(req, peerReps));
        theirs.push(t);
        ratios.push(lowerIsBetter ? t / o : o / t);
      }
    }
    row.ours = median(mine);
    if (theirs.length) { row.torch = median(theirs); row.ratio = median(ratios); }
    if (emulated) { row.ours = null; row.torch = null; row.ratio = null; }
  } catch (e) {
    row.error = e.message;
    console.log(`${name}: FAILED: ${e.message}`);
  } finally {
    w?.free();
  }
  return row;
}

let copyRate = null;
if (wants('sgemm')) {
  for (const n of SIZES.sgemm) {
    const flops = 2 * n * n * n;
    await measure(`SGEMM n=${n} (TFLOP/s; vs torch.mm, TF32 off)`, () => sgemm(n), { op: 'sgemm', n },
      { unit: 'TFLOP/s', metric: (ms) => flops / ms / 1e9, target: n >= 4096 ? 0.9 : null });
  }
}
// The tensor-core GEMMs: ours (gemm_tc.cu, mma.sync) against cuBLAS through torch.mm — bf16 against
// torch.mm in bfloat16, TF32 against torch.mm in float32 with allow_tf32 = True.
for (const kind of ['bf16', 'tf32']) {
  if (!wants(kind)) continue;
  for (const n of SIZES.tc) {
    const flops = 2 * n * n * n;
    await measure(kind === 'bf16' ? `BF16 GEMM n=${n} (TFLOP/s; vs torch.mm bfloat16)` : `TF32 GEMM n=${n} (TFLOP/s; vs torch.mm, allow_tf32)`,
      () => tcGemm(kind, n), { op: kind === 'bf16' ? 'bf16gemm' : 'tf32gemm', n },
      { unit: 'TFLOP/s', metric: (ms) => flops / ms / 1e9, target: n >= 8192 ? 0.6 : null });
  }
}
if (wants('copy') || wants('adam')) {
  const bytes = SIZES.copyBytes;
  const row = await measure(`device copy ${bytes >= 1 << 20 ? `${bytes >> 20} MiB` : `${bytes >> 10} KiB`} (GB/s read+write)`,
    () => copy(bytes), { op: 'copy', bytes }, { unit: 'GB/s', metric: (ms) => (2 * bytes) / ms / 1e6 });
  copyRate = row.ours;
}
if (wants('adam')) {
  let checked = '';
  try { checked = `cuda = cpu after 3 steps (worst rel ${checkAdam().toExponential(1)})`; } catch (e) { checked = `FAILED: ${e.message}`; }
  for (const { label, sizes } of SIZES.adam) {
    const total = sizes.reduce((a, b) => a + b, 0);
    // Adam reads p, g, m, v and writes p, m, v: 7 float32 per parameter.
    const row = await measure(`fused Adam ${label} params (GB/s; vs Adam(fused=True))`, () => adam(sizes), { op: 'adam', sizes },
      { unit: 'GB/s', metric: (ms) => (28 * total) / ms / 1e6, target: 1.0, check: checked });
    if (checked.startsWith('FAILED')) row.error = checked;
    if (row.ours !== null && copyRate) row.ofCopy = row.ours / copyRate;
  }
}
if (wants('mlp')) {
  let checked = '';
  try { checked = `cuda = cpu over 3 steps (worst rel ${checkMlp(emulated ? 4 : 64).toExponential(1)})`; } catch (e) { checked = `FAILED: ${e.message}`; }
  for (const b of SIZES.mlp) {
    const row = await measure(`MLP training step, batch ${b} (samples/s; vs eager)`, () => mlp(b), { op: 'mlp', batch: b },
      { unit: 'samples/s', metric: (ms) => (b * 1000) / ms, target: b <= 128 ? 2.0 : 1.0, check: checked });
    if (checked.startsWith('FAILED')) row.error = checked;
  }
  // Under bfloat16 autocast (the GEMMs on tensor cores), against PyTorch's eager step under
  // torch.autocast('cuda', dtype=torch.bfloat16), at the largest batch.
  let ampChecked = '';
  try { ampChecked = `cuda ≈ cpu under bf16 autocast over 3 steps (worst rel ${checkMlp(emulated ? 4 : 64, true).toExponential(1)})`; } catch (e) { ampChecked = `FAILED: ${e.message}`; }
  const b = SIZES.mlp[SIZES.mlp.length - 1];
  const row = await measure(`MLP training step under bf16 autocast, batch ${b} (samples/s; vs eager autocast)`, () => mlp(b, true), { op: 'mlp', batch: b, amp: 'bfloat16' },
    { unit: 'samples/s', metric: (ms) => (b * 1000) / ms, target: 1.0, check: ampChecked });
  if (ampChecked.startsWith('FAILED')) row.error = ampChecked;
}
if (wants('bn')) {
  for (const [n, c] of SIZES.bn) {
    let checked = '';
    try { checked = `cuda = cpu (worst rel ${checkBn(emulated ? n : 256, c).toExponential(1)})`; } catch (e) { checked = `FAILED: ${e.message}`; }
    const row = await measure(`BatchNorm1d fwd+bwd [${n}, ${c}] (ms)`, () => bn(n, c), { op: 'bn', n, c },
      { unit: 'ms', metric: (ms) => ms, lowerIsBetter: true, target: 1.0, check: checked });
    if (checked.startsWith('FAILED')) row.error = checked;
  }
}
if (wants('alloc')) {
  const cycles = SIZES.allocCycles;
  await measure(`allocator: ${cycles} alloc/free cycles, mixed sizes (µs per cycle)`, () => alloc(cycles),
    { op: 'alloc', sizes: ALLOC_SIZES, cycles }, { unit: 'µs', metric: (ms) => (ms * 1000) / cycles, lowerIsBetter: true, target: null, check: 'buffers usable' });
}
if (!peer.note) peer.close();

// Targets: ratios against PyTorch, except the allocator (under 2 µs a cycle) and Adam's share of the copy rate.
for (const r of rows) {
  if (r.error || r.ours === null) { r.met = r.error ? false : null; continue; }
  if (r.unit === 'µs') r.met = r.ours < 2;
  else if (r.ofCopy !== undefined) r.met = r.ofCopy >= 0.8 && (r.ratio === null || r.ratio >= 1.0);
  else if (r.target !== null && r.ratio !== null) r.met = r.ratio >= r.target;
}

const fmt = (v) => (v === null || v === undefined ? '-' : v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(3));
console.log('');
for (const r of rows) {
  const fig = r.error ? `FAILED: ${r.error}` : emulated ? `checked (${r.check}); emulated device: no timing`
    : `ours ${fmt(r.ours)} ${r.unit}, PyTorch ${fmt(r.torch)}, ratio ${r.ratio === null ? '-' : r.ratio.toFixed(2) + '×'}` +
      (r.ofCopy !== undefined ? `, ${(100 * r.ofCopy).toFixed(0)}% of the copy rate` : '') +
      (r.met === null ? '' : r.met ? '  [target met]' : '  [target missed]');
  console.log(`${r.name}: ${fig}`);
}
console.log(`\n${emulated ? 'dry run' : `medians of ${RUNS} alternating batches of ~${TARGET_MS} ms`}; ${((Date.now() - started) / 1000).toFixed(1)} s`);
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ emulated, peer: peer.hello ?? { note: peer.note }, runs: RUNS, rows }, null, 2));
process.exit(rows.some((r) => r.error) ? 1 : 0);
