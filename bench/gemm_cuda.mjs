#!/usr/bin/env node
// gemm_cuda.mjs — SGEMM throughput of the CUDA backend (native/cuda/gemm.cu), DESIGN principle 16:
// each size is first checked against a float64 dot product on the host for a sample of entries,
// then timed. Prints TFLOP/s (2·n³ flops per GEMM) for n = 1024, 2048, 4096, 8192: the median of
// several timed runs, each a burst of GEMMs between two cuda synchronizations.
//
//   node bench/gemm_cuda.mjs                 # uses build-cuda/Release/entrena.node (npm run build:cuda)
//   node bench/gemm_cuda.mjs 4096            # selected sizes only
//   ENTRENA_CUDA_GEMM=simple node bench/...  # the plain 64×64 tiled kernel, for comparison
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const addonPath = path.join(root, 'build-cuda', 'Release', 'entrena.node');
if (!fs.existsSync(addonPath)) {
  console.log('gemm_cuda: build-cuda/Release/entrena.node not found; run `npm run build:cuda` first');
  process.exit(0);
}
const addon = createRequire(import.meta.url)(addonPath);
addon.init(new Float64Array(128), (code, message) => Object.assign(new Error(message), { code }));
if (!addon.cudaAvailable()) {
  console.log(`gemm_cuda: no CUDA GPU available (cudaCompiled() = ${addon.cudaCompiled()}); nothing to measure`);
  process.exit(0);
}

const CUDA = 1, F32 = 0, UNIFORM = 0;
const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const ns = sizes.length ? sizes : [1024, 2048, 4096, 8192];
const kernel = process.env.ENTRENA_CUDA_GEMM === 'simple' ? 'gemm_tiled 64×64 (ENTRENA_CUDA_GEMM=simple)' : 'sgemm_128x128';

function gemm(n, a, b, c) {
  addon.gemm(F32, false, false, n, n, n, 1, a, 0, n, 0, b, 0, n, 0, 0, c, 0, n, 0, 1);
}

// Sampled check: C[i][j] against a float64 dot product of row i of A and column j of B.
function check(n, a, b, c) {
  const A = new Float32Array(n * n), B = new Float32Array(n * n), C = new Float32Array(n * n);
  addon.read(a, 0, A);
  addon.read(b, 0, B);
  addon.read(c, 0, C);
  let worst = 0;
  let s = 12345;
  for (let t = 0; t < 256; ++t) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const i = s % n;
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % n;
    let ref = 0, mag = 0;
    for (let p = 0; p < n; ++p) {
      ref += A[i * n + p] * B[p * n + j];
      mag += Math.abs(A[i * n + p] * B[p * n + j]);
    }
    worst = Math.max(worst, Math.abs(C[i * n + j] - ref) / mag);
  }
  return worst;  // error relative to Σ|a·b|: float32 accumulation gives ~1e-7·sqrt(n)
}

console.log(`entrena CUDA SGEMM (${kernel}), C = A·B, square n×n float32, median of 7 timed bursts`);
console.log('     n   check (max err / Σ|ab|)   ms/GEMM     TFLOP/s');
for (const n of ns) {
  const bytes = n * n * 4;
  const a = addon.alloc(CUDA, bytes), b = addon.alloc(CUDA, bytes), c = addon.alloc(CUDA, bytes);
  addon.random(UNIFORM, F32, n * n, a, 0, 1, 0, -1, 1);
  addon.random(UNIFORM, F32, n * n, b, 0, 2, 0, -1, 1);
  gemm(n, a, b, c);
  const err = check(n, a, b, c);
  if (!(err < 1e-4)) {
    console.log(`${String(n).padStart(6)}   WRONG RESULT: relative error ${err.toExponential(2)}; not timing`);
    process.exitCode = 1;
    continue;
  }
  const flops = 2 * n ** 3;
  // a burst long enough (≥ ~50 ms) that launch and synchronization overhead do not count
  addon.synchronize(CUDA);
  let t0 = performance.now();
  gemm(n, a, b, c);
  addon.synchronize(CUDA);
  const once = performance.now() - t0;
  const reps = Math.max(1, Math.min(200, Math.ceil(50 / Math.max(once, 1e-3))));
  const times = [];
  for (let r = 0; r < 7; ++r) {
    t0 = performance.now();
    for (let i = 0; i < reps; ++i) gemm(n, a, b, c);
    addon.synchronize(CUDA);
    times.push((performance.now() - t0) / reps);
  }
  times.sort((x, y) => x - y);
  const ms = times[3];
  console.log(`${String(n).padStart(6)}   ${err.toExponential(2).padStart(22)}   ${ms.toFixed(3).padStart(8)}   ${(flops / ms / 1e9).toFixed(2).padStart(9)}`);
  addon.free(a);
  addon.free(b);
  addon.free(c);
}
