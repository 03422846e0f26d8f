// second_order.test.ts — second derivatives against PyTorch (test/fixtures/second_order.json, from
// scripts/gen_second_order_fixtures.py, float64): per op, the gradients taken with createGraph and
// their own gradient for a fixed vector; an MLP with BatchNorm in training mode (loss, gradients,
// Hessian-vector product over all parameters); a small Hessian; a WGAN-GP gradient penalty and its
// parameter gradients. Then the autograd API's contract: errors, memory, functional forms.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../lib/ts/index.js';
import type { Tensor } from '../lib/ts/index.js';
import { batchNormFused, registeredOps } from '../lib/ts/ops/index.js';

interface Enc { shape: number[]; data: number[] }
interface OpCase { name: string; params: Record<string, any>; inputs: Enc[]; out: Enc; w: Enc; v: Enc[]; grads: Enc[]; hv: Enc[] }
const fx = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'second_order.json'), 'utf8')) as {
  ops: OpCase[];
  mlp: { state: Record<string, Enc>; x: Enc; y: number[]; loss: number; names: string[]; grads: Enc[]; v: Enc[]; hv: Enc[] };
  hessian: { x: Enc; value: number; hessian: Enc };
  hessianMlp: { state: Record<string, Enc>; x: Enc; hessian: Enc };
  penalty: { state: Record<string, Enc>; real: Enc; fake: Enc; eps: Enc; penalty: number; loss: number; names: string[]; grads: Enc[] };
};

const f64 = (e: Enc, requiresGrad = false): Tensor => E.tensor(e.data, { shape: e.shape, dtype: 'float64', requiresGrad });
function close(got: Tensor | null, want: Enc, what: string, rtol = 1e-7, atol = 1e-9): void {
  expect(got, what).not.toBeNull();
  expect(got!.shape, `${what} shape`).toEqual(want.shape);
  const g = got!.data();
  want.data.forEach((w, i) => {
    if (!(Math.abs(g[i] - w) <= atol + rtol * Math.abs(w))) expect.fail(`${what}[${i}]: ${g[i]} vs PyTorch ${w}`);
  });
}

const idx = (v: number[][] | number[]): Tensor => E.tensor(v as number[], { dtype: 'int32' });
const cube = (t: Tensor): Tensor => E.pow(t, 3);
const OPS: Record<string, (xs: Tensor[], p: Record<string, any>) => Tensor> = {
  tanh: ([x]) => E.tanh(x), sigmoid: ([x]) => E.sigmoid(x), exp: ([x]) => E.exp(x), sin: ([x]) => E.sin(x), cos: ([x]) => E.cos(x),
  gelu: ([x]) => E.gelu(x), silu: ([x]) => E.silu(x), mish: ([x]) => E.mish(x), softplus: ([x]) => E.softplus(x),
  logSigmoid: ([x]) => E.logSigmoid(x), elu: ([x]) => E.elu(x), selu: ([x]) => E.selu(x), square: ([x]) => E.square(x),
  expm1: ([x]) => E.expm1(x), geluTanh: ([x]) => E.gelu(x, 'tanh'), leakyRelu: ([x]) => E.leakyRelu(x, 0.1), relu: ([x]) => E.relu(x),
  log: ([x]) => E.log(x), sqrt: ([x]) => E.sqrt(x), rsqrt: ([x]) => E.rsqrt(x), reciprocal: ([x]) => E.reciprocal(x), log1p: ([x]) => E.log1p(x),
  mul: ([a, b]) => E.mul(a, b), div: ([a, b]) => E.div(a, b), pow: ([a, b]) => E.pow(a, b), atan2: ([a, b]) => E.atan2(a, b),
  sum: ([x], p) => E.sum(x, p.dim), mean: ([x], p) => E.mean(x, p.dim), variance: ([x], p) => E.variance(x, p.dim),
  std: ([x], p) => E.std(x, p.dim), prod: ([x], p) => E.prod(x, p.dim), max: ([x], p) => E.max(x, p.dim),
  softmax: ([x], p) => E.softmax(x, p.dim), logSoftmax: ([x], p) => E.logSoftmax(x, p.dim),
  matmul: ([a, b]) => E.matmul(a, b), linear: ([x, w, b]) => E.linear(x, w, b),
  batchNorm: ([x, w, b]) => batchNormFused(x, w, b, { runningMean: null, runningVar: null, training: true, momentum: 0.1, eps: 1e-5, numBatchesTracked: null }),
  gather: ([x], p) => E.square(E.gather(x, p.dim, idx(p.index))),
  crossEntropy: ([x], p) => new E.nn.CrossEntropyLoss().forward(x, idx(p.target)),
  bce: ([a, b]) => new E.nn.BCELoss().forward(a, b), bceWithLogits: ([a, b]) => new E.nn.BCEWithLogitsLoss().forward(a, b),
  mse: ([a, b]) => new E.nn.MSELoss().forward(a, b), huber: ([a, b]) => new E.nn.HuberLoss({ delta: 0.5 }).forward(a, b),
  // cubed (see the generator): the op's gradient is differentiated through the op
  neg: ([x]) => cube(E.neg(x)), abs: ([x]) => cube(E.abs(x)), add: ([a, b]) => cube(E.add(a, b)), sub: ([a, b]) => cube(E.sub(a, b)),
  maximum: ([a, b]) => cube(E.maximum(a, b)), minimum: ([a, b]) => cube(E.minimum(a, b)), min: ([x], p) => cube(E.min(x, p.dim)),
  clamp: ([x], p) => cube(E.clamp(x, p.min, p.max)), hardtanh: ([x]) => cube(E.hardtanh(x)),
  where: ([a, b], p) => cube(E.where(E.tensor(p.cond as number[][]), a, b)), reshape: ([x], p) => cube(E.reshape(x, p.shape)),
  permute: ([x], p) => cube(E.permute(x, p.dims)), transpose: ([x], p) => cube(E.transpose(x, p.dims[0], p.dims[1])),
  expand: ([x], p) => cube(E.expand(x, p.shape)), narrow: ([x], p) => cube(E.narrow(x, p.dim, p.start, p.length)),
  concat: ([a, b], p) => cube(E.concat([a, b], p.dim)), stack: ([a, b], p) => cube(E.stack([a, b], p.dim)),
  indexSelect: ([x], p) => cube(E.indexSelect(x, p.dim, p.index)), flatten: ([x]) => cube(E.flatten(x)),
  squeeze: ([x], p) => cube(E.squeeze(x, p.dim)), unsqueeze: ([x], p) => cube(E.unsqueeze(x, p.dim)), clone: ([x]) => cube(E.clone(x)),
  nll: ([x], p) => new E.nn.NLLLoss().forward(E.logSoftmax(x, 1), idx(p.target)), l1: ([a, b]) => cube(new E.nn.L1Loss().forward(a, b)),
};
/** The differentiable ops the fixture need not cover: conversions, random ops (PyTorch's masks are
 * not ours), and the adjoint ops, covered through the ops whose gradients they are. */
const NOT_IN_FIXTURE = new Set(['cast', 'to', 'dropout', 'dropoutMask', 'indexAdd', 'scatterAdd', 'narrowBackward', 'sumToShape', 'broadcastTo', 'signMul']);
/** Registry names whose fixture case has another name. */
const CASE_OF: Record<string, string> = { binaryCrossEntropy: 'bce' };

describe('second derivatives match PyTorch (torch.autograd.grad with create_graph)', () => {
  it('the fixture covers every op of the table, and the table every case', () => {
    expect(fx.ops.map((c) => c.name).sort()).toEqual(Object.keys(OPS).sort());
  });

  it('every differentiable op of the registry has a PyTorch second-derivative case', () => {
    const have = new Set(Object.keys(OPS));
    const missing = registeredOps().filter((o) => o.differentiable && !NOT_IN_FIXTURE.has(o.name) && !o.name.endsWith('Backward') && !have.has(CASE_OF[o.name] ?? o.name));
    expect(missing.map((o) => o.name)).toEqual([]);
  });

  it.each(fx.ops.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    E.tidy(() => {
      const xs = c.inputs.map((e) => f64(e, true));
      const y = OPS[c.name](xs, c.params);
      close(y, c.out, 'output');
      const gs = E.autograd.grad(E.sum(E.mul(y, f64(c.w))), xs, { createGraph: true, allowUnused: true });
      gs.forEach((g, i) => close(g ?? E.zerosLike(xs[i]), c.grads[i], `grad ${i}`));
      const s = gs.reduce<Tensor | null>((acc, g, i) => (g ? (acc ? acc.add(E.sum(E.mul(g, f64(c.v[i])))) : E.sum(E.mul(g, f64(c.v[i])))) : acc), null);
      const hv = s && s.requiresGrad ? E.autograd.grad(s, xs, { allowUnused: true }) : xs.map(() => null);
      hv.forEach((h, i) => close(h ?? E.zerosLike(xs[i]), c.hv[i], `second derivative ${i}`, 1e-6, 1e-8));
    });
  });
});

function buildMlp(): E.nn.Sequential {
  const m = new E.nn.Sequential(new E.nn.Linear(5, 8), new E.nn.BatchNorm1d(8), new E.nn.Tanh(), new E.nn.Linear(8, 3)).to('float64');
  const sd: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(fx.mlp.state)) sd[k] = f64(v);
  m.loadStateDict(sd, { strict: false });
  for (const t of Object.values(sd)) t.dispose();
  return m;
}

describe('an MLP with BatchNorm in training mode', () => {
  it('the Hessian-vector product over all parameters matches PyTorch (fused batch norm, double backward)', () => {
    const before = E.memory().cpu.tensors;
    const model = buildMlp();
    E.tidy(() => {
      const params = model.parameters();
      const names = model.namedParameters().map(([n]) => n);
      expect(names).toEqual(fx.mlp.names);
      const out = model.forward(f64(fx.mlp.x));
      expect(out.gradFn).not.toBeNull();
      const loss = new E.nn.CrossEntropyLoss().forward(out, idx(fx.mlp.y));
      expect(Math.abs(loss.item() - fx.mlp.loss)).toBeLessThan(1e-12);
      const g = E.autograd.grad(loss, params, { createGraph: true });
      g.forEach((gi, i) => close(gi, fx.mlp.grads[i], `grad ${names[i]}`));
      const dot = g.reduce<Tensor>((acc, gi, i) => acc.add(E.sum(E.mul(gi!, f64(fx.mlp.v[i])))), E.zeros([], { dtype: 'float64' }));
      const hv = E.autograd.grad(dot, params);
      hv.forEach((h, i) => close(h, fx.mlp.hv[i], `Hv ${names[i]}`, 1e-6, 1e-9));
      // backward did not touch .grad
      for (const p of params) expect(p.grad).toBeNull();
    });
    for (const p of model.parameters()) p.dispose();
    for (const b of model.buffers()) b.dispose();
    expect(E.memory().cpu.tensors).toBe(before);
  });

  it('the batch norm was the fused op (its double backward recomputes in recorded ops)', () => {
    const model = buildMlp();
    const y = model.forward(f64(fx.mlp.x));
    // Sequential → Linear → BatchNorm1d → Tanh → Linear: the tanh's input is the batch norm's output.
    const tanhNode = y.gradFn!.inputs[0]!.gradFn!;
    expect(tanhNode.name).toBe('tanh');
    expect(tanhNode.inputs[0]!.gradFn!.name).toBe('batchNorm');
  });
});

describe('functional forms and the small Hessian', () => {
  const hfun = (z: Tensor): Tensor => E.tidy(() => {
    const parts = [0, 1, 2].map((i) => E.narrow(z, 0, i, 1));
    const lse = E.log(E.sum(E.exp(z)));
    return E.sum(E.pow(z, 3)).add(E.sum(parts[0].mul(parts[1]).mul(E.tanh(parts[2])))).add(lse);
  });

  it('hessian() matches torch.autograd.functional.hessian', () => {
    const h = E.autograd.functional.hessian(hfun, f64(fx.hessian.x));
    close(h, fx.hessian.hessian, 'hessian', 1e-7, 1e-9);
  });

  it('hessian() of a small MLP with BatchNorm in training mode, in its input, matches PyTorch', () => {
    const m = new E.nn.Sequential(new E.nn.Linear(3, 4), new E.nn.BatchNorm1d(4), new E.nn.Tanh(), new E.nn.Linear(4, 1)).to('float64');
    const sd: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(fx.hessianMlp.state)) sd[k] = f64(v);
    m.loadStateDict(sd, { strict: false });
    const h = E.autograd.functional.hessian((z) => m.forward(z).sum(), f64(fx.hessianMlp.x));
    expect(h.shape).toEqual([4, 3, 4, 3]);
    close(h, fx.hessianMlp.hessian, 'hessian of the MLP', 1e-7, 1e-9);
  });

  it('hvp, vjp and jvp agree with the Hessian and the Jacobian', () => {
    const x = f64(fx.hessian.x);
    const v = E.tensor([0.3, -1.2, 0.5, 2], { dtype: 'float64' });
    const [value, hv] = E.autograd.functional.hvp(hfun, x, v);
    expect(Math.abs(value.item() - fx.hessian.value)).toBeLessThan(1e-12);
    const H = fx.hessian.hessian.data;
    const want = [0, 1, 2, 3].map((i) => [0, 1, 2, 3].reduce((s, j) => s + H[i * 4 + j] * v.data()[j], 0));
    close(hv as Tensor, { shape: [4], data: want }, 'hvp');
    // f(x) = x² elementwise: J = diag(2x); vjp(u) = 2x·u, jvp(u) = 2x·u
    const u = E.tensor([1, 2, 3, 4], { dtype: 'float64' });
    const [, vj] = E.autograd.functional.vjp((z) => z.square(), x, u);
    const [, jv] = E.autograd.functional.jvp((z) => z.square(), x, u);
    const twoXu = Array.from(x.data(), (xi, i) => 2 * xi * u.data()[i]);
    close(vj as Tensor, { shape: [4], data: twoXu }, 'vjp');
    close(jv, { shape: [4], data: twoXu }, 'jvp');
    // a non-square Jacobian: f(x) = [Σx, Σx²] (2 outputs, 4 inputs): J·u = [Σu, Σ2x·u]
    const [, jv2] = E.autograd.functional.jvp((z) => E.stack([E.sum(z), E.sum(z.square())], 0), x, u);
    close(jv2, { shape: [2], data: [10, twoXu.reduce((a, b) => a + b, 0)] }, 'jvp of a 4→2 map');
  });
});

describe('gradient penalty (WGAN-GP critic loss)', () => {
  it('the penalty, the loss and the critic gradients match PyTorch', () => {
    const p = fx.penalty;
    const critic = new E.nn.Sequential(new E.nn.Linear(4, 8), new E.nn.LeakyReLU({ negativeSlope: 0.2 }), new E.nn.Linear(8, 1)).to('float64');
    const sd: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(p.state)) sd[k] = f64(v);
    critic.loadStateDict(sd);
    E.tidy(() => {
      const real = f64(p.real), fake = f64(p.fake), eps = f64(p.eps);
      const xhat = eps.mul(real).add(E.sub(1, eps).mul(fake)).detach();
      xhat.requiresGrad = true;
      const [gx] = E.autograd.grad(critic.forward(xhat).sum(), xhat, { createGraph: true });
      const gp = E.mean(E.square(E.sqrt(E.sum(E.square(gx!), 1)).sub(1)));
      expect(Math.abs(gp.item() - p.penalty)).toBeLessThan(1e-12);
      const loss = E.mean(critic.forward(fake)).sub(E.mean(critic.forward(real))).add(gp.mul(10));
      expect(Math.abs(loss.item() - p.loss)).toBeLessThan(1e-12);
      loss.backward();
      critic.namedParameters().forEach(([n, w], i) => {
        expect(n).toBe(p.names[i]);
        close(w.grad, p.grads[i], `grad ${n}`);
      });
    });
  });
});

describe('autograd.grad: contract', () => {
  it('returns gradients without touching .grad, accumulates across outputs, and differentiates twice', () => {
    const x = E.tensor([1, 2, 3], { requiresGrad: true });
    const [g] = E.autograd.grad(x.pow(3).sum(), x, { createGraph: true });
    expect(Array.from(g!.data())).toEqual([3, 12, 27]);
    expect(g!.requiresGrad).toBe(true);
    const [h] = E.autograd.grad(g!.sum(), x);
    expect(Array.from(h!.data())).toEqual([6, 12, 18]);
    expect(x.grad).toBeNull();
    const [two] = E.autograd.grad([x.sum(), x.mul(2).sum()], [x]);
    expect(Array.from(two!.data())).toEqual([3, 3, 3]);
    // backward({ createGraph }) puts a differentiable gradient into .grad
    x.pow(2).sum().backward(undefined, { createGraph: true });
    expect(x.grad!.requiresGrad).toBe(true);
    const [xx] = E.autograd.grad(x.grad!.sum(), x);
    expect(Array.from(xx!.data())).toEqual([2, 2, 2]);
  });

  it('bad input is a coded error naming the tensor', () => {
    const x = E.tensor([1, 2], { requiresGrad: true });
    const c = E.tensor([1, 2]);
    const y = x.mul(3);
    const err = (fn: () => unknown): string => { try { fn(); return 'no error'; } catch (e) { return `${(e as E.EntrenaError).code}: ${(e as Error).message}`; } };
    expect(err(() => E.autograd.grad(y, x))).toMatch(/^ERR_SHAPE: grad: outputs\[0\] has shape \[2\]; .*pass gradOutputs/);
    expect(err(() => E.autograd.grad(y.sum(), [x, c]))).toMatch(/^ERR_AUTOGRAD: grad: inputs\[1\] .* does not require grad/);
    const unused = E.tensor([5], { requiresGrad: true });
    expect(err(() => E.autograd.grad(y.sum(), [x, unused], { retainGraph: true }))).toMatch(/^ERR_AUTOGRAD: grad: inputs\[1\] .* was not used .* allowUnused/);
    expect(E.autograd.grad(y.sum(), [x, unused], { allowUnused: true, retainGraph: true })[1]).toBeNull();
    expect(err(() => E.autograd.grad(c.sum(), x))).toMatch(/^ERR_AUTOGRAD: grad: outputs\[0\] .* does not require grad/);
    expect(err(() => E.autograd.grad(y, x, { gradOutputs: E.ones([3]) }))).toMatch(/^ERR_SHAPE: grad: gradOutputs\[0\] has shape \[3\], expected \[2\]/);
    expect(err(() => E.autograd.grad(y.sum(), 'x' as never))).toMatch(/^ERR_INVALID_ARGUMENT: grad: expected inputs to be a Tensor/);
    expect(err(() => E.autograd.functional.hvp((z) => z.square(), x, E.ones([3])))).toMatch(/^ERR_SHAPE: hvp: v\[0\] has shape \[3\], expected \[2\]/);
    expect(err(() => E.autograd.functional.hessian((z) => z.square(), x))).toMatch(/^ERR_SHAPE: hessian: expected fn to return a scalar/);
  });

  it('a graph built with createGraph is released when its last output is disposed', () => {
    const before = E.memory().cpu.tensors;
    const w = E.randn([4, 3], { requiresGrad: true });
    const xin = E.randn([5, 4]);
    const loss = E.tidy(() => E.tanh(E.matmul(xin, w)).square().mean());
    const [g] = E.autograd.grad(loss, w, { createGraph: true });
    const gg = E.tidy(() => g!.square().sum());
    const [h] = E.autograd.grad(gg, w);
    expect(h!.shape).toEqual([4, 3]);
    for (const t of [h!, gg, g!, loss]) t.dispose();
    for (const t of [w, xin]) t.dispose();
    expect(E.memory().cpu.tensors).toBe(before);
  });

  it('under tidy, every tensor of a double backward is freed', () => {
    const w = E.randn([4, 3], { requiresGrad: true });
    const before = E.memory().cpu.tensors;
    const n = E.tidy(() => {
      const [f, hv] = E.autograd.functional.hvp((z) => E.tanh(z).square().sum(), w, E.onesLike(w));
      return f.item() + E.sum(hv as Tensor).item();
    });
    expect(Number.isFinite(n)).toBe(true);
    expect(E.memory().cpu.tensors).toBe(before);
  });
});
