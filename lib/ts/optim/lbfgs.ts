/**
 * lbfgs.ts — L-BFGS with an optional strong-Wolfe line search, a port of torch/optim/lbfgs.py
 * (itself after Schmidt's minFunc; Nocedal & Wright, Numerical Optimization, alg. 7.4 and 3.5–3.6).
 *
 * Full-batch by nature: `step(closure)` re-evaluates the loss (the closure zeroes gradients, runs
 * forward and backward, and returns the loss). The flat vectors, the line search and the closure
 * plumbing are shared with nonlinear CG (line_search.ts); the curvature history lives on the host
 * in float64 (O(parameters · history)).
 */
import { checkNumber, checkOptions, checkPositiveInt } from '../check.js';
import { ArgumentError, describe } from '../errors.js';
import { Tensor } from '../tensor.js';
import { tensor } from '../ops/creation.js';
import { type ParamGroup, type ParamsArg } from './optimizer.js';
import { ClosureOptimizer, absMax, absSum, dot, strongWolfe, type Vec } from './line_search.js';

export interface LBFGSOptions {
  lr?: number; maxIter?: number; maxEval?: number; toleranceGrad?: number; toleranceChange?: number;
  historySize?: number; lineSearchFn?: 'strongWolfe' | 'strong_wolfe' | null;
}

/**
 * L-BFGS, as torch.optim.LBFGS (one parameter group; defaults lr 1, maxIter 20, maxEval
 * maxIter·5/4, toleranceGrad 1e-7, toleranceChange 1e-9, historySize 100, no line search).
 * @example
 * const opt = new optim.LBFGS(model.parameters(), { lineSearchFn: 'strongWolfe' });
 * opt.step(() => { opt.zeroGrad(); const l = lossFn(model.forward(x), y); l.backward(); return l; });
 */
export class LBFGS extends ClosureOptimizer {
  private lstate: {
    funcEvals: number; nIter: number; d?: Vec; t?: number; oldDirs: Vec[]; oldStps: Vec[]; ro: number[]; hDiag: number;
    prevFlatGrad?: Vec; prevLoss?: number;
  } = { funcEvals: 0, nIter: 0, oldDirs: [], oldStps: [], ro: [], hDiag: 1 };

  constructor(params: ParamsArg, options: LBFGSOptions = {}) {
    options = checkOptions<LBFGSOptions>(options, 'LBFGS', ['lr', 'maxIter', 'maxEval', 'toleranceGrad', 'toleranceChange', 'historySize', 'lineSearchFn']);
    const maxIter = options.maxIter ?? 20;
    super(params, {
      lr: options.lr ?? 1, maxIter, maxEval: options.maxEval ?? Math.floor((maxIter * 5) / 4), toleranceGrad: options.toleranceGrad ?? 1e-7,
      toleranceChange: options.toleranceChange ?? 1e-9, historySize: options.historySize ?? 100, lineSearchFn: options.lineSearchFn ?? null,
    }, 'LBFGS');
    if (this.paramGroups.length !== 1) throw new ArgumentError("LBFGS: parameter groups are not supported (as PyTorch's); pass one list of parameters");
  }
  protected validate(g: ParamGroup): void {
    checkNumber(g.lr, 'LBFGS', 'lr', { min: 0, minExclusive: true });
    for (const k of ['maxIter', 'maxEval', 'historySize']) checkPositiveInt(g[k], 'LBFGS', k);
    const ls = g.lineSearchFn;
    if (ls !== null && ls !== 'strongWolfe' && ls !== 'strong_wolfe') throw new ArgumentError(`LBFGS: expected lineSearchFn 'strongWolfe' or null, received ${describe(ls)}`);
  }
  protected updateGroup(): void {
    throw new ArgumentError('LBFGS: step() needs a closure that re-evaluates the loss');
  }

  override step(closure?: () => Tensor | number): number {
    if (typeof closure !== 'function') throw new ArgumentError(`LBFGS.step: expected a closure that re-evaluates the loss, received ${describe(closure)}`);
    const g = this.paramGroups[0];
    const lr = g.lr, maxIter = g.maxIter as number, maxEval = g.maxEval as number, tolGrad = g.toleranceGrad as number;
    const tolChange = g.toleranceChange as number, historySize = g.historySize as number, lineSearch = g.lineSearchFn !== null;
    const st = this.lstate;
    const origLoss = this.evaluate(closure);
    let loss = origLoss;
    let currentEvals = 1;
    st.funcEvals++;
    let flatGrad = this.flatGrad();
    if (absMax(flatGrad) <= tolGrad) return origLoss;
    let d = st.d, t = st.t ?? lr;
    let { oldDirs, oldStps, ro, hDiag } = st;
    let prevFlatGrad = st.prevFlatGrad, prevLoss = st.prevLoss;
    let nIter = 0;
    while (nIter < maxIter) {
      nIter++;
      st.nIter++;
      if (st.nIter === 1) {
        d = flatGrad.map((v) => -v);
        oldDirs = []; oldStps = []; ro = []; hDiag = 1;
      } else {
        const y = flatGrad.map((v, i) => v - prevFlatGrad![i]);
        const s = d!.map((v) => v * t);
        const ys = dot(y, s);
        if (ys > 1e-10) {
          if (oldDirs.length === historySize) { oldDirs.shift(); oldStps.shift(); ro.shift(); }
          oldDirs.push(y); oldStps.push(s); ro.push(1 / ys);
          hDiag = ys / dot(y, y);
        }
        const num = oldDirs.length;
        const al = new Array<number>(num);
        const q = flatGrad.map((v) => -v);
        for (let i = num - 1; i >= 0; i--) {
          al[i] = dot(oldStps[i], q) * ro[i];
          const od = oldDirs[i];
          for (let k = 0; k < q.length; k++) q[k] -= al[i] * od[k];
        }
        const r = q.map((v) => v * hDiag);
        for (let i = 0; i < num; i++) {
          const be = dot(oldDirs[i], r) * ro[i];
          const os = oldStps[i];
          for (let k = 0; k < r.length; k++) r[k] += (al[i] - be) * os[k];
        }
        d = r;
      }
      prevFlatGrad = Float64Array.from(flatGrad);
      prevLoss = loss;
      t = st.nIter === 1 ? Math.min(1, 1 / absSum(flatGrad)) * lr : lr;
      const gtd = dot(flatGrad, d!);
      if (gtd > -tolChange) break;
      let lsEvals = 0;
      let optCond = false;
      if (lineSearch) {
        const r = strongWolfe(this.along(closure), this.flatParams(), t, d!, loss, flatGrad, gtd, tolChange);
        loss = r.f; flatGrad = r.g; t = r.t; lsEvals = r.evals;
        this.addGrad(t, d!);
        optCond = absMax(flatGrad) <= tolGrad;
      } else {
        this.addGrad(t, d!);
        if (nIter !== maxIter) {
          loss = this.evaluate(closure);
          flatGrad = this.flatGrad();
          optCond = absMax(flatGrad) <= tolGrad;
          lsEvals = 1;
        }
      }
      currentEvals += lsEvals;
      st.funcEvals += lsEvals;
      if (nIter === maxIter || currentEvals >= maxEval || optCond) break;
      if (absMax(d!.map((v) => v * t)) <= tolChange) break;
      if (Math.abs(loss - prevLoss) < tolChange) break;
    }
    Object.assign(st, { d, t, oldDirs, oldStps, ro, hDiag, prevFlatGrad, prevLoss });
    return origLoss;
  }

  override stateDict(): { state: Record<string, Record<string, Tensor | number>>; paramGroups: Record<string, unknown>[] } {
    const base = super.stateDict();
    const st = this.lstate;
    const vec = (v?: Vec) => (v ? tensor(v, { dtype: 'float64' }) : undefined);
    const s: Record<string, Tensor | number> = { funcEvals: st.funcEvals, nIter: st.nIter, hDiag: st.hDiag, t: st.t ?? NaN, prevLoss: st.prevLoss ?? NaN, history: st.oldDirs.length };
    if (st.d) s.d = vec(st.d)!;
    if (st.prevFlatGrad) s.prevFlatGrad = vec(st.prevFlatGrad)!;
    st.oldDirs.forEach((v, i) => { s[`oldDir${i}`] = vec(v)!; s[`oldStp${i}`] = vec(st.oldStps[i])!; s[`ro${i}`] = st.ro[i]; });
    return { state: { 0: s }, paramGroups: base.paramGroups };
  }
  override loadStateDict(sd: { state: Record<string, Record<string, Tensor | number>>; paramGroups: Record<string, unknown>[] }): void {
    const s = sd?.state?.['0'];
    if (!s) throw new ArgumentError(`LBFGS.loadStateDict: expected the state dict of an LBFGS optimizer, received ${describe(sd)}`);
    const { params: _p, ...options } = sd.paramGroups[0];
    Object.assign(this.paramGroups[0], options);
    const v = (x: unknown) => (x instanceof Tensor ? Float64Array.from(x.data() as ArrayLike<number>) : undefined);
    const n = s.history as number;
    this.lstate = {
      funcEvals: s.funcEvals as number, nIter: s.nIter as number, hDiag: s.hDiag as number,
      t: Number.isNaN(s.t as number) ? undefined : (s.t as number), prevLoss: Number.isNaN(s.prevLoss as number) ? undefined : (s.prevLoss as number),
      d: v(s.d), prevFlatGrad: v(s.prevFlatGrad),
      oldDirs: Array.from({ length: n }, (_, i) => v(s[`oldDir${i}`])!), oldStps: Array.from({ length: n }, (_, i) => v(s[`oldStp${i}`])!),
      ro: Array.from({ length: n }, (_, i) => s[`ro${i}`] as number),
    };
  }
}
