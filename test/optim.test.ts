// optim.test.ts — every optimizer's 20-step trajectory on a real loss against torch.optim (fixture
// from scripts/gen_optim_fixtures.py), through the fused native kernels and through the composed
// reference (each run asserts which path really ran, and that a group takes one fused call per
// step); L-BFGS with and without the strong-Wolfe line search; validation; state dicts; EMA.
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as E from '../lib/ts/index.js';
import { optimizerCallCounts, setFusedOptimizers } from '../lib/ts/optim/optimizer.js';

interface Step { W: number[]; b: number[] }
interface Case { name: string; kind: string; options: Record<string, unknown>; groupB: Record<string, unknown> | null; trajectory: Step[]; losses?: number[] }
const fx = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'optim.json'), 'utf8')) as { x: number[]; y: number[]; W0: number[]; b0: number[]; cases: Case[] };

// ENTRENA_TEST_DEVICE=cuda runs the trajectories on the GPU (or the emulated CUDA backend of
// test/stress/cuda_emu.test.ts): the fused step is then the CUDA kernel.
const device = (process.env.ENTRENA_TEST_DEVICE ?? 'cpu') as 'cpu' | 'cuda';
const X = E.tensor(fx.x, { shape: [8, 4], device });
const Y = E.tensor(fx.y, { shape: [8, 3], device });
function problem() {
  const W = E.tensor(fx.W0, { shape: [3, 4], requiresGrad: true, device });
  const b = E.tensor(fx.b0, { shape: [3], requiresGrad: true, device });
  const loss = () => E.tanh(X.matmul(W.T).add(b)).sub(Y).square().mean();
  return { W, b, loss };
}
const OPT: Record<string, new (p: never, o: never) => E.optim.Optimizer> = {
  SGD: E.optim.SGD as never, Adam: E.optim.Adam as never, AdamW: E.optim.AdamW as never, Adagrad: E.optim.Adagrad as never,
  RMSprop: E.optim.RMSprop as never, Adamax: E.optim.Adamax as never, NAdam: E.optim.NAdam as never,
};

function expectClose(got: ArrayLike<number>, want: number[], rtol: number, atol: number, what: string) {
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= atol + rtol * Math.abs(want[i]))) expect.fail(`${what}[${i}]: ${got[i]} vs PyTorch ${want[i]}`);
  }
}

afterEach(() => setFusedOptimizers(true));

/** Runs `fn` and returns how many fused native calls and composed per-parameter updates it made. */
function countCalls(fn: () => void): { fused: number; composed: number } {
  const before = optimizerCallCounts();
  fn();
  const after = optimizerCallCounts();
  return { fused: after.fused - before.fused, composed: after.composed - before.composed };
}

describe.each([['fused', true], ['composed reference', false]] as const)('optimizers (%s) match torch.optim over 20 steps', (_label, fused) => {
  it.each(fx.cases.filter((c) => c.kind !== 'LBFGS'))('$name', (c) => {
    setFusedOptimizers(fused);
    const { W, b, loss } = problem();
    const params = c.groupB ? [{ params: [W] }, { params: [b], ...c.groupB }] : [W, b];
    const opt = new OPT[c.kind](params as never, c.options as never);
    const groups = c.groupB ? 2 : 1;
    c.trajectory.forEach((want, step) => {
      const calls = countCalls(() => E.tidy(() => {
        opt.zeroGrad();
        loss().backward();
        opt.step();
      }));
      // The path under test really ran: fused, one native call per parameter group (W and b share
      // device and dtype); composed, one reference update per parameter.
      expect(calls, `step ${step + 1}: fused calls and composed updates`).toEqual(fused ? { fused: groups, composed: 0 } : { fused: 0, composed: 2 });
      // float32 over many steps: rtol 1e-3 (the standard's budget after many steps), tight atol.
      expectClose(W.data(), want.W, 1e-3, 1e-6, `step ${step + 1} W`);
      expectClose(b.data(), want.b, 1e-3, 1e-6, `step ${step + 1} b`);
    });
  });
});

describe('per-parameter steps within one group (fused)', () => {
  // Parameters of one group whose steps differ (here: state restored for one of them only) take
  // one fused call per distinct step, each with its own step's scalars (and NAdam's own μ product):
  // each must follow exactly the trajectory it would follow alone.
  const OPTS: Record<string, Record<string, unknown>> = {
    Adam: { lr: 0.05 }, Adagrad: { lr: 0.1, lrDecay: 0.1, initialAccumulatorValue: 0.1 }, Adamax: { lr: 0.05 }, NAdam: { lr: 0.05 },
  };
  const grad = (k: number, i: number) => E.tensor([0.5 - 0.1 * k, -0.25 * (i + 1), 1.5 + k], { device });
  const start = (i: number) => E.tensor([1 + i, -2, 0.5 * i], { device, requiresGrad: true });
  /** Step k with the gradient of parameter index `index[j]` on params[j]. */
  function stepWith(opt: E.optim.Optimizer, params: E.Tensor[], k: number, index = params.map((_, i) => i)): void {
    params.forEach((p, j) => { p.grad = grad(k, index[j]); });
    opt.step();
    opt.zeroGrad();
  }
  it.each(Object.keys(OPTS))('%s', (name) => {
    const Opt = OPT[name];
    // Under test: three steps over [q0, q1]; then a new optimizer that restores q0's state only,
    // so q0 takes its 4th step and q1 its 1st, in one group.
    const q = [start(0), start(1)];
    const first = new Opt(q as never, OPTS[name] as never);
    for (let k = 0; k < 3; k++) stepWith(first, q, k);
    const sd = first.stateDict();
    delete sd.state['1'];
    const second = new Opt(q as never, OPTS[name] as never);
    second.loadStateDict(sd);
    const calls = countCalls(() => stepWith(second, q, 3));
    expect(calls).toEqual({ fused: 2, composed: 0 });
    // Reference: each parameter alone. r0 takes four steps in one optimizer; r1 three, then one
    // step of a fresh optimizer.
    const r0 = start(0), r1 = start(1);
    const o0 = new Opt([r0] as never, OPTS[name] as never);
    for (let k = 0; k < 4; k++) stepWith(o0, [r0], k);
    const o1 = new Opt([r1] as never, OPTS[name] as never);
    for (let k = 0; k < 3; k++) stepWith(o1, [r1], k, [1]);
    stepWith(new Opt([r1] as never, OPTS[name] as never), [r1], 3, [1]);
    expect(Array.from(q[0].data())).toEqual(Array.from(r0.data()));
    expect(Array.from(q[1].data())).toEqual(Array.from(r1.data()));
  });
});

describe('L-BFGS matches torch.optim.LBFGS', () => {
  it.each(fx.cases.filter((c) => c.kind === 'LBFGS'))('$name', (c) => {
    const { W, b, loss } = problem();
    const opt = new E.optim.LBFGS([W, b], c.options as never);
    const closure = () => { opt.zeroGrad(); const l = loss(); l.backward(); return l.item(); };
    c.trajectory.forEach((want, step) => {
      const l = opt.step(closure);
      expect(Math.abs(l - c.losses![step])).toBeLessThanOrEqual(1e-4 * Math.abs(c.losses![step]) + 1e-6);
      expectClose(W.data(), want.W, 1e-3, 1e-5, `step ${step + 1} W`);
      expectClose(b.data(), want.b, 1e-3, 1e-5, `step ${step + 1} b`);
    });
  });
});

describe('optimizer contract', () => {
  it('rejects invalid hyper-parameters with clear errors', () => {
    const p = [E.zeros([2], { requiresGrad: true })];
    const bad: [() => unknown, RegExp][] = [
      [() => new E.optim.SGD(p, { lr: -1 }), /lr/],
      [() => new E.optim.SGD(p, {} as never), /lr/],
      [() => new E.optim.SGD(p, { lr: 0.1, nesterov: true }), /Nesterov/],
      [() => new E.optim.Adam(p, { betas: [1, 0.999] }), /betas\[0\]/],
      [() => new E.optim.Adam(p, { betas: [0.9, -0.1] }), /betas\[1\]/],
      [() => new E.optim.Adam(p, { eps: -1 }), /eps/],
      [() => new E.optim.AdamW(p, { weightDecay: -0.1 }), /weightDecay/],
      [() => new E.optim.RMSprop(p, { alpha: -1 }), /alpha/],
      [() => new E.optim.Adagrad(p, { lrDecay: -1 }), /lrDecay/],
      [() => new E.optim.NAdam(p, { momentumDecay: -1 }), /momentumDecay/],
      [() => new E.optim.Adam([]), /empty/],
      [() => new E.optim.Adam(p[0] as never), /single Tensor/],
      [() => new E.optim.Adam([E.zeros([2], { dtype: 'int32' })]), /int32/],
      [() => new E.optim.Adam([p[0], p[0]].map((x) => ({ params: [x] }))), /more than one/],
      [() => new E.optim.LBFGS(p, { lineSearchFn: 'wolfe' as never }), /lineSearchFn/],
      [() => new E.optim.LBFGS(p).step(), /closure/],
      [() => new E.optim.LBFGS(p, { lr: 0 }), /lr/],
      [() => new E.optim.LBFGS(p, { maxIter: 1.5 }), /maxIter/],
    ];
    for (const [f, re] of bad) {
      let err: unknown;
      try { f(); } catch (e) { err = e; }
      expect(err, String(re)).toBeInstanceOf(E.EntrenaError);
      expect((err as Error).message).toMatch(re);
    }
    // Hyper-parameter values are ERR_INVALID_ARGUMENT, and the message says what was expected and what came.
    const numbers: [() => unknown, RegExp][] = [
      [() => new E.optim.SGD(p, { lr: -1 }), /SGD: expected lr to be a number ≥ 0, received .*-1/],
      [() => new E.optim.Adam(p, { betas: [1, 0.999] }), /Adam: expected betas\[0\] to be a number in \[0, 1\), received .*1/],
      [() => new E.optim.RMSprop(p, { eps: NaN }), /RMSprop: expected eps to be a number ≥ 0, received .*NaN/],
      [() => new E.optim.Adagrad(p, { lrDecay: -1 }), /Adagrad: expected lrDecay/],
      [() => new E.optim.NAdam(p, { momentumDecay: -1 }), /NAdam: expected momentumDecay/],
      [() => new E.optim.Adamax(p, { weightDecay: -1 }), /Adamax: expected weightDecay/],
      [() => new E.optim.LBFGS(p, { lr: 0 }), /LBFGS: expected lr to be a number > 0/],
      [() => new E.optim.LBFGS(p, { historySize: 0 }), /LBFGS: expected historySize to be a positive integer/],
    ];
    for (const [f, re] of numbers) {
      let err: unknown;
      try { f(); } catch (e) { err = e; }
      expect((err as { code?: string })?.code, String(re)).toBe('ERR_INVALID_ARGUMENT');
      expect((err as Error).message).toMatch(re);
    }
  });

  it('frozen parameters (requiresGrad false, no grad) are not updated', () => {
    const w = E.tensor([1, 2], { requiresGrad: true });
    const frozen = E.tensor([3, 4]);
    const opt = new E.optim.SGD([w, frozen], { lr: 0.1 });
    w.mul(w).sum().backward();
    opt.step();
    expect(Array.from(w.data())).toEqual([expect.closeTo(0.8, 6), expect.closeTo(1.6, 6)]);
    expect(Array.from(frozen.data())).toEqual([3, 4]);
  });

  it('zeroGrad clears and disposes gradients without leaking tensors', () => {
    const w = E.tensor([1, 2], { requiresGrad: true });
    const opt = new E.optim.Adam([w]);
    const before = E.memory().cpu.tensors;
    for (let i = 0; i < 5; i++) {
      E.tidy(() => { opt.zeroGrad(); w.mul(w).sum().backward(); opt.step(); });
    }
    opt.zeroGrad();
    expect(w.grad).toBeNull();
    // Adam's two state tensors are the only new live tensors.
    expect(E.memory().cpu.tensors - before).toBe(2);
  });

  it('stateDict / loadStateDict resume the same trajectory', () => {
    const run = (resumeAt: number | null) => {
      const { W, b, loss } = problem();
      let opt = new E.optim.Adam([W, b], { lr: 0.01, amsgrad: true });
      for (let i = 0; i < 10; i++) {
        if (i === resumeAt) {
          const sd = opt.stateDict();
          const copy = JSON.parse(JSON.stringify({ ...sd, state: {} }));
          opt = new E.optim.Adam([W, b], { lr: 0.5 });
          opt.loadStateDict({ ...copy, state: sd.state });
        }
        E.tidy(() => { opt.zeroGrad(); loss().backward(); opt.step(); });
      }
      return Array.from(W.data());
    };
    expect(run(4)).toEqual(run(null));
  });

  it('a scheduler drives the optimizer learning rate', () => {
    const w = E.tensor([1], { requiresGrad: true });
    const opt = new E.optim.SGD([w], { lr: 1 });
    const s = new E.optim.lrScheduler.StepLR(opt, { stepSize: 1, gamma: 0.5 });
    s.step(); s.step();
    expect(opt.paramGroups[0].lr).toBeCloseTo(0.25, 12);
  });
});

describe('weight averaging', () => {
  it('ExponentialMovingAverage follows shadow = d·shadow + (1 − d)·p, and store/copyTo/restore', () => {
    const p = E.tensor([0, 10]);
    const ema = new E.optim.ExponentialMovingAverage([p], { decay: 0.9 });
    p.copy_(E.tensor([10, 0]));
    ema.update();
    expect(Array.from(ema.shadow[0].data())).toEqual([expect.closeTo(1, 5), expect.closeTo(9, 5)]);
    ema.store();
    ema.copyTo();
    expect(Array.from(p.data())).toEqual([expect.closeTo(1, 5), expect.closeTo(9, 5)]);
    ema.restore();
    expect(Array.from(p.data())).toEqual([10, 0]);
    expect(() => new E.optim.ExponentialMovingAverage([p], { decay: 2 })).toThrow(/decay/);
  });
  it('AveragedModel keeps the equal-weight running mean of parameters', () => {
    const make = () => new E.nn.Linear(2, 1);
    const model = make();
    const avg = new E.optim.swa.AveragedModel(model, make);
    const w = model.parameters()[0];
    const seen: number[][] = [];
    for (let k = 0; k < 3; k++) {
      w.copy_(E.tensor([[k, 2 * k]]));
      seen.push([k, 2 * k]);
      avg.updateParameters(model);
    }
    expect(Array.from(avg.module.parameters()[0].data())).toEqual([expect.closeTo(1, 6), expect.closeTo(2, 6)]);
  });
});
