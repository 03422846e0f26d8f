/**
 * utils.ts — `nn.utils`: gradient clipping (by global norm, by value), weight penalties (L1, L2)
 * and the max-norm weight constraint. Clipping and max-norm act in place on `.grad` / the weights
 * and are untracked; the penalties are differentiable scalars to add to the loss.
 */
import { noGrad } from '../autograd/engine.js';
import { checkNumber, checkOptions } from '../check.js';
import { ArgumentError, EntrenaError, ShapeError, describe } from '../errors.js';
import { composite, div, rawUnaryInto, where } from '../ops/index.js';
import { Tensor, tidy } from '../tensor.js';
import { Module } from './module.js';

type Params = Tensor[] | Iterable<Tensor> | Module | Tensor;

function paramList(params: Params, where: string): Tensor[] {
  let list: unknown[];
  if (params instanceof Module) list = params.parameters();
  else if (params instanceof Tensor) list = [params];
  else if (params && typeof (params as Iterable<Tensor>)[Symbol.iterator] === 'function') list = [...(params as Iterable<Tensor>)];
  else throw new ArgumentError(`${where}: expected an array of tensors or a Module, received ${describe(params)}`);
  list.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new ArgumentError(`${where}: expected params[${i}] to be a Tensor, received ${describe(p)}`);
  });
  return list as Tensor[];
}

/**
 * Rescales the gradients of `params` so that their global norm (of all gradients together, as one
 * vector) is at most `maxNorm`, as torch.nn.utils.clip_grad_norm_: coefficient
 * maxNorm / (total + 1e-6), applied only when below 1. Returns the total norm before clipping
 * (a number). `normType` may be any p ≥ 1 or Infinity. With `errorIfNonfinite`, a NaN or infinite
 * norm throws instead of scaling.
 * @example
 * loss.backward();
 * const norm = nn.utils.clipGradNorm(model.parameters(), 1.0);
 * optimizer.step();
 */
export function clipGradNorm(params: Params, maxNorm: number, options: { normType?: number; errorIfNonfinite?: boolean } = {}): number {
  options = checkOptions<typeof options>(options, 'clipGradNorm', ['normType', 'errorIfNonfinite']);
  const list = paramList(params, 'clipGradNorm').filter((p) => p.grad);
  checkNumber(maxNorm, 'clipGradNorm', 'maxNorm', { min: 0 });
  const p = checkNumber(options.normType ?? 2, 'clipGradNorm', 'normType', { min: 0, minExclusive: true });
  if (!list.length) return 0;
  const total = noGrad(() => tidy(() => {
    if (p === Infinity) {
      let m = 0;
      for (const t of list) { const v = t.grad!.abs().max().item(); m = Number.isNaN(v) || Number.isNaN(m) ? NaN : Math.max(m, v); }
      return m;
    }
    // Accumulate in float64 on the host: one small read per parameter.
    let acc = 0;
    for (const t of list) {
      const g = t.grad!;
      const a = g.abs();
      acc += (p === 1 ? a.sum() : p === 2 ? g.square().sum() : a.pow(p).sum()).item();
    }
    return p === 1 ? acc : Math.pow(acc, 1 / p);
  }));
  if (options.errorIfNonfinite && !Number.isFinite(total))
    throw new EntrenaError('ERR_INVALID_ARGUMENT', `clipGradNorm: the total norm of order ${p} of the gradients is non-finite (${total}), so it cannot be clipped`);
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1) for (const t of list) rawUnaryInto('mul_scalar', t.grad!, t.grad!, coef);
  return total;
}

/**
 * Clamps every gradient element into [−clipValue, clipValue], in place (torch.nn.utils.clip_grad_value_).
 * @example nn.utils.clipGradValue(model.parameters(), 0.5)
 */
export function clipGradValue(params: Params, clipValue: number): void {
  checkNumber(clipValue, 'clipGradValue', 'clipValue', { min: 0 });
  for (const t of paramList(params, 'clipGradValue')) if (t.grad) rawUnaryInto('clamp', t.grad, t.grad, -clipValue, clipValue);
}

function penalty(params: Params, where: string, term: (t: Tensor) => Tensor): Tensor {
  const list = paramList(params, where);
  if (!list.length) throw new ArgumentError(`${where}: expected at least one parameter`);
  // One composite op: the per-parameter terms live as long as the graph needs them, not beyond.
  return composite(() => {
    let total: Tensor | null = null;
    for (const t of list) {
      const s = term(t).sum();
      total = total ? total.add(s) : s;
    }
    return total!;
  });
}

/**
 * L1 penalty Σ|w| over all elements of `params`, as a differentiable scalar tensor (multiply by
 * your λ and add to the loss).
 * @example const loss = mse.forward(y, t).add(nn.utils.l1Penalty(model.parameters()).mul(1e-4));
 */
export function l1Penalty(params: Params): Tensor {
  return penalty(params, 'l1Penalty', (t) => t.abs());
}
/**
 * L2 penalty Σw² (the sum of squares, without the ½ of some texts) over all elements of
 * `params`, as a differentiable scalar tensor.
 * @example const loss = mse.forward(y, t).add(nn.utils.l2Penalty(model.parameters()).mul(1e-4));
 */
export function l2Penalty(params: Params): Tensor {
  return penalty(params, 'l2Penalty', (t) => t.square());
}

/**
 * Max-norm constraint (Srivastava et al. 2014; Keras MaxNorm, torch.renorm with p = 2): each
 * slice of `weight` along `dim` (for a Linear weight [out, in] and dim 0: each output unit's
 * incoming weights) whose L2 norm exceeds `maxValue` is scaled by maxValue / (norm + 1e-7), in
 * place. Returns the weight. Call it after `optimizer.step()`.
 * @example optimizer.step(); nn.utils.maxNorm(fc.weight, 3);
 */
export function maxNorm(weight: Tensor, maxValue: number, options: { dim?: number } = {}): Tensor {
  options = checkOptions<typeof options>(options, 'maxNorm', ['dim']);
  if (!(weight instanceof Tensor)) throw new ArgumentError(`maxNorm: expected weight to be a Tensor, received ${describe(weight)}`);
  checkNumber(maxValue, 'maxNorm', 'maxValue', { min: 0 });
  if (weight.ndim < 1) throw new ShapeError('maxNorm: expected a weight with at least one dimension, received a 0-d tensor');
  const dim0 = options.dim ?? 0;
  if (!Number.isInteger(dim0) || dim0 < -weight.ndim || dim0 >= weight.ndim)
    throw new ArgumentError(`maxNorm: dim ${describe(dim0)} is out of range for a weight of rank ${weight.ndim}`);
  const dim = dim0 < 0 ? dim0 + weight.ndim : dim0;
  noGrad(() => tidy(() => {
    const others = Array.from({ length: weight.ndim }, (_, i) => i).filter((i) => i !== dim);
    const norms = others.length ? weight.square().sum(others, { keepDim: true }).sqrt() : weight.abs();
    const scale = where(norms.gt(maxValue), div(maxValue, norms.add(1e-7)), 1);
    weight.copy_(weight.mul(scale));
  }));
  return weight;
}
