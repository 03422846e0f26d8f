// parity_ops.test.ts — every tensor op against PyTorch (DESIGN principles 10 and 12).
//
// test/fixtures/ops.json is written by scripts/gen_fixtures.py (Debian's python3-torch); this file
// never needs PyTorch. For each case we rebuild the float32 inputs, run the entrena op, and compare
// the forward output and the gradients of (out * w).sum() with |a − b| ≤ atol + rtol·|ref|
// (NaN must match NaN, ±Inf must match exactly).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as E from '../lib/ts/index.js';
import type { Tensor } from '../lib/ts/index.js';

type Num = number | 'nan' | 'inf' | '-inf';
interface TensorSpec {
  shape: number[];
  data: Num[];
  dtype?: 'float32' | 'int32';
  requiresGrad?: boolean;
  pre?: [string, ...unknown[]][];
}
type InputSpec = TensorSpec | { scalar: Num };
interface Case {
  name: string;
  op: string;
  params: Record<string, unknown>;
  inputs: InputSpec[];
  out: TensorSpec;
  w?: TensorSpec;
  grads?: (TensorSpec | null)[];
  tol?: { rtol: number; atol: number; why: string };
}

const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL('./fixtures/ops.json', import.meta.url)), 'utf8'),
) as { cases: Case[] };

function decode(v: Num): number {
  if (v === 'nan') return NaN;
  if (v === 'inf') return Infinity;
  if (v === '-inf') return -Infinity;
  return v;
}

// ---- tolerances -------------------------------------------------------------------------------------

// float32 default: rtol 1e-4, atol 1e-5.
const DEFAULT_TOL = { rtol: 1e-4, atol: 1e-5 };
// Looser per op, where the reference and entrena legitimately round differently in float32:
const OP_TOL: Record<string, { rtol: number; atol: number }> = {
  // pow, exp, expm1 and the transcendental activations go through libm (exp/log/erf/tanh) whose
  // float32 results may differ by a few ulp from PyTorch's vectorised (Sleef) versions; a few ulp
  // at magnitude up to ~10 is ~1e-6 absolute, and pow's gradient multiplies by log(a) as well.
  pow: { rtol: 2e-4, atol: 2e-5 },
  exp: { rtol: 2e-4, atol: 2e-5 },
  expm1: { rtol: 2e-4, atol: 2e-5 },
  gelu: { rtol: 2e-4, atol: 2e-5 },
  mish: { rtol: 2e-4, atol: 2e-5 },
  selu: { rtol: 2e-4, atol: 2e-5 },
  elu: { rtol: 2e-4, atol: 2e-5 },
  softplus: { rtol: 2e-4, atol: 2e-5 },
  logSigmoid: { rtol: 2e-4, atol: 2e-5 },
  // Reductions sum in a different order than PyTorch (pairwise / vectorised): the rounding of a
  // float32 sum of n terms grows ~ n·ulp, visible at n = 1000 (sum/large_n) and in variance.
  sum: { rtol: 1e-4, atol: 5e-5 },
  mean: { rtol: 1e-4, atol: 2e-5 },
  variance: { rtol: 2e-4, atol: 2e-5 },
  std: { rtol: 2e-4, atol: 2e-5 },
  // GEMM accumulation order differs (blocking / FMA): K ≤ 33 terms of O(1) products.
  matmul: { rtol: 2e-4, atol: 5e-5 },
};

function tolFor(c: Case): { rtol: number; atol: number } {
  return c.tol ?? OP_TOL[c.op] ?? DEFAULT_TOL;
}

// ---- building inputs and running ops ----------------------------------------------------------------

// ENTRENA_TEST_DEVICE=cuda runs every case on the GPU (or on the emulated CUDA backend of
// test/stress/cuda_emu.test.ts); the fixtures and tolerances are the same.
const DEVICE = (process.env.ENTRENA_TEST_DEVICE ?? 'cpu') as 'cpu' | 'cuda';

function makeTensor(s: TensorSpec): Tensor {
  const data = s.data.map(decode);
  if (s.dtype === 'int32') return E.tensor(data, { shape: s.shape, dtype: 'int32', device: DEVICE });
  return E.tensor(data, { shape: s.shape, dtype: 'float32', requiresGrad: s.requiresGrad !== false, device: DEVICE });
}

function applyPre(t: Tensor, pre: TensorSpec['pre']): Tensor {
  let x = t;
  for (const step of pre ?? []) {
    const [kind, ...a] = step;
    if (kind === 'transpose') x = E.transpose(x, a[0] as number, a[1] as number);
    else if (kind === 'permute') x = E.permute(x, a[0] as number[]);
    else if (kind === 'narrow') x = E.narrow(x, a[0] as number, a[1] as number, a[2] as number);
    else if (kind === 'expand') x = E.expand(x, a[0] as number[]);
    else throw new Error(`unknown pre step ${kind}`);
  }
  return x;
}

type Arg = Tensor | number;
type OpFn = (args: Arg[], p: Record<string, any>) => Tensor;
const t = (a: Arg): Tensor => a as Tensor;

const OPS: Record<string, OpFn> = {
  add: ([a, b]) => E.add(a, b),
  sub: ([a, b]) => E.sub(a, b),
  mul: ([a, b]) => E.mul(a, b),
  div: ([a, b]) => E.div(a, b),
  pow: ([a, b]) => E.pow(a, b),
  maximum: ([a, b]) => E.maximum(a, b),
  minimum: ([a, b]) => E.minimum(a, b),
  atan2: ([a, b]) => E.atan2(a, b),
  eq: ([a, b]) => E.eq(a, b),
  ne: ([a, b]) => E.ne(a, b),
  gt: ([a, b]) => E.gt(a, b),
  ge: ([a, b]) => E.ge(a, b),
  lt: ([a, b]) => E.lt(a, b),
  le: ([a, b]) => E.le(a, b),
  neg: ([a]) => E.neg(t(a)),
  abs: ([a]) => E.abs(t(a)),
  exp: ([a]) => E.exp(t(a)),
  log: ([a]) => E.log(t(a)),
  sqrt: ([a]) => E.sqrt(t(a)),
  rsqrt: ([a]) => E.rsqrt(t(a)),
  square: ([a]) => E.square(t(a)),
  sign: ([a]) => E.sign(t(a)),
  sigmoid: ([a]) => E.sigmoid(t(a)),
  tanh: ([a]) => E.tanh(t(a)),
  relu: ([a]) => E.relu(t(a)),
  leakyRelu: ([a], p) => (p.negativeSlope === undefined ? E.leakyRelu(t(a)) : E.leakyRelu(t(a), p.negativeSlope)),
  elu: ([a], p) => (p.alpha === undefined ? E.elu(t(a)) : E.elu(t(a), p.alpha)),
  selu: ([a]) => E.selu(t(a)),
  gelu: ([a], p) => (p.approximate === undefined ? E.gelu(t(a)) : E.gelu(t(a), p.approximate)),
  silu: ([a]) => E.silu(t(a)),
  mish: ([a]) => E.mish(t(a)),
  softplus: ([a], p) => (p.beta === undefined ? E.softplus(t(a)) : E.softplus(t(a), p.beta, p.threshold)),
  logSigmoid: ([a]) => E.logSigmoid(t(a)),
  hardtanh: ([a], p) => (p.minVal === undefined ? E.hardtanh(t(a)) : E.hardtanh(t(a), p.minVal, p.maxVal)),
  log1p: ([a]) => E.log1p(t(a)),
  expm1: ([a]) => E.expm1(t(a)),
  sin: ([a]) => E.sin(t(a)),
  cos: ([a]) => E.cos(t(a)),
  reciprocal: ([a]) => E.reciprocal(t(a)),
  floor: ([a]) => E.floor(t(a)),
  ceil: ([a]) => E.ceil(t(a)),
  round: ([a]) => E.round(t(a)),
  clamp: ([a], p) => E.clamp(t(a), p.min, p.max),
  where: ([c, a, b]) => E.where(t(c), a, b),
  sum: ([a], p) => E.sum(t(a), p.dim, { keepDim: p.keepDim }),
  mean: ([a], p) => E.mean(t(a), p.dim, { keepDim: p.keepDim }),
  prod: ([a], p) => E.prod(t(a), p.dim, { keepDim: p.keepDim }),
  variance: ([a], p) => E.variance(t(a), p.dim, { unbiased: p.unbiased, keepDim: p.keepDim }),
  std: ([a], p) => E.std(t(a), p.dim, { unbiased: p.unbiased, keepDim: p.keepDim }),
  max: ([a], p) => E.max(t(a), p.dim, { keepDim: p.keepDim }),
  min: ([a], p) => E.min(t(a), p.dim, { keepDim: p.keepDim }),
  argmax: ([a], p) => E.argmax(t(a), p.dim, { keepDim: p.keepDim }),
  argmin: ([a], p) => E.argmin(t(a), p.dim, { keepDim: p.keepDim }),
  softmax: ([a], p) => E.softmax(t(a), p.dim),
  logSoftmax: ([a], p) => E.logSoftmax(t(a), p.dim),
  reshape: ([a], p) => E.reshape(t(a), p.shape),
  flatten: ([a], p) => E.flatten(t(a), p.startDim, p.endDim),
  transpose: ([a], p) => E.transpose(t(a), p.dims[0], p.dims[1]),
  permute: ([a], p) => E.permute(t(a), p.dims),
  squeeze: ([a], p) => E.squeeze(t(a), p.dim),
  unsqueeze: ([a], p) => E.unsqueeze(t(a), p.dim),
  expand: ([a], p) => E.expand(t(a), p.shape),
  narrow: ([a], p) => E.narrow(t(a), p.dim, p.start, p.length),
  concat: (xs, p) => E.concat(xs as Tensor[], p.dim),
  stack: (xs, p) => E.stack(xs as Tensor[], p.dim),
  indexSelect: ([a, i], p) => E.indexSelect(t(a), p.dim, t(i)),
  gather: ([a, i], p) => E.gather(t(a), p.dim, t(i)),
  oneHot: ([i], p) => E.oneHot(t(i), p.numClasses),
  matmul: ([a, b]) => E.matmul(t(a), t(b)),
};

// ---- comparison --------------------------------------------------------------------------------------

/** Returns a description of the first mismatches, or null when everything is within tolerance. */
function mismatch(got: ArrayLike<number>, ref: number[], tol: { rtol: number; atol: number }): string | null {
  if (got.length !== ref.length) return `length ${got.length}, expected ${ref.length}`;
  const bad: string[] = [];
  let count = 0;
  for (let i = 0; i < ref.length; i++) {
    const a = got[i], b = ref[i];
    let ok: boolean;
    if (Number.isNaN(b)) ok = Number.isNaN(a);
    else if (!Number.isFinite(b)) ok = a === b;
    else ok = Math.abs(a - b) <= tol.atol + tol.rtol * Math.abs(b);
    if (!ok) {
      count++;
      if (bad.length < 6) bad.push(`[${i}] got ${a}, expected ${b}`);
    }
  }
  return count ? `${count}/${ref.length} elements differ: ${bad.join('; ')}` : null;
}

function check(what: string, got: Tensor, ref: TensorSpec, tol: { rtol: number; atol: number }): void {
  expect(got.shape, `${what}: shape`).toEqual(ref.shape);
  const m = mismatch(got.data(), ref.data.map(decode), tol);
  expect(m, `${what} (rtol ${tol.rtol}, atol ${tol.atol})`).toBeNull();
}

// ---- the cases -----------------------------------------------------------------------------------------

const byOp = new Map<string, Case[]>();
for (const c of fixture.cases) {
  if (!byOp.has(c.op)) byOp.set(c.op, []);
  byOp.get(c.op)!.push(c);
}

describe('fixture', () => {
  it('covers every op with a runner', () => {
    const missing = [...byOp.keys()].filter((op) => !(op in OPS));
    expect(missing).toEqual([]);
    const untested = Object.keys(OPS).filter((op) => !byOp.has(op));
    expect(untested).toEqual([]);
  });
});

describe.each([...byOp.keys()])('parity %s', (op) => {
  it.each(byOp.get(op)!.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const tol = tolFor(c);
    const leaves: (Tensor | null)[] = [];
    const args: Arg[] = c.inputs.map((spec) => {
      if ('scalar' in spec) { leaves.push(null); return decode(spec.scalar); }
      const leaf = makeTensor(spec);
      leaves.push(leaf);
      return applyPre(leaf, spec.pre);
    });
    const out = OPS[c.op](args, c.params);
    expect(out.device, 'the output stays on the inputs\' device').toBe(DEVICE);
    check('forward', out, c.out, tol);
    if (c.w && c.grads) {
      const w = makeTensor({ ...c.w, requiresGrad: false });
      E.mul(out, w).sum().backward();
      c.grads.forEach((g, i) => {
        if (!g) return;
        const leaf = leaves[i]!;
        expect(leaf.grad, `gradient of input ${i}`).not.toBeNull();
        check(`gradient of input ${i}`, leaf.grad!, g, tol);
      });
    }
  });
});
