/**
 * layers.ts — the layers with parameters or state: Linear, Sequential, BatchNorm1d, LayerNorm,
 * Dropout, AlphaDropout, Identity, Flatten. Defaults, initialisation and state-dict names are
 * torch.nn's. Inputs are validated here with messages naming what was expected and what came.
 */
import { checkNumber, checkPositiveInt, shapeStr } from '../check.js';
import { ArgumentError, DTypeError, ShapeError, describe } from '../errors.js';
import { linear, ones, zeros } from '../ops/index.js';
import { Tensor, checkDevice, type DeviceName, type DType } from '../tensor.js';
import { composite } from '../ops/door.js';
import { alphaDropout, batchNorm, dropout, layerNorm } from './functional.js';
import { kaimingUniform, uniform, calculateFans } from './init.js';
import * as init from './init.js';
import { Module, checkFloatInput, checkInput, checkOptions } from './module.js';

/** Where a layer's tensors are created. */
export interface FactoryOptions { dtype?: 'float32' | 'float64'; device?: DeviceName }

function factory(o: FactoryOptions, where: string): { dtype: DType; device: DeviceName } {
  const dtype = o.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float64') throw new DTypeError(`${where}: expected dtype 'float32' or 'float64', received ${describe(dtype)}`);
  return { dtype, device: checkDevice(o.device ?? 'cpu', where) };
}

/**
 * y = x·Wᵀ + b over the last dimension. W: [outFeatures, inFeatures], b: [outFeatures], both
 * initialised from U(−1/√in, 1/√in) as PyTorch (kaiming_uniform with a = √5 for W).
 * @example
 * const fc = new nn.Linear(784, 128);
 * const y = fc.forward(randn([32, 784])); // [32, 128]
 */
export class Linear extends Module {
  declare weight: Tensor;
  declare bias: Tensor | null;
  readonly inFeatures: number;
  readonly outFeatures: number;
  constructor(inFeatures: number, outFeatures: number, options: { bias?: boolean } & FactoryOptions = {}) {
    super();
    this.inFeatures = checkPositiveInt(inFeatures, 'Linear', 'inFeatures');
    this.outFeatures = checkPositiveInt(outFeatures, 'Linear', 'outFeatures');
    const o = checkOptions<{ bias?: boolean } & FactoryOptions>(options, 'Linear', ['bias', 'dtype', 'device']);
    const f = factory(o, 'Linear');
    this.registerParameter('weight', zeros([outFeatures, inFeatures], f));
    this.registerParameter('bias', (o.bias ?? true) ? zeros([outFeatures], f) : null);
    this.resetOwnParameters();
  }
  protected override resetOwnParameters(): void {
    kaimingUniform(this.weight, { a: Math.sqrt(5) });
    if (this.bias) {
      const [fanIn] = calculateFans(this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      uniform(this.bias, -bound, bound);
    }
  }
  override forward(input: Tensor): Tensor {
    const x = checkFloatInput(input, 'Linear');
    if (x.ndim === 0 || x.shape[x.ndim - 1] !== this.inFeatures)
      throw new ShapeError(`Linear: expected input with ${this.inFeatures} features (last dimension), received shape ${shapeStr(x.shape)}`);
    // One fused node: GEMM onto the broadcast bias, gradients straight into W's layout. An input
    // of another dtype promotes (as matmul), the op's scope freeing the casts with the graph.
    return linear(x, this.weight, this.bias);
  }
  protected override extraRepr(): string { return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`; }
}

/**
 * Runs modules one after the other; children are named '0', '1', … as torch.nn.Sequential.
 * @example
 * const model = new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 2));
 * Object.keys(model.stateDict()) // ['0.weight', '0.bias', '2.weight', '2.bias']
 */
export class Sequential extends Module {
  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => {
      if (!(m instanceof Module)) throw new ArgumentError(`Sequential: expected modules[${i}] to be an nn.Module, received ${describe(m)}`);
      this.registerModule(String(i), m);
    });
  }
  /** Number of modules. */
  get length(): number { return this._modules.size; }
  /** The module at `index` (negative counts from the end). */
  at(index: number): Module {
    const n = this._modules.size;
    const i = index < 0 ? index + n : index;
    if (!Number.isInteger(index) || i < 0 || i >= n) throw new ArgumentError(`Sequential.at: index ${describe(index)} is out of range for ${n} modules`);
    return [...this._modules.values()][i];
  }
  /** Appends a module (named by its position); returns this. */
  append(module: Module): this {
    this.registerModule(String(this._modules.size), module);
    return this;
  }
  [Symbol.iterator](): Iterator<Module> { return this._modules.values(); }
  /**
   * The modules in turn, as one composite op: the intermediate outputs live only as long as the
   * graph needs them (a tensor a child module keeps with `keep` is left alone). An op scope, not a
   * tidy: it walks only what the scope made, with no set of every tensor of the step.
   */
  override forward(input: Tensor): Tensor {
    return composite(() => {
      let x = input;
      for (const m of this._modules.values()) x = m.forward(x);
      return x;
    });
  }
}

export interface BatchNormOptions extends FactoryOptions {
  eps?: number;
  /** Weight of the new batch statistic in the running average; null: cumulative average. */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}

/**
 * Batch normalisation over the channels of [N, C] or [N, C, L] inputs (Ioffe & Szegedy 2015).
 * Training normalises with the batch mean and biased variance and updates `running_mean` /
 * `running_var` (unbiased) with `momentum`; eval uses the running statistics. Parameters
 * `weight` (γ, ones) and `bias` (β, zeros); buffers `running_mean`, `running_var`,
 * `num_batches_tracked` (int32 here, int64 in PyTorch).
 * @example
 * const bn = new nn.BatchNorm1d(16);
 * bn.forward(randn([32, 16])); // training: batch statistics
 * bn.eval().forward(randn([1, 16])); // running statistics
 */
export class BatchNorm1d extends Module {
  declare weight: Tensor | null;
  declare bias: Tensor | null;
  declare running_mean: Tensor | null; // eslint-disable-line @typescript-eslint/naming-convention
  declare running_var: Tensor | null; // eslint-disable-line @typescript-eslint/naming-convention
  declare num_batches_tracked: Tensor | null; // eslint-disable-line @typescript-eslint/naming-convention
  readonly numFeatures: number;
  readonly eps: number;
  momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super();
    this.numFeatures = checkPositiveInt(numFeatures, 'BatchNorm1d', 'numFeatures');
    const o = checkOptions<BatchNormOptions>(options, 'BatchNorm1d', ['eps', 'momentum', 'affine', 'trackRunningStats', 'dtype', 'device']);
    this.eps = checkNumber(o.eps ?? 1e-5, 'BatchNorm1d', 'eps', { min: 0 });
    this.momentum = o.momentum === null ? null : checkNumber(o.momentum ?? 0.1, 'BatchNorm1d', 'momentum', { min: 0, max: 1 });
    this.affine = o.affine ?? true;
    this.trackRunningStats = o.trackRunningStats ?? true;
    const f = factory(o, 'BatchNorm1d');
    this.registerParameter('weight', this.affine ? ones([numFeatures], f) : null);
    this.registerParameter('bias', this.affine ? zeros([numFeatures], f) : null);
    this.registerBuffer('running_mean', this.trackRunningStats ? zeros([numFeatures], f) : null);
    this.registerBuffer('running_var', this.trackRunningStats ? ones([numFeatures], f) : null);
    this.registerBuffer('num_batches_tracked', this.trackRunningStats ? zeros([], { dtype: 'int32', device: f.device }) : null);
  }
  /** Resets the running statistics (mean 0, variance 1, count 0). */
  resetRunningStats(): void {
    this.running_mean?.fill_(0);
    this.running_var?.fill_(1);
    this.num_batches_tracked?.fill_(0);
  }
  protected override resetOwnParameters(): void {
    this.resetRunningStats();
    if (this.weight) init.ones(this.weight);
    if (this.bias) init.zeros(this.bias);
  }
  override forward(input: Tensor): Tensor {
    const x = checkFloatInput(input, 'BatchNorm1d');
    if (x.ndim !== 2 && x.ndim !== 3) throw new ShapeError(`BatchNorm1d: expected a 2-D [N, C] or 3-D [N, C, L] input, received shape ${shapeStr(x.shape)}`);
    if (x.shape[1] !== this.numFeatures)
      throw new ShapeError(`BatchNorm1d: expected input with ${this.numFeatures} channels (dimension 1), received shape ${shapeStr(x.shape)}`);
    if (this.training && x.size / this.numFeatures <= 1)
      throw new ShapeError(`BatchNorm1d: expected more than 1 value per channel when training, received shape ${shapeStr(x.shape)}`);
    return batchNorm(x, {
      runningMean: this.running_mean, runningVar: this.running_var, weight: this.weight, bias: this.bias,
      training: this.training, momentum: this.momentum, eps: this.eps, numBatchesTracked: this.num_batches_tracked,
    });
  }
  protected override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}`;
  }
}

/**
 * Layer normalisation over the trailing dims given by `normalizedShape` (Ba et al. 2016), with
 * learnable `weight` (ones) and `bias` (zeros) of that shape when `elementwiseAffine`.
 * @example new nn.LayerNorm(64).forward(randn([8, 10, 64]))
 */
export class LayerNorm extends Module {
  declare weight: Tensor | null;
  declare bias: Tensor | null;
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly elementwiseAffine: boolean;
  constructor(normalizedShape: number | number[], options: { eps?: number; elementwiseAffine?: boolean } & FactoryOptions = {}) {
    super();
    const s = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
    if (!Array.isArray(s) || s.length === 0 || s.some((d) => !Number.isInteger(d) || d <= 0))
      throw new ArgumentError(`LayerNorm: expected normalizedShape to be a positive integer or a non-empty array of them, received ${describe(normalizedShape)}`);
    this.normalizedShape = s.slice();
    const o = checkOptions<{ eps?: number; elementwiseAffine?: boolean } & FactoryOptions>(options, 'LayerNorm', ['eps', 'elementwiseAffine', 'dtype', 'device']);
    this.eps = checkNumber(o.eps ?? 1e-5, 'LayerNorm', 'eps', { min: 0 });
    this.elementwiseAffine = o.elementwiseAffine ?? true;
    const f = factory(o, 'LayerNorm');
    this.registerParameter('weight', this.elementwiseAffine ? ones(this.normalizedShape, f) : null);
    this.registerParameter('bias', this.elementwiseAffine ? zeros(this.normalizedShape, f) : null);
  }
  protected override resetOwnParameters(): void {
    if (this.weight) init.ones(this.weight);
    if (this.bias) init.zeros(this.bias);
  }
  override forward(input: Tensor): Tensor {
    const x = checkFloatInput(input, 'LayerNorm');
    const k = this.normalizedShape.length;
    if (x.ndim < k || x.shape.slice(x.ndim - k).some((d, i) => d !== this.normalizedShape[i]))
      throw new ShapeError(`LayerNorm: expected input whose trailing dimensions are ${shapeStr(this.normalizedShape)}, received shape ${shapeStr(x.shape)}`);
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
  protected override extraRepr(): string { return `${shapeStr(this.normalizedShape)}, eps=${this.eps}, elementwiseAffine=${this.elementwiseAffine}`; }
}

/** @internal The base of Dropout and AlphaDropout: the probability `p`, and the functional form applied. */
export abstract class DropoutBase extends Module {
  readonly p: number;
  constructor(p: number) {
    super();
    this.p = checkNumber(p, this.constructor.name, 'p', { min: 0, max: 1 });
  }
  /** The functional form: the mask in training, the identity in eval. */
  protected abstract drop(x: Tensor, training: boolean): Tensor;
  override forward(input: Tensor): Tensor {
    return this.drop(checkFloatInput(input, this.constructor.name), this.training);
  }
  protected override extraRepr(): string { return `p=${this.p}`; }
}

/**
 * Inverted dropout: in training, zeroes each element with probability `p` and scales the rest by
 * 1 / (1 − p); identity in eval. Seeded by `manualSeed`.
 * @example const drop = new nn.Dropout(0.2); drop.forward(x); drop.eval().forward(x) === x
 */
export class Dropout extends DropoutBase {
  constructor(p = 0.5) { super(p); }
  protected override drop(x: Tensor, training: boolean): Tensor { return dropout(x, this.p, training); }
}

/**
 * Alpha dropout for self-normalising (SELU) networks (Klambauer et al. 2017): keeps zero mean and
 * unit variance, as torch.nn.AlphaDropout. Identity in eval.
 * @example new nn.Sequential(new nn.Linear(8, 8), new nn.SELU(), new nn.AlphaDropout(0.1))
 */
export class AlphaDropout extends DropoutBase {
  constructor(p = 0.5) { super(p); }
  protected override drop(x: Tensor, training: boolean): Tensor { return alphaDropout(x, this.p, training); }
}

/** Returns its input. @example new nn.Identity().forward(x) === x */
export class Identity extends Module {
  override forward(input: Tensor): Tensor { return checkInput(input, 'Identity'); }
}

/**
 * Flattens dims startDim…endDim (default 1…−1: keeps the batch dim).
 * @example new nn.Flatten().forward(zeros([32, 1, 28, 28])).shape // [32, 784]
 */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;
  constructor(startDim = 1, endDim = -1) {
    super();
    if (!Number.isInteger(startDim) || !Number.isInteger(endDim)) throw new ArgumentError(`Flatten: expected integer startDim and endDim, received ${describe(startDim)} and ${describe(endDim)}`);
    this.startDim = startDim;
    this.endDim = endDim;
  }
  override forward(input: Tensor): Tensor {
    const x = checkInput(input, 'Flatten');
    const r = Math.max(x.ndim, 1);
    const s = this.startDim < 0 ? this.startDim + r : this.startDim, e = this.endDim < 0 ? this.endDim + r : this.endDim;
    if (s < 0 || s >= r || e < 0 || e >= r)
      throw new ShapeError(`Flatten: startDim ${this.startDim} and endDim ${this.endDim} do not fit an input of shape ${shapeStr(x.shape)}`);
    return x.flatten(this.startDim, this.endDim);
  }
  protected override extraRepr(): string { return `startDim=${this.startDim}, endDim=${this.endDim}`; }
}
