/**
 * losses.ts — loss functions as modules, called `loss.forward(prediction, target)`, with
 * torch.nn's formulas, defaults and reductions ('mean' default, 'sum', 'none').
 *
 * Numerics: BCEWithLogits uses log σ(x) (stable for any x) instead of log(σ(x)); BCELoss clamps
 * its logs at −100 and gets its own gradient rule, (p − y) / max(p(1 − p), 1e-12), as PyTorch,
 * so probabilities of exactly 0 or 1 give finite gradients. CrossEntropy composes logSoftmax and
 * gather (a fused softmax-cross-entropy kernel would keep this as its reference).
 */
import { noGrad } from '../autograd/engine.js';
import { checkNumber, shapeStr } from '../check.js';
import { ArgumentError, DTypeError, DeviceError, ShapeError, describe } from '../errors.js';
import { autocastFloat32, defineOp, needsInputGrad, runOp } from '../ops/door.js';
import { clamp, composite, indexSelect, log, logSigmoid, logSoftmax, rawUnary, sub, where } from '../ops/index.js';
import { Tensor } from '../tensor.js';
import { Module, checkFloatInput, checkOptions } from './module.js';

export type Reduction = 'mean' | 'sum' | 'none';

/** Base of the losses: holds and applies `reduction`. */
export abstract class Loss extends Module {
  readonly reduction: Reduction;
  constructor(name: string, reduction: unknown = 'mean') {
    super();
    if (reduction !== 'mean' && reduction !== 'sum' && reduction !== 'none')
      throw new ArgumentError(`${name}: expected reduction 'mean', 'sum' or 'none', received ${describe(reduction)}`);
    this.reduction = reduction;
  }
  abstract override forward(prediction: Tensor, target: Tensor): Tensor;
  /** Applies the reduction to elementwise losses. */
  protected reduce(l: Tensor): Tensor {
    return this.reduction === 'mean' ? l.mean() : this.reduction === 'sum' ? l.sum() : l;
  }
  protected override extraRepr(): string { return `reduction='${this.reduction}'`; }
}

/** The target as a live Tensor, else ERR_INVALID_ARGUMENT. */
function checkTarget(target: unknown, name: string): Tensor {
  if (!(target instanceof Tensor)) throw new ArgumentError(`${name}: expected the target to be a Tensor, received ${describe(target)}`);
  target.assertAlive(name);
  return target;
}

function floatPair(name: string, prediction: unknown, target: unknown): [Tensor, Tensor] {
  const p = checkFloatInput(prediction, name, 'prediction');
  const y = checkTarget(target, name);
  if (y.dtype === 'int32') throw new DTypeError(`${name}: expected a floating-point target of the prediction's shape ${shapeStr(p.shape)}, received an int32 tensor; convert it with .cast('${p.dtype}')`);
  if (p.shape.length !== y.shape.length || p.shape.some((d, i) => d !== y.shape[i]))
    throw new ShapeError(`${name}: expected a target of the prediction's shape ${shapeStr(p.shape)}, received shape ${shapeStr(y.shape)}`);
  if (p.device !== y.device) throw new DeviceError(`${name}: prediction is on ${p.device} and target on ${y.device}; move one with .to()`);
  return [p, y];
}

/**
 * @internal The losses that reduce an elementwise term of a prediction and a target of the same
 * shape: the checks, the scope and the reduction once; each loss gives its term.
 */
export abstract class PointwiseLoss extends Loss {
  /** The elementwise loss of a checked (prediction, target) pair. */
  protected abstract pointwise(p: Tensor, y: Tensor): Tensor;
  override forward(prediction: Tensor, target: Tensor): Tensor {
    const [p, y] = floatPair(this.constructor.name, prediction, target);
    // One composite op: the intermediates live as long as the graph needs them, not beyond.
    // Under amp.autocast, losses run in float32 (PyTorch's autocast lists).
    return composite(() => this.reduce(this.pointwise(autocastFloat32(p), autocastFloat32(y))));
  }
}

type ReductionOption = { reduction?: Reduction };

/**
 * Mean squared error, (ŷ − y)².
 * @example new nn.MSELoss().forward(pred, target).backward()
 */
export class MSELoss extends PointwiseLoss {
  constructor(options: ReductionOption = {}) {
    super('MSELoss', checkOptions<ReductionOption>(options, 'MSELoss', ['reduction']).reduction);
  }
  protected override pointwise(p: Tensor, y: Tensor): Tensor { return p.sub(y).square(); }
}

/** Mean absolute error, |ŷ − y|. @example new nn.L1Loss({ reduction: 'sum' }) */
export class L1Loss extends PointwiseLoss {
  constructor(options: ReductionOption = {}) {
    super('L1Loss', checkOptions<ReductionOption>(options, 'L1Loss', ['reduction']).reduction);
  }
  protected override pointwise(p: Tensor, y: Tensor): Tensor { return p.sub(y).abs(); }
}

/**
 * Mean absolute percentage error: |y − ŷ| / max(|y|, eps) · 100 (eps = 1e-8, as torchmetrics'
 * MAPE, times 100).
 * @example new nn.MAPELoss().forward(pred, target) // in percent
 */
export class MAPELoss extends PointwiseLoss {
  readonly eps: number;
  constructor(options: ReductionOption & { eps?: number } = {}) {
    const o = checkOptions<ReductionOption & { eps?: number }>(options, 'MAPELoss', ['reduction', 'eps']);
    super('MAPELoss', o.reduction);
    this.eps = checkNumber(o.eps ?? 1e-8, 'MAPELoss', 'eps', { min: 0 });
  }
  protected override pointwise(p: Tensor, y: Tensor): Tensor {
    return p.sub(y).abs().div(y.abs().clamp(this.eps)).mul(100);
  }
}

/**
 * Huber loss: 0.5·d² where |d| < delta, else delta·(|d| − 0.5·delta), d = ŷ − y.
 * @example new nn.HuberLoss({ delta: 1 })
 */
export class HuberLoss extends PointwiseLoss {
  readonly delta: number;
  constructor(options: ReductionOption & { delta?: number } = {}) {
    const o = checkOptions<ReductionOption & { delta?: number }>(options, 'HuberLoss', ['reduction', 'delta']);
    super('HuberLoss', o.reduction);
    this.delta = checkNumber(o.delta ?? 1, 'HuberLoss', 'delta', { min: 0, minExclusive: true, finite: true });
  }
  protected override pointwise(p: Tensor, y: Tensor): Tensor {
    const z = p.sub(y).abs();
    const quad = z.square().mul(0.5);
    const lin = z.sub(0.5 * this.delta).mul(this.delta);
    return where(z.lt(this.delta), quad, lin);
  }
}

function checkWeight(w: unknown, where: string, name = 'weight'): Tensor | null {
  if (w === undefined || w === null) return null;
  if (!(w instanceof Tensor)) throw new ArgumentError(`${where}: expected ${name} to be a Tensor, received ${describe(w)}`);
  if (w.dtype === 'int32') throw new DTypeError(`${where}: expected ${name} to be a floating-point tensor, received int32`);
  return w;
}
function checkBroadcast(w: Tensor, shape: number[], where: string, name: string): void {
  const n = shape.length, k = w.shape.length;
  if (k > n || w.shape.some((d, i) => d !== 1 && d !== shape[n - k + i]))
    throw new ShapeError(`${where}: ${name} of shape ${shapeStr(w.shape)} does not broadcast to the prediction's shape ${shapeStr(shape)}`);
}

/** ℓ = −[y log p + (1 − y) log(1 − p)] with logs clamped at −100; custom gradient (see file head). */
const BINARY_CROSS_ENTROPY = defineOp({
  name: 'binaryCrossEntropy', args: [{ name: 'prediction' }, { name: 'target' }], dtype: 'floatOnly', autocast: 'float32',
  forward: (c) => {
    const [p, y] = c.args as [Tensor, Tensor];
    const lp = clamp(log(p), -100), l1p = clamp(log(rawUnary('rsub_scalar', p, 1)), -100);
    // −(y·lp + (1 − y)·l1p) = −(l1p + y·(lp − l1p))
    return l1p.add(y.mul(lp.sub(l1p))).neg();
  },
  backward: (g, c) => {
    const [p, y] = c.inputs as [Tensor, Tensor];
    // Written with recorded ops (1 − p as sub, not a raw kernel), so that it differentiates again.
    const q = sub(1, p);
    const gp = needsInputGrad(c, 0) ? g.mul(p.sub(y)).div(p.mul(q).clamp(1e-12)) : null;
    const gy = needsInputGrad(c, 1) ? g.mul(clamp(log(q), -100).sub(clamp(log(p), -100))) : null;
    return [gp, gy];
  },
});
function binaryCrossEntropy(p: Tensor, y: Tensor): Tensor {
  return runOp(BINARY_CROSS_ENTROPY, [p, y], undefined);
}

interface BCEOptions extends ReductionOption { weight?: Tensor }
/**
 * Binary cross-entropy on probabilities p ∈ [0, 1]: −w·[y log p + (1 − y) log(1 − p)], logs
 * clamped at −100 as PyTorch. Prefer BCEWithLogitsLoss on logits.
 * @example new nn.BCELoss().forward(sigmoid(logits), labels)
 */
export class BCELoss extends PointwiseLoss {
  readonly weight: Tensor | null;
  constructor(options: BCEOptions = {}) {
    const o = checkOptions<BCEOptions>(options, 'BCELoss', ['reduction', 'weight']);
    super('BCELoss', o.reduction);
    this.weight = checkWeight(o.weight, 'BCELoss');
  }
  protected override pointwise(p: Tensor, y: Tensor): Tensor {
    if (this.weight) checkBroadcast(this.weight, p.shape, 'BCELoss', 'weight');
    const l = binaryCrossEntropy(p, y);
    return this.weight ? l.mul(this.weight) : l;
  }
}

interface BCEWithLogitsOptions extends ReductionOption { weight?: Tensor; posWeight?: Tensor }
/**
 * Sigmoid + binary cross-entropy in one stable expression, as PyTorch:
 * ℓ = w·[(1 − y)·x − (1 + (posWeight − 1)·y)·log σ(x)]. `posWeight` (broadcast along the last,
 * class, dim) weighs positive examples; `weight` rescales each element.
 * @example new nn.BCEWithLogitsLoss({ posWeight: tensor([3]) }).forward(logits, labels)
 */
export class BCEWithLogitsLoss extends PointwiseLoss {
  readonly weight: Tensor | null;
  readonly posWeight: Tensor | null;
  constructor(options: BCEWithLogitsOptions = {}) {
    const o = checkOptions<BCEWithLogitsOptions>(options, 'BCEWithLogitsLoss', ['reduction', 'weight', 'posWeight']);
    super('BCEWithLogitsLoss', o.reduction);
    this.weight = checkWeight(o.weight, 'BCEWithLogitsLoss');
    this.posWeight = checkWeight(o.posWeight, 'BCEWithLogitsLoss', 'posWeight');
  }
  protected override pointwise(x: Tensor, y: Tensor): Tensor {
    if (this.posWeight) checkBroadcast(this.posWeight, x.shape, 'BCEWithLogitsLoss', 'posWeight');
    if (this.weight) checkBroadcast(this.weight, x.shape, 'BCEWithLogitsLoss', 'weight');
    const ls = logSigmoid(x);
    const logWeight = this.posWeight ? this.posWeight.sub(1).mul(y).add(1) : null;
    const l = y.neg().add(1).mul(x).sub(logWeight ? logWeight.mul(ls) : ls);
    return this.weight ? l.mul(this.weight) : l;
  }
}

interface NLLOptions extends ReductionOption { weight?: Tensor; ignoreIndex?: number }

/** The prediction of NLL / cross-entropy ([N, C], [N, C, d…] or [C], floating point) and a live target. */
function checkClassInput(name: string, prediction: unknown, target: unknown, what: string): [Tensor, Tensor] {
  const p = checkFloatInput(prediction, name, `input (${what})`);
  if (p.ndim === 0) throw new ShapeError(`${name}: expected ${what} of shape [N, C], [N, C, d…] or [C], received a 0-d tensor`);
  return [p, checkTarget(target, name)];
}

/**
 * Checks class-index targets (and the per-class weight) against an input [N, C, …] / [C] before
 * anything is computed, so that a bad target allocates nothing.
 */
function checkClassTargets(name: string, input: Tensor, target: Tensor, weight: Tensor | null): void {
  const unbatched = input.ndim === 1;
  const c = unbatched ? input.shape[0] : input.shape[1];
  const expected = unbatched ? [] : [input.shape[0], ...input.shape.slice(2)];
  if (target.dtype !== 'int32')
    throw new DTypeError(`${name}: expected int32 class indices of shape ${shapeStr(expected)} (or class probabilities of the input's shape ${shapeStr(input.shape)}), received a ${target.dtype} tensor of shape ${shapeStr(target.shape)}; convert class indices with .cast('int32')`);
  // An unbatched input takes a 0-d target (as PyTorch), or its [1] form.
  const t = unbatched && target.ndim === 1 && target.shape[0] === 1 ? [] : target.shape;
  if (t.length !== expected.length || t.some((d, i) => d !== expected[i]))
    throw new ShapeError(`${name}: expected class-index targets of shape ${shapeStr(expected)} for an input of shape ${shapeStr(input.shape)}, received shape ${shapeStr(target.shape)}`);
  if (weight && (weight.ndim !== 1 || weight.shape[0] !== c))
    throw new ShapeError(`${name}: expected weight of shape [${c}] (one per class), received ${shapeStr(weight.shape)}`);
}

/**
 * The per-element pieces of checked class-index targets: the input made at least 2-D, the safe
 * targets (ignored ones mapped to class 0), and the per-element class weights (0 where ignored).
 * Call it in a composite (or a tidy): its intermediates are the caller's to free.
 */
function classTargets(input: Tensor, target: Tensor, weight: Tensor | null, ignoreIndex: number)
  : { x: Tensor; safe: Tensor; w: Tensor; unbatched: boolean } {
  const unbatched = input.ndim === 1;
  const x = unbatched ? input.unsqueeze(0) : input;
  const t = unbatched ? target.reshape([1]) : target;
  return noGrad(() => {
    const keep = t.ne(ignoreIndex);
    const safe = where(keep, t, 0);
    const keepF = keep.cast(x.dtype);
    let w = keepF;
    if (weight) {
      const wc = weight.dtype === x.dtype ? weight : weight.cast(x.dtype);
      w = indexSelect(wc, 0, safe.flatten()).reshape(safe.shape).mul(keepF);
    }
    return { x, safe, w, unbatched };
  });
}

/** Σ/mean over elements of −w·logp[target], the shared core of NLL and cross-entropy. */
function nllCore(logp: Tensor, safe: Tensor, w: Tensor, reduction: Reduction, unbatched: boolean): Tensor {
  const picked = logp.gather(1, safe.unsqueeze(1)).squeeze(1);
  const l = picked.mul(w).neg();
  if (reduction === 'none') return unbatched ? l.squeeze(0) : l;
  if (reduction === 'sum') return l.sum();
  return l.sum().div(w.sum());
}

const checkIgnoreIndex = (v: unknown, name: string): number => checkNumber(v, name, 'ignoreIndex', { integer: true });

/**
 * Negative log-likelihood on log-probabilities [N, C] / [N, C, d…] / [C] with int32 class-index
 * targets: ℓ = −weight[y]·logp[y]; 'mean' divides by the sum of the weights of the kept
 * (non-ignored) targets, as PyTorch.
 * @example new nn.NLLLoss().forward(logSoftmax(logits, 1), labels)
 */
export class NLLLoss extends Loss {
  readonly weight: Tensor | null;
  readonly ignoreIndex: number;
  constructor(options: NLLOptions = {}) {
    const o = checkOptions<NLLOptions>(options, 'NLLLoss', ['reduction', 'weight', 'ignoreIndex']);
    super('NLLLoss', o.reduction);
    this.weight = checkWeight(o.weight, 'NLLLoss');
    this.ignoreIndex = checkIgnoreIndex(o.ignoreIndex ?? -100, 'NLLLoss');
  }
  override forward(prediction: Tensor, target: Tensor): Tensor {
    const [p, t] = checkClassInput('NLLLoss', prediction, target, 'log-probabilities');
    checkClassTargets('NLLLoss', p, t, this.weight);
    // One composite op: the intermediates live as long as the graph needs them, not beyond.
    return composite(() => {
      const { x, safe, w, unbatched } = classTargets(autocastFloat32(p), t, this.weight, this.ignoreIndex);
      return nllCore(x, safe, w, this.reduction, unbatched);
    });
  }
}

interface CrossEntropyOptions extends NLLOptions { labelSmoothing?: number }

/**
 * Cross-entropy on logits [N, C] / [N, C, d…] / [C], as torch.nn.CrossEntropyLoss: log-softmax
 * over dim 1 then NLL. Targets are int32 class indices (shape [N, d…]) or class probabilities of
 * the input's shape. `labelSmoothing` ε mixes the target with the uniform distribution:
 * (1 − ε)·NLL + ε/C·Σ_c −w_c·logp_c; `weight` per class, `ignoreIndex` (index targets only).
 * @example
 * const loss = new nn.CrossEntropyLoss({ labelSmoothing: 0.1 });
 * loss.forward(logits, tensor([2, 0], { dtype: 'int32' })).backward();
 */
export class CrossEntropyLoss extends Loss {
  readonly weight: Tensor | null;
  readonly ignoreIndex: number;
  readonly labelSmoothing: number;
  constructor(options: CrossEntropyOptions = {}) {
    const o = checkOptions<CrossEntropyOptions>(options, 'CrossEntropyLoss', ['reduction', 'weight', 'ignoreIndex', 'labelSmoothing']);
    super('CrossEntropyLoss', o.reduction);
    this.weight = checkWeight(o.weight, 'CrossEntropyLoss');
    this.ignoreIndex = checkIgnoreIndex(o.ignoreIndex ?? -100, 'CrossEntropyLoss');
    this.labelSmoothing = checkNumber(o.labelSmoothing ?? 0, 'CrossEntropyLoss', 'labelSmoothing', { min: 0, max: 1 });
  }
  override forward(prediction: Tensor, target: Tensor): Tensor {
    const name = 'CrossEntropyLoss';
    let [p, t] = checkClassInput(name, prediction, target, 'logits');
    const classDim = p.ndim === 1 ? 0 : 1;
    const c = p.shape[classDim];
    // Class-probability targets: same shape as the input, floating point.
    const probabilities = t.dtype !== 'int32' && t.ndim === p.ndim && t.shape.every((d, i) => d === p.shape[i]);
    if (!probabilities) checkClassTargets(name, p, t, this.weight);
    else if (this.weight && (this.weight.ndim !== 1 || this.weight.shape[0] !== c))
      throw new ShapeError(`${name}: expected weight of shape [${c}] (one per class), received ${shapeStr(this.weight.shape)}`);
    const eps = this.labelSmoothing;
    // One composite op: the intermediates live as long as the graph needs them, not beyond.
    return composite(() => {
      p = autocastFloat32(p);
      if (probabilities) {
        const logp = logSoftmax(p, classDim);
        const y = eps > 0 ? t.mul(1 - eps).add(eps / c) : t;
        const wl = this.weight ? logp.mul(p.ndim <= 2 ? this.weight : this.weight.reshape([c, ...new Array<number>(p.ndim - 2).fill(1)])) : logp;
        const per = wl.mul(y).sum(classDim).neg();
        if (this.reduction === 'none') return per;
        if (this.reduction === 'sum') return per.sum();
        return per.sum().div(p.size / c);
      }
      const { x, safe, w, unbatched } = classTargets(p, t, this.weight, this.ignoreIndex);
      const logp = logSoftmax(x, 1);
      const nll = nllCore(logp, safe, w, this.reduction, unbatched);
      if (eps === 0) return nll;
      // Smoothing term: Σ_c −w_c·logp_c per element, zero where ignored (PyTorch's cross_entropy).
      const keep = noGrad(() => t.reshape(safe.shape).ne(this.ignoreIndex).cast(x.dtype));
      const wl = this.weight
        ? logp.mul(x.ndim === 2 ? this.weight : this.weight.reshape([c, ...new Array<number>(x.ndim - 2).fill(1)]))
        : logp;
      let smooth = wl.sum(1).neg().mul(keep);
      let ret: Tensor;
      if (this.reduction === 'none') { if (unbatched) smooth = smooth.squeeze(0); ret = smooth; }
      else if (this.reduction === 'sum') ret = smooth.sum();
      else ret = smooth.sum().div(this.weight ? w.sum() : keep.sum());
      return nll.mul(1 - eps).add(ret.mul(eps / c));
    });
  }
  protected override extraRepr(): string { return `reduction='${this.reduction}', labelSmoothing=${this.labelSmoothing}, ignoreIndex=${this.ignoreIndex}`; }
}
