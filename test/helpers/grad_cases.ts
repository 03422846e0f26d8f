// grad_cases.ts — the differentiable-op cases shared by the first-order (gradcheck.test.ts) and the
// second-order (gradgradcheck.test.ts) suites: tiny float64 inputs chosen away from kinks and ties:
// relu/abs/clamp/hardtanh inputs are not near 0 or the bounds, max/min/maximum/minimum inputs have
// no ties. Each case: a name whose first word is the op, a function of the inputs, the inputs.
import * as E from '../../lib/ts/index.js';
import type { Tensor } from '../../lib/ts/index.js';
import { batchNormFused, broadcastTo, scatterAddInto, sumToShape } from '../../lib/ts/ops/index.js';

// ---- deterministic inputs -----------------------------------------------------------------------------

/** mulberry32: a tiny seeded PRNG, so every case gets the same inputs on every run. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Kind = 'randn' | 'pos' | 'away' | 'distinct' | 'unit';
let seedCounter = 1;

function values(n: number, kind: Kind, r: () => number): number[] {
  const out: number[] = [];
  if (kind === 'distinct') {
    // A shuffled grid with jitter: consecutive values are ≥ 0.2 apart, so no ties and no switch of
    // the arg-extremum under a 1e-6 perturbation.
    const idx = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) { const j = Math.floor(r() * (i + 1)); [idx[i], idx[j]] = [idx[j], idx[i]]; }
    for (let i = 0; i < n; i++) out.push((idx[i] - n / 2) * 0.3 + (r() - 0.5) * 0.1);
    return out;
  }
  for (let i = 0; i < n; i++) {
    const u = r();
    if (kind === 'pos') out.push(0.5 + 1.5 * u);
    else if (kind === 'unit') out.push(2 * u - 1);
    else if (kind === 'away') out.push((r() < 0.5 ? -1 : 1) * (0.3 + 1.2 * u));
    else {
      // Box–Muller, scaled down: small, well-conditioned values.
      const v = r();
      out.push(0.7 * Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v));
    }
  }
  return out;
}

/** A float64 leaf of `shape` requiring grad. */
function x(shape: number[], kind: Kind = 'randn'): Tensor {
  const r = prng(seedCounter++ * 7919);
  const n = shape.reduce((a, b) => a * b, 1);
  return E.tensor(values(n, kind, r), { shape, dtype: 'float64', requiresGrad: true });
}
/** A float64 leaf with explicit values. */
function v(data: number[], shape = [data.length]): Tensor {
  return E.tensor(data, { shape, dtype: 'float64', requiresGrad: true });
}
const idx = (data: number[], shape = [data.length]): Tensor => E.tensor(data, { shape, dtype: 'int32' });
const mask = (data: number[], shape = [data.length]): Tensor => E.tensor(data, { shape, dtype: 'float64' });

// ---- the cases ------------------------------------------------------------------------------------------

export type GC = [name: string, fn: (...xs: Tensor[]) => Tensor, inputs: () => Tensor[]];

const binaryOps: [string, (a: Tensor | number, b: Tensor | number) => Tensor, Kind, Kind][] = [
  ['add', E.add, 'randn', 'randn'],
  ['sub', E.sub, 'randn', 'randn'],
  ['mul', E.mul, 'randn', 'randn'],
  ['div', E.div, 'randn', 'away'],
  ['pow', E.pow, 'pos', 'unit'],
  ['atan2', E.atan2, 'randn', 'away'],
];
const binaryShapes: [string, number[], number[]][] = [
  ['same 2x3', [2, 3], [2, 3]],
  ['[3,1] with [1,4]', [3, 1], [1, 4]],
  ['[2,3,2] with [2]', [2, 3, 2], [2]],
  ['[2] with [2,3,2]', [2], [2, 3, 2]],
  ['[2,1,3] with [2,1]', [2, 1, 3], [2, 1]],
  ['0-d with [3]', [], [3]],
];

export const cases: GC[] = [];
for (const [op, f, ka, kb] of binaryOps) {
  for (const [sn, sa, sb] of binaryShapes) cases.push([`${op} ${sn}`, (a, b) => f(a, b), () => [x(sa, ka), x(sb, kb)]]);
}
cases.push(
  ['add scalar left', (a) => E.add(1.5, a), () => [x([2, 3])]],
  ['sub scalar left', (a) => E.sub(1.5, a), () => [x([2, 3])]],
  ['sub scalar right', (a) => E.sub(a, 0.25), () => [x([2, 3])]],
  ['mul scalar right', (a) => E.mul(a, -3), () => [x([2, 3])]],
  ['div scalar left', (a) => E.div(2, a), () => [x([2, 3], 'away')]],
  ['div scalar right', (a) => E.div(a, 4), () => [x([2, 3])]],
  ['pow scalar exponent 3', (a) => E.pow(a, 3), () => [x([2, 3])]],
  ['pow scalar exponent 0.5', (a) => E.pow(a, 0.5), () => [x([2, 3], 'pos')]],
  ['pow scalar exponent -2', (a) => E.pow(a, -2), () => [x([2, 3], 'pos')]],
  ['pow scalar base 2', (a) => E.pow(2, a), () => [x([2, 3])]],
  ['pow same tensor twice', (a) => E.pow(a, a), () => [x([4], 'pos')]],
  // maximum / minimum: b = a + offsets of ±(0.1…0.5), never a tie.
  ['maximum same shape', (a, b) => E.maximum(a, b), () => { const a = x([2, 3]); return [a, v(Array.from(a.data(), (t, i) => t + (i % 2 ? 0.3 : -0.2)), [2, 3])]; }],
  ['minimum same shape', (a, b) => E.minimum(a, b), () => { const a = x([2, 3]); return [a, v(Array.from(a.data(), (t, i) => t + (i % 2 ? -0.4 : 0.15)), [2, 3])]; }],
  ['maximum broadcast [3,1] [1,4]', (a, b) => E.maximum(a, b), () => [v([-1.05, 0.02, 1.1], [3, 1]), v([-0.5, 0.5, 1.5, -1.5], [1, 4])]],
  ['minimum broadcast [2,3,2] [2]', (a, b) => E.minimum(a, b), () => [x([2, 3, 2], 'distinct'), v([-0.33, 0.41])]],
  ['maximum scalar', (a) => E.maximum(a, 0.1), () => [x([2, 3], 'away')]],
  ['minimum scalar left', (a) => E.minimum(-0.1, a), () => [x([2, 3], 'away')]],
);

const unary: [string, (a: Tensor) => Tensor, Kind][] = [
  ['neg', E.neg, 'randn'],
  ['abs', E.abs, 'away'],
  ['exp', E.exp, 'randn'],
  ['log', E.log, 'pos'],
  ['sqrt', E.sqrt, 'pos'],
  ['rsqrt', E.rsqrt, 'pos'],
  ['square', E.square, 'randn'],
  ['sigmoid', E.sigmoid, 'randn'],
  ['tanh', E.tanh, 'randn'],
  ['relu', E.relu, 'away'],
  ['leakyRelu', (a) => E.leakyRelu(a), 'away'],
  ['leakyRelu slope 0.2', (a) => E.leakyRelu(a, 0.2), 'away'],
  ['elu', (a) => E.elu(a), 'away'],
  ['elu alpha 0.5', (a) => E.elu(a, 0.5), 'away'],
  ['selu', E.selu, 'away'],
  ['gelu', (a) => E.gelu(a), 'randn'],
  ['geluTanh', (a) => E.gelu(a, 'tanh'), 'randn'],
  ['silu', E.silu, 'randn'],
  ['mish', E.mish, 'randn'],
  ['softplus', (a) => E.softplus(a), 'randn'],
  ['logSigmoid', E.logSigmoid, 'randn'],
  ['log1p', E.log1p, 'pos'],
  ['expm1', E.expm1, 'randn'],
  ['sin', E.sin, 'randn'],
  ['cos', E.cos, 'randn'],
  ['reciprocal', E.reciprocal, 'away'],
];
for (const [name, f, kind] of unary) {
  cases.push([`${name} [2,3]`, (a) => f(a), () => [x([2, 3], kind)]]);
}
cases.push(
  ['tanh 0-d', (a) => E.tanh(a), () => [x([])]],
  ['exp transposed view', (a) => E.exp(E.transpose(a, 0, 1)), () => [x([3, 2])]],
  ['log1p near -1 side', (a) => E.log1p(a), () => [v([-0.6, -0.3, 0.2, 2.5])]],
  ['softplus beta 2 threshold 5 (both regimes)', (a) => E.softplus(a, 2, 5), () => [v([-3, -0.4, 0.7, 1.9, 3.1, 6])]],
  ['hardtanh (inside and outside, off the bounds)', (a) => E.hardtanh(a), () => [v([-2, -1.3, -0.6, 0.2, 0.9, 1.4])]],
  ['hardtanh -0.5 0.8', (a) => E.hardtanh(a, -0.5, 0.8), () => [v([-2, -0.7, -0.3, 0.1, 0.6, 1.4])]],
  ['clamp both', (a) => E.clamp(a, -0.5, 0.7), () => [v([-2, -0.7, -0.3, 0.1, 0.6, 1.4])]],
  ['clamp min only', (a) => E.clamp(a, -0.3, null), () => [v([-2, -0.7, -0.1, 0.1, 0.6, 1.4])]],
  ['clamp max only', (a) => E.clamp(a, null, 0.4), () => [v([-2, -0.7, -0.1, 0.1, 0.6, 1.4])]],
  ['where same shape', (a, b) => E.where(mask([1, 0, 1, 0, 0, 1], [2, 3]), a, b), () => [x([2, 3]), x([2, 3])]],
  ['where broadcast cond [3] a [2,3] b [2,1]', (a, b) => E.where(mask([1, 0, 1]), a, b), () => [x([2, 3]), x([2, 1])]],
  ['where scalar b', (a) => E.where(mask([1, 0, 1, 1]), a, 0.5), () => [x([4])]],
  ['where scalar a', (b) => E.where(mask([1, 0, 1, 1]), -2, b), () => [x([4])]],
  ['where same tensor both sides', (a) => E.where(mask([1, 0, 0, 1]), a, E.mul(a, 3)), () => [x([4])]],
);

// reductions
for (const [name, f] of [
  ['sum', (a: Tensor, d?: number | number[] | null, k?: boolean) => E.sum(a, d, { keepDim: k })],
  ['mean', (a: Tensor, d?: number | number[] | null, k?: boolean) => E.mean(a, d, { keepDim: k })],
] as const) {
  cases.push(
    [`${name} all`, (a) => f(a), () => [x([2, 3, 2])]],
    [`${name} dim 0`, (a) => f(a, 0), () => [x([2, 3, 2])]],
    [`${name} dim 1 keepDim`, (a) => f(a, 1, true), () => [x([2, 3, 2])]],
    [`${name} dim -1`, (a) => f(a, -1), () => [x([2, 3, 2])]],
    [`${name} dims [0, 2]`, (a) => f(a, [0, 2]), () => [x([2, 3, 2])]],
    [`${name} dims [-1, 0] keepDim`, (a) => f(a, [-1, 0], true), () => [x([2, 3, 2])]],
    [`${name} dims [0, 1, 2]`, (a) => f(a, [0, 1, 2]), () => [x([2, 3, 2])]],
    [`${name} of a transposed view`, (a) => f(E.transpose(a, 0, 1), 0), () => [x([3, 2])]],
  );
}
for (const [name, f] of [['variance', E.variance], ['std', E.std]] as const) {
  for (const unbiased of [true, false]) {
    const u = unbiased ? 'unbiased' : 'biased';
    cases.push(
      [`${name} all ${u}`, (a) => f(a, null, { unbiased }), () => [x([2, 3, 2])]],
      [`${name} dim 1 ${u}`, (a) => f(a, 1, { unbiased }), () => [x([2, 3, 2])]],
      [`${name} dim -1 keepDim ${u}`, (a) => f(a, -1, { unbiased, keepDim: true }), () => [x([2, 3, 2])]],
      [`${name} dims [0, 2] ${u}`, (a) => f(a, [0, 2], { unbiased }), () => [x([2, 3, 2])]],
      [`${name} dims [1, -1] keepDim ${u}`, (a) => f(a, [1, -1], { unbiased, keepDim: true }), () => [x([2, 3, 2])]],
    );
  }
}
for (const [name, f] of [['max', E.max], ['min', E.min]] as const) {
  cases.push(
    [`${name} all`, (a) => f(a), () => [x([2, 3, 2], 'distinct')]],
    [`${name} dim 0`, (a) => f(a, 0), () => [x([2, 3, 2], 'distinct')]],
    [`${name} dim 1 keepDim`, (a) => f(a, 1, { keepDim: true }), () => [x([2, 3, 2], 'distinct')]],
    [`${name} dim -1`, (a) => f(a, -1), () => [x([2, 3, 2], 'distinct')]],
    [`${name} dim 1 of a transposed view`, (a) => f(E.transpose(a, 0, 1), 1), () => [x([4, 3], 'distinct')]],
  );
}
for (const [name, f] of [['softmax', E.softmax], ['logSoftmax', E.logSoftmax]] as const) {
  cases.push(
    [`${name} dim -1`, (a) => f(a, -1), () => [x([2, 3, 2])]],
    [`${name} dim 0`, (a) => f(a, 0), () => [x([2, 3, 2])]],
    [`${name} dim 1`, (a) => f(a, 1), () => [x([2, 3, 2])]],
    [`${name} 1-D`, (a) => f(a, 0), () => [x([5])]],
    [`${name} large logits`, (a) => f(a, -1), () => [v([30, -20, 29.5, 0, 1, -1], [2, 3])]],
    [`${name} of a transposed view`, (a) => f(E.transpose(a, 0, 1), 1), () => [x([4, 3])]],
  );
}

// shape and index ops (composed with a non-linear op so that a wrong routing shows up)
const nl = (t: Tensor): Tensor => E.mul(t, E.sin(t));
cases.push(
  ['reshape', (a) => nl(E.reshape(a, [3, 4])), () => [x([2, 3, 2])]],
  ['reshape -1', (a) => nl(E.reshape(a, [-1, 2])), () => [x([2, 3, 2])]],
  ['reshape of a transposed view (copy)', (a) => nl(E.reshape(E.transpose(a, 0, 1), [6])), () => [x([2, 3])]],
  ['flatten', (a) => nl(E.flatten(a)), () => [x([2, 3, 2])]],
  ['flatten startDim 1', (a) => nl(E.flatten(a, 1)), () => [x([2, 3, 2])]],
  ['transpose 0 1', (a) => nl(E.transpose(a, 0, 1)), () => [x([2, 3, 2])]],
  ['transpose -1 -3', (a) => nl(E.transpose(a, -1, -3)), () => [x([2, 3, 2])]],
  ['T', (a) => nl(a.T), () => [x([2, 3])]],
  ['permute [2, 0, 1]', (a) => nl(E.permute(a, [2, 0, 1])), () => [x([2, 3, 2])]],
  ['permute negative', (a) => nl(E.permute(a, [-1, 0, -2])), () => [x([2, 3, 2])]],
  ['squeeze all', (a) => nl(E.squeeze(a)), () => [x([1, 3, 1, 2])]],
  ['squeeze dim -2', (a) => nl(E.squeeze(a, -2)), () => [x([1, 3, 1, 2])]],
  ['unsqueeze 0', (a) => nl(E.unsqueeze(a, 0)), () => [x([2, 3])]],
  ['unsqueeze -1', (a) => nl(E.unsqueeze(a, -1)), () => [x([2, 3])]],
  ['expand [3,1] → [3,4]', (a) => nl(E.expand(a, [3, 4])), () => [x([3, 1])]],
  ['expand [2] → [2,3,2]', (a) => nl(E.expand(a, [2, 3, 2])), () => [x([2])]],
  ['expand with -1', (a) => nl(E.expand(a, [2, -1])), () => [x([1, 3])]],
  ['expand 0-d', (a) => nl(E.expand(a, [2, 2])), () => [x([])]],
  ['narrow dim 0', (a) => nl(E.narrow(a, 0, 1, 1)), () => [x([2, 3, 2])]],
  ['narrow dim 1', (a) => nl(E.narrow(a, 1, 1, 2)), () => [x([2, 3, 2])]],
  ['narrow dim -1', (a) => nl(E.narrow(a, -1, 1, 1)), () => [x([2, 3, 2])]],
  ['narrow twice', (a) => nl(E.narrow(E.narrow(a, 1, 1, 3), 0, 1, 2)), () => [x([3, 5])]],
  ['concat dim 0', (a, b, c) => nl(E.concat([a, b, c], 0)), () => [x([2, 3]), x([1, 3]), x([2, 3])]],
  ['concat dim 1', (a, b) => nl(E.concat([a, b], 1)), () => [x([2, 3]), x([2, 1])]],
  ['concat dim -1 (3-D)', (a, b) => nl(E.concat([a, b], -1)), () => [x([2, 2, 2]), x([2, 2, 1])]],
  ['concat same tensor twice', (a) => nl(E.concat([a, a], 0)), () => [x([2, 2])]],
  ['stack dim 0', (a, b, c) => nl(E.stack([a, b, c], 0)), () => [x([2, 3]), x([2, 3]), x([2, 3])]],
  ['stack dim 1', (a, b) => nl(E.stack([a, b], 1)), () => [x([2, 3]), x([2, 3])]],
  ['stack dim -1', (a, b) => nl(E.stack([a, b], -1)), () => [x([2, 3]), x([2, 3])]],
  ['indexSelect dim 0', (a) => nl(E.indexSelect(a, 0, [2, 0])), () => [x([3, 2])]],
  ['indexSelect dim 1 with repeats', (a) => nl(E.indexSelect(a, 1, idx([3, 1, 3, 3]))), () => [x([2, 4])]],
  ['indexSelect dim -1 (3-D)', (a) => nl(E.indexSelect(a, -1, [1, 0, 1])), () => [x([2, 3, 2])]],
  ['gather dim 1', (a) => nl(E.gather(a, 1, idx([0, 3, 1, 1, 2, 2], [3, 2]))), () => [x([3, 4])]],
  ['gather dim 0', (a) => nl(E.gather(a, 0, idx([2, 0, 1, 2, 0, 0, 0, 1], [2, 4]))), () => [x([3, 4])]],
  ['gather dim -1 (3-D)', (a) => nl(E.gather(a, -1, idx([1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1], [2, 3, 2]))), () => [x([2, 3, 2])]],
);

// matmul
cases.push(
  ['matmul 2-D', (a, b) => E.matmul(a, b), () => [x([3, 4]), x([4, 2])]],
  ['matmul batched', (a, b) => E.matmul(a, b), () => [x([2, 3, 4]), x([2, 4, 2])]],
  ['matmul batch broadcast [1,3,4]@[2,4,2]', (a, b) => E.matmul(a, b), () => [x([1, 3, 4]), x([2, 4, 2])]],
  ['matmul batch broadcast [2,3,4]@[1,4,2]', (a, b) => E.matmul(a, b), () => [x([2, 3, 4]), x([1, 4, 2])]],
  ['matmul [2,3,4]@[4,2]', (a, b) => E.matmul(a, b), () => [x([2, 3, 4]), x([4, 2])]],
  ['matmul [3,4]@[2,4,2]', (a, b) => E.matmul(a, b), () => [x([3, 4]), x([2, 4, 2])]],
  ['matmul a transposed', (a, b) => E.matmul(a.T, b), () => [x([4, 3]), x([4, 2])]],
  ['matmul b transposed', (a, b) => E.matmul(a, b.T), () => [x([3, 4]), x([2, 4])]],
  ['matmul batched b transposed', (a, b) => E.matmul(a, E.transpose(b, 1, 2)), () => [x([2, 3, 4]), x([2, 2, 4])]],
  ['matmul vec·vec', (a, b) => E.matmul(a, b), () => [x([4]), x([4])]],
  ['matmul vec·mat', (a, b) => E.matmul(a, b), () => [x([4]), x([4, 3])]],
  ['matmul mat·vec', (a, b) => E.matmul(a, b), () => [x([3, 4]), x([4])]],
  ['matmul batched·vec', (a, b) => E.matmul(a, b), () => [x([2, 3, 4]), x([4])]],
  ['matmul vec·batched', (a, b) => E.matmul(a, b), () => [x([4]), x([2, 4, 3])]],
  ['matmul x·x (same tensor)', (a) => E.matmul(a, a), () => [x([3, 3])]],
  ['linear with bias', (xx, w, b) => E.linear(xx, w, b), () => [x([3, 4]), x([2, 4]), x([2])]],
  ['linear without bias, 3-D input', (xx, w) => E.linear(xx, w), () => [x([2, 3, 4]), x([2, 4])]],
  // a small MLP-like composition: softmax cross-entropy of a linear layer
  ['linear + logSoftmax + gather', (xx, w, b) => E.neg(E.mean(E.gather(E.logSoftmax(E.add(E.matmul(xx, w.T), b), -1), 1, idx([0, 2, 1], [3, 1])))),
    () => [x([3, 4]), x([3, 4]), x([3])]],
);

// products, copies, the fused training ops and the losses with their own rule
cases.push(
  ['prod all', (a) => E.prod(a), () => [x([2, 3], 'away')]],
  ['prod dim 1 keepDim', (a) => E.prod(a, 1, { keepDim: true }), () => [x([2, 3], 'away')]],
  ['prod dims [0, 2] with one zero per slice', (a) => E.prod(a, [0, 2]), () => [v([0, 0.5, -1.2, 0.7, 1.1, -0.4, 0.9, 0, 1.3, 0.6, -0.8, 1.5], [2, 3, 2])]],
  ['prod dim 0 with two zeros in a slice', (a) => E.prod(a, 0), () => [v([0, 0.5, 0, 0.7, 1.1, -0.4], [3, 2])]],
  ['clone', (a) => nl(E.clone(a)), () => [x([2, 3])]],
  ['contiguous of a transposed view', (a) => nl(E.contiguous(a.T)), () => [x([2, 3])]],
  ['batchNorm fused, training [N, C]', (a, w, b) => batchNormFused(a, w, b, { runningMean: null, runningVar: null, training: true, momentum: 0.1, eps: 1e-5, numBatchesTracked: null }),
    () => [x([4, 3]), x([3]), x([3])]],
  ['batchNorm fused, training [N, C, L] without affine', (a) => nl(batchNormFused(a, null, null, { runningMean: null, runningVar: null, training: true, momentum: 0.1, eps: 1e-5, numBatchesTracked: null })),
    () => [x([3, 2, 4])]],
  ['batchNorm fused, eval with running statistics', (a, w, b) => batchNormFused(a, w, b, { runningMean: E.tensor([0.1, -0.2], { dtype: 'float64' }), runningVar: E.tensor([0.5, 1.5], { dtype: 'float64' }), training: false, momentum: 0.1, eps: 1e-5, numBatchesTracked: null }),
    () => [x([3, 2]), x([2]), x([2])]],
  // The same mask on every call: the seed is reset before each draw.
  ['dropout p 0.4 (fixed mask)', (a) => { E.manualSeed(7); return nl(E.nn.functional.dropout(a, 0.4, true)); }, () => [x([3, 4])]],
  ['binaryCrossEntropy (BCELoss, both arguments)', (p, y) => new E.nn.BCELoss({ reduction: 'none' }).forward(p, y), () => [v([0.2, 0.7, 0.45, 0.9]), v([0.1, 0.8, 0.3, 0.6])]],
);

// the conversions the door applies to gradients, and the scatter adjoint, as ops of their own
cases.push(
  ['sumToShape [2,3,2] → [3,1]', (a) => nl(sumToShape(a, [3, 1])), () => [x([2, 3, 2])]],
  ['broadcastTo [3,1] → [2,3,4]', (a) => nl(broadcastTo(a, [2, 3, 4])), () => [x([3, 1])]],
  ['scatterAdd dim 1', (a) => nl(scatterAddInto([2, 4], 1, a, idx([0, 3, 3, 1], [2, 2]))), () => [x([2, 2])]],
);
