/**
 * activations.ts — activation functions as modules, each a thin wrapper over the tensor op with
 * its native functor and derivative functor (lib/ts/ops/elementwise.ts). PReLU holds a learnable
 * slope; RReLU draws random slopes in training.
 */
import { checkNumber, checkPositiveInt } from '../check.js';
import { ArgumentError, describe } from '../errors.js';
import { elu, full, gelu, hardtanh, leakyRelu, logSigmoid, logSoftmax, mish, relu, selu, sigmoid, silu, softmax, softplus, tanh } from '../ops/index.js';
import { Tensor } from '../tensor.js';
import { prelu, rrelu } from './functional.js';
import { Module, checkFloatInput, checkInput, checkOptions } from './module.js';
import type { FactoryOptions } from './layers.js';

/**
 * Rejects arguments to a layer that takes none (or fewer than were given), so `new nn.ReLU({ inplace: true })`
 * (PyTorch's in-place flag) fails loudly instead of being silently ignored. `undefined` and an empty
 * options object are accepted.
 */
function checkNoArgs(args: ArrayLike<unknown>, where: string, taken = 0): void {
  for (let i = taken; i < args.length; i++) {
    const a = args[i];
    if (a === undefined) continue;
    if (a !== null && typeof a === 'object' && !Array.isArray(a) && Object.getPrototypeOf(a) === Object.prototype) {
      const keys = Object.keys(a);
      if (keys.length === 0) continue;
      throw new ArgumentError(`${where}: takes no options, received option${keys.length > 1 ? 's' : ''} ${keys.map((k) => `'${k}'`).join(', ')}`);
    }
    throw new ArgumentError(taken === 0
      ? `${where}: takes no arguments, received ${describe(a)}`
      : `${where}: takes ${taken} argument${taken > 1 ? 's' : ''}, received an extra ${describe(a)}`);
  }
}

/** max(0, x). @example new nn.ReLU().forward(tensor([-1, 2])) // [0, 2] */
export class ReLU extends Module {
  constructor() { super(); checkNoArgs(arguments, 'ReLU'); }
  override forward(x: Tensor): Tensor { return relu(checkInput(x, 'ReLU')); }
}

/** x for x > 0, else negativeSlope·x. @example new nn.LeakyReLU({ negativeSlope: 0.2 }) */
export class LeakyReLU extends Module {
  readonly negativeSlope: number;
  constructor(options: { negativeSlope?: number } = {}) {
    super();
    const o = checkOptions<{ negativeSlope?: number }>(options, 'LeakyReLU', ['negativeSlope']);
    this.negativeSlope = checkNumber(o.negativeSlope ?? 0.01, 'LeakyReLU', 'negativeSlope');
  }
  override forward(x: Tensor): Tensor { return leakyRelu(checkFloatInput(x, 'LeakyReLU'), this.negativeSlope); }
  protected override extraRepr(): string { return `negativeSlope=${this.negativeSlope}`; }
}

/**
 * Parametric ReLU: x for x > 0, else a·x with a learnable (`weight`, shape [numParameters],
 * initialised to `init`); numParameters > 1 gives one slope per channel (dim 1).
 * @example const act = new nn.PReLU({ numParameters: 16 }); act.forward(randn([8, 16]))
 */
export class PReLU extends Module {
  declare weight: Tensor;
  readonly numParameters: number;
  readonly init: number;
  constructor(options: { numParameters?: number; init?: number } & FactoryOptions = {}) {
    super();
    const o = checkOptions<{ numParameters?: number; init?: number } & FactoryOptions>(options, 'PReLU', ['numParameters', 'init', 'dtype', 'device']);
    this.numParameters = checkPositiveInt(o.numParameters ?? 1, 'PReLU', 'numParameters');
    this.init = checkNumber(o.init ?? 0.25, 'PReLU', 'init');
    this.registerParameter('weight', full([this.numParameters], this.init, { dtype: o.dtype ?? 'float32', device: o.device ?? 'cpu' }));
  }
  protected override resetOwnParameters(): void { this.weight.fill_(this.init); }
  override forward(x: Tensor): Tensor { return prelu(checkFloatInput(x, 'PReLU'), this.weight); }
  protected override extraRepr(): string { return `numParameters=${this.numParameters}`; }
}

/**
 * Randomised leaky ReLU: negative inputs times a slope drawn from U(lower, upper) per element in
 * training, times (lower + upper) / 2 in eval.
 * @example new nn.RReLU({ lower: 0.1, upper: 0.3 })
 */
export class RReLU extends Module {
  readonly lower: number;
  readonly upper: number;
  constructor(options: { lower?: number; upper?: number } = {}) {
    super();
    const o = checkOptions<{ lower?: number; upper?: number }>(options, 'RReLU', ['lower', 'upper']);
    this.lower = checkNumber(o.lower ?? 1 / 8, 'RReLU', 'lower');
    this.upper = checkNumber(o.upper ?? 1 / 3, 'RReLU', 'upper');
    if (this.lower > this.upper) throw new ArgumentError(`RReLU: expected lower <= upper, received lower = ${this.lower}, upper = ${this.upper}`);
  }
  override forward(x: Tensor): Tensor { return rrelu(checkFloatInput(x, 'RReLU'), this.lower, this.upper, this.training); }
  protected override extraRepr(): string { return `lower=${this.lower}, upper=${this.upper}`; }
}

/** x for x > 0, else α(eˣ − 1) (Clevert et al. 2015). @example new nn.ELU({ alpha: 1 }) */
export class ELU extends Module {
  readonly alpha: number;
  constructor(options: { alpha?: number } = {}) {
    super();
    const o = checkOptions<{ alpha?: number }>(options, 'ELU', ['alpha']);
    this.alpha = checkNumber(o.alpha ?? 1, 'ELU', 'alpha');
  }
  override forward(x: Tensor): Tensor { return elu(checkFloatInput(x, 'ELU'), this.alpha); }
  protected override extraRepr(): string { return `alpha=${this.alpha}`; }
}

/** Scaled ELU with the self-normalising constants (Klambauer et al. 2017). @example new nn.SELU() */
export class SELU extends Module {
  constructor() { super(); checkNoArgs(arguments, 'SELU'); }
  override forward(x: Tensor): Tensor { return selu(checkFloatInput(x, 'SELU')); }
}

/** GELU, exact (erf) or the tanh approximation (Hendrycks & Gimpel 2016). @example new nn.GELU({ approximate: 'tanh' }) */
export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';
  constructor(options: { approximate?: 'none' | 'tanh' } = {}) {
    super();
    const o = checkOptions<{ approximate?: 'none' | 'tanh' }>(options, 'GELU', ['approximate']);
    const a = o.approximate ?? 'none';
    if (a !== 'none' && a !== 'tanh') throw new ArgumentError(`GELU: expected approximate 'none' or 'tanh', received ${describe(a)}`);
    this.approximate = a;
  }
  override forward(x: Tensor): Tensor { return gelu(checkFloatInput(x, 'GELU'), this.approximate); }
  protected override extraRepr(): string { return `approximate='${this.approximate}'`; }
}

/** x·σ(x), also called Swish (Ramachandran et al. 2017). @example new nn.SiLU() */
export class SiLU extends Module {
  constructor() { super(); checkNoArgs(arguments, 'SiLU'); }
  override forward(x: Tensor): Tensor { return silu(checkFloatInput(x, 'SiLU')); }
}

/** x·tanh(softplus(x)) (Misra 2019). @example new nn.Mish() */
export class Mish extends Module {
  constructor() { super(); checkNoArgs(arguments, 'Mish'); }
  override forward(x: Tensor): Tensor { return mish(checkFloatInput(x, 'Mish')); }
}

/** 1 / (1 + e⁻ˣ). @example new nn.Sigmoid() */
export class Sigmoid extends Module {
  constructor() { super(); checkNoArgs(arguments, 'Sigmoid'); }
  override forward(x: Tensor): Tensor { return sigmoid(checkFloatInput(x, 'Sigmoid')); }
}

/** tanh(x). @example new nn.Tanh() */
export class Tanh extends Module {
  constructor() { super(); checkNoArgs(arguments, 'Tanh'); }
  override forward(x: Tensor): Tensor { return tanh(checkFloatInput(x, 'Tanh')); }
}

/**
 * x clamped to [minVal, maxVal] (defaults −1 and 1), with gradient 1 inside and 0 outside.
 * @example new nn.Hardtanh({ minVal: 0, maxVal: 6 }) // ReLU6
 */
export class Hardtanh extends Module {
  readonly minVal: number;
  readonly maxVal: number;
  constructor(options: { minVal?: number; maxVal?: number } = {}) {
    super();
    const o = checkOptions<{ minVal?: number; maxVal?: number }>(options, 'Hardtanh', ['minVal', 'maxVal']);
    this.minVal = checkNumber(o.minVal ?? -1, 'Hardtanh', 'minVal');
    this.maxVal = checkNumber(o.maxVal ?? 1, 'Hardtanh', 'maxVal');
    // As torch.nn.Hardtanh: an empty range is an error, not a constant.
    if (!(this.maxVal > this.minVal)) throw new ArgumentError(`Hardtanh: expected maxVal > minVal, received minVal ${this.minVal} and maxVal ${this.maxVal}`);
  }
  override forward(x: Tensor): Tensor { return hardtanh(checkFloatInput(x, 'Hardtanh'), this.minVal, this.maxVal); }
  protected override extraRepr(): string { return `minVal=${this.minVal}, maxVal=${this.maxVal}`; }
}

/** log σ(x) = −softplus(−x), computed without overflow for either sign. @example new nn.LogSigmoid() */
export class LogSigmoid extends Module {
  constructor() { super(); checkNoArgs(arguments, 'LogSigmoid'); }
  override forward(x: Tensor): Tensor { return logSigmoid(checkFloatInput(x, 'LogSigmoid')); }
}

/** (1/β)·log(1 + e^{βx}), linear where βx > threshold. @example new nn.Softplus({ beta: 1, threshold: 20 }) */
export class Softplus extends Module {
  readonly beta: number;
  readonly threshold: number;
  constructor(options: { beta?: number; threshold?: number } = {}) {
    super();
    const o = checkOptions<{ beta?: number; threshold?: number }>(options, 'Softplus', ['beta', 'threshold']);
    this.beta = checkNumber(o.beta ?? 1, 'Softplus', 'beta');
    if (this.beta === 0) throw new ArgumentError('Softplus: expected beta to be non-zero, received 0');
    this.threshold = checkNumber(o.threshold ?? 20, 'Softplus', 'threshold');
  }
  override forward(x: Tensor): Tensor { return softplus(checkFloatInput(x, 'Softplus'), this.beta, this.threshold); }
  protected override extraRepr(): string { return `beta=${this.beta}, threshold=${this.threshold}`; }
}

const checkDim = (dim: unknown, where: string): number => checkNumber(dim, where, 'dim', { integer: true });

/** Softmax along `dim`. @example new nn.Softmax(-1).forward(logits) */
export class Softmax extends Module {
  readonly dim: number;
  constructor(dim: number) { super(); checkNoArgs(arguments, 'Softmax', 1); this.dim = checkDim(dim, 'Softmax'); }
  override forward(x: Tensor): Tensor { return softmax(checkFloatInput(x, 'Softmax'), this.dim); }
  protected override extraRepr(): string { return `dim=${this.dim}`; }
}

/** Log-softmax along `dim`. @example new nn.LogSoftmax(1).forward(logits) */
export class LogSoftmax extends Module {
  readonly dim: number;
  constructor(dim: number) { super(); checkNoArgs(arguments, 'LogSoftmax', 1); this.dim = checkDim(dim, 'LogSoftmax'); }
  override forward(x: Tensor): Tensor { return logSoftmax(checkFloatInput(x, 'LogSoftmax'), this.dim); }
  protected override extraRepr(): string { return `dim=${this.dim}`; }
}
