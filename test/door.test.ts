// door.test.ts — the one door every op passes (lib/ts/ops/door.ts): what it owns for every op —
// operand checks and their codes, the dtype rule, the per-op scope that frees temporaries even when
// the op throws, graph-owned temporaries released by backward, the autograd record — and the
// defects it closed (leaf backward, matmul's vector path, leaks on throwing ops).
import { describe, expect, it } from 'vitest';
import * as E from '../lib/ts/index.js';
import { defineOp, registeredOps, runOp } from '../lib/ts/ops/index.js';

const live = (): number => E.memory().cpu.tensors;

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code ?? `not an EntrenaError: ${String(e)}`;
  }
  return 'no error';
}

/** Runs `fn` on fresh inputs and checks that, once its inputs are disposed, no tensor is left. */
function leaksNothing(make: () => E.Tensor[], fn: (...xs: E.Tensor[]) => unknown): void {
  const before = live();
  const xs = make();
  try {
    const r = fn(...xs);
    if (r instanceof E.Tensor) r.dispose();
  } catch {
    // the op threw: what it made must be gone all the same
  }
  for (const t of xs) { t.grad = null; t.dispose(); }
  expect(live()).toBe(before);
}

describe('the door: per-op scope', () => {
  it('frees the converted operands of an op that throws after converting them', () => {
    // float32 · float64 converts the first operand, then the shapes do not fit.
    leaksNothing(() => [E.zeros([2, 3]), E.zeros([4, 5], { dtype: 'float64' })], (a, b) => E.matmul(a, b));
    leaksNothing(() => [E.zeros([2, 3]), E.zeros([4, 3], { dtype: 'float64' }), E.zeros([5])], (x, w, b) => E.linear(x, w, b));
    leaksNothing(() => [E.zeros([2, 3], { dtype: 'int32' }), E.zeros([2, 4])], (a, b) => E.concat([a, b], 0));
  });

  it('frees the index tensor and output of an indexSelect whose index is out of range', () => {
    leaksNothing(() => [E.zeros([3, 2])], (x) => E.indexSelect(x, 0, [0, 7]));
    leaksNothing(() => [E.zeros([3, 2], { requiresGrad: true })], (x) => E.indexSelect(x, 0, [0, 7]));
    expect(code(() => E.indexSelect(E.zeros([3, 2]), 0, [0, 7]))).toBe('ERR_INDEX');
  });

  it('matmul of vectors leaves no view behind (forward and backward)', () => {
    leaksNothing(() => [E.ones([4]), E.ones([4, 3])], (a, b) => E.matmul(a, b));
    leaksNothing(() => [E.ones([3, 4]), E.ones([4])], (a, b) => E.matmul(a, b));
    leaksNothing(() => [E.ones([4], { requiresGrad: true }), E.ones([2, 4, 3], { requiresGrad: true })], (a, b) => {
      const y = E.matmul(a, b);
      const s = y.sum();
      s.backward();
      s.dispose();
      return y;
    });
  });

  it('a composite op (std) keeps no temporaries without grad, and backward releases the ones its graph needed', () => {
    leaksNothing(() => [E.randn([3, 4])], (x) => E.std(x, 1));
    // The variance inside std (and the mean, deviations … inside layerNorm) are the composite's own
    // temporaries that its graph needs: kept until backward, then released by it.
    leaksNothing(() => [E.randn([3, 4], { requiresGrad: true })], (x) => {
      const s = E.std(x, 1);
      const y = s.sum();
      y.backward();
      s.dispose();
      return y;
    });
    leaksNothing(() => [E.randn([4, 3], { requiresGrad: true })], (x) => {
      const n = E.nn.functional.layerNorm(x, [3], null, null, 1e-5);
      const y = n.sum();
      y.backward();
      n.dispose();
      return y;
    });
  });

  it('mixed-dtype linear in a training step frees its conversions after backward', () => {
    leaksNothing(() => [E.randn([5, 4], { dtype: 'float64' }), E.randn([3, 4], { requiresGrad: true }), E.randn([3], { requiresGrad: true })], (x, w, b) => {
      const y = E.linear(x, w, b);
      expect(y.dtype).toBe('float64');
      const s = y.sum();
      s.backward();
      expect(w.grad!.dtype).toBe('float32');
      expect(Array.from(b.grad!.data())).toEqual([5, 5, 5]);
      s.dispose();
      return y;
    });
  });

  it('an op inside an op records one node, not the inner ones', () => {
    const x = E.randn([2, 3], { requiresGrad: true });
    const y = E.matmul(x, E.randn([3], { requiresGrad: true })); // the vector path reshapes inside the op
    expect(y.gradFn!.name).toBe('matmul');
    expect(y.gradFn!.inputs.map((t) => t && t.shape)).toEqual([[2, 3], [3]]);
  });
});

describe('the door: one rule, one code', () => {
  it('an int32 tensor where floating point is needed is ERR_DTYPE for every op', () => {
    const i = E.tensor([[1, 2], [3, 4]], { dtype: 'int32' });
    const f = E.ones([2, 2]);
    for (const fn of [() => E.matmul(i, f), () => E.matmul(f, i), () => E.linear(i, f), () => E.mean(i), () => E.variance(i),
      () => E.softmax(i, 1), () => E.logSoftmax(i, 0), () => new E.nn.Linear(2, 2).forward(i)]) {
      expect(code(fn)).toBe('ERR_DTYPE');
    }
  });

  it('a non-tensor argument is ERR_INVALID_ARGUMENT naming it; two numbers are refused', () => {
    expect(() => E.matmul(E.ones([2, 2]), [1, 2] as never)).toThrow(/matmul: expected the second operand to be a Tensor, received an array/);
    expect(() => E.linear(E.ones([2, 2]), E.ones([2, 2]), 'b' as never)).toThrow(/linear: expected bias to be a Tensor or null/);
    expect(code(() => E.add(1, 2 as never))).toBe('ERR_INVALID_ARGUMENT');
    expect(code(() => E.exp(3 as never))).toBe('ERR_INVALID_ARGUMENT');
  });

  it('a disposed argument is ERR_DISPOSED', () => {
    const t = E.ones([2]);
    t.dispose();
    expect(code(() => E.add(t, 1))).toBe('ERR_DISPOSED');
    expect(code(() => E.sum(t))).toBe('ERR_DISPOSED');
  });

  it('numbers are weak scalars; an int32 tensor with a fractional number computes in float32', () => {
    expect(E.add(E.ones([2], { dtype: 'float32' }), 0.5).dtype).toBe('float32');
    expect(E.add(E.ones([2], { dtype: 'int32' }), 2).dtype).toBe('int32');
    const r = E.add(E.ones([2], { dtype: 'int32' }), 0.5);
    expect(r.dtype).toBe('float32');
    expect(Array.from(r.data())).toEqual([1.5, 1.5]);
    expect(E.where(E.tensor([1, 0]), 1, 0).dtype).toBe('float32');
  });
});

// Unrecorded calls that need no conversion skip the door's general path (OpDef.direct / direct2):
// the results, dtypes, errors and tensor counts must be those of the general path, which a
// recorded call (an argument that requires grad) takes.
describe('the door: the direct path of unrecorded calls', () => {
  const viaGeneral = (fn: (...xs: E.Tensor[]) => E.Tensor, ...xs: E.Tensor[]): E.Tensor => {
    const ys = xs.map((x) => { const y = x.dtype === 'int32' ? x : x.clone(); if (y !== x) y.requiresGrad = true; return y; });
    return E.noGrad(() => fn(...ys));  // requiresGrad inputs: the general path, grad mode off: no record
  };
  it('gives the general path\'s values and dtypes for unary, binary and view ops, numbers on either side', () => {
    const a = E.tensor([[-1.5, 2], [0.25, -3]]), b = E.tensor([2, -0.5]), d = E.tensor([1, 2], { dtype: 'float64' });
    const i = E.tensor([3, -4], { dtype: 'int32' });
    const cases: [string, (...xs: E.Tensor[]) => E.Tensor, E.Tensor[]][] = [
      ['relu', (x) => E.relu(x), [a]], ['exp', (x) => E.exp(x), [a]], ['neg int32', (x) => E.neg(x), [i]],
      ['exp int32 (float)', (x) => E.exp(x), [i]], ['add', (x, y) => E.add(x, y), [a, b]], ['sub number', (x) => E.sub(2, x), [a]],
      ['mul number', (x) => E.mul(x, 0.5), [a]], ['div int32 (float)', (x, y) => E.div(x, y), [i, i]], ['add int32 number', (x) => E.add(x, 2), [i]],
      ['add int32 fraction', (x) => E.add(x, 0.5), [i]], ['add mixed dtypes', (x, y) => E.add(x, y), [b, d]], ['gt', (x, y) => E.gt(x, y), [a, b]],
      ['reshape', (x) => E.reshape(x, [4]), [a]], ['reshape of a transpose (copy)', (x) => E.reshape(E.transpose(x, 0, 1), [-1]), [a]],
      ['narrow', (x) => E.narrow(x, 1, 1, 1), [a]], ['expand', (x) => E.expand(x, [3, 2]), [b]], ['permute', (x) => E.permute(x, [1, 0]), [a]],
    ];
    for (const [name, fn, xs] of cases) {
      const direct = fn(...xs), general = viaGeneral(fn, ...xs);
      expect(direct.dtype, name).toBe(general.dtype);
      expect(direct.shape, name).toEqual(general.shape);
      expect(Array.from(direct.data()), name).toEqual(Array.from(general.data()));
    }
  });
  it('refuses what the general path refuses, with the same codes, and leaves nothing behind', () => {
    const a = E.ones([2, 3]);
    const gone = E.ones([2]);
    gone.dispose();
    expect(code(() => E.relu(gone))).toBe('ERR_DISPOSED');
    expect(code(() => E.add(gone, 1))).toBe('ERR_DISPOSED');
    expect(code(() => E.add(a, E.ones([4])))).toBe('ERR_SHAPE');
    expect(code(() => E.reshape(a, [4]))).toBe('ERR_SHAPE');
    expect(code(() => E.narrow(a, 1, 2, 5))).toBe('ERR_INVALID_ARGUMENT');
    expect(code(() => E.add(a, 'x' as never))).toBe('ERR_INVALID_ARGUMENT');
    leaksNothing(() => [E.ones([2, 3]), E.ones([4])], (x, y) => E.add(x, y));
    leaksNothing(() => { const t = E.ones([2, 3]); return [t, E.transpose(t, 0, 1)]; }, (_t, v) => E.reshape(v, [6]));
    leaksNothing(() => [E.ones([2, 3])], (x) => E.reshape(x, [7]));
    a.dispose();
  });
  it('makes exactly its result, which tidy disposes', () => {
    const a = E.ones([2, 2]);
    const before = live();
    E.tidy(() => { E.relu(a); E.add(a, 1); E.reshape(a, [4]); E.mul(2, a); });
    expect(live()).toBe(before);
    const r = E.add(a, a);
    expect(live()).toBe(before + 1);
    r.dispose();
    a.dispose();
  });
});

describe('the door: autograd record', () => {
  it('backward on a leaf sets its gradient (1 for a scalar, g otherwise), as PyTorch', () => {
    const s = E.tensor(3, { requiresGrad: true });
    s.backward();
    expect(s.grad!.item()).toBe(1);
    const v = E.tensor([1, 2, 3], { requiresGrad: true });
    const g = E.tensor([0.5, -1, 2]);
    v.backward(g);
    expect(Array.from(v.grad!.data())).toEqual([0.5, -1, 2]);
    v.backward(g); // accumulates
    expect(Array.from(v.grad!.data())).toEqual([1, -2, 4]);
    g.dispose();
    expect(Array.from(v.grad!.data())).toEqual([1, -2, 4]); // a copy, not the caller's tensor
  });

  it('a cast carries the gradient back in the source dtype', () => {
    const x = E.tensor([1, 2, 3], { requiresGrad: true });
    const w = E.tensor([0.25, 0.5, 2], { dtype: 'float64' });
    x.cast('float64').mul(w).sum().backward();
    expect(x.grad!.dtype).toBe('float32');
    expect(Array.from(x.grad!.data())).toEqual([0.25, 0.5, 2]);
    const y = E.tensor([1.5, 2.5], { requiresGrad: true });
    const i = y.cast('int32');
    expect(i.requiresGrad).toBe(false); // an integer result carries no gradient
  });

  it('the fused batch norm records one node named batchNorm (the fused path ran)', () => {
    const bn = new E.nn.BatchNorm1d(3);
    const y = bn.forward(E.randn([4, 3], { requiresGrad: true }));
    expect(y.gradFn!.name).toBe('batchNorm');
  });

  it('every op is registered once under its name, and a second definition is refused', () => {
    const names = registeredOps().map((o) => o.name);
    expect(new Set(names).size).toBe(names.length);
    for (const n of ['add', 'matmul', 'linear', 'batchNorm', 'dropout', 'softmax', 'prod', 'atan2', 'leakyRelu']) expect(names).toContain(n);
    expect(code(() => defineOp({ name: 'add', args: [{ name: 'input' }], forward: (c) => c.args[0] as E.Tensor }))).toBe('ERR_INTERNAL');
  });

  it('a custom op defined through the door gets checks, dtype promotion, its gradient and broadcasting reduction', () => {
    // f(a, b) = a·b + a (broadcast), with its rule: df/da = b + 1, df/db = a.
    const def = defineOp({
      name: 'testMulAdd', args: [{ name: 'a' }, { name: 'b' }], broadcast: true,
      forward: (c) => E.add(E.mul(c.args[0] as E.Tensor, c.args[1] as E.Tensor), c.args[0] as E.Tensor),
      backward: (g, c) => [E.mul(g, E.add(c.inputs[1] as E.Tensor, 1)), E.mul(g, c.inputs[0] as E.Tensor)],
    });
    const a = E.tensor([[1, 2], [3, 4]], { requiresGrad: true });
    const b = E.tensor([10, 20], { dtype: 'float64', requiresGrad: true });
    const y = runOp(def, [a, b], undefined);
    expect(y.dtype).toBe('float64');
    expect(y.gradFn!.name).toBe('testMulAdd');
    y.sum().backward();
    expect(a.grad!.dtype).toBe('float32');
    expect(a.grad!.toArray()).toEqual([[11, 21], [11, 21]]);
    expect(b.grad!.dtype).toBe('float64');
    expect(b.grad!.toArray()).toEqual([4, 6]); // summed over the broadcast rows
    expect(() => runOp(def, [a, 'x'], undefined)).toThrow(/testMulAdd: expected b to be a Tensor, received the string "x"/);
  });
});

describe('prod and atan2 (kernels exposed as ops)', () => {
  it('prod over all, a dim, with keepDim, and of int32', () => {
    expect(E.prod(E.tensor([[1, 2], [3, 4]])).item()).toBe(24);
    expect(E.prod(E.tensor([[1, 2], [3, 4]]), 1).toArray()).toEqual([2, 12]);
    expect(E.tensor([[1, 2], [3, 4]]).prod(0, { keepDim: true }).toArray()).toEqual([[3, 8]]);
    const i = E.prod(E.tensor([2, 3, -4], { dtype: 'int32' }));
    expect(i.dtype).toBe('int32');
    expect(i.item()).toBe(-24);
  });

  it('atan2 gives the angle in (−π, π] with broadcasting and numbers', () => {
    const r = E.atan2(E.tensor([1, 1, -1, 0]), E.tensor([1, -1, -1, -1]));
    const want = [Math.atan2(1, 1), Math.atan2(1, -1), Math.atan2(-1, -1), Math.atan2(0, -1)];
    Array.from(r.data()).forEach((v, k) => expect(v).toBeCloseTo(want[k], 6));
    expect(E.atan2(E.tensor([1, 2], { dtype: 'int32' }), 2).dtype).toBe('float32');
  });
});
