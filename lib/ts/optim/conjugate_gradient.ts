/**
 * conjugate_gradient.ts — nonlinear conjugate gradient (Nocedal & Wright, Numerical Optimization,
 * §5.2; Goodfellow et al., Deep Learning, §8.6.2): each direction is the negative gradient plus β
 * times the previous direction, so successive line minimisations do not undo each other.
 *
 *   Fletcher–Reeves:  β = gₖ₊₁·gₖ₊₁ / gₖ·gₖ
 *   Polak–Ribière+:   β = max(0, gₖ₊₁·(gₖ₊₁ − gₖ) / gₖ·gₖ)   (the max restarts on its own)
 *
 * The step along each direction comes from the strong-Wolfe line search shared with L-BFGS
 * (line_search.ts), with c2 = 0.1 as N&W advise for CG (Fletcher–Reeves needs c2 < ½ to keep the
 * directions descending). A direction that does not descend, or every `restart` iterations, falls
 * back to steepest descent. Closure-based, full batch, one parameter group, as L-BFGS.
 */
import { checkNumber, checkOptions, checkPositiveInt } from '../check.js';
import { ArgumentError, describe } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { tensor } from '../ops/creation.js';
import type { ParamGroup, ParamsArg } from './optimizer.js';
import { ClosureOptimizer, absMax, absSum, dot, strongWolfe, type Vec } from './line_search.js';

export interface ConjugateGradientOptions {
  /** The first trial step of the first line search (later ones start from the previous step's scale). Default 1. */
  lr?: number;
  /** 'polak-ribiere' (PR+, default) or 'fletcher-reeves'. */
  method?: 'polak-ribiere' | 'fletcher-reeves';
  /** 'strong_wolfe' (default; also 'strongWolfe'), or null for fixed steps of lr. */
  lineSearch?: 'strong_wolfe' | 'strongWolfe' | null;
  /** Iterations per `step` call (default 20). */
  maxIter?: number;
  /** Loss evaluations per `step` call (default maxIter · 5/4). */
  maxEval?: number;
  /** Stop when every gradient component is below this (default 1e-7). */
  toleranceGrad?: number;
  /** Stop when the step or the loss changes less than this (default 1e-9). */
  toleranceChange?: number;
  /** Restart with steepest descent every this many iterations (default: the number of parameters, as N&W). */
  restart?: number;
}

/**
 * Nonlinear conjugate gradient with a strong-Wolfe line search (closure-based, like LBFGS).
 * @example
 * const opt = new optim.ConjugateGradient(model.parameters(), { method: 'polak-ribiere' });
 * for (let i = 0; i < 10; i++) opt.step(() => { opt.zeroGrad(); const l = lossFn(model.forward(x), y); l.backward(); return l; });
 */
export class ConjugateGradient extends ClosureOptimizer {
  private cg: { nIter: number; funcEvals: number; d?: Vec; g?: Vec; t?: number; gtd?: number } = { nIter: 0, funcEvals: 0 };

  constructor(params: ParamsArg, options: ConjugateGradientOptions = {}) {
    options = checkOptions<ConjugateGradientOptions>(options, 'ConjugateGradient', ['lr', 'method', 'lineSearch', 'maxIter', 'maxEval', 'toleranceGrad', 'toleranceChange', 'restart']);
    const maxIter = options.maxIter ?? 20;
    super(params, {
      lr: options.lr ?? 1, method: options.method ?? 'polak-ribiere', lineSearch: options.lineSearch === undefined ? 'strong_wolfe' : options.lineSearch,
      maxIter, maxEval: options.maxEval ?? Math.floor((maxIter * 5) / 4), toleranceGrad: options.toleranceGrad ?? 1e-7,
      toleranceChange: options.toleranceChange ?? 1e-9, restart: options.restart ?? null,
    }, 'ConjugateGradient');
    if (this.paramGroups.length !== 1) throw new ArgumentError('ConjugateGradient: parameter groups are not supported; pass one list of parameters');
  }
  protected validate(g: ParamGroup): void {
    checkNumber(g.lr, 'ConjugateGradient', 'lr', { min: 0, minExclusive: true });
    for (const k of ['maxIter', 'maxEval']) checkPositiveInt(g[k], 'ConjugateGradient', k);
    if (g.restart !== null) checkPositiveInt(g.restart, 'ConjugateGradient', 'restart');
    checkNumber(g.toleranceGrad, 'ConjugateGradient', 'toleranceGrad', { min: 0 });
    checkNumber(g.toleranceChange, 'ConjugateGradient', 'toleranceChange', { min: 0 });
    if (g.method !== 'polak-ribiere' && g.method !== 'fletcher-reeves')
      throw new ArgumentError(`ConjugateGradient: expected method 'polak-ribiere' or 'fletcher-reeves', received ${describe(g.method)}`);
    const ls = g.lineSearch;
    if (ls !== null && ls !== 'strong_wolfe' && ls !== 'strongWolfe') throw new ArgumentError(`ConjugateGradient: expected lineSearch 'strong_wolfe' or null, received ${describe(ls)}`);
  }
  protected updateGroup(): void {
    throw new ArgumentError('ConjugateGradient: step() needs a closure that re-evaluates the loss');
  }

  /**
   * Runs up to `maxIter` CG iterations (each a line search along the conjugate direction) and
   * returns the loss before them. The closure zeroes the gradients, computes the loss, calls
   * backward and returns the loss.
   */
  override step(closure?: () => Tensor | number): number {
    if (typeof closure !== 'function') throw new ArgumentError(`ConjugateGradient.step: expected a closure that re-evaluates the loss, received ${describe(closure)}`);
    const grp = this.paramGroups[0];
    const lr = grp.lr, maxIter = grp.maxIter as number, maxEval = grp.maxEval as number;
    const tolGrad = grp.toleranceGrad as number, tolChange = grp.toleranceChange as number;
    const fr = grp.method === 'fletcher-reeves', lineSearch = grp.lineSearch !== null;
    const st = this.cg;
    const origLoss = this.evaluate(closure);
    let loss = origLoss;
    let evals = 1;
    st.funcEvals++;
    let g = this.flatGrad();
    const restart = (grp.restart as number | null) ?? g.length;
    if (absMax(g) <= tolGrad) return origLoss;
    for (let it = 0; it < maxIter; it++) {
      let d: Vec;
      const prev = st.d && st.g ? { d: st.d, g: st.g } : null;
      if (!prev || st.nIter % restart === 0) d = g.map((v) => -v);
      else {
        const gg = dot(prev.g, prev.g);
        let beta = fr ? dot(g, g) / gg : (dot(g, g) - dot(g, prev.g)) / gg;
        if (!fr) beta = Math.max(0, beta);
        d = g.map((v, i) => -v + beta * prev.d[i]);
        // Not a descent direction (possible for FR without an exact line search): restart.
        if (!(dot(g, d) < 0)) d = g.map((v) => -v);
      }
      st.nIter++;
      const gtd = dot(g, d);
      if (gtd > -tolChange) break;
      // First trial step: lr scaled to the gradient the first time, then the previous step's
      // first-order change predicted for the new direction (N&W eq. 3.60).
      let t = st.t === undefined || st.gtd === undefined ? Math.min(1, 1 / absSum(g)) * lr : (st.t * st.gtd) / gtd;
      if (!Number.isFinite(t) || t <= 0) t = lr;
      const prevLoss = loss;
      let gNew: Vec;
      if (lineSearch) {
        const r = strongWolfe(this.along(closure), this.flatParams(), t, d, loss, g, gtd, tolChange, 1e-4, 0.1);
        loss = r.f; gNew = r.g; t = r.t;
        evals += r.evals;
        st.funcEvals += r.evals;
        this.addGrad(t, d);
      } else {
        t = lr;
        this.addGrad(t, d);
        loss = this.evaluate(closure);
        gNew = this.flatGrad();
        evals++;
        st.funcEvals++;
      }
      st.d = d;
      st.g = g;
      st.t = t;
      st.gtd = gtd;
      g = gNew;
      if (absMax(g) <= tolGrad || evals >= maxEval) break;
      if (absMax(d.map((v) => v * t)) <= tolChange || Math.abs(loss - prevLoss) < tolChange) break;
    }
    return origLoss;
  }

  override stateDict(): { state: Record<string, Record<string, Tensor | number>>; paramGroups: Record<string, unknown>[] } {
    const base = super.stateDict();
    const st = this.cg;
    const s: Record<string, Tensor | number> = { nIter: st.nIter, funcEvals: st.funcEvals, t: st.t ?? NaN, gtd: st.gtd ?? NaN };
    if (st.d) s.d = tensor(st.d, { dtype: 'float64' });
    if (st.g) s.prevGrad = tensor(st.g, { dtype: 'float64' });
    return { state: { 0: s }, paramGroups: base.paramGroups };
  }
  override loadStateDict(sd: { state: Record<string, Record<string, Tensor | number>>; paramGroups: Record<string, unknown>[] }): void {
    const s = sd?.state?.['0'];
    if (!s) throw new ArgumentError(`ConjugateGradient.loadStateDict: expected the state dict of a ConjugateGradient optimizer, received ${describe(sd)}`);
    const { params: _p, ...options } = sd.paramGroups[0];
    Object.assign(this.paramGroups[0], options);
    const v = (x: unknown): Vec | undefined => (x && typeof x === 'object' && 'data' in x ? Float64Array.from((x as Tensor).data() as ArrayLike<number>) : undefined);
    const num = (x: unknown): number | undefined => (typeof x === 'number' && !Number.isNaN(x) ? x : undefined);
    this.cg = { nIter: s.nIter as number, funcEvals: s.funcEvals as number, t: num(s.t), gtd: num(s.gtd), d: v(s.d), g: v(s.prevGrad) };
  }
}
