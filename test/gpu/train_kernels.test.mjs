// train_kernels.test.mjs — the fused CUDA training kernels (native/cuda/batchnorm.cu, optim.cu)
// against their CPU references (native/cpu/batchnorm.cc, optim.cc), through the raw addon.
//
// Runs with plain `node --test test/gpu/` (npm run test:gpu): node:test and node:assert only, the
// raw addon build-cuda/Release/entrena.node (or ENTRENA_TEST_CUDA_ADDON), no TypeScript build.
// Each test makes the same call on device 0 (cpu) and device 1 (cuda) from the same host data and
// compares, |cuda − cpu| ≤ atol + rtol·|cpu| (NaN matches NaN, ±inf matches itself). Without a GPU
// (or without the CUDA build) every test skips and says why.
//
// Shape legend: batch norm inputs are contiguous [N, C, L] (L = 1 for [N, C]); per-channel arrays
// hold C elements; M = N·L. An optimizer call takes a list of tensors of different sizes (one of
// them empty); h[] and flags are built here with the formulas of lib/ts/optim/fused_host.ts (so
// the test needs no dist/), the layouts of OptimArgs in native/core/backend.h.
//
// Expected agreement: the optimizer step uses explicitly rounded arithmetic on both devices in the
// same order, so float32 and float64 should match bit for bit (the tolerance is only a safety
// margin; each optimizer test reports how many elements differed at all as a diagnostic). Batch
// norm sums in double in a different order, so it agrees to rounding of the final cast.
import assert from 'node:assert/strict';
import {
  addon, gpuTest, CPU, CUDA, F32, F64, ARRAY, NAME, upload as uploadWith, download, randomArray, close,
} from '../helpers/cuda_addon.mjs';

// ---- helpers -------------------------------------------------------------------------------------

const DEVNAME = { [CPU]: 'cpu', [CUDA]: 'cuda' };

// Every handle a test allocates, freed at its end.
let live = [];
function alloc(dev, bytes) {
  const h = addon.alloc(dev, Math.max(bytes, 4));
  live.push(h);
  return h;
}
function freeAll() {
  for (const h of live) addon.free(h);
  live = [];
}
const upload = (dev, typed) => uploadWith(dev, typed, alloc);
function filled(dev, dtype, count, value) {
  return upload(dev, new ARRAY[dtype](count).fill(value));
}

// Number of elements that are not bitwise the same value (NaN equals NaN).
function differing(got, want) {
  let n = 0;
  for (let i = 0; i < want.length; ++i) if (!Object.is(got[i], want[i]) && !(Number.isNaN(got[i]) && Number.isNaN(want[i]))) ++n;
  return n;
}

// ---- batch norm ----------------------------------------------------------------------------------

const BN_TOL = {
  [F32]: { rtol: 2e-5, atol: 2e-5 },
  [F64]: { rtol: 1e-10, atol: 1e-11 },
};

// Shapes cover both reduction kernels of batchnorm.cu: L < 32 (the column kernel; L = 1 is [N, C])
// and L ≥ 32 (the channel kernel), with one and many slices per channel, and C not a multiple of 32.
const BN_SHAPES = [
  { n: 3, c: 5, l: 1 },        // [N, C], tiny
  { n: 64, c: 48, l: 1 },      // [N, C]
  { n: 1000, c: 37, l: 1 },    // [N, C], many row slices
  { n: 4, c: 3, l: 7 },        // [N, C, L], L < 32
  { n: 8, c: 6, l: 50 },       // [N, C, L], L ≥ 32
  { n: 16, c: 4, l: 4096 },    // [N, C, L], many element slices per channel
];

// Host inputs of one case (the same for both devices). `offset` shifts x to test the two-pass
// variance (|mean| ≫ std).
function bnInputs(dtype, { n, c, l }, seed, offset = 0) {
  const total = n * c * l;
  const x = randomArray(dtype, total, seed, -2 + offset, 2 + offset);
  const dy = randomArray(dtype, total, seed + 1);
  const weight = randomArray(dtype, c, seed + 2, 0.5, 1.5);
  const bias = randomArray(dtype, c, seed + 3, -1, 1);
  const rm = randomArray(dtype, c, seed + 4, -0.5, 0.5);
  const rv = randomArray(dtype, c, seed + 5, 0.5, 2);
  return { x, dy, weight, bias, rm, rv };
}

// Forward on `dev`; returns every output as host arrays.
function bnForward(dev, dtype, shape, inp, { training, affine, running, eps = 1e-5, momentum = 0.1 }) {
  const { n, c, l } = shape;
  const total = n * c * l;
  const x = upload(dev, inp.x);
  const y = filled(dev, dtype, total, NaN);
  const w = affine ? upload(dev, inp.weight) : null;
  const b = affine ? upload(dev, inp.bias) : null;
  const rm = running ? upload(dev, inp.rm) : null;
  const rv = running ? upload(dev, inp.rv) : null;
  const sm = filled(dev, dtype, c, NaN), si = filled(dev, dtype, c, NaN);
  addon.batchnormForward(dtype, n, c, l, eps, momentum, training, x, 0, y, 0, w, b, rm, rv, training ? sm : null, training ? si : null);
  return {
    y: download(y, dtype, total),
    rm: running ? download(rm, dtype, c) : null,
    rv: running ? download(rv, dtype, c) : null,
    sm: download(sm, dtype, c),
    si: download(si, dtype, c),
  };
}

// Backward on `dev` from the same host statistics (saveMean/saveInvstd from the CPU forward, so the
// backward kernels are compared on identical inputs). want: which of dx, dweight, dbias to compute.
function bnBackward(dev, dtype, shape, inp, stats, { training, affine, want = { dx: true, dw: true, db: true }, eps = 1e-5 }) {
  const { n, c, l } = shape;
  const total = n * c * l;
  const x = upload(dev, inp.x), dy = upload(dev, inp.dy);
  const w = affine ? upload(dev, inp.weight) : null;
  const sm = training ? upload(dev, stats.sm) : null, si = training ? upload(dev, stats.si) : null;
  const rm = training ? null : upload(dev, inp.rm), rv = training ? null : upload(dev, inp.rv);
  const dx = want.dx ? filled(dev, dtype, total, NaN) : null;
  const dw = want.dw ? filled(dev, dtype, c, NaN) : null;
  const db = want.db ? filled(dev, dtype, c, NaN) : null;
  addon.batchnormBackward(dtype, n, c, l, eps, training, x, 0, dy, 0, w, sm, si, rm, rv, dx, 0, dw, db);
  return {
    dx: dx ? download(dx, dtype, total) : null,
    dw: dw ? download(dw, dtype, c) : null,
    db: db ? download(db, dtype, c) : null,
  };
}

function compareBn(dtype, shape, { training, affine, running, offset = 0 }, seed) {
  const label = `${NAME[dtype]} [${shape.n}, ${shape.c}, ${shape.l}] ${training ? 'training' : 'eval'}${affine ? ' affine' : ''}${running ? ' running' : ''}`;
  const tol = BN_TOL[dtype];
  const inp = bnInputs(dtype, shape, seed, offset);
  const opts = { training, affine, running };
  const f = { cpu: bnForward(CPU, dtype, shape, inp, opts), cuda: bnForward(CUDA, dtype, shape, inp, opts) };
  close(f.cuda.y, f.cpu.y, tol, `${label}: y`);
  if (running) {
    close(f.cuda.rm, f.cpu.rm, tol, `${label}: running_mean`);
    close(f.cuda.rv, f.cpu.rv, tol, `${label}: running_var`);
  }
  if (training) {
    close(f.cuda.sm, f.cpu.sm, tol, `${label}: save_mean`);
    close(f.cuda.si, f.cpu.si, tol, `${label}: save_invstd`);
  }
  const b = {
    cpu: bnBackward(CPU, dtype, shape, inp, f.cpu, opts),
    cuda: bnBackward(CUDA, dtype, shape, inp, f.cpu, opts),
  };
  close(b.cuda.dx, b.cpu.dx, tol, `${label}: dx`);
  close(b.cuda.dw, b.cpu.dw, tol, `${label}: dweight`);
  close(b.cuda.db, b.cpu.db, tol, `${label}: dbias`);
}

gpuTest('batchnorm forward and backward match the CPU: training and eval, affine or not, [N, C] and [N, C, L]', () => {
  try {
    let seed = 100;
    for (const dtype of [F32, F64])
      for (const shape of BN_SHAPES)
        for (const affine of [false, true]) {
          compareBn(dtype, shape, { training: true, affine, running: true }, seed++);
          compareBn(dtype, shape, { training: true, affine, running: false }, seed++);
          compareBn(dtype, shape, { training: false, affine, running: true }, seed++);
          freeAll();
        }
  } finally {
    freeAll();
  }
});

gpuTest('batchnorm statistics are two-pass: inputs far from zero (|mean| ≫ std) match the CPU', () => {
  try {
    for (const dtype of [F32, F64])
      for (const shape of [{ n: 256, c: 5, l: 1 }, { n: 4, c: 3, l: 300 }])
        compareBn(dtype, shape, { training: true, affine: true, running: true, offset: 1000 }, 7);
  } finally {
    freeAll();
  }
});

gpuTest('batchnorm backward computes only the outputs asked for (dx, dweight, dbias may be null)', () => {
  try {
    const shape = { n: 32, c: 6, l: 5 };
    for (const dtype of [F32, F64]) {
      const inp = bnInputs(dtype, shape, 3);
      const stats = bnForward(CPU, dtype, shape, inp, { training: true, affine: true, running: false });
      const full = bnBackward(CPU, dtype, shape, inp, stats, { training: true, affine: true });
      for (const want of [{ dx: true }, { dw: true }, { db: true }, { dw: true, db: true }]) {
        const got = bnBackward(CUDA, dtype, shape, inp, stats, { training: true, affine: true, want });
        if (want.dx) close(got.dx, full.dx, BN_TOL[dtype], 'dx only');
        else assert.equal(got.dx, null);
        if (want.dw) close(got.dw, full.dw, BN_TOL[dtype], 'dweight');
        if (want.db) close(got.db, full.db, BN_TOL[dtype], 'dbias');
      }
    }
  } finally {
    freeAll();
  }
});

gpuTest('batchnorm edge cases match the CPU: M = 1 (running_var NaN/inf as PyTorch), N = 0', () => {
  try {
    for (const dtype of [F32, F64]) {
      // M = N·L = 1: var = 0, the unbiased running variance divides 0 by 0.
      compareBn(dtype, { n: 1, c: 4, l: 1 }, { training: true, affine: true, running: true }, 11);
      // N = 0: forward writes nothing (running stats untouched); backward gives dweight = dbias = 0
      // (BatchNormArgs semantics: empty sums). Backward is checked on CUDA only: the CPU kernel
      // divides by M = 0 when it sizes its tasks (channel_grain in cpu/batchnorm.cc: SIGFPE).
      const shape = { n: 0, c: 3, l: 2 };
      const inp = bnInputs(dtype, shape, 12);
      const stats = { sm: new ARRAY[dtype](3).fill(0.5), si: new ARRAY[dtype](3).fill(2) };
      for (const dev of [CPU, CUDA]) {
        const f = bnForward(dev, dtype, shape, inp, { training: true, affine: true, running: true });
        assert.deepEqual(f.rm, inp.rm, `${DEVNAME[dev]}: running_mean untouched for N = 0`);
        assert.deepEqual(f.rv, inp.rv, `${DEVNAME[dev]}: running_var untouched for N = 0`);
      }
      const b = bnBackward(CUDA, dtype, shape, inp, stats, { training: true, affine: true });
      assert.deepEqual(b.dw, new ARRAY[dtype](3), 'cuda: dweight of an empty batch');
      assert.deepEqual(b.db, new ARRAY[dtype](3), 'cuda: dbias of an empty batch');
    }
  } finally {
    freeAll();
  }
});

// ---- optimizer steps -----------------------------------------------------------------------------

const KIND = { sgd: 0, adam: 1, adagrad: 2, rmsprop: 3, adamax: 4, nadam: 5 };
const FLAG = { nesterov: 1, firstStep: 2, amsgrad: 4, decoupled: 8, centered: 16 };

// h[] and flags for step t (1-based) — lib/ts/optim/fused_host.ts, formula for formula.
// `state` carries what the host keeps between steps (NAdam's μ product).
function hostScalars(cfg, t, state) {
  const h = new Float64Array(16);
  let flags = 0;
  const o = cfg.o;
  switch (cfg.kind) {
    case 'sgd':
      h.set([o.lr, o.momentum, o.dampening, o.weightDecay]);
      flags = (o.nesterov ? FLAG.nesterov : 0) | (t === 1 ? FLAG.firstStep : 0);
      break;
    case 'adam': {
      const [b1, b2] = o.betas;
      h.set([o.lr, b1, b2, o.eps, o.weightDecay, o.lr / (1 - b1 ** t), Math.sqrt(1 - b2 ** t)]);
      flags = (o.amsgrad ? FLAG.amsgrad : 0) | (o.decoupled ? FLAG.decoupled : 0);
      break;
    }
    case 'adagrad':
      h.set([o.lr / (1 + (t - 1) * o.lrDecay), o.weightDecay, o.eps]);
      break;
    case 'rmsprop':
      h.set([o.lr, o.alpha, o.eps, o.weightDecay, o.momentum]);
      flags = o.centered ? FLAG.centered : 0;
      break;
    case 'adamax':
      h.set([o.lr, o.betas[0], o.betas[1], o.eps, o.weightDecay, o.lr / (1 - o.betas[0] ** t)]);
      break;
    case 'nadam': {
      const [b1, b2] = o.betas;
      const mu = b1 * (1 - 0.5 * 0.96 ** (t * o.momentumDecay));
      const muNext = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * o.momentumDecay));
      const product = state.muProduct * mu;
      h.set([o.lr, b1, b2, o.eps, o.weightDecay, 1 - b2 ** t, (o.lr * (1 - mu)) / (1 - product), (o.lr * muNext) / (1 - product * muNext)]);
      state.muProduct = product;
      break;
    }
  }
  return { kind: KIND[cfg.kind], h, flags };
}

// optim_states_used (native/core/backend.h).
function statesUsed(kind, flags, h) {
  switch (kind) {
    case KIND.sgd: return h[1] !== 0 ? 1 : 0;
    case KIND.adam: return flags & FLAG.amsgrad ? 7 : 3;
    case KIND.adagrad: return 1;
    case KIND.rmsprop: return 1 | (h[4] > 0 ? 2 : 0) | (flags & FLAG.centered ? 4 : 0);
    default: return 3;
  }
}

// Every kind and flag combination the CUDA kernel branches on.
const OPTIM_CONFIGS = [
  { name: 'sgd plain', kind: 'sgd', o: { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false } },
  { name: 'sgd weight decay', kind: 'sgd', o: { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0.01, nesterov: false } },
  { name: 'sgd momentum + dampening + weight decay', kind: 'sgd', o: { lr: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 1e-3, nesterov: false } },
  { name: 'sgd nesterov', kind: 'sgd', o: { lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: true } },
  { name: 'sgd nesterov + weight decay', kind: 'sgd', o: { lr: 0.05, momentum: 0.8, dampening: 0, weightDecay: 0.01, nesterov: true } },
  { name: 'adam', kind: 'adam', o: { lr: 1e-2, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, decoupled: false } },
  { name: 'adam L2 weight decay', kind: 'adam', o: { lr: 1e-2, betas: [0.9, 0.99], eps: 1e-8, weightDecay: 0.05, amsgrad: false, decoupled: false } },
  { name: 'adam amsgrad', kind: 'adam', o: { lr: 1e-2, betas: [0.8, 0.999], eps: 1e-6, weightDecay: 0.01, amsgrad: true, decoupled: false } },
  { name: 'adamw', kind: 'adam', o: { lr: 1e-2, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.1, amsgrad: false, decoupled: true } },
  { name: 'adamw amsgrad', kind: 'adam', o: { lr: 1e-2, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.1, amsgrad: true, decoupled: true } },
  { name: 'adagrad', kind: 'adagrad', o: { lr: 0.1, lrDecay: 0.01, weightDecay: 0, eps: 1e-10 }, init0: 0.1 },
  { name: 'adagrad weight decay', kind: 'adagrad', o: { lr: 0.1, lrDecay: 0, weightDecay: 0.02, eps: 1e-10 }, init0: 0 },
  { name: 'rmsprop', kind: 'rmsprop', o: { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false } },
  { name: 'rmsprop momentum', kind: 'rmsprop', o: { lr: 1e-2, alpha: 0.9, eps: 1e-8, weightDecay: 0.01, momentum: 0.9, centered: false } },
  { name: 'rmsprop centered', kind: 'rmsprop', o: { lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: true } },
  { name: 'rmsprop centered + momentum + weight decay', kind: 'rmsprop', o: { lr: 1e-2, alpha: 0.95, eps: 1e-6, weightDecay: 0.01, momentum: 0.5, centered: true } },
  { name: 'adamax', kind: 'adamax', o: { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 } },
  { name: 'adamax weight decay', kind: 'adamax', o: { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 } },
  { name: 'nadam', kind: 'nadam', o: { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, momentumDecay: 4e-3 } },
  { name: 'nadam weight decay', kind: 'nadam', o: { lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01, momentumDecay: 4e-3 } },
];

const OPTIM_TOL = {
  [F32]: { rtol: 1e-5, atol: 1e-6 },
  [F64]: { rtol: 1e-12, atol: 1e-14 },
};

// Sizes of one call's tensor list: a scalar, an empty tensor, sizes around the kernel's 4096-element
// chunk, and one spanning many chunks.
const SIZES = [1, 7, 0, 300, 4095, 4097, 65, 70001];

// Runs `steps` fused steps of `cfg` on `dev` over tensors of `sizes`, from the same host data on
// both devices (parameters, per-step gradients, initial states). Returns the final parameters and
// states as host arrays: { params: [...], states: [[...] | null × 3] }.
function runOptim(dev, dtype, cfg, sizes, steps, seed, { special = null } = {}) {
  const probe = hostScalars(cfg, 1, { muProduct: 1 });
  const used = statesUsed(probe.kind, probe.flags, probe.h);
  const params = sizes.map((n, i) => {
    const p = randomArray(dtype, n, seed + 17 * i, -1, 1);
    if (special) special.params(p, i);
    return upload(dev, p);
  });
  const grads = sizes.map((n) => alloc(dev, n * ARRAY[dtype].BYTES_PER_ELEMENT));
  const states = [0, 1, 2].map((k) => {
    if (!(used >> k & 1)) return null;
    // Initial state: Adagrad's accumulator value; SGD's buffer holds garbage that the first step
    // must ignore; everything else starts at zero (as the optimizer classes allocate it).
    const init = cfg.kind === 'adagrad' ? cfg.init0 : cfg.kind === 'sgd' ? 7 : 0;
    return sizes.map((n) => filled(dev, dtype, n, init));
  });
  const host = { muProduct: 1 };
  for (let t = 1; t <= steps; ++t) {
    sizes.forEach((n, i) => {
      if (!n) return;
      const g = randomArray(dtype, n, seed * 1000 + t * 31 + i, -1, 1);
      if (special) special.grads(g, i, t);
      addon.write(grads[i], 0, g);
    });
    const s = hostScalars(cfg, t, host);
    addon.optimStep(s.kind, dtype, params, grads, states[0], states[1], states[2], sizes, s.h, s.flags);
  }
  return {
    params: params.map((h, i) => download(h, dtype, sizes[i])),
    states: states.map((arr) => (arr ? arr.map((h, i) => download(h, dtype, sizes[i])) : null)),
  };
}

function compareOptim(t, dtype, cfg, sizes, steps, seed, extra) {
  const label = `${cfg.name} ${NAME[dtype]}`;
  const cpu = runOptim(CPU, dtype, cfg, sizes, steps, seed, extra);
  const cuda = runOptim(CUDA, dtype, cfg, sizes, steps, seed, extra);
  // Ordinary data must stay finite, or the comparison would be vacuous (NaN matches NaN).
  if (!extra) cpu.params.forEach((p, i) => assert.ok(p.every(Number.isFinite), `${label}: cpu params[${i}] finite`));
  let diff = 0, total = 0;
  const check = (got, want, what) => {
    close(got, want, OPTIM_TOL[dtype], `${label}: ${what}`);
    diff += differing(got, want);
    total += want.length;
  };
  sizes.forEach((_, i) => check(cuda.params[i], cpu.params[i], `params[${i}]`));
  for (let k = 0; k < 3; ++k) {
    assert.equal(cuda.states[k] === null, cpu.states[k] === null);
    if (cpu.states[k]) sizes.forEach((_, i) => check(cuda.states[k][i], cpu.states[k][i], `state${k}[${i}]`));
  }
  t.diagnostic(`${label}: ${diff} of ${total} values not bit-identical to the CPU`);
  return diff;
}

for (const dtype of [F32, F64]) {
  gpuTest(`optimStep matches the CPU for every kind and flag combination, 20 steps, several tensors (${NAME[dtype]})`, (t) => {
    try {
      let seed = 1;
      for (const cfg of OPTIM_CONFIGS) {
        compareOptim(t, dtype, cfg, SIZES, 20, seed++);
        freeAll();
      }
    } finally {
      freeAll();
    }
  });
}

gpuTest('optimStep: SGD with momentum, a single first step (buffer = gradient, no dampening)', (t) => {
  try {
    const cfg = OPTIM_CONFIGS.find((c) => c.name === 'sgd momentum + dampening + weight decay');
    for (const dtype of [F32, F64]) {
      compareOptim(t, dtype, cfg, SIZES, 1, 5);
      freeAll();
    }
  } finally {
    freeAll();
  }
});

gpuTest('optimStep: more tensors than one launch holds (150 tensors) and sizes crossing chunk ends', (t) => {
  try {
    const sizes = Array.from({ length: 150 }, (_, i) => (i % 10 === 9 ? 5000 + i : 1 + ((i * 37) % 300)));
    for (const name of ['adam amsgrad', 'rmsprop centered + momentum + weight decay', 'sgd nesterov + weight decay']) {
      const cfg = OPTIM_CONFIGS.find((c) => c.name === name);
      for (const dtype of [F32, F64]) {
        compareOptim(t, dtype, cfg, sizes, 3, 9);
        freeAll();
      }
    }
  } finally {
    freeAll();
  }
});

gpuTest('optimStep: special values (inf parameters with weight decay 0, NaN and inf gradients) match the CPU', (t) => {
  try {
    const special = {
      params(p, i) {
        if (i === 1 && p.length > 3) { p[0] = Infinity; p[1] = -Infinity; }
      },
      grads(g, i, step) {
        if (i === 1 && g.length > 3 && step === 2) { g[2] = NaN; g[3] = Infinity; }
      },
    };
    for (const name of ['sgd plain', 'sgd nesterov', 'adam amsgrad', 'adamax', 'rmsprop centered', 'adagrad', 'nadam']) {
      const cfg = OPTIM_CONFIGS.find((c) => c.name === name);
      for (const dtype of [F32, F64]) {
        compareOptim(t, dtype, cfg, [5, 9, 3], 4, 21, { special });
        freeAll();
      }
    }
  } finally {
    freeAll();
  }
});

gpuTest('optimStep on CUDA rejects missing state tensors like the CPU', () => {
  try {
    const p = [alloc(CUDA, 16)], g = [alloc(CUDA, 16)];
    const h = new Float64Array(16);
    h.set([1e-3, 0.9, 0.999, 1e-8, 0, 1e-2, 0.01]);
    assert.throws(() => addon.optimStep(KIND.adam, F32, p, g, null, null, null, [4], h, 0), (e) => e.code === 'ERR_INVALID_ARGUMENT');
    assert.throws(() => addon.optimStep(KIND.adam, F32, p, g, [alloc(CUDA, 16)], [alloc(CUDA, 16)], null, [4], h, FLAG.amsgrad),
      (e) => e.code === 'ERR_INVALID_ARGUMENT');
  } finally {
    freeAll();
  }
});
