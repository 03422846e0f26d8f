// nn_module.test.ts — the nn.Module contract (names, state dicts, freeze, train/eval, to, reset),
// validation errors (each with its code), float64 gradchecks of every layer and loss, dropout
// behaviour and repeatability, Monte-Carlo dropout, nn.utils.
import { describe, expect, test } from 'vitest';
import { Tensor, memory, tidy } from '../lib/ts/tensor.js';
import { gradcheck } from '../lib/ts/autograd/gradcheck.js';
import { noGrad } from '../lib/ts/autograd/engine.js';
import { EntrenaError } from '../lib/ts/errors.js';
import { manualSeed, ones, rand, randn, tensor, zeros } from '../lib/ts/ops/index.js';
import * as nn from '../lib/ts/nn/index.js';
import * as root from '../lib/ts/index.js';

function throwsCode(fn: () => unknown, code: string, message?: string | RegExp): void {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err, 'expected an error').toBeInstanceOf(EntrenaError);
  expect((err as EntrenaError).code).toBe(code);
  if (message !== undefined) {
    if (typeof message === 'string') expect((err as Error).message).toBe(message);
    else expect((err as Error).message).toMatch(message);
  }
}
const f64 = { dtype: 'float64' as const };
/** A float64 input away from the kinks at 0 (|x| ≥ 0.1). */
function smooth(shape: number[], scale = 1): Tensor {
  return noGrad(() => {
    const r = randn(shape, f64);
    const v = Array.from(r.data()).map((x) => (Math.abs(x) < 0.1 ? x + Math.sign(x || 1) * 0.2 : x) * scale);
    return tensor(v, { shape, dtype: 'float64', requiresGrad: true });
  });
}

describe('Module contract', () => {
  test('the package root exports nn', () => {
    expect(typeof root.nn.Linear).toBe('function');
    expect(typeof root.nn.init.xavierUniform).toBe('function');
    expect(typeof root.nn.utils.clipGradNorm).toBe('function');
  });

  test('names, parameters, buffers, children of a Sequential', () => {
    const m = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4), new nn.ReLU(), new nn.Linear(4, 2));
    expect(m.namedParameters().map(([n]) => n)).toEqual(['0.weight', '0.bias', '1.weight', '1.bias', '3.weight', '3.bias']);
    expect(m.parameters().length).toBe(6);
    expect(m.namedBuffers().map(([n]) => n)).toEqual(['1.running_mean', '1.running_var', '1.num_batches_tracked']);
    expect(m.children().length).toBe(4);
    expect(m.namedModules().map(([n]) => n)).toEqual(['', '0', '1', '2', '3']);
    expect(m.length).toBe(4);
    expect(m.at(-1)).toBeInstanceOf(nn.Linear);
    const sd = m.stateDict();
    expect(sd['0.weight']).toBe((m.at(0) as nn.Linear).weight);
    expect(sd['1.num_batches_tracked'].dtype).toBe('int32');
    expect(m.toString()).toContain('(0): Linear(inFeatures=3, outFeatures=4, bias=true)');
  });

  test('custom modules with registerModule / registerParameter; a shared parameter is listed once', () => {
    class Net extends nn.Module {
      declare fc: nn.Linear;
      declare scale: Tensor;
      constructor() {
        super();
        this.registerModule('fc', new nn.Linear(2, 2));
        this.registerParameter('scale', ones([1]));
        this.registerBuffer('steps', zeros([1]), { persistent: false });
      }
      override forward(x: Tensor): Tensor { return this.fc.forward(x).mul(this.scale); }
    }
    const n = new Net();
    expect(n.namedParameters().map(([k]) => k)).toEqual(['scale', 'fc.weight', 'fc.bias']);
    expect(Object.keys(n.stateDict())).toEqual(['scale', 'fc.weight', 'fc.bias']);
    expect(n.scale.requiresGrad).toBe(true);
    const shared = new nn.Linear(2, 2);
    const s = new nn.Sequential(shared, shared);
    expect(s.parameters().length).toBe(2);
    throwsCode(() => n.registerParameter('fc', ones([1])), 'ERR_INVALID_ARGUMENT', /already registered as a module/);
    throwsCode(() => n.registerParameter('a.b', ones([1])), 'ERR_INVALID_ARGUMENT');
    throwsCode(() => n.registerParameter('train', ones([1])), 'ERR_INVALID_ARGUMENT', /clashes/);
  });

  test('train() / eval() propagate; apply visits children first', () => {
    const m = new nn.Sequential(new nn.Linear(2, 2), new nn.Sequential(new nn.Dropout(0.5)));
    expect(m.eval()).toBe(m);
    expect(m.modules().every((x) => !x.training)).toBe(true);
    m.train();
    expect(m.modules().every((x) => x.training)).toBe(true);
    const order: string[] = [];
    m.apply((x) => order.push(x.constructor.name));
    expect(order).toEqual(['Linear', 'Dropout', 'Sequential', 'Sequential']);
  });

  test('loadStateDict copies in place; strict errors list every bad key', () => {
    manualSeed(1);
    const a = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4));
    const b = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4));
    const w = (b.at(0) as nn.Linear).weight;
    const sd = { ...a.stateDict() };
    delete sd['1.num_batches_tracked']; // may be absent
    expect(b.loadStateDict(sd)).toEqual({ missingKeys: [], unexpectedKeys: [] });
    expect((b.at(0) as nn.Linear).weight).toBe(w); // identity kept
    expect(Array.from(w.data())).toEqual(Array.from((a.at(0) as nn.Linear).weight.data()));
    const bad: Record<string, Tensor> = { ...a.stateDict(), 'x.extra': zeros([1]), '0.weight': zeros([4, 5]) };
    delete bad['0.bias'];
    delete bad['1.running_var'];
    let msg = '';
    try { b.loadStateDict(bad); } catch (e) { msg = (e as Error).message; expect((e as EntrenaError).code).toBe('ERR_INVALID_ARGUMENT'); }
    expect(msg).toContain("missing keys: '0.bias', '1.running_var'");
    expect(msg).toContain("unexpected keys: 'x.extra'");
    expect(msg).toContain('0.weight (expected shape [4, 3], received [4, 5])');
    // Non-strict: missing/unexpected reported, shape mismatches still an error.
    const partial = { '0.weight': zeros([4, 3]), extra: zeros([2]) };
    expect(b.loadStateDict(partial, { strict: false })).toEqual({
      missingKeys: ['0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var'], unexpectedKeys: ['extra'],
    });
    throwsCode(() => b.loadStateDict({ '0.weight': zeros([2, 2]) }, { strict: false }), 'ERR_SHAPE', /0\.weight \(expected shape \[4, 3\], received \[2, 2\]\)/);
    throwsCode(() => b.loadStateDict(null as unknown as Record<string, Tensor>), 'ERR_INVALID_ARGUMENT');
  });

  test('freeze / unfreeze: frozen parameters get no gradient', () => {
    const m = new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Linear(4, 2));
    m.freeze(['0']);
    const x = randn([5, 3]);
    m.forward(x).sum().backward();
    const [w0, b0, w2, b2] = m.parameters();
    expect(w0.requiresGrad).toBe(false);
    expect(w0.grad).toBeNull();
    expect(b0.grad).toBeNull();
    expect(w2.grad).not.toBeNull();
    expect(b2.grad).not.toBeNull();
    m.freeze();
    expect(m.parameters().every((p) => !p.requiresGrad && p.grad === null)).toBe(true);
    expect(() => noGrad(() => m.forward(x))).not.toThrow();
    expect(m.forward(x).requiresGrad).toBe(false);
    m.unfreeze();
    m.forward(x).sum().backward();
    expect(m.parameters().every((p) => p.grad !== null)).toBe(true);
    m.zeroGrad();
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
  });

  test('resetParameters re-draws weights within the PyTorch bounds', () => {
    const fc = new nn.Linear(16, 8);
    const before = Array.from(fc.weight.data());
    fc.weight.fill_(100);
    fc.resetParameters();
    const after = Array.from(fc.weight.data());
    expect(after).not.toEqual(before);
    const bound = 1 / Math.sqrt(16);
    expect(after.every((v) => Math.abs(v) <= bound)).toBe(true);
    expect(Array.from(fc.bias!.data()).every((v) => Math.abs(v) <= bound)).toBe(true);
    const bn = new nn.BatchNorm1d(3);
    bn.forward(randn([4, 3]).add(3));
    bn.resetParameters();
    expect(Array.from(bn.running_mean!.data())).toEqual([0, 0, 0]);
    expect(bn.num_batches_tracked!.item()).toBe(0);
  });

  test('to(dtype) converts parameters and buffers (int buffers stay int32)', () => {
    const m = new nn.Sequential(new nn.Linear(2, 3), new nn.BatchNorm1d(3));
    const w = Array.from((m.at(0) as nn.Linear).weight.data());
    expect(m.to('float64')).toBe(m);
    const sd = m.stateDict();
    expect(sd['0.weight'].dtype).toBe('float64');
    expect(sd['0.weight'].requiresGrad).toBe(true);
    expect(sd['1.running_mean'].dtype).toBe('float64');
    expect(sd['1.num_batches_tracked'].dtype).toBe('int32');
    expect(Array.from(sd['0.weight'].data())).toEqual(w);
    expect(m.to('cpu')).toBe(m);
    throwsCode(() => m.to('tpu' as 'cpu'), 'ERR_DEVICE');
  });

  test('a training step in tidy leaks no tensors', () => {
    const m = new nn.Sequential(new nn.Linear(4, 8), new nn.BatchNorm1d(8), new nn.ReLU(), new nn.Dropout(0.2), new nn.Linear(8, 3));
    const loss = new nn.CrossEntropyLoss({ labelSmoothing: 0.1 });
    const x = randn([6, 4]);
    const y = tensor([0, 1, 2, 0, 1, 2], { dtype: 'int32' });
    const step = (): void => tidy(() => { loss.forward(m.forward(x), y).backward(); });
    step();
    const before = memory().cpu.tensors;
    step();
    step();
    expect(memory().cpu.tensors).toBe(before);
  });
});

describe('Module.clone (a deep copy, as copy.deepcopy)', () => {
  const values = (m: nn.Module) => Object.fromEntries(Object.entries(m.stateDict()).map(([k, t]) => [k, Array.from(t.data())]));

  test('same classes, options, mode and values; no tensor shared; accessors bound to the copy', () => {
    manualSeed(11);
    const model = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4, { momentum: 0.3 }), new nn.LeakyReLU({ negativeSlope: 0.2 }), new nn.Dropout(0.25), new nn.Linear(4, 2, { bias: false }));
    model.forward(randn([6, 3])); // running statistics move
    model.freeze(['0']);
    model.at(4).parameters()[0].grad = ones([2, 4]);
    model.eval();
    const copy = model.clone();
    expect(copy).toBeInstanceOf(nn.Sequential);
    expect(copy).not.toBe(model);
    expect(copy.toString()).toBe(model.toString());
    expect(copy.children().map((c) => c.constructor.name)).toEqual(model.children().map((c) => c.constructor.name));
    expect(copy.training).toBe(false);
    expect((copy.at(1) as nn.BatchNorm1d).momentum).toBe(0.3);
    expect(values(copy)).toEqual(values(model));
    const mine = [...copy.parameters(), ...copy.buffers()], theirs = [...model.parameters(), ...model.buffers()];
    expect(mine.length).toBe(theirs.length);
    mine.forEach((t, i) => { expect(t).not.toBe(theirs[i]); expect(t.isLeaf).toBe(true); expect(t.requiresGrad).toBe(theirs[i].requiresGrad); });
    // Frozen stays frozen; the gradient is copied, not shared.
    expect((copy.at(0) as nn.Linear).weight.requiresGrad).toBe(false);
    const g = (copy.at(4) as nn.Linear).weight.grad!;
    expect(g).not.toBe(model.at(4).parameters()[0].grad);
    expect(Array.from(g.data())).toEqual(new Array(8).fill(1));
    // Same outputs; then the copy moves on alone.
    const x = randn([5, 3]);
    expect(Array.from(noGrad(() => copy.forward(x)).data())).toEqual(Array.from(noGrad(() => model.forward(x)).data()));
    const before = values(model);
    noGrad(() => { for (const t of copy.parameters()) t.fill_(0.5); });
    copy.train().forward(randn([6, 3]));
    expect(values(model)).toEqual(before);
    expect(model.training).toBe(false);
    // The registered names on the copy read and write the copy's registry.
    const fc = copy.at(0) as nn.Linear;
    expect(fc.weight).toBe(fc.parameters()[0]);
    const w = zeros([4, 3]);
    fc.weight = w;
    expect(fc.parameters()[0]).toBe(w);
    expect((model.at(0) as nn.Linear).weight).not.toBe(w);
  });

  test('tied weights stay tied; plain fields and tensor options are copied; the copy outlives a tidy', () => {
    class Tied extends nn.Module {
      declare enc: nn.Linear; declare dec: nn.Linear;
      readonly sizes = [3, 2];
      readonly loss = new nn.CrossEntropyLoss({ weight: tensor([1, 2, 3]) });
      constructor() {
        super();
        this.registerModule('enc', new nn.Linear(3, 2));
        this.registerModule('dec', new nn.Linear(2, 3));
        this.dec.registerParameter('tied', this.enc.weight);
      }
      override forward(x: Tensor): Tensor { return this.dec.forward(this.enc.forward(x)); }
    }
    const m = new Tied();
    const before = memory().cpu.tensors;
    const c = m.clone();
    expect(c).toBeInstanceOf(Tied);
    expect(c.dec.tied).toBe(c.enc.weight);
    expect(c.enc.weight).not.toBe(m.enc.weight);
    expect(c.sizes).toEqual([3, 2]);
    expect(c.sizes).not.toBe(m.sizes);
    expect(c.loss).toBeInstanceOf(nn.CrossEntropyLoss);
    expect(c.loss.weight).not.toBe(m.loss.weight);
    expect(Array.from(c.loss.weight!.data())).toEqual([1, 2, 3]);
    // 5 tensors: enc weight (shared with dec.tied) and bias, dec weight and bias, the loss weight.
    expect(memory().cpu.tensors - before).toBe(5);
    // A copy made inside a tidy and not returned keeps its tensors (a model outlives a step).
    let kept: Tied | null = null;
    tidy(() => { kept = m.clone(); });
    expect(memory().cpu.tensors - before).toBe(10);
    expect(kept!.parameters().every((t) => !t.isDisposed)).toBe(true);
    expect(c.parameters().every((t) => !t.isDisposed)).toBe(true);
  });
});

describe('layer behaviour', () => {
  test('BatchNorm1d: running statistics, eval uses them, num_batches_tracked counts', () => {
    const bn = new nn.BatchNorm1d(2, { momentum: 0.5 });
    const x = tensor([[1, 10], [3, 30]]);
    bn.forward(x);
    expect(Array.from(bn.running_mean!.data())).toEqual([1, 10]); // 0.5·0 + 0.5·[2, 20]
    // unbiased variance of [1, 3] = 2, of [10, 30] = 200 → 0.5·1 + 0.5·v
    expect(Array.from(bn.running_var!.data())).toEqual([1.5, 100.5]);
    expect(bn.num_batches_tracked!.item()).toBe(1);
    bn.eval();
    const y = bn.forward(tensor([[1, 10]])).data();
    expect(y[0]).toBeCloseTo(0, 5);
    expect(y[1]).toBeCloseTo(0, 5);
    expect(bn.num_batches_tracked!.item()).toBe(1);
  });

  test('Dropout: inverted scaling, identity in eval, repeatable under manualSeed', () => {
    const d = new nn.Dropout(0.25);
    const x = ones([4000]);
    manualSeed(42);
    const a = Array.from(d.forward(x).data());
    manualSeed(42);
    const b = Array.from(d.forward(x).data());
    expect(a).toEqual(b);
    const c = Array.from(d.forward(x).data());
    expect(c).not.toEqual(a);
    const kept = a.filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6)).toBe(true);
    expect(Math.abs(kept.length / 4000 - 0.75)).toBeLessThan(0.03);
    d.eval();
    expect(d.forward(x)).toBe(x);
    expect(Array.from(new nn.Dropout(1).forward(x).data()).every((v) => v === 0)).toBe(true);
    expect(new nn.Dropout(0).forward(x)).toBe(x);
  });

  test('Dropout gradient is the mask over (1 − p)', () => {
    const d = new nn.Dropout(0.5);
    const x = ones([100], { requiresGrad: true });
    const y = d.forward(x);
    y.sum().backward();
    expect(Array.from(x.grad!.data())).toEqual(Array.from(y.data()));
  });

  test('AlphaDropout keeps zero mean and unit variance of standard-normal inputs, repeatable', () => {
    manualSeed(3);
    const x = randn([200000]);
    const d = new nn.AlphaDropout(0.2);
    manualSeed(9);
    const y = d.forward(x);
    const v = Array.from(y.data());
    const mean = v.reduce((s, a) => s + a, 0) / v.length;
    const variance = v.reduce((s, a) => s + (a - mean) ** 2, 0) / v.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
    manualSeed(9);
    expect(Array.from(d.forward(x).data())).toEqual(v);
    // Dropped elements take the value a·(−α) + α·a·p: one distinct value.
    const alpha = 1.7580993408473766, p = 0.2, a = 1 / Math.sqrt((alpha * alpha * p + 1) * (1 - p));
    const dropped = -alpha * a + alpha * a * p;
    const count = v.filter((t) => Math.abs(t - dropped) < 1e-6).length;
    expect(Math.abs(count / v.length - p)).toBeLessThan(0.01);
    expect(d.eval().forward(x)).toBe(x);
  });

  test('RReLU: random slopes in [lower, upper] in training, the mean slope in eval', () => {
    const r = new nn.RReLU({ lower: 0.1, upper: 0.3 });
    const x = full(-1, 5000);
    const y = Array.from(r.forward(x).data());
    expect(y.every((v) => v <= -0.1 + 1e-6 && v >= -0.3 - 1e-6)).toBe(true);
    expect(new Set(y).size).toBeGreaterThan(100);
    expect(Array.from(r.forward(tensor([2, 3])).data())).toEqual([2, 3]);
    r.eval();
    expect(Array.from(r.forward(tensor([-1])).data())[0]).toBeCloseTo(-0.2, 6);
  });

  test('mcDropoutPredict keeps dropout on, batch norm in eval, and restores modes', () => {
    manualSeed(5);
    const m = new nn.Sequential(new nn.Linear(3, 16), new nn.BatchNorm1d(16), new nn.ReLU(), new nn.Dropout(0.5), new nn.Linear(16, 1));
    m.forward(randn([8, 3])); // one training step of running statistics
    const nbt = (m.at(1) as nn.BatchNorm1d).num_batches_tracked!.item();
    const x = randn([4, 3]);
    const { mean, std } = nn.mcDropoutPredict(m, x, { passes: 30 });
    expect(mean.shape).toEqual([4, 1]);
    expect(std.shape).toEqual([4, 1]);
    expect(Array.from(std.data()).some((v) => v > 0)).toBe(true);
    expect((m.at(1) as nn.BatchNorm1d).num_batches_tracked!.item()).toBe(nbt);
    expect(m.modules().every((x) => x.training)).toBe(true);
    m.eval();
    const det = nn.mcDropoutPredict(m, x, { passes: 3 });
    expect(Array.from(det.std.data()).some((v) => v > 0)).toBe(true);
    expect(m.modules().every((x) => !x.training)).toBe(true);
    throwsCode(() => nn.mcDropoutPredict(m, x, { passes: 0 }), 'ERR_INVALID_ARGUMENT');
  });

  test('losses stay finite at extreme logits (values and gradients)', () => {
    const x = tensor([[1000, -1000, 0], [-1000, 1000, 999]], { requiresGrad: true });
    for (const [loss, target] of [
      [new nn.CrossEntropyLoss(), tensor([1, 0], { dtype: 'int32' })],
      [new nn.CrossEntropyLoss({ labelSmoothing: 0.2 }), tensor([2, 2], { dtype: 'int32' })],
      [new nn.BCEWithLogitsLoss({ posWeight: tensor([2, 2, 2]) }), tensor([[1, 0, 1], [0, 1, 0]])],
    ] as [nn.Loss, Tensor][]) {
      x.grad = null;
      const l = loss.forward(x, target);
      expect(Number.isFinite(l.item())).toBe(true);
      l.backward();
      expect(Array.from(x.grad!.data()).every(Number.isFinite)).toBe(true);
    }
  });
});

function full(v: number, n: number): Tensor { return ones([n]).mul(v); }

describe('float64 gradcheck of every layer and loss', () => {
  const layerCases: [string, () => nn.Module, number[]][] = [
    ['Linear', () => new nn.Linear(3, 2, f64), [4, 3]],
    ['Linear 3-D', () => new nn.Linear(3, 2, f64), [2, 2, 3]],
    ['BatchNorm1d train', () => new nn.BatchNorm1d(3, f64), [4, 3]],
    ['BatchNorm1d train [N,C,L]', () => new nn.BatchNorm1d(2, f64), [3, 2, 2]],
    ['BatchNorm1d eval', () => { const b = new nn.BatchNorm1d(3, f64); b.forward(randn([5, 3], f64)); return b.eval(); }, [4, 3]],
    ['LayerNorm', () => new nn.LayerNorm([2, 3], f64), [2, 2, 3]],
    ['PReLU', () => new nn.PReLU({ numParameters: 3, dtype: 'float64' }), [4, 3]],
    ['ReLU', () => new nn.ReLU(), [3, 3]],
    ['LeakyReLU', () => new nn.LeakyReLU({ negativeSlope: 0.2 }), [3, 3]],
    ['RReLU eval', () => new nn.RReLU().eval(), [3, 3]],
    ['ELU', () => new nn.ELU({ alpha: 0.5 }), [3, 3]],
    ['SELU', () => new nn.SELU(), [3, 3]],
    ['GELU', () => new nn.GELU(), [3, 3]],
    ['GELU tanh', () => new nn.GELU({ approximate: 'tanh' }), [3, 3]],
    ['SiLU', () => new nn.SiLU(), [3, 3]],
    ['Mish', () => new nn.Mish(), [3, 3]],
    ['Sigmoid', () => new nn.Sigmoid(), [3, 3]],
    ['Tanh', () => new nn.Tanh(), [3, 3]],
    ['Softplus', () => new nn.Softplus({ beta: 2 }), [3, 3]],
    ['Softmax', () => new nn.Softmax(1), [3, 3]],
    ['LogSoftmax', () => new nn.LogSoftmax(0), [3, 3]],
    ['Identity', () => new nn.Identity(), [3]],
    ['Flatten', () => new nn.Flatten(), [2, 2, 2]],
    ['Sequential MLP', () => new nn.Sequential(new nn.Linear(3, 4, f64), new nn.BatchNorm1d(4, f64), new nn.Tanh(), new nn.Linear(4, 2, f64)), [5, 3]],
  ];
  for (const [name, make, shape] of layerCases) {
    test(name, () => {
      manualSeed(11);
      const m = make();
      const x = smooth(shape);
      const params = m.parameters();
      // gradcheck disposes fn's output, so an output that is the input itself (Identity) is copied.
      expect(gradcheck((xx) => { const y = m.forward(xx); return y === xx ? y.mul(1) : y; }, [x, ...params])).toBe(true);
    });
  }
  for (const [name, make] of [
    ['Dropout train', () => new nn.Dropout(0.4)],
    ['AlphaDropout train', () => new nn.AlphaDropout(0.4)],
    ['RReLU train', () => new nn.RReLU()],
  ] as [string, () => nn.Module][]) {
    test(`${name} (fixed seed per call)`, () => {
      const m = make();
      const x = smooth([4, 3]);
      expect(gradcheck((xx) => { manualSeed(2); return m.forward(xx); }, [x])).toBe(true);
    });
  }

  const p = (): Tensor => smooth([3, 4]);
  const target = (): Tensor => noGrad(() => randn([3, 4], f64));
  const probs = (): Tensor => noGrad(() => tensor(Array.from(rand([3, 4], f64).data()).map((v) => 0.1 + 0.8 * v), { shape: [3, 4], dtype: 'float64', requiresGrad: true }));
  const labels = (): Tensor => noGrad(() => rand([3, 4], f64).gt(0.5).cast('float64'));
  const cls = tensor([0, 3, -100], { dtype: 'int32' });
  const w = tensor([0.5, 1, 2, 1.5], f64);
  const lossCases: [string, () => [nn.Loss, Tensor, Tensor]][] = [
    ['MSELoss', () => [new nn.MSELoss(), p(), target()]],
    ['L1Loss', () => [new nn.L1Loss({ reduction: 'sum' }), p(), target()]],
    ['MAPELoss', () => [new nn.MAPELoss(), p(), target()]],
    ['HuberLoss', () => [new nn.HuberLoss({ delta: 0.7, reduction: 'none' }), p(), target()]],
    ['BCELoss', () => [new nn.BCELoss({ weight: tensor([1, 2, 3, 4], f64) }), probs(), labels()]],
    ['BCEWithLogitsLoss', () => [new nn.BCEWithLogitsLoss({ posWeight: tensor([2, 1, 0.5, 3], f64) }), p(), labels()]],
    ['CrossEntropyLoss', () => [new nn.CrossEntropyLoss({ labelSmoothing: 0.1, weight: w }), p(), cls]],
    ['CrossEntropyLoss probs', () => [new nn.CrossEntropyLoss({ reduction: 'none' }), p(), noGrad(() => randn([3, 4], f64).softmax(1))]],
    ['NLLLoss', () => [new nn.NLLLoss({ weight: w }), p(), cls]],
  ];
  for (const [name, make] of lossCases) {
    test(name, () => {
      manualSeed(13);
      const [loss, x, y] = make();
      expect(gradcheck((xx) => loss.forward(xx, y), [x])).toBe(true);
    });
  }
  test('BCELoss gradient with respect to the target', () => {
    const loss = new nn.BCELoss();
    const x = noGrad(() => tensor([0.2, 0.7, 0.4], { dtype: 'float64' }));
    const y = tensor([0.3, 0.9, 0.1], { dtype: 'float64', requiresGrad: true });
    expect(gradcheck((yy) => loss.forward(x, yy), [y])).toBe(true);
  });
});

describe('validation errors', () => {
  test('Linear', () => {
    const fc = new nn.Linear(784, 10);
    throwsCode(() => fc.forward(zeros([32, 785])), 'ERR_SHAPE', 'Linear: expected input with 784 features (last dimension), received shape [32, 785]');
    throwsCode(() => fc.forward(zeros([32, 784], { dtype: 'int32' })), 'ERR_DTYPE', /floating-point/);
    throwsCode(() => fc.forward([1, 2] as unknown as Tensor), 'ERR_INVALID_ARGUMENT', /expected the input to be a Tensor/);
    throwsCode(() => new nn.Linear(0, 3), 'ERR_INVALID_ARGUMENT', /inFeatures to be a positive integer/);
    throwsCode(() => new nn.Linear(3, 2, { bias: true, biass: 1 } as never), 'ERR_INVALID_ARGUMENT', /unknown option 'biass'/);
  });
  test('BatchNorm1d, LayerNorm, PReLU, Flatten', () => {
    const bn = new nn.BatchNorm1d(3);
    throwsCode(() => bn.forward(zeros([4, 4])), 'ERR_SHAPE', 'BatchNorm1d: expected input with 3 channels (dimension 1), received shape [4, 4]');
    throwsCode(() => bn.forward(zeros([2, 3, 2, 2])), 'ERR_SHAPE', /2-D \[N, C\] or 3-D \[N, C, L\]/);
    throwsCode(() => bn.forward(zeros([1, 3])), 'ERR_SHAPE', /more than 1 value per channel/);
    expect(() => bn.eval().forward(zeros([1, 3]))).not.toThrow();
    throwsCode(() => new nn.BatchNorm1d(3, { momentum: 2 }), 'ERR_INVALID_ARGUMENT', /momentum/);
    throwsCode(() => new nn.LayerNorm([2, 3]).forward(zeros([4, 3, 2])), 'ERR_SHAPE', 'LayerNorm: expected input whose trailing dimensions are [2, 3], received shape [4, 3, 2]');
    throwsCode(() => new nn.LayerNorm(0), 'ERR_INVALID_ARGUMENT');
    throwsCode(() => new nn.PReLU({ numParameters: 3 }).forward(zeros([2, 4])), 'ERR_SHAPE', /3 channels/);
    throwsCode(() => new nn.Flatten(3).forward(zeros([2, 3])), 'ERR_SHAPE', /startDim 3/);
  });
  test('activations and dropout options', () => {
    throwsCode(() => new nn.Dropout(1.5), 'ERR_INVALID_ARGUMENT', 'Dropout: expected p to be a number in [0, 1], received the number 1.5');
    throwsCode(() => new nn.AlphaDropout(-0.1), 'ERR_INVALID_ARGUMENT');
    throwsCode(() => new nn.GELU({ approximate: 'fast' as 'tanh' }), 'ERR_INVALID_ARGUMENT', /approximate/);
    throwsCode(() => new nn.RReLU({ lower: 0.5, upper: 0.1 }), 'ERR_INVALID_ARGUMENT', /lower <= upper/);
    throwsCode(() => new nn.Softmax(undefined as unknown as number), 'ERR_INVALID_ARGUMENT', /dim/);
    throwsCode(() => new nn.Softplus({ beta: 0 }), 'ERR_INVALID_ARGUMENT');
    throwsCode(() => new nn.Hardtanh({ minVal: 1, maxVal: 1 }), 'ERR_INVALID_ARGUMENT', 'Hardtanh: expected maxVal > minVal, received minVal 1 and maxVal 1');
    throwsCode(() => new nn.Hardtanh({ maxVal: Number.NaN }), 'ERR_INVALID_ARGUMENT', /maxVal/);
    throwsCode(() => new nn.Sequential(new nn.ReLU(), {} as nn.Module), 'ERR_INVALID_ARGUMENT', /modules\[1\]/);
  });
  test('losses: wrong shape, dtype, reduction, options', () => {
    throwsCode(() => new nn.MSELoss().forward(zeros([4, 1]), zeros([4])), 'ERR_SHAPE', "MSELoss: expected a target of the prediction's shape [4, 1], received shape [4]");
    throwsCode(() => new nn.L1Loss().forward(zeros([4]), zeros([4], { dtype: 'int32' })), 'ERR_DTYPE', /floating-point target/);
    throwsCode(() => new nn.MSELoss({ reduction: 'avg' as 'mean' }), 'ERR_INVALID_ARGUMENT', "MSELoss: expected reduction 'mean', 'sum' or 'none', received the string \"avg\"");
    const ce = new nn.CrossEntropyLoss();
    throwsCode(() => ce.forward(zeros([4, 3]), zeros([4])), 'ERR_DTYPE', /expected int32 class indices of shape \[4\]/);
    throwsCode(() => ce.forward(zeros([4, 3]), zeros([5], { dtype: 'int32' })), 'ERR_SHAPE', 'CrossEntropyLoss: expected class-index targets of shape [4] for an input of shape [4, 3], received shape [5]');
    throwsCode(() => ce.forward(zeros([2, 3]), tensor([0, 3], { dtype: 'int32' })), 'ERR_INDEX');
    throwsCode(() => new nn.CrossEntropyLoss({ labelSmoothing: 1.5 }), 'ERR_INVALID_ARGUMENT', /labelSmoothing/);
    throwsCode(() => new nn.CrossEntropyLoss({ weight: ones([2]) }).forward(zeros([2, 3]), tensor([0, 1], { dtype: 'int32' })), 'ERR_SHAPE', /weight of shape \[3\]/);
    throwsCode(() => new nn.NLLLoss().forward(zeros([2, 3]), zeros([2, 3])), 'ERR_DTYPE');
    throwsCode(() => new nn.BCEWithLogitsLoss({ posWeight: ones([5]) }).forward(zeros([2, 3]), zeros([2, 3])), 'ERR_SHAPE', /posWeight/);
    throwsCode(() => new nn.HuberLoss({ delta: 0 }), 'ERR_INVALID_ARGUMENT', /delta/);
  });
  test('init', () => {
    throwsCode(() => nn.init.xavierUniform(zeros([5])), 'ERR_SHAPE', /fewer than 2 dimensions/);
    throwsCode(() => nn.init.kaimingNormal(zeros([3, 3]), { mode: 'fan_in' as 'fanIn' }), 'ERR_INVALID_ARGUMENT', /mode/);
    throwsCode(() => nn.init.calculateGain('swish' as 'relu'), 'ERR_INVALID_ARGUMENT', /unsupported nonlinearity/);
    throwsCode(() => nn.init.varianceScaling(zeros([3, 3]), { distribution: 'cauchy' as 'normal' }), 'ERR_INVALID_ARGUMENT', /distribution/);
    throwsCode(() => nn.init.uniform(zeros([3], { dtype: 'int32' })), 'ERR_DTYPE', /floating-point/);
    throwsCode(() => nn.init.orthogonal(zeros([3])), 'ERR_SHAPE');
  });
  test('utils', () => {
    throwsCode(() => nn.utils.clipGradNorm([zeros([2])], -1), 'ERR_INVALID_ARGUMENT', /maxNorm/);
    throwsCode(() => nn.utils.clipGradNorm(5 as unknown as Tensor[], 1), 'ERR_INVALID_ARGUMENT');
    throwsCode(() => nn.utils.maxNorm(zeros([2, 2]), 1, { dim: 2 }), 'ERR_INVALID_ARGUMENT', /dim/);
    throwsCode(() => nn.utils.l1Penalty([]), 'ERR_INVALID_ARGUMENT');
  });
});

describe('nn.utils', () => {
  test('clipGradNorm accepts a Module, skips parameters without gradient, clips in place', () => {
    const fc = new nn.Linear(3, 2);
    expect(nn.utils.clipGradNorm(fc, 1)).toBe(0);
    fc.weight.grad = ones([2, 3]).mul(2);
    const total = nn.utils.clipGradNorm(fc, 1);
    expect(total).toBeCloseTo(Math.sqrt(24), 5);
    const g = Array.from(fc.weight.grad!.data());
    expect(Math.sqrt(g.reduce((s, v) => s + v * v, 0))).toBeCloseTo(1, 4);
    fc.weight.grad = ones([2, 3]).mul(NaN);
    throwsCode(() => nn.utils.clipGradNorm(fc, 1, { errorIfNonfinite: true }), 'ERR_INVALID_ARGUMENT', /non-finite/);
  });
  test('clipGradValue clamps in place', () => {
    const p = zeros([3], { requiresGrad: true });
    p.grad = tensor([-3, 0.2, 5]);
    nn.utils.clipGradValue([p], 1);
    expect(Array.from(p.grad!.data())).toEqual([-1, 0.2 as number, 1].map((v) => Math.fround(v)));
  });
  test('l1Penalty and l2Penalty are differentiable sums', () => {
    const a = tensor([1, -2], { requiresGrad: true }), b = tensor([[3]], { requiresGrad: true });
    const l1 = nn.utils.l1Penalty([a, b]);
    const l2 = nn.utils.l2Penalty([a, b]);
    expect(l1.item()).toBe(6);
    expect(l2.item()).toBe(14);
    l1.add(l2).backward();
    expect(Array.from(a.grad!.data())).toEqual([1 + 2, -1 - 4]);
    expect(Array.from(b.grad!.data())).toEqual([1 + 6]);
  });
});
