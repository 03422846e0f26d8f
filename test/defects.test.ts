// defects.test.ts — the defects a review found in nn, optim.swa and train (issue "One door for
// every op ... and the defects a review found"), each pinned by a test that failed before its fix:
//   - one rule, one code: a dtype problem is ERR_DTYPE in every layer, loss, initialiser and data
//     option, as it is in the ops (Linear answered ERR_INVALID_ARGUMENT where matmul said ERR_DTYPE);
//   - a layer or loss call leaves only its result: no intermediate stays counted as live, whether
//     the call returns (with or without a backward pass) or throws. Before the fix the pointwise
//     losses (MSE, L1, MAPE, Huber, BCE, BCEWithLogits), Linear on a float64 input (the promoted
//     copies of its weights), BatchNorm1d, LayerNorm, the dropouts, PReLU, RReLU, Sequential and
//     the penalties left their intermediates live; NLL and cross-entropy (already in a tidy) are
//     pinned here too, returning and throwing;
//   - swa.AveragedModel deep-copies the model itself, as PyTorch (no `makeCopy` argument);
//   - fit clips gradients with nn.utils.clipGradNorm (the same numbers as the function).
import { describe, expect, it } from 'vitest';
import * as E from '../lib/ts/index.js';

const { nn, optim, data } = E;

function codeOf(fn: () => unknown): string {
  try { fn(); } catch (e) { return (e as { code?: string }).code ?? `not an EntrenaError: ${String(e)}`; }
  return 'no error';
}

/** Live CPU tensors left by `fn` (whatever it creates and does not dispose itself). */
function leaked(fn: () => void): number {
  const before = E.memory().cpu.tensors;
  fn();
  return E.memory().cpu.tensors - before;
}

describe('one rule, one code: a dtype problem is ERR_DTYPE', () => {
  const xi = E.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'int32' });

  it('matmul and nn.Linear agree on an int32 input (was: ERR_INVALID_ARGUMENT from Linear)', () => {
    expect(codeOf(() => E.matmul(xi, E.ones([3, 2], { dtype: 'int32' })))).toBe('ERR_DTYPE');
    expect(codeOf(() => new nn.Linear(3, 2).forward(xi))).toBe('ERR_DTYPE');
  });

  const layers: [string, () => nn.Module][] = [
    ['BatchNorm1d', () => new nn.BatchNorm1d(3)], ['LayerNorm', () => new nn.LayerNorm(3)],
    ['Dropout', () => new nn.Dropout()], ['AlphaDropout', () => new nn.AlphaDropout()],
    ['PReLU', () => new nn.PReLU()], ['RReLU', () => new nn.RReLU()], ['LeakyReLU', () => new nn.LeakyReLU()],
    ['ELU', () => new nn.ELU()], ['SELU', () => new nn.SELU()], ['GELU', () => new nn.GELU()], ['SiLU', () => new nn.SiLU()],
    ['Mish', () => new nn.Mish()], ['Sigmoid', () => new nn.Sigmoid()], ['Tanh', () => new nn.Tanh()],
    ['Softplus', () => new nn.Softplus()], ['Softmax', () => new nn.Softmax(1)], ['LogSoftmax', () => new nn.LogSoftmax(1)],
  ];
  it.each(layers)('%s: an int32 input is ERR_DTYPE', (name, make) => {
    expect(codeOf(() => make().forward(xi)), name).toBe('ERR_DTYPE');
  });

  it('losses: an int32 prediction is ERR_DTYPE', () => {
    const yf = E.zeros([2, 3]), yi = E.tensor([0, 1], { dtype: 'int32' });
    for (const loss of [new nn.MSELoss(), new nn.L1Loss(), new nn.MAPELoss(), new nn.HuberLoss(), new nn.BCELoss(), new nn.BCEWithLogitsLoss()])
      expect(codeOf(() => loss.forward(xi, yf)), loss.constructor.name).toBe('ERR_DTYPE');
    for (const loss of [new nn.NLLLoss(), new nn.CrossEntropyLoss()])
      expect(codeOf(() => loss.forward(xi, yi)), loss.constructor.name).toBe('ERR_DTYPE');
  });

  it('nn.init on an int32 tensor, an int32 parameter, Module.to(int32), a layer dtype option', () => {
    expect(codeOf(() => nn.init.uniform(E.zeros([3], { dtype: 'int32' })))).toBe('ERR_DTYPE');
    expect(codeOf(() => nn.init.kaimingUniform(E.zeros([3, 3], { dtype: 'int32' })))).toBe('ERR_DTYPE');
    class Holder extends nn.Module { override forward(x: E.Tensor): E.Tensor { return x; } }
    expect(codeOf(() => new Holder().registerParameter('w', E.zeros([2], { dtype: 'int32' })))).toBe('ERR_DTYPE');
    expect(codeOf(() => new nn.Linear(2, 2).to('int32'))).toBe('ERR_DTYPE');
    expect(codeOf(() => new nn.Linear(2, 2, { dtype: 'int32' as 'float32' }))).toBe('ERR_DTYPE');
    expect(codeOf(() => new nn.BatchNorm1d(2, { dtype: 'float16' as 'float32' }))).toBe('ERR_DTYPE');
    // A bad device is a device problem: ERR_DEVICE, as tensor creation says.
    expect(codeOf(() => new nn.Linear(2, 2, { device: 'tpu' as 'cpu' }))).toBe('ERR_DEVICE');
    expect(codeOf(() => E.zeros([2], { device: 'tpu' as 'cpu' }))).toBe('ERR_DEVICE');
  });

  it('data: an unknown dtype option is ERR_DTYPE (readIdx, readCsv, OneHotEncoder), as for tensor creation', () => {
    expect(codeOf(() => E.zeros([2], { dtype: 'float8' as 'float32' }))).toBe('ERR_DTYPE');
    expect(codeOf(() => data.readIdx('/nonexistent.idx', { dtype: 'float8' as 'float32' }))).toBe('ERR_DTYPE');
    expect(codeOf(() => data.readCsv('/nonexistent.csv', { dtype: 'float8' as 'float32' }))).toBe('ERR_DTYPE');
    expect(codeOf(() => data.readCsv('/nonexistent.csv', { targetDtype: 'int8' as 'int32' }))).toBe('ERR_DTYPE');
    expect(codeOf(() => new data.OneHotEncoder({ dtype: 'uint8' as 'int32' }))).toBe('ERR_DTYPE');
  });
});

describe('a layer or loss call leaves only its result', () => {
  // Made outside the counted calls.
  E.manualSeed(0);
  const p = E.rand([4, 3]).mul(0.8).add(0.1);
  p.requiresGrad = true;
  const y = E.rand([4, 3]);
  const labels = E.tensor([0, 2, 1, 1], { dtype: 'int32' });
  const w3 = E.tensor([1, 2, 3]);

  /** Forward, backward, then the result and the gradients disposed: nothing may stay live. */
  function afterBackward(f: () => E.Tensor, params: E.Tensor[] = []): number {
    return leaked(() => {
      const l = f();
      const g = l.size === 1 ? undefined : E.onesLike(l);
      l.backward(g);
      g?.dispose();
      l.dispose();
      for (const t of [p, ...params]) t.grad = null;
    });
  }
  /** Forward under noGrad, the result disposed (unless it is the input itself, as an identity in eval). */
  const underNoGrad = (f: () => E.Tensor, input?: E.Tensor): number => leaked(() => {
    const r = E.noGrad(f);
    if (r !== input) r.dispose();
  });

  const losses: [string, () => E.Tensor][] = [
    ['MSELoss', () => new nn.MSELoss().forward(p, y)],
    ['L1Loss', () => new nn.L1Loss().forward(p, y)],
    ['MAPELoss', () => new nn.MAPELoss().forward(p, y)],
    ['HuberLoss', () => new nn.HuberLoss({ delta: 0.3 }).forward(p, y)],
    ['HuberLoss none', () => new nn.HuberLoss({ reduction: 'none' }).forward(p, y)],
    ['BCELoss', () => new nn.BCELoss().forward(p, y)],
    ['BCELoss weight', () => new nn.BCELoss({ weight: w3 }).forward(p, y)],
    ['BCEWithLogitsLoss', () => new nn.BCEWithLogitsLoss().forward(p, y)],
    ['BCEWithLogitsLoss posWeight weight', () => new nn.BCEWithLogitsLoss({ posWeight: w3, weight: w3 }).forward(p, y)],
    ['NLLLoss weight', () => new nn.NLLLoss({ weight: w3 }).forward(p, labels)],
    ['CrossEntropyLoss', () => new nn.CrossEntropyLoss().forward(p, labels)],
    ['CrossEntropyLoss smoothing weight', () => new nn.CrossEntropyLoss({ labelSmoothing: 0.1, weight: w3 }).forward(p, labels)],
    ['CrossEntropyLoss probabilities', () => new nn.CrossEntropyLoss({ labelSmoothing: 0.1 }).forward(p, y)],
  ];
  it.each(losses)('%s leaves nothing live, after backward or under noGrad', (_name, f) => {
    expect(afterBackward(f), 'with backward').toBe(0);
    expect(underNoGrad(f), 'under noGrad').toBe(0);
  });

  it('nn.Linear on a float64 rank-4 input (was: the promoted copies of the weights stayed live)', () => {
    const lin = new nn.Linear(3, 2);
    const x = E.randn([2, 2, 2, 3], { dtype: 'float64' });
    expect(afterBackward(() => lin.forward(x), lin.parameters()), 'with backward').toBe(0);
    expect(underNoGrad(() => lin.forward(x)), 'under noGrad').toBe(0);
    const out = E.noGrad(() => lin.forward(x));
    expect(out.dtype).toBe('float64');
    expect(out.shape).toEqual([2, 2, 2, 2]);
  });

  const x2 = E.randn([8, 3], { requiresGrad: true });
  const layers: [string, nn.Module, E.Tensor][] = [
    ['BatchNorm1d train', new nn.BatchNorm1d(3), x2],
    ['BatchNorm1d train [N, C, L]', new nn.BatchNorm1d(3), E.randn([4, 3, 5], { requiresGrad: true })],
    ['LayerNorm', new nn.LayerNorm(3), x2],
    ['Dropout', new nn.Dropout(0.3), x2],
    ['AlphaDropout', new nn.AlphaDropout(0.3), x2],
    ['PReLU', new nn.PReLU({ numParameters: 3 }), x2],
    ['RReLU', new nn.RReLU(), x2],
    ['Sequential', new nn.Sequential(new nn.Linear(3, 4), new nn.ReLU(), new nn.Dropout(0.2), new nn.Linear(4, 2)), x2],
  ];
  it.each(layers)('%s leaves nothing live, after backward, under noGrad, in eval', (_name, m, x) => {
    const f = (): E.Tensor => m.forward(x);
    expect(afterBackward(f, [x, ...m.parameters()]), 'with backward').toBe(0);
    expect(underNoGrad(f, x), 'under noGrad').toBe(0);
    m.eval();
    expect(underNoGrad(f, x), 'in eval, under noGrad').toBe(0);
  });

  it('nn.utils.l1Penalty / l2Penalty (was: the per-parameter terms stayed live)', () => {
    const ps = [E.randn([3, 2], { requiresGrad: true }), E.randn([2], { requiresGrad: true })];
    expect(afterBackward(() => nn.utils.l1Penalty(ps), ps)).toBe(0);
    expect(afterBackward(() => nn.utils.l2Penalty(ps), ps)).toBe(0);
    expect(underNoGrad(() => nn.utils.l2Penalty(ps))).toBe(0);
  });

  it('NLLLoss and CrossEntropyLoss that throw (shape, dtype, index) leave nothing live', () => {
    const p1 = E.randn([3]), p3 = E.randn([4, 3, 2], { requiresGrad: true });
    const bad = E.tensor([0, 1], { dtype: 'int32' }), badF = E.tensor([0, 1]), oob = E.tensor([0, 5, 1, 1], { dtype: 'int32' });
    const t3 = E.zeros([4, 1], { dtype: 'int32' }), w2 = E.ones([2]);
    for (const make of [(o: { weight?: E.Tensor } = {}) => new nn.NLLLoss(o), (o: { weight?: E.Tensor } = {}) => new nn.CrossEntropyLoss(o)]) {
      const cases: [string, () => unknown, string][] = [
        ['targets of the wrong shape', () => make().forward(p, bad), 'ERR_SHAPE'],
        ['float targets of the wrong shape', () => make().forward(p, badF), 'ERR_DTYPE'],
        ['unbatched input, targets of the wrong shape', () => make().forward(p1, bad), 'ERR_SHAPE'],
        ['[N, C, d] input, targets of the wrong shape', () => make().forward(p3, t3), 'ERR_SHAPE'],
        ['a weight of the wrong shape', () => make({ weight: w2 }).forward(p, labels), 'ERR_SHAPE'],
        ['a class index out of range', () => make().forward(p, oob), 'ERR_INDEX'],
        ['a class index out of range, with weights', () => make({ weight: w3 }).forward(p, oob), 'ERR_INDEX'],
      ];
      if (make() instanceof nn.CrossEntropyLoss)
        cases.push(['label smoothing, a class index out of range', () => new nn.CrossEntropyLoss({ labelSmoothing: 0.1 }).forward(p, oob), 'ERR_INDEX']);
      for (const [what, f, code] of cases) {
        let got = '';
        const n = leaked(() => { got = codeOf(f); });
        expect(got, `${make().constructor.name}: ${what}`).toBe(code);
        expect(n, `${make().constructor.name}: ${what} leaked`).toBe(0);
      }
    }
  });
});

describe('optim.swa.AveragedModel deep-copies the model (no makeCopy)', () => {
  it('copies structure and weights, shares no tensor with the model, averages on update', () => {
    E.manualSeed(1);
    const model = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4), new nn.ReLU(), new nn.Linear(4, 2));
    const avg = new optim.swa.AveragedModel(model);
    const m = avg.module as nn.Sequential;
    expect(m).toBeInstanceOf(nn.Sequential);
    expect(m).not.toBe(model);
    expect(Object.keys(m.stateDict())).toEqual(Object.keys(model.stateDict()));
    const mine = m.parameters(), theirs = model.parameters();
    mine.forEach((t, i) => {
      expect(t).not.toBe(theirs[i]);
      expect(Array.from(t.data())).toEqual(Array.from(theirs[i].data()));
    });
    // Same outputs in eval mode.
    const x = E.randn([5, 3]);
    model.eval(); m.eval();
    expect(Array.from(E.noGrad(() => avg.forward(x)).data())).toEqual(Array.from(E.noGrad(() => model.forward(x)).data()));
    // Averaging: after updates with weights w0 (copied), w1, w2, the average is their mean.
    const snapshots: number[][][] = [];
    const record = () => snapshots.push(theirs.map((t) => Array.from(t.data())));
    avg.updateParameters(model); record();
    for (let k = 0; k < 2; k++) {
      E.noGrad(() => { for (const t of theirs) t.copy_(t.add(k + 1)); });
      avg.updateParameters(model); record();
    }
    expect(avg.nAveraged).toBe(3);
    mine.forEach((t, i) => {
      const got = Array.from(t.data());
      got.forEach((v, j) => expect(v).toBeCloseTo((snapshots[0][i][j] + snapshots[1][i][j] + snapshots[2][i][j]) / 3, 5));
    });
  });

  it('still accepts a makeCopy function (compatibility) and rejects a non-module without one', () => {
    const model = new nn.Linear(2, 2);
    const avg = new optim.swa.AveragedModel(model, () => new nn.Linear(2, 2));
    expect(Array.from(avg.module.parameters()[0].data())).toEqual(Array.from(model.weight.data()));
    const fake = { parameters: () => [], forward: (x: E.Tensor) => x, stateDict: () => ({}), loadStateDict: () => undefined, train: () => undefined, eval: () => undefined };
    expect(codeOf(() => new optim.swa.AveragedModel(fake))).toBe('ERR_INVALID_ARGUMENT');
  });
});

describe('fit clips gradients with nn.utils.clipGradNorm', () => {
  it('the weights after fit({ clipGradNorm }) equal a loop that calls nn.utils.clipGradNorm', async () => {
    const setup = () => {
      E.manualSeed(5);
      const x = E.randn([16, 4]), t = E.randn([16, 2]).mul(10);
      const model = new nn.Sequential(new nn.Linear(4, 8), new nn.Tanh(), new nn.Linear(8, 2));
      return { x, t, model, opt: new optim.SGD(model.parameters(), { lr: 0.1 }) };
    };
    const a = setup();
    await E.fit(a.model, { train: [[a.x, a.t]], loss: new nn.MSELoss(), optimizer: a.opt, epochs: 3, clipGradNorm: 0.5, progress: false });
    const b = setup();
    const norms: number[] = [];
    for (let e = 0; e < 3; e++) {
      E.tidy(() => {
        b.opt.zeroGrad();
        new nn.MSELoss().forward(b.model.forward(b.x), b.t).backward();
        norms.push(nn.utils.clipGradNorm(b.model.parameters(), 0.5));
        b.opt.step();
      });
    }
    // The clipping bites (the norms are above 0.5), and both runs agree to the bit.
    expect(Math.min(...norms)).toBeGreaterThan(0.5);
    a.model.parameters().forEach((t, i) => expect(Array.from(t.data())).toEqual(Array.from(b.model.parameters()[i].data())));
  });
});
