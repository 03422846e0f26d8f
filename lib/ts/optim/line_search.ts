/**
 * line_search.ts — what the closure-based optimizers (L-BFGS, nonlinear conjugate gradient) share:
 * the parameters as one flat float64 host vector, loss evaluation through the closure, and the
 * strong-Wolfe line search (a port of torch/optim/lbfgs.py's `_strong_wolfe`, after Nocedal &
 * Wright, Numerical Optimization, alg. 3.5–3.6, with cubic interpolation).
 *
 * The vectors live on the host in float64: they are O(parameters) and touched a few times per
 * iteration, while the parameters themselves stay in their tensors and dtype.
 */
import { Tensor } from '../tensor.js';
import { noGrad, withGrad } from '../autograd/engine.js';
import { tensor } from '../ops/creation.js';
import { Optimizer } from './optimizer.js';

export type Vec = Float64Array;
export const dot = (a: Vec, b: Vec) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * b[i]; return s; };
export const absMax = (a: Vec) => { let m = 0; for (let i = 0; i < a.length; i++) { const v = Math.abs(a[i]); if (v > m || Number.isNaN(v)) m = v; } return m; };
export const absSum = (a: Vec) => { let s = 0; for (let i = 0; i < a.length; i++) s += Math.abs(a[i]); return s; };

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


/** An optimizer whose step re-evaluates the loss through a closure, over one flat parameter vector. */
export abstract class ClosureOptimizer extends Optimizer {
  protected get params(): Tensor[] { return this.paramGroups[0].params; }
  protected flatGrad(): Vec {
    const n = this.params.reduce((s, p) => s + p.size, 0);
    const out = new Float64Array(n);
    let off = 0;
    for (const p of this.params) {
      if (p.grad) out.set(p.grad.data() as ArrayLike<number>, off);
      off += p.size;
    }
    return out;
  }
  protected flatParams(): Vec {
    const out = new Float64Array(this.params.reduce((s, p) => s + p.size, 0));
    let off = 0;
    for (const p of this.params) { out.set(p.data() as ArrayLike<number>, off); off += p.size; }
    return out;
  }
  protected setParams(x: Vec): void {
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
  protected addGrad(t: number, d: Vec): void {
    const x = this.flatParams();
    for (let i = 0; i < x.length; i++) x[i] += t * d[i];
    this.setParams(x);
  }
  protected evaluate(closure: () => Tensor | number): number {
    const l = withGrad(true, closure);
    const v = typeof l === 'number' ? l : l.item();
    return v;
  }


  /** The objective along a direction for the line search: f and ∇f at x + t·d (parameters restored to x). */
  protected along(closure: () => Tensor | number): (x: Vec, t: number, d: Vec) => [number, Vec] {
    return (x, t, d) => {
      this.addGrad(t, d);
      const f = this.evaluate(closure);
      const g = this.flatGrad();
      this.setParams(x);
      return [f, g];
    };
  }
}

/**
 * Strong-Wolfe line search from x along d, starting at step t (f, g, gtd: the loss, gradient and
 * directional derivative at x). c2 = 0.9 suits quasi-Newton directions; nonlinear CG wants ≤ 0.1.
 */
export function strongWolfe(obj: (x: Vec, t: number, d: Vec) => [number, Vec], x: Vec, t: number, d: Vec, f: number, g: Vec, gtd: number,
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
