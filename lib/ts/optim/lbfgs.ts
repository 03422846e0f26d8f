/**
 * lbfgs.ts — L-BFGS with an optional strong-Wolfe line search, a port of torch/optim/lbfgs.py
 * (itself after Schmidt's minFunc; Nocedal & Wright, Numerical Optimization, alg. 7.4 and 3.5–3.6).
 *
 * Full-batch by nature: `step(closure)` re-evaluates the loss (the closure zeroes gradients, runs
 * forward and backward, and returns the loss). The flat parameter and gradient vectors and the
 * curvature history live on the host in float64 (they are O(parameters · history) and touched a
 * few times per iteration); the parameters themselves stay in their tensors and dtype.
 */
import { checkNumber, checkPositiveInt } from '../check.js';
import { ArgumentError, describe } from '../errors.js';
import { Tensor } from '../tensor.js';
import { noGrad, withGrad } from '../autograd/engine.js';
import { tensor } from '../ops/creation.js';
import { Optimizer, type ParamGroup, type ParamsArg } from './optimizer.js';

type Vec = Float64Array;
const dot = (a: Vec, b: Vec) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * b[i]; return s; };
const absMax = (a: Vec) => { let m = 0; for (let i = 0; i < a.length; i++) { const v = Math.abs(a[i]); if (v > m || Number.isNaN(v)) m = v; } return m; };
const absSum = (a: Vec) => { let s = 0; for (let i = 0; i < a.length; i++) s += Math.abs(a[i]); return s; };

function cubicInterpolate(x1: number, f1: number, g1: number, x2: number, f2: number, g2: number, bounds?: [number, number]): number {
  const [lo, hi] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2);
  const d2sq = d1 * d1 - g1 * g2;
  if (d2sq >= 0) {
    const d2 = Math.sqrt(d2sq);
    const minPos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)) : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return Math.min(Math.max(minPos, lo), hi);
  }
  return (lo + hi) / 2;
}

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
export class LBFGS extends Optimizer {
  private lstate: {
    funcEvals: number; nIter: number; d?: Vec; t?: number; oldDirs: Vec[]; oldStps: Vec[]; ro: number[]; hDiag: number;
    prevFlatGrad?: Vec; prevLoss?: number;
  } = { funcEvals: 0, nIter: 0, oldDirs: [], oldStps: [], ro: [], hDiag: 1 };

  constructor(params: ParamsArg, options: LBFGSOptions = {}) {
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

  private get params(): Tensor[] { return this.paramGroups[0].params; }
  private flatGrad(): Vec {
    const n = this.params.reduce((s, p) => s + p.size, 0);
    const out = new Float64Array(n);
    let off = 0;
    for (const p of this.params) {
      if (p.grad) out.set(p.grad.data() as ArrayLike<number>, off);
      off += p.size;
    }
    return out;
  }
  private flatParams(): Vec {
    const out = new Float64Array(this.params.reduce((s, p) => s + p.size, 0));
    let off = 0;
    for (const p of this.params) { out.set(p.data() as ArrayLike<number>, off); off += p.size; }
    return out;
  }
  private setParams(x: Vec): void {
    let off = 0;
    noGrad(() => {
      for (const p of this.params) {
        const t = tensor(x.subarray(off, off + p.size), { shape: p.shape.slice(), dtype: p.dtype });
        p.copy_(t);
        t.dispose();
        off += p.size;
      }
    });
  }
  /** p ← p + t·d, rounded to the parameters' dtype as PyTorch's in-place add. */
  private addGrad(t: number, d: Vec): void {
    const x = this.flatParams();
    for (let i = 0; i < x.length; i++) x[i] += t * d[i];
    this.setParams(x);
  }
  private evaluate(closure: () => Tensor | number): number {
    const l = withGrad(true, closure);
    const v = typeof l === 'number' ? l : l.item();
    return v;
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
        const xInit = this.flatParams();
        const obj = (x: Vec, step: number, dir: Vec): [number, Vec] => {
          this.addGrad(step, dir);
          const f = this.evaluate(closure);
          const gr = this.flatGrad();
          this.setParams(x);
          return [f, gr];
        };
        const r = strongWolfe(obj, xInit, t, d!, loss, flatGrad, gtd, tolChange);
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

function strongWolfe(obj: (x: Vec, t: number, d: Vec) => [number, Vec], x: Vec, t: number, d: Vec, f: number, g: Vec, gtd: number,
  toleranceChange: number, c1 = 1e-4, c2 = 0.9, maxLs = 25): { f: number; g: Vec; t: number; evals: number } {
  const dNorm = absMax(d);
  let [fNew, gNew] = obj(x, t, d);
  let evals = 1;
  let gtdNew = dot(gNew, d);
  let tPrev = 0, fPrev = f, gPrev = g, gtdPrev = gtd;
  let done = false;
  let lsIter = 0;
  let bracket: number[] = [], bracketF: number[] = [], bracketG: Vec[] = [], bracketGtd: number[] = [];
  while (lsIter < maxLs) {
    if (fNew > f + c1 * t * gtd || (lsIter > 1 && fNew >= fPrev)) {
      bracket = [tPrev, t]; bracketF = [fPrev, fNew]; bracketG = [gPrev, gNew]; bracketGtd = [gtdPrev, gtdNew];
      break;
    }
    if (Math.abs(gtdNew) <= -c2 * gtd) { bracket = [t]; bracketF = [fNew]; bracketG = [gNew]; done = true; break; }
    if (gtdNew >= 0) {
      bracket = [tPrev, t]; bracketF = [fPrev, fNew]; bracketG = [gPrev, gNew]; bracketGtd = [gtdPrev, gtdNew];
      break;
    }
    const minStep = t + 0.01 * (t - tPrev), maxStep = t * 10;
    const tmp = t;
    t = cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, [minStep, maxStep]);
    tPrev = tmp; fPrev = fNew; gPrev = gNew; gtdPrev = gtdNew;
    [fNew, gNew] = obj(x, t, d);
    evals++;
    gtdNew = dot(gNew, d);
    lsIter++;
  }
  if (lsIter === maxLs) { bracket = [0, t]; bracketF = [f, fNew]; bracketG = [g, gNew]; }
  let insufProgress = false;
  let [lowPos, highPos] = bracketF[0] <= bracketF[bracketF.length - 1] ? [0, 1] : [1, 0];
  while (!done && lsIter < maxLs) {
    if (Math.abs(bracket[1] - bracket[0]) * dNorm < toleranceChange) break;
    t = cubicInterpolate(bracket[0], bracketF[0], bracketGtd[0], bracket[1], bracketF[1], bracketGtd[1]);
    const bMax = Math.max(...bracket), bMin = Math.min(...bracket);
    const eps = 0.1 * (bMax - bMin);
    if (Math.min(bMax - t, t - bMin) < eps) {
      if (insufProgress || t >= bMax || t <= bMin) {
        t = Math.abs(t - bMax) < Math.abs(t - bMin) ? bMax - eps : bMin + eps;
        insufProgress = false;
      } else insufProgress = true;
    } else insufProgress = false;
    [fNew, gNew] = obj(x, t, d);
    evals++;
    gtdNew = dot(gNew, d);
    lsIter++;
    if (fNew > f + c1 * t * gtd || fNew >= bracketF[lowPos]) {
      bracket[highPos] = t; bracketF[highPos] = fNew; bracketG[highPos] = gNew; bracketGtd[highPos] = gtdNew;
      [lowPos, highPos] = bracketF[0] <= bracketF[1] ? [0, 1] : [1, 0];
    } else {
      if (Math.abs(gtdNew) <= -c2 * gtd) done = true;
      else if (gtdNew * (bracket[highPos] - bracket[lowPos]) >= 0) {
        bracket[highPos] = bracket[lowPos]; bracketF[highPos] = bracketF[lowPos]; bracketG[highPos] = bracketG[lowPos]; bracketGtd[highPos] = bracketGtd[lowPos];
      }
      bracket[lowPos] = t; bracketF[lowPos] = fNew; bracketG[lowPos] = gNew; bracketGtd[lowPos] = gtdNew;
    }
  }
  return { f: bracketF[lowPos], g: bracketG[lowPos], t: bracket[lowPos], evals };
}
