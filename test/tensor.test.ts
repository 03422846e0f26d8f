// tensor.test.ts — the Tensor contract: creation, views, dispose/tidy, randomness, dtypes, errors
// and the autograd engine's behaviour (API.md, sections Tensors and Autograd).
import { describe, expect, it } from 'vitest';
import * as E from '../lib/ts/index.js';
import type { Tensor } from '../lib/ts/index.js';

/** Runs fn, expects an EntrenaError with `code` whose message contains every `parts` string. */
function expectCode(fn: () => unknown, code: string, ...parts: string[]): E.EntrenaError {
  let caught: unknown = null;
  try { fn(); } catch (e) { caught = e; }
  expect(caught, `expected ${code}, nothing was thrown`).not.toBeNull();
  expect(caught).toBeInstanceOf(E.EntrenaError);
  const err = caught as E.EntrenaError;
  expect(err.code, err.message).toBe(code);
  for (const p of parts) expect(err.message).toContain(p);
  return err;
}

const f32 = (v: E.Tensor): number[] => Array.from(v.data());
const close = (a: number[], b: number[], tol = 1e-6): void => {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => expect(Math.abs(x - b[i]), `element ${i}: ${x} vs ${b[i]}`).toBeLessThanOrEqual(tol * (1 + Math.abs(b[i]))));
};

// ---- creation -------------------------------------------------------------------------------------

describe('creation', () => {
  it('nested arrays give the shape, float32 by default', () => {
    const t = E.tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(t.device).toBe('cpu');
    expect(t.size).toBe(6);
    expect(t.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(t.data()).toBeInstanceOf(Float32Array);
  });
  it('deeper nesting, scalars, empty arrays and booleans', () => {
    expect(E.tensor([[[1], [2]], [[3], [4]]]).shape).toEqual([2, 2, 1]);
    const s = E.tensor(3.5);
    expect(s.shape).toEqual([]);
    expect(s.item()).toBe(3.5);
    expect(s.toArray()).toBe(3.5);
    expect(E.tensor([]).shape).toEqual([0]);
    expect(E.tensor([[], []]).shape).toEqual([2, 0]);
    expect(E.tensor([true, false, true]).toArray()).toEqual([1, 0, 1]);
  });
  it('flat values plus shape', () => {
    const t = E.tensor([1, 2, 3, 4, 5, 6], { shape: [3, 2] });
    expect(t.shape).toEqual([3, 2]);
    expect(t.toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
    expect(E.tensor([7], { shape: [] }).shape).toEqual([]);
    expect(E.tensor([], { shape: [0, 4] }).shape).toEqual([0, 4]);
  });
  it('typed arrays pick their dtype unless one is given', () => {
    expect(E.tensor(new Float32Array([1, 2])).dtype).toBe('float32');
    expect(E.tensor(new Float64Array([1, 2])).dtype).toBe('float64');
    const i = E.tensor(new Int32Array([1, -2, 3]));
    expect(i.dtype).toBe('int32');
    expect(i.data()).toBeInstanceOf(Int32Array);
    expect(E.tensor(new Float64Array([1.5, 2]), { dtype: 'float32' }).dtype).toBe('float32');
    expect(E.tensor(new Float32Array([1, 2, 3, 4]), { shape: [2, 2] }).toArray()).toEqual([[1, 2], [3, 4]]);
  });
  it('dtype option: float64 keeps full precision, float32 rounds, int32 holds integers', () => {
    expect(E.tensor([0.1], { dtype: 'float64' }).item()).toBe(0.1);
    expect(E.tensor([0.1]).item()).toBe(Math.fround(0.1));
    const i = E.tensor([[1, 2], [3, 4]], { dtype: 'int32' });
    expect(i.dtype).toBe('int32');
    expect(i.toArray()).toEqual([[1, 2], [3, 4]]);
  });
  it('zeros, ones, full, eye, arange, linspace', () => {
    expect(E.zeros([2, 3]).toArray()).toEqual([[0, 0, 0], [0, 0, 0]]);
    expect(E.ones([2], { dtype: 'float64' }).dtype).toBe('float64');
    expect(E.full([2, 2], 7, { dtype: 'int32' }).toArray()).toEqual([[7, 7], [7, 7]]);
    expect(E.zeros([0, 3]).size).toBe(0);
    expect(E.zeros([]).shape).toEqual([]);
    expect(E.eye(3).toArray()).toEqual([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
    expect(E.eye(2, 3).shape).toEqual([2, 3]);
    const a = E.arange(0, 5);
    expect(a.toArray()).toEqual([0, 1, 2, 3, 4]);
    expect(E.arange(5).toArray()).toEqual([0, 1, 2, 3, 4]);
    expect(E.arange(0, 1, 0.25).toArray()).toEqual([0, 0.25, 0.5, 0.75]);
    expect(E.arange(0, 1, 0.25).dtype).toBe('float32');
    expect(E.arange(5, 0, -2).toArray()).toEqual([5, 3, 1]);
    expect(E.linspace(0, 1, 5).toArray()).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(E.linspace(2, 3, 1).toArray()).toEqual([2]);
  });
  it('rand in [0, 1), randint in [low, high) as int32', () => {
    E.manualSeed(1);
    const r = E.rand([1000]);
    const rv = f32(r);
    expect(Math.min(...rv)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...rv)).toBeLessThan(1);
    const k = E.randint(-3, 4, [2000]);
    expect(k.dtype).toBe('int32');
    expect(k.shape).toEqual([2000]);
    const kv = f32(k);
    expect(Math.min(...kv)).toBe(-3);
    expect(Math.max(...kv)).toBe(3);
    expect(kv.every(Number.isInteger)).toBe(true);
    expect(E.randn([2, 3], { dtype: 'float64' }).dtype).toBe('float64');
  });
});

describe('ragged nested arrays', () => {
  it('throw ShapeError naming the position', () => {
    const e1 = expectCode(() => E.tensor([[1, 2], [3]]), 'ERR_SHAPE', '[1]');
    expect(e1).toBeInstanceOf(E.ShapeError);
    expectCode(() => E.tensor([[[1, 2], [3, 4]], [[5, 6], [7]]]), 'ERR_SHAPE', '[1][1]');
    expectCode(() => E.tensor([[1, 2], 3] as never), 'ERR_SHAPE', '[1]');
    expectCode(() => E.tensor([1, [2]] as never), 'ERR_SHAPE', '[1]');
    expectCode(() => E.tensor([[1, 'a']] as never), 'ERR_SHAPE', '[0][1]');
  });
});

// ---- views ------------------------------------------------------------------------------------------

describe('views share memory', () => {
  it('reshape of a contiguous tensor is a view', () => {
    const x = E.arange(0, 6, 1, { dtype: 'float32' });
    const v = x.reshape([2, 3]);
    v.narrow(0, 1, 1).copy_(E.full([1, 3], 9));
    expect(x.toArray()).toEqual([0, 1, 2, 9, 9, 9]);
    x.fill_(1);
    expect(v.toArray()).toEqual([[1, 1, 1], [1, 1, 1]]);
  });
  it('transpose is a view (not contiguous)', () => {
    const x = E.tensor([[1, 2, 3], [4, 5, 6]]);
    const t = x.T;
    expect(t.shape).toEqual([3, 2]);
    expect(t.isContiguous()).toBe(false);
    expect(t.toArray()).toEqual([[1, 4], [2, 5], [3, 6]]);
    t.narrow(0, 0, 1).copy_(E.tensor([[-1, -4]]));
    expect(x.toArray()).toEqual([[-1, 2, 3], [-4, 5, 6]]);
    const p = E.permute(E.zeros([2, 3, 4]), [2, 0, 1]);
    expect(p.shape).toEqual([4, 2, 3]);
  });
  it('narrow is a view', () => {
    const x = E.zeros([3, 4]);
    const n = x.narrow(1, 1, 2);
    expect(n.shape).toEqual([3, 2]);
    n.copy_(E.ones([3, 2]));
    expect(x.toArray()).toEqual([[0, 1, 1, 0], [0, 1, 1, 0], [0, 1, 1, 0]]);
    x.fill_(5);
    expect(n.toArray()).toEqual([[5, 5], [5, 5], [5, 5]]);
  });
  it('expand and squeeze/unsqueeze are views; clone is a copy', () => {
    const x = E.tensor([[1], [2]]);
    const e = x.expand([2, 3]);
    x.copy_(E.tensor([[7], [8]]));
    expect(e.toArray()).toEqual([[7, 7, 7], [8, 8, 8]]);
    const u = x.unsqueeze(0);
    u.fill_(3);
    expect(x.toArray()).toEqual([[3], [3]]);
    const c = x.clone();
    c.fill_(0);
    expect(x.toArray()).toEqual([[3], [3]]);
  });
  it('a view keeps the buffer alive after its base is disposed', () => {
    const x = E.tensor([1, 2, 3, 4]);
    const v = x.reshape([2, 2]);
    x.dispose();
    expect(v.toArray()).toEqual([[1, 2], [3, 4]]);
    v.dispose();
  });
});

// ---- negative dims --------------------------------------------------------------------------------------

describe('negative dims', () => {
  const x = E.tensor([[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 10], [11, 12]]]); // [2, 3, 2]
  it('count from the end in reductions, softmax and shape ops', () => {
    expect(x.sum(-1).toArray()).toEqual(x.sum(2).toArray());
    expect(x.sum(-3).toArray()).toEqual(x.sum(0).toArray());
    expect(x.mean([-1, -2]).toArray()).toEqual(x.mean([1, 2]).toArray());
    expect(x.max(-2).toArray()).toEqual(x.max(1).toArray());
    expect(x.argmax(-1).toArray()).toEqual(x.argmax(2).toArray());
    expect(x.softmax(-1).toArray()).toEqual(x.softmax(2).toArray());
    expect(x.transpose(-1, -3).shape).toEqual([2, 3, 2]);
    expect(x.transpose(-1, -2).shape).toEqual([2, 2, 3]);
    expect(x.unsqueeze(-1).shape).toEqual([2, 3, 2, 1]);
    expect(x.unsqueeze(-4).shape).toEqual([1, 2, 3, 2]);
    expect(x.unsqueeze(-1).squeeze(-1).shape).toEqual([2, 3, 2]);
    expect(x.narrow(-2, 1, 2).toArray()).toEqual(x.narrow(1, 1, 2).toArray());
    expect(E.concat([x, x], -1).shape).toEqual([2, 3, 4]);
    expect(E.stack([x, x], -1).shape).toEqual([2, 3, 2, 2]);
    expect(x.indexSelect(-1, [1]).toArray()).toEqual(x.indexSelect(2, [1]).toArray());
    expect(x.flatten(-2).shape).toEqual([2, 6]);
    expect(x.permute(-1, -3, -2).shape).toEqual([2, 2, 3]);
  });
  it('out of range is ERR_INVALID_ARGUMENT', () => {
    expectCode(() => x.sum(-4), 'ERR_INVALID_ARGUMENT', '-4');
    expectCode(() => x.sum(3), 'ERR_INVALID_ARGUMENT', '3');
    expectCode(() => x.softmax(-4), 'ERR_INVALID_ARGUMENT');
    expectCode(() => x.unsqueeze(-5), 'ERR_INVALID_ARGUMENT');
    expectCode(() => x.unsqueeze(4), 'ERR_INVALID_ARGUMENT');
    expectCode(() => x.transpose(0, 3), 'ERR_INVALID_ARGUMENT');
    expectCode(() => x.narrow(-4, 0, 1), 'ERR_INVALID_ARGUMENT');
  });
});

// ---- dispose and tidy -------------------------------------------------------------------------------------

describe('dispose', () => {
  it('frees and makes every use throw ERR_DISPOSED', () => {
    const before = E.memory().cpu.tensors;
    const x = E.tensor([1, 2, 3]);
    expect(E.memory().cpu.tensors).toBe(before + 1);
    x.dispose();
    expect(x.isDisposed).toBe(true);
    expect(E.memory().cpu.tensors).toBe(before);
    expectCode(() => x.add(1), 'ERR_DISPOSED');
    expectCode(() => E.add(1, x), 'ERR_DISPOSED');
    expectCode(() => x.data(), 'ERR_DISPOSED');
    expectCode(() => x.toArray(), 'ERR_DISPOSED');
    expectCode(() => x.item(), 'ERR_DISPOSED');
    expectCode(() => x.sum(), 'ERR_DISPOSED');
    expectCode(() => x.reshape([3, 1]), 'ERR_DISPOSED');
    expectCode(() => E.concat([x], 0), 'ERR_DISPOSED');
    expect(() => x.dispose()).not.toThrow(); // idempotent
    expect(E.memory().cpu.tensors).toBe(before);
  });
});

describe('host-buffer pool', () => {
  it('reuses a freed buffer of the same size (up to 4 MB), stays within 64 MB, and emptyCache drains it', () => {
    E.emptyCache();
    expect(E.memory().cpu.pooledBytes).toBe(0);
    // A [128, 512] float32 activation (256 KB): freed into the pool, and the next one reuses it.
    const a = E.zeros([128, 512]);
    a.dispose();
    expect(E.memory().cpu.pooledBytes).toBe(128 * 512 * 4);
    const b = E.ones([128, 512]);
    expect(E.memory().cpu.pooledBytes).toBe(0);
    const s = b.sum();
    expect(s.item()).toBe(128 * 512); // the reused buffer holds what was written, not stale values
    s.dispose();
    b.dispose();
    const pooled = E.memory().cpu.pooledBytes;  // the 256 KB buffer and the sum's small ones
    expect(pooled).toBeGreaterThanOrEqual(128 * 512 * 4);
    // Over 4 MB: never pooled.
    E.zeros([1024, 1025]).dispose();
    expect(E.memory().cpu.pooledBytes).toBe(pooled);
    // Many sizes at once: the pool keeps at most 64 MB.
    const many = Array.from({ length: 40 }, (_, i) => E.zeros([1000 + i, 1000]));
    for (const t of many) t.dispose();
    expect(E.memory().cpu.pooledBytes).toBeLessThanOrEqual(64 * 1024 * 1024);
    expect(E.memory().cpu.pooledBytes).toBeGreaterThan(32 * 1024 * 1024);
    E.emptyCache();
    expect(E.memory().cpu.pooledBytes).toBe(0);
  });
});

describe('tidy', () => {
  it('disposes intermediates and keeps the returned tensor', () => {
    const before = E.memory().cpu.tensors;
    let a!: Tensor, b!: Tensor;
    const out = E.tidy(() => {
      a = E.ones([2, 2]);
      b = a.add(1);
      return b.mul(3);
    });
    expect(a.isDisposed).toBe(true);
    expect(b.isDisposed).toBe(true);
    expect(out.isDisposed).toBe(false);
    expect(out.toArray()).toEqual([[6, 6], [6, 6]]);
    expect(E.memory().cpu.tensors).toBe(before + 1);
    out.dispose();
    expect(E.memory().cpu.tensors).toBe(before);
  });
  it('keeps tensors returned in arrays and objects, and plain values pass through', () => {
    const before = E.memory().cpu.tensors;
    const r = E.tidy(() => {
      const t = E.ones([3]);
      const u = t.mul(2);
      const w = t.add(5);
      E.zeros([4]);
      return { list: [u, 42], nested: { w }, label: 'x' };
    });
    expect(r.label).toBe('x');
    expect(r.list[1]).toBe(42);
    expect((r.list[0] as Tensor).toArray()).toEqual([2, 2, 2]);
    expect(r.nested.w.toArray()).toEqual([6, 6, 6]);
    expect(E.memory().cpu.tensors).toBe(before + 2);
    (r.list[0] as Tensor).dispose();
    r.nested.w.dispose();
    expect(E.memory().cpu.tensors).toBe(before);
    expect(E.tidy(() => { E.ones([2]); return 7; })).toBe(7);
    expect(E.memory().cpu.tensors).toBe(before);
  });
  it('nests: an inner result belongs to the outer scope', () => {
    const before = E.memory().cpu.tensors;
    let inner!: Tensor;
    const out = E.tidy(() => {
      inner = E.tidy(() => E.ones([2]).mul(4));
      expect(inner.isDisposed).toBe(false);
      return inner.add(1);
    });
    expect(inner.isDisposed).toBe(true);
    expect(out.toArray()).toEqual([5, 5]);
    out.dispose();
    expect(E.memory().cpu.tensors).toBe(before);
  });
  it('keep() lets a tensor outlive the scope; a throw still cleans up', () => {
    const before = E.memory().cpu.tensors;
    let kept!: Tensor;
    E.tidy(() => { kept = E.keep(E.ones([2])); E.zeros([3]); });
    expect(kept.isDisposed).toBe(false);
    kept.dispose();
    expect(() => E.tidy(() => { E.ones([5]); throw new Error('boom'); })).toThrow('boom');
    expect(E.memory().cpu.tensors).toBe(before);
  });
  it('keeps what the returned graph needs, so backward works after the scope', () => {
    const w = E.tensor([1, 2, 3], { requiresGrad: true });
    const before = E.memory().cpu.tensors;
    const loss = E.tidy(() => w.mul(w).mul(2).sum());
    loss.backward();
    expect(w.grad!.toArray()).toEqual([4, 8, 12]);
    loss.dispose();
    w.grad = null;
    // backward freed the graph and the loss is disposed: the intermediates tidy kept alive for the
    // graph (w·w and w·w·2) must not stay live, or a `tidy(forward); backward()` loop leaks.
    expect(E.memory().cpu.tensors, 'live tensors after tidy + backward + dispose').toBe(before);
  });
  it('rejects non-functions and async functions', () => {
    expectCode(() => E.tidy(5 as never), 'ERR_INVALID_ARGUMENT');
    expectCode(() => E.tidy((async () => E.ones([1])) as never), 'ERR_INVALID_ARGUMENT');
  });
  it('memory() returns to baseline after a realistic workload', () => {
    const before = E.memory().cpu.tensors;
    E.tidy(() => {
      const x = E.randn([8, 4]);
      const w = E.randn([4, 3], { requiresGrad: true });
      const loss = E.logSoftmax(x.matmul(w), -1).mean();
      loss.backward();
      w.grad = null;
      return undefined;
    });
    expect(E.memory().cpu.tensors).toBe(before);
  });
});

// ---- randomness -------------------------------------------------------------------------------------------

describe('manualSeed', () => {
  it('makes rand, randn and randint repeatable', () => {
    E.manualSeed(42);
    const a = [f32(E.rand([5])), f32(E.randn([7])), f32(E.randint(0, 100, [6]))];
    E.manualSeed(42);
    const b = [f32(E.rand([5])), f32(E.randn([7])), f32(E.randint(0, 100, [6]))];
    expect(b).toEqual(a);
    E.manualSeed(43);
    expect(f32(E.rand([5]))).not.toEqual(a[0]);
  });
  it('successive draws differ; getRngState/setRngState replay', () => {
    E.manualSeed(7);
    const s = E.getRngState();
    const x = f32(E.randn([4]));
    const y = f32(E.randn([4]));
    expect(y).not.toEqual(x);
    E.setRngState(s);
    expect(f32(E.randn([4]))).toEqual(x);
  });
  it('randn has mean ≈ 0 and std ≈ 1 over 1e5 samples; rand mean ≈ 0.5', () => {
    E.manualSeed(123);
    const n = E.randn([100000]);
    expect(Math.abs(n.mean().item())).toBeLessThan(0.015);
    expect(Math.abs(n.std().item() - 1)).toBeLessThan(0.015);
    const u = E.rand([100000]);
    expect(Math.abs(u.mean().item() - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(u.variance().item() - 1 / 12)).toBeLessThan(0.002);
  });
});

// ---- dtypes -----------------------------------------------------------------------------------------------

describe('dtypes', () => {
  const i = E.tensor([1, 2, 3], { dtype: 'int32' });
  const j = E.tensor([2, 2, 2], { dtype: 'int32' });
  it('int32 arithmetic stays int32', () => {
    expect(i.add(j).dtype).toBe('int32');
    expect(i.add(j).toArray()).toEqual([3, 4, 5]);
    expect(i.mul(j).dtype).toBe('int32');
    expect(i.sub(j).toArray()).toEqual([-1, 0, 1]);
    expect(i.add(2).dtype).toBe('int32');
    expect(E.sum(i).dtype).toBe('int32');
    expect(E.sum(i).item()).toBe(6);
    expect(E.neg(i).dtype).toBe('int32');
  });
  it('int32 division is true division in float32; a fractional scalar promotes', () => {
    const d = i.div(j);
    expect(d.dtype).toBe('float32');
    expect(d.toArray()).toEqual([0.5, 1, 1.5]);
    expect(E.div(1, i).dtype).toBe('float32');
    expect(i.add(0.5).dtype).toBe('float32');
    expect(i.add(0.5).toArray()).toEqual([1.5, 2.5, 3.5]);
    expect(E.exp(i).dtype).toBe('float32');
  });
  it('comparisons return 0/1', () => {
    expect(i.gt(1).toArray()).toEqual([0, 1, 1]);
    expect(E.tensor([1, 2]).eq(E.tensor([1, 3])).toArray()).toEqual([1, 0]);
  });
  it('float32 + float64 promotes to float64; int32 + float32 to float32; numbers are weak', () => {
    const a = E.tensor([1, 2]), b = E.tensor([3, 4], { dtype: 'float64' });
    expect(a.add(b).dtype).toBe('float64');
    expect(b.add(a).dtype).toBe('float64');
    expect(E.matmul(E.ones([2, 2]), E.ones([2, 2], { dtype: 'float64' })).dtype).toBe('float64');
    expect(E.tensor([1, 2], { dtype: 'int32' }).add(a).dtype).toBe('float32');
    expect(E.tensor([1, 2], { dtype: 'int32' }).add(b).dtype).toBe('float64');
    expect(a.add(0.1).dtype).toBe('float32');
    expect(E.concat([a, b], 0).dtype).toBe('float64');
  });
  it('gradients flow back through a promotion in the input dtype', () => {
    const a = E.tensor([1, 2], { requiresGrad: true });
    const b = E.tensor([3, 4], { dtype: 'float64', requiresGrad: true });
    a.mul(b).sum().backward();
    expect(a.grad!.dtype).toBe('float32');
    expect(b.grad!.dtype).toBe('float64');
    expect(a.grad!.toArray()).toEqual([3, 4]);
    expect(b.grad!.toArray()).toEqual([1, 2]);
  });
  it('cast converts (truncating to int32)', () => {
    expect(E.tensor([1.7, -1.7]).cast('int32').toArray()).toEqual([1, -1]);
    expect(E.tensor([1, 2], { dtype: 'int32' }).cast('float64').dtype).toBe('float64');
  });
});

// ---- errors -----------------------------------------------------------------------------------------------

describe('errors', () => {
  it('mismatched shapes: ERR_SHAPE naming both shapes', () => {
    expectCode(() => E.add(E.zeros([2, 3]), E.zeros([4])), 'ERR_SHAPE', '[2, 3]', '[4]');
    expectCode(() => E.mul(E.zeros([2, 3]), E.zeros([3, 2])), 'ERR_SHAPE', '[2, 3]', '[3, 2]');
    expectCode(() => E.matmul(E.zeros([2, 3]), E.zeros([4, 5])), 'ERR_SHAPE', '[2, 3]', '[4, 5]');
    expectCode(() => E.where(E.ones([2]), E.zeros([3]), 0), 'ERR_SHAPE', '[2]', '[3]');
  });
  it('bad dim: ERR_INVALID_ARGUMENT', () => {
    const x = E.zeros([2, 3]);
    expectCode(() => x.sum(2), 'ERR_INVALID_ARGUMENT');
    expectCode(() => x.sum(0.5), 'ERR_INVALID_ARGUMENT');
    expectCode(() => x.mean([0, 0]), 'ERR_INVALID_ARGUMENT');
    expectCode(() => x.argmax(5), 'ERR_INVALID_ARGUMENT');
    expectCode(() => E.logSoftmax(x, 2), 'ERR_INVALID_ARGUMENT');
    expectCode(() => E.concat([x, x], 2), 'ERR_INVALID_ARGUMENT');
  });
  it('wrong dtype: ERR_DTYPE', () => {
    const i = E.ones([2, 2], { dtype: 'int32' });
    expectCode(() => E.matmul(i, i), 'ERR_DTYPE', 'int32');
    expectCode(() => E.matmul(E.ones([2, 2]), i), 'ERR_DTYPE');
    expectCode(() => E.mean(i), 'ERR_DTYPE');
    expectCode(() => E.softmax(i, 0), 'ERR_DTYPE');
    expectCode(() => { i.requiresGrad = true; }, 'ERR_DTYPE');
  });
});

// ---- autograd ------------------------------------------------------------------------------------------------

describe('autograd', () => {
  it('backward on a non-scalar needs a gradient', () => {
    const x = E.tensor([1, 2], { requiresGrad: true });
    const y = x.mul(2);
    const err = expectCode(() => y.backward(), 'ERR_SHAPE', '[2]');
    expect(err.message).toMatch(/scalar/);
    y.backward(E.tensor([1, 10]));
    expect(x.grad!.toArray()).toEqual([2, 20]);
    expectCode(() => x.mul(2).backward(E.ones([3])), 'ERR_SHAPE');
    expectCode(() => x.mul(2).backward([1, 1] as never), 'ERR_INVALID_ARGUMENT');
  });
  it('a second backward through a freed graph is ERR_AUTOGRAD unless retainGraph', () => {
    const x = E.tensor([1, 2, 3], { requiresGrad: true });
    const y = x.mul(x).sum();
    y.backward();
    expectCode(() => y.backward(), 'ERR_AUTOGRAD', 'retainGraph');
    const z = x.exp().sum();
    x.grad = null;
    z.backward(undefined, { retainGraph: true });
    z.backward();
    close(f32(x.grad!), [1, 2, 3].map((v) => 2 * Math.exp(v)), 1e-6);
  });
  it('backward on a tensor that does not require grad is ERR_AUTOGRAD', () => {
    expectCode(() => E.tensor([1, 2]).sum().backward(), 'ERR_AUTOGRAD');
  });
  it('noGrad records nothing and restores grad mode', () => {
    const x = E.tensor([1, 2], { requiresGrad: true });
    const y = E.noGrad(() => {
      expect(E.isGradEnabled()).toBe(false);
      return x.mul(2).exp();
    });
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
    expect(E.isGradEnabled()).toBe(true);
    expect(() => E.noGrad(() => { throw new Error('x'); })).toThrow('x');
    expect(E.isGradEnabled()).toBe(true);
  });
  it('detach cuts the graph and shares memory', () => {
    const x = E.tensor([1, 2], { requiresGrad: true });
    const y = x.mul(3);
    const d = y.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.isLeaf).toBe(true);
    d.fill_(0);
    expect(y.toArray()).toEqual([0, 0]);
    // Gradient does not flow through the detached branch.
    x.mul(d.add(1)).sum().backward();
    expect(x.grad!.toArray()).toEqual([1, 1]);
  });
  it('requiresGrad is settable on leaves only', () => {
    const x = E.tensor([1, 2]);
    expect(x.requiresGrad).toBe(false);
    x.requiresGrad = true;
    expect(x.requiresGrad).toBe(true);
    const y = x.mul(2);
    expect(y.requiresGrad).toBe(true);
    expect(y.isLeaf).toBe(false);
    expectCode(() => { y.requiresGrad = false; }, 'ERR_AUTOGRAD');
  });
  it('grad is settable, with validation', () => {
    const x = E.tensor([1, 2], { requiresGrad: true });
    expect(x.grad).toBeNull();
    x.grad = E.tensor([5, 6]);
    expect(x.grad!.toArray()).toEqual([5, 6]);
    x.mul(2).sum().backward(); // accumulates into the assigned gradient
    expect(x.grad!.toArray()).toEqual([7, 8]);
    expectCode(() => { x.grad = E.zeros([3]); }, 'ERR_SHAPE', '[2]', '[3]');
    expectCode(() => { x.grad = E.zeros([2], { dtype: 'float64' }); }, 'ERR_DTYPE');
    expectCode(() => { x.grad = [1, 2] as never; }, 'ERR_INVALID_ARGUMENT');
    x.grad = null;
    expect(x.grad).toBeNull();
  });
  it('gradients accumulate over two backward calls', () => {
    const x = E.tensor([1, -2], { requiresGrad: true });
    x.mul(3).sum().backward();
    x.mul(3).sum().backward();
    expect(x.grad!.toArray()).toEqual([6, 6]);
    x.square().sum().backward();
    expect(x.grad!.toArray()).toEqual([8, 2]);
  });
  it('diamond graphs sum the gradients of every path', () => {
    // x used twice in one op
    const x = E.tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    x.mul(x).sum().backward();
    expect(x.grad!.toArray()).toEqual([2, 4, 6]);
    // x → a, b → z
    const x2 = E.tensor([0.5, -1], { dtype: 'float64', requiresGrad: true });
    const a = x2.mul(2), b = x2.exp();
    a.mul(b).sum().backward();
    close(f32(x2.grad!), [0.5, -1].map((v) => 2 * Math.exp(v) + 2 * v * Math.exp(v)), 1e-12);
    // a shared intermediate h used by three consumers: z = h·h + h, h = 3x
    const x3 = E.tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const h = x3.mul(3);
    h.mul(h).add(h).sum().backward();
    expect(x3.grad!.toArray()).toEqual([3 * (2 * 3 + 1), 3 * (2 * 6 + 1)]);
    expect(h.grad).toBeNull(); // non-leaf gradients are not stored
  });
  it('only leaves that require grad get .grad', () => {
    const a = E.tensor([1, 2], { requiresGrad: true });
    const b = E.tensor([3, 4]);
    a.mul(b).sum().backward();
    expect(a.grad!.toArray()).toEqual([3, 4]);
    expect(b.grad).toBeNull();
  });
  it('gradcheck returns true for a correct op and throws ERR_AUTOGRAD on a wrong gradient', () => {
    const x = E.tensor([0.3, -0.7, 1.1], { dtype: 'float64', requiresGrad: true });
    expect(E.gradcheck((t) => t.sigmoid().mul(t), [x])).toBe(true);
    // A function whose graph lies: forward 2x, backward sees x (through detach).
    const liar = (t: Tensor): Tensor => t.add(t.detach());
    expectCode(() => E.gradcheck(liar, [x]), 'ERR_AUTOGRAD');
    expectCode(() => E.gradcheck((t) => t, [E.tensor([1], { requiresGrad: true })]), 'ERR_INVALID_ARGUMENT', 'float64');
  });
});

// ---- CUDA in a CPU-only build ----------------------------------------------------------------------------------

describe('cuda', () => {
  const gpu = E.cuda.isAvailable();
  it('isAvailable() is a boolean; deviceCount() consistent', () => {
    expect(typeof gpu).toBe('boolean');
    if (!E.cuda.isCompiled()) expect(E.cuda.deviceCount()).toBe(0);
    if (gpu) expect(E.cuda.deviceCount()).toBeGreaterThan(0);
  });
  it.skipIf(gpu)('without a GPU, to("cuda") throws ERR_NOT_COMPILED_WITH_CUDA (CPU build) or ERR_CUDA (CUDA build, no device)', () => {
    const code = E.cuda.isCompiled() ? 'ERR_CUDA' : 'ERR_NOT_COMPILED_WITH_CUDA';
    expect(E.cuda.isAvailable()).toBe(false);
    const x = E.tensor([1, 2]);
    expectCode(() => x.to('cuda'), code);
    expectCode(() => x.cuda(), code);
    expectCode(() => E.zeros([2], { device: 'cuda' }), code);
    expectCode(() => E.tensor([1], { device: 'cuda' }), code);
    if (!E.cuda.isCompiled()) expectCode(() => E.cuda.synchronize(), 'ERR_NOT_COMPILED_WITH_CUDA');
    expect(x.to('cpu')).toBe(x);
    expect(x.cpu()).toBe(x);
  });
  it('an unknown device is ERR_DEVICE', () => {
    expectCode(() => E.tensor([1]).to('tpu' as never), 'ERR_DEVICE', 'tpu');
  });
});

// ---- every validation throws an EntrenaError with the right code ---------------------------------------------

const m23 = (): Tensor => E.zeros([2, 3]);
const validations: [string, () => unknown, E.ErrorCode][] = [
  ['tensor of a string', () => E.tensor('abc' as never), 'ERR_INVALID_ARGUMENT'],
  ['tensor with a bad dtype', () => E.tensor([1], { dtype: 'float8' as never }), 'ERR_DTYPE'],
  ['tensor with a bad device', () => E.tensor([1], { device: 'tpu' as never }), 'ERR_DEVICE'],
  ['tensor with options not an object', () => E.tensor([1], 5 as never), 'ERR_INVALID_ARGUMENT'],
  ['tensor with a shape of the wrong size', () => E.tensor([1, 2, 3], { shape: [2, 2] }), 'ERR_SHAPE'],
  ['tensor with a negative size', () => E.tensor([], { shape: [-1] }), 'ERR_SHAPE'],
  ['tensor ragged', () => E.tensor([[1, 2], [3]]), 'ERR_SHAPE'],
  ['int32 tensor of NaN', () => E.tensor([NaN], { dtype: 'int32' }), 'ERR_DTYPE'],
  ['int32 tensor of Infinity', () => E.tensor([Infinity], { dtype: 'int32' }), 'ERR_DTYPE'],
  ['zeros with a negative size', () => E.zeros([2, -1]), 'ERR_SHAPE'],
  ['zeros with a fractional size', () => E.zeros([1.5]), 'ERR_SHAPE'],
  ['zeros with a non-array shape', () => E.zeros(3 as never), 'ERR_INVALID_ARGUMENT'],
  ['zeros with 9 dims', () => E.zeros([1, 1, 1, 1, 1, 1, 1, 1, 1]), 'ERR_SHAPE'],
  ['full with a non-number', () => E.full([2], 'x' as never), 'ERR_INVALID_ARGUMENT'],
  ['arange with step 0', () => E.arange(0, 5, 0), 'ERR_INVALID_ARGUMENT'],
  ['arange with NaN', () => E.arange(0, NaN), 'ERR_INVALID_ARGUMENT'],
  ['linspace with negative n', () => E.linspace(0, 1, -1), 'ERR_INVALID_ARGUMENT'],
  ['eye with negative n', () => E.eye(-1), 'ERR_INVALID_ARGUMENT'],
  ['randint with high <= low', () => E.randint(5, 5, [2]), 'ERR_INVALID_ARGUMENT'],
  ['rand as int32', () => E.rand([2], { dtype: 'int32' }), 'ERR_DTYPE'],
  ['randn with a negative size', () => E.randn([-2]), 'ERR_SHAPE'],
  ['manualSeed negative', () => E.manualSeed(-1), 'ERR_INVALID_ARGUMENT'],
  ['manualSeed fractional', () => E.manualSeed(1.5), 'ERR_INVALID_ARGUMENT'],
  ['setRngState garbage', () => E.setRngState({} as never), 'ERR_INVALID_ARGUMENT'],
  ['add of a string', () => E.add(m23(), 'a' as never), 'ERR_INVALID_ARGUMENT'],
  ['add of two numbers', () => E.add(1, 2), 'ERR_INVALID_ARGUMENT'],
  ['add of an array', () => E.add(m23(), [1, 2, 3] as never), 'ERR_INVALID_ARGUMENT'],
  ['add of incompatible shapes', () => E.add(m23(), E.zeros([2])), 'ERR_SHAPE'],
  ['exp of a number', () => E.exp(3 as never), 'ERR_INVALID_ARGUMENT'],
  ['clamp without bounds', () => E.clamp(m23()), 'ERR_INVALID_ARGUMENT'],
  ['clamp with a string bound', () => E.clamp(m23(), 'a' as never, 1), 'ERR_INVALID_ARGUMENT'],
  ['gelu with a bad approximation', () => E.gelu(m23(), 'fast' as never), 'ERR_INVALID_ARGUMENT'],
  ['where with a non-tensor cond', () => E.where([1, 0] as never, 1, 0), 'ERR_INVALID_ARGUMENT'],
  ['sum over an out-of-range dim', () => E.sum(m23(), 2), 'ERR_INVALID_ARGUMENT'],
  ['sum over a repeated dim', () => E.sum(m23(), [1, -1]), 'ERR_INVALID_ARGUMENT'],
  ['mean of int32', () => E.mean(E.ones([2], { dtype: 'int32' })), 'ERR_DTYPE'],
  ['variance of int32', () => E.variance(E.ones([2], { dtype: 'int32' })), 'ERR_DTYPE'],
  ['max of an empty tensor', () => E.max(E.zeros([0, 3])), 'ERR_SHAPE'],
  ['argmax of an empty tensor', () => E.argmax(E.zeros([0])), 'ERR_SHAPE'],
  ['softmax without a dim', () => E.softmax(m23(), undefined as never), 'ERR_INVALID_ARGUMENT'],
  ['softmax of int32', () => E.softmax(E.ones([2], { dtype: 'int32' }), 0), 'ERR_DTYPE'],
  ['reshape to a different size', () => E.reshape(m23(), [4, 2]), 'ERR_SHAPE'],
  ['reshape with two -1', () => E.reshape(m23(), [-1, -1]), 'ERR_SHAPE'],
  ['reshape with a non-array', () => E.reshape(m23(), 6 as never), 'ERR_INVALID_ARGUMENT'],
  ['flatten with start after end', () => E.flatten(E.zeros([2, 3, 4]), 2, 1), 'ERR_INVALID_ARGUMENT'],
  ['transpose with a bad dim', () => E.transpose(m23(), 0, 2), 'ERR_INVALID_ARGUMENT'],
  ['T of a 3-D tensor', () => E.zeros([2, 2, 2]).T, 'ERR_SHAPE'],
  ['permute with too few dims', () => E.permute(m23(), [0]), 'ERR_INVALID_ARGUMENT'],
  ['permute with a repeated dim', () => E.permute(m23(), [1, 1]), 'ERR_INVALID_ARGUMENT'],
  ['squeeze with a bad dim', () => E.squeeze(m23(), 3), 'ERR_INVALID_ARGUMENT'],
  ['unsqueeze with a bad dim', () => E.unsqueeze(m23(), 4), 'ERR_INVALID_ARGUMENT'],
  ['expand to an incompatible shape', () => E.expand(m23(), [2, 4]), 'ERR_SHAPE'],
  ['expand to fewer dims', () => E.expand(m23(), [3]), 'ERR_SHAPE'],
  ['narrow out of range', () => E.narrow(m23(), 1, 2, 2), 'ERR_INVALID_ARGUMENT'],
  ['narrow with a negative length', () => E.narrow(m23(), 1, 0, -1), 'ERR_INVALID_ARGUMENT'],
  ['narrow with a fractional start', () => E.narrow(m23(), 1, 0.5, 1), 'ERR_INVALID_ARGUMENT'],
  ['concat of nothing', () => E.concat([], 0), 'ERR_INVALID_ARGUMENT'],
  ['concat of mismatched shapes', () => E.concat([m23(), E.zeros([2, 2])], 0), 'ERR_SHAPE'],
  ['concat of mismatched ranks', () => E.concat([m23(), E.zeros([3])], 0), 'ERR_SHAPE'],
  ['concat of a non-tensor', () => E.concat([m23(), 5 as never], 0), 'ERR_INVALID_ARGUMENT'],
  ['stack of mismatched shapes', () => E.stack([m23(), E.zeros([3, 2])], 0), 'ERR_SHAPE'],
  ['stack with a bad dim', () => E.stack([m23(), m23()], 3), 'ERR_INVALID_ARGUMENT'],
  ['indexSelect out of range', () => E.indexSelect(m23(), 1, [3]), 'ERR_INDEX'],
  ['indexSelect with a negative index', () => E.indexSelect(m23(), 0, [-1]), 'ERR_INDEX'],
  ['indexSelect with fractional indices', () => E.indexSelect(m23(), 0, [0.5]), 'ERR_INVALID_ARGUMENT'],
  ['indexSelect with 2-D indices', () => E.indexSelect(m23(), 0, E.zeros([1, 1], { dtype: 'int32' })), 'ERR_SHAPE'],
  ['gather with a wrong index shape', () => E.gather(m23(), 1, E.zeros([3, 1], { dtype: 'int32' })), 'ERR_SHAPE'],
  ['gather with a wrong index rank', () => E.gather(m23(), 1, E.zeros([2], { dtype: 'int32' })), 'ERR_SHAPE'],
  ['gather out of range', () => E.gather(m23(), 1, E.full([2, 1], 3, { dtype: 'int32' })), 'ERR_INDEX'],
  ['oneHot with numClasses 0', () => E.oneHot([0], 0), 'ERR_INVALID_ARGUMENT'],
  ['oneHot with a label out of range', () => E.oneHot([0, 3], 3), 'ERR_INDEX'],
  ['matmul of int32', () => E.matmul(E.ones([2, 2], { dtype: 'int32' }), E.ones([2, 2])), 'ERR_DTYPE'],
  ['matmul of a 0-d tensor', () => E.matmul(E.tensor(1), E.ones([2])), 'ERR_SHAPE'],
  ['matmul of rank 4', () => E.matmul(E.ones([1, 1, 2, 2]), E.ones([2, 2])), 'ERR_SHAPE'],
  ['matmul with mismatched inner dims', () => E.matmul(E.ones([2, 3]), E.ones([2, 3])), 'ERR_SHAPE'],
  ['matmul with mismatched batches', () => E.matmul(E.ones([2, 2, 3]), E.ones([3, 3, 2])), 'ERR_SHAPE'],
  ['matmul of vectors of different length', () => E.matmul(E.ones([3]), E.ones([4])), 'ERR_SHAPE'],
  ['item of several elements', () => m23().item(), 'ERR_SHAPE'],
  ['copy_ of a non-broadcastable source', () => m23().copy_(E.zeros([3, 2])), 'ERR_SHAPE'],
  ['cast to a bad dtype', () => m23().cast('bool' as never), 'ERR_DTYPE'],
  ['to a bad device', () => m23().to('gpu' as never), 'ERR_DEVICE'],
  ['requiresGrad on int32', () => E.ones([2], { dtype: 'int32', requiresGrad: true }), 'ERR_DTYPE'],
  ['grad of a wrong shape', () => { const t = E.zeros([2], { requiresGrad: true }); t.grad = E.zeros([3]); }, 'ERR_SHAPE'],
  ['grad of a non-tensor', () => { const t = E.zeros([2], { requiresGrad: true }); t.grad = 1 as never; }, 'ERR_INVALID_ARGUMENT'],
  ['backward of a non-scalar', () => E.zeros([2], { requiresGrad: true }).mul(2).backward(), 'ERR_SHAPE'],
  ['backward without requiresGrad', () => E.zeros([1]).backward(), 'ERR_AUTOGRAD'],
  ['gradcheck of float32 inputs', () => E.gradcheck((t) => t, [E.zeros([1], { requiresGrad: true })]), 'ERR_INVALID_ARGUMENT'],
  ['gradcheck of no inputs', () => E.gradcheck((t) => t, []), 'ERR_INVALID_ARGUMENT'],
  ['tidy of a non-function', () => E.tidy(null as never), 'ERR_INVALID_ARGUMENT'],
];

describe('validation', () => {
  it.each(validations)('%s', (_name, fn, code) => {
    expectCode(fn, code);
  });
});
