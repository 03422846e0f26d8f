// bench/train.mjs — samples/s of the Fashion-MNIST MLP training step (784-512(BN, ReLU, Dropout 0.2)
// -256(BN, ReLU, Dropout 0.2)-10, Adam 1e-3, batch 128), beside PyTorch running the same model in
// the same run (Debian's python3-torch, same thread count) when /usr/bin/python3 can import torch.
//
// First it checks the fast path (fused optimizer and BatchNorm kernels) against the composed
// reference over a few steps, then times; reports medians of several runs and the ratio.
// The header names the CPU, entrena's GEMM kernel and the OpenBLAS core PyTorch's BLAS picked; the
// PyTorch process runs in bench/peer.mjs's environment (no OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE,
// MALLOC_MMAP_THRESHOLD_ set).
// Usage: node bench/train.mjs [--steps N] [--runs R]
import { spawnSync } from 'node:child_process';
import { PYTHON, cpuLine, loadLine, peerBlas, peerEnv } from './peer.mjs';
import * as E from '../dist/index.js';
import { setFusedOptimizers } from '../dist/optim/optimizer.js';
import { setFusedBatchNorm } from '../dist/nn/functional.js';

const arg = (name, def) => { const i = process.argv.indexOf(`--${name}`); return i > 0 ? Number(process.argv[i + 1]) : def; };
const STEPS = arg('steps', 60), RUNS = arg('runs', 5), BATCH = 128;
const threads = E.info().threads;

function build() {
  const { nn } = E;
  const model = new nn.Sequential(
    new nn.Linear(784, 512), new nn.BatchNorm1d(512), new nn.ReLU(), new nn.Dropout(0.2),
    new nn.Linear(512, 256), new nn.BatchNorm1d(256), new nn.ReLU(), new nn.Dropout(0.2),
    new nn.Linear(256, 10));
  for (const [name, p] of model.namedParameters()) if (name.endsWith('weight') && p.ndim === 2) nn.init.kaimingNormal(p, { nonlinearity: 'relu' });
  return model;
}

E.manualSeed(0);
const x = E.rand([BATCH, 784]);
const y = E.randint(0, 10, [BATCH]);
const lossFn = new E.nn.CrossEntropyLoss();

function trainSteps(model, opt, n) {
  let last = 0;
  for (let i = 0; i < n; i++) {
    last = E.tidy(() => {
      opt.zeroGrad();
      const l = lossFn.forward(model.forward(x), y);
      l.backward();
      opt.step();
      return l.item();
    });
  }
  return last;
}

// 1. Check: fused kernels vs the composed reference, same seed, 5 steps.
function lossAfter(fused) {
  setFusedOptimizers(fused);
  setFusedBatchNorm(fused);
  E.manualSeed(1);
  const m = build();
  const o = new E.optim.Adam(m.parameters(), { lr: 1e-3 });
  const l = trainSteps(m, o, 5);
  setFusedOptimizers(true);
  setFusedBatchNorm(true);
  return l;
}
const lf = lossAfter(true), lr = lossAfter(false);
const rel = Math.abs(lf - lr) / Math.abs(lr);
if (process.env.BENCH_DEBUG) console.log(lf, lr);
console.log(`check: loss after 5 steps fused ${lf.toFixed(6)} vs composed reference ${lr.toFixed(6)} (rel diff ${rel.toExponential(1)})`);
if (!(rel < 1e-3)) { console.error('check FAILED'); process.exit(1); }

// 2. Time entrena.
E.manualSeed(0);
const model = build();
const opt = new E.optim.Adam(model.parameters(), { lr: 1e-3 });
trainSteps(model, opt, 10); // warm-up
const ours = [];
for (let r = 0; r < RUNS; r++) {
  const t0 = performance.now();
  trainSteps(model, opt, STEPS);
  ours.push((STEPS * BATCH) / ((performance.now() - t0) / 1000));
}
const median = (a) => { const s = [...a].sort((p, q) => p - q); return s[Math.floor(s.length / 2)]; };

// 3. Time PyTorch on the same machine.
const py = `
import time, torch
torch.set_num_threads(${threads})
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Linear(784,512), torch.nn.BatchNorm1d(512), torch.nn.ReLU(), torch.nn.Dropout(0.2),
  torch.nn.Linear(512,256), torch.nn.BatchNorm1d(256), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(256,10))
opt = torch.optim.Adam(m.parameters(), lr=1e-3)
x = torch.rand(${BATCH}, 784); y = torch.randint(0, 10, (${BATCH},)); f = torch.nn.CrossEntropyLoss()
def steps(n):
  for _ in range(n):
    opt.zero_grad(); l = f(m(x), y); l.backward(); opt.step(); l.item()
steps(10)
out = []
for _ in range(${RUNS}):
  t = time.perf_counter(); steps(${STEPS}); out.append(${STEPS * BATCH} / (time.perf_counter() - t))
print(' '.join(str(v) for v in out))
`;
const r = spawnSync(PYTHON, ['-c', py], { encoding: 'utf8', env: peerEnv(threads) });
const torchRates = r.status === 0 ? r.stdout.trim().split(/\s+/).map(Number) : null;

console.log(`\nFashion-MNIST MLP training step, batch ${BATCH}, ${threads} threads, median of ${RUNS} runs of ${STEPS} steps`);
console.log(`  CPU: ${cpuLine()}; ${loadLine()} at the end; entrena GEMM kernel ${E.info().cpu.gemmKernel}${torchRates ? `; PyTorch with ${peerBlas(threads)}` : ''}`);
console.log(`  entrena   ${median(ours).toFixed(0).padStart(8)} samples/s   (runs: ${ours.map((v) => v.toFixed(0)).join(', ')})`);
if (torchRates) {
  console.log(`  PyTorch   ${median(torchRates).toFixed(0).padStart(8)} samples/s   (runs: ${torchRates.map((v) => v.toFixed(0)).join(', ')})`);
  console.log(`  ratio     ${(median(ours) / median(torchRates)).toFixed(2)}× PyTorch`);
} else {
  console.log('  PyTorch: not measured (/usr/bin/python3 cannot import torch: apt-get install python3-torch)');
}
