// conjugate_gradient.test.ts — optim.ConjugateGradient (nonlinear CG with a strong-Wolfe line
// search): on a strictly convex quadratic it reaches the exact minimiser A⁻¹b (computed here by
// Gaussian elimination) within a few multiples of n iterations, as CG theory says; it solves the
// Rosenbrock valley with both β formulas; it matches L-BFGS's optimum on a logistic regression;
// options are validated; the state dict round-trips.
import { describe, expect, it } from 'vitest';
import * as E from '../lib/ts/index.js';
import type { Tensor } from '../lib/ts/index.js';

/** A fixed SPD matrix A = MᵀM + I (n × n) and a vector b. */
function quadratic(n: number): { A: number[][]; b: number[] } {
  const M = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => Math.sin(1 + i * 3 + j * 7)));
  const A = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => M.reduce((s, row) => s + row[i] * row[j], 0) + (i === j ? 1 : 0)));
  const b = Array.from({ length: n }, (_, i) => Math.cos(2 + i));
  return { A, b };
}
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const m = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = 0; r < n; r++) if (r !== c) { const f = m[r][c] / m[c][c]; for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k]; }
  }
  return m.map((row, i) => row[n] / row[i]);
}

describe('optim.ConjugateGradient', () => {
  for (const method of ['polak-ribiere', 'fletcher-reeves'] as const) {
    it(`${method}: the minimiser of ½xᵀAx − bᵀx is A⁻¹b`, () => {
      const n = 8;
      const { A, b } = quadratic(n);
      const At = E.tensor(A, { dtype: 'float64' }), bt = E.tensor(b, { dtype: 'float64' });
      const x = E.zeros([n], { dtype: 'float64', requiresGrad: true });
      const opt = new E.optim.ConjugateGradient([x], { method, maxIter: 4 * n, toleranceGrad: 1e-10 });
      const f = (): Tensor => E.matmul(x, E.matmul(At, x)).mul(0.5).sub(E.matmul(bt, x));
      const closure = () => { opt.zeroGrad(); const l = f(); l.backward(); return l; };
      opt.step(closure);
      const want = solve(A, b);
      Array.from(x.data()).forEach((v, i) => expect(v).toBeCloseTo(want[i], 7));
      expect((opt.stateDict().state[0].nIter as number)).toBeLessThanOrEqual(4 * n);
    });
  }

  it('both methods find the Rosenbrock minimum (1, 1)', () => {
    for (const method of ['polak-ribiere', 'fletcher-reeves'] as const) {
      const p = E.tensor([-1.2, 1], { dtype: 'float64', requiresGrad: true });
      const opt = new E.optim.ConjugateGradient([p], { method, maxIter: 100, toleranceGrad: 1e-12, toleranceChange: 1e-14 });
      const rosen = () => {
        opt.zeroGrad();
        const a = p.narrow(0, 0, 1), b2 = p.narrow(0, 1, 1);
        const l = E.sum(E.sub(1, a).square().add(b2.sub(a.square()).square().mul(100)));
        l.backward();
        return l;
      };
      for (let k = 0; k < 20; k++) opt.step(rosen);
      const [u, w] = Array.from(p.data());
      expect(Math.abs(u - 1), method).toBeLessThan(1e-4);
      expect(Math.abs(w - 1), method).toBeLessThan(1e-4);
    }
  });

  it('reaches the L-BFGS optimum of a logistic regression', () => {
    E.manualSeed(3);
    const X = E.randn([64, 5], { dtype: 'float64' });
    const y = E.gt(E.matmul(X, E.tensor([1, -2, 0.5, 0, 1.5], { dtype: 'float64' })).add(E.randn([64], { dtype: 'float64' })), 0).cast('float64');
    const fit = (make: (w: Tensor[]) => E.optim.Optimizer): number => {
      const w = E.zeros([5], { dtype: 'float64', requiresGrad: true }), b = E.zeros([1], { dtype: 'float64', requiresGrad: true });
      const opt = make([w, b]);
      const loss = () => { opt.zeroGrad(); const l = new E.nn.BCEWithLogitsLoss().forward(E.matmul(X, w).add(b), y).add(w.square().sum().mul(1e-2)); l.backward(); return l; };
      for (let k = 0; k < 10; k++) opt.step(loss);
      return E.noGrad(() => new E.nn.BCEWithLogitsLoss().forward(E.matmul(X, w).add(b), y).add(w.square().sum().mul(1e-2)).item());
    };
    const cg = fit((ps) => new E.optim.ConjugateGradient(ps));
    const lbfgs = fit((ps) => new E.optim.LBFGS(ps, { lineSearchFn: 'strongWolfe' }));
    expect(Math.abs(cg - lbfgs)).toBeLessThan(1e-9);
  });

  it('validates its options and needs a closure', () => {
    const p = E.zeros([2], { requiresGrad: true });
    const code = (fn: () => unknown) => { try { fn(); return 'none'; } catch (e) { return (e as E.EntrenaError).code; } };
    expect(code(() => new E.optim.ConjugateGradient([p], { method: 'newton' as never }))).toBe('ERR_INVALID_ARGUMENT');
    expect(code(() => new E.optim.ConjugateGradient([p], { lr: 0 }))).toBe('ERR_INVALID_ARGUMENT');
    expect(code(() => new E.optim.ConjugateGradient([p], { restart: 1.5 }))).toBe('ERR_INVALID_ARGUMENT');
    expect(code(() => new E.optim.ConjugateGradient([p], { lineSearch: 'armijo' as never }))).toBe('ERR_INVALID_ARGUMENT');
    expect(code(() => new E.optim.ConjugateGradient([p], { beta: 1 } as never))).toBe('ERR_INVALID_ARGUMENT');
    expect(() => new E.optim.ConjugateGradient([p]).step()).toThrow(/needs a closure|expected a closure/);
  });

  it('the state dict carries the direction: a restored optimizer continues identically', () => {
    const run = (restore: boolean): number[] => {
      const p = E.tensor([-1.2, 1], { dtype: 'float64', requiresGrad: true });
      let opt = new E.optim.ConjugateGradient([p], { maxIter: 3 });
      const f = () => { opt.zeroGrad(); const a = p.narrow(0, 0, 1), b = p.narrow(0, 1, 1); const l = E.sum(E.sub(1, a).square().add(b.sub(a.square()).square().mul(100))); l.backward(); return l; };
      opt.step(f);
      if (restore) {
        const sd = opt.stateDict();
        opt = new E.optim.ConjugateGradient([p], { maxIter: 3 });
        opt.loadStateDict(sd);
      }
      opt.step(f);
      return Array.from(p.data());
    };
    expect(run(true)).toEqual(run(false));
  });
});
