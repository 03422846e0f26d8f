/**
 * averaging.ts — weight averaging: `ExponentialMovingAverage` (Polyak–Ruppert with exponential
 * decay: shadow ← decay·shadow + (1 − decay)·param) and `swa.AveragedModel` (torch.optim.swa_utils:
 * a copy of the model whose parameters are the running mean, or a custom average, of the trained
 * model's).
 */
import { checkOptions } from '../check.js';
import { ArgumentError, describe } from '../errors.js';
import { Tensor, keep } from '../tensor.js';
import { noGrad } from '../autograd/engine.js';
import { rawBinary, rawUnary } from '../ops/elementwise.js';
import { Module } from '../nn/module.js';

function lerpTo(shadow: Tensor, p: Tensor, weight: number): void {
  // shadow ← shadow + weight·(p − shadow)
  const diff = rawBinary('sub', p, shadow);
  const step = rawUnary('mul_scalar', diff, weight);
  const next = rawBinary('add', shadow, step);
  shadow.copy_(next);
  for (const t of [diff, step, next]) t.dispose();
}

/**
 * An exponential moving average of parameters, for evaluation with smoothed weights.
 * @example
 * const ema = new optim.ExponentialMovingAverage(model.parameters(), { decay: 0.999 });
 * // after each optimizer.step(): ema.update();
 * ema.store(); ema.copyTo(); evaluate(...); ema.restore();
 */
export class ExponentialMovingAverage {
  readonly params: Tensor[];
  readonly decay: number;
  readonly shadow: Tensor[];
  numUpdates = 0;
  private backup: Tensor[] | null = null;
  constructor(params: Tensor[], options: { decay?: number; useNumUpdates?: boolean } = {}) {
    if (!Array.isArray(params) || params.some((p) => !(p instanceof Tensor))) throw new ArgumentError(`ExponentialMovingAverage: expected an array of parameters, received ${describe(params)}`);
    options = checkOptions<typeof options>(options, 'ExponentialMovingAverage', ['decay', 'useNumUpdates']);
    this.decay = options.decay ?? 0.999;
    if (!(this.decay >= 0 && this.decay <= 1)) throw new ArgumentError(`ExponentialMovingAverage: expected decay in [0, 1], received ${describe(options.decay)}`);
    this.params = params.slice();
    this.shadow = params.map((p) => keep(noGrad(() => p.detach().clone())));
    this.useNumUpdates = options.useNumUpdates ?? false;
  }
  private readonly useNumUpdates: boolean;
  /** Folds the current parameters into the average. */
  update(): void {
    this.numUpdates++;
    // With useNumUpdates the decay warms up as min(decay, (1 + n)/(10 + n)) (TensorFlow's EMA).
    const decay = this.useNumUpdates ? Math.min(this.decay, (1 + this.numUpdates) / (10 + this.numUpdates)) : this.decay;
    noGrad(() => this.params.forEach((p, i) => lerpTo(this.shadow[i], p, 1 - decay)));
  }
  /** Writes the averaged weights into the parameters. */
  copyTo(params: Tensor[] = this.params): void {
    noGrad(() => params.forEach((p, i) => p.copy_(this.shadow[i])));
  }
  /** Saves the current parameters (to `restore` after evaluating with the average). */
  store(): void {
    this.backup?.forEach((t) => t.dispose());
    this.backup = this.params.map((p) => keep(noGrad(() => p.detach().clone())));
  }
  restore(): void {
    if (!this.backup) throw new ArgumentError('ExponentialMovingAverage.restore: nothing stored; call store() first');
    noGrad(() => this.params.forEach((p, i) => p.copy_(this.backup![i])));
    this.backup.forEach((t) => t.dispose());
    this.backup = null;
  }
  stateDict(): { shadow: Tensor[]; numUpdates: number; decay: number } {
    return { shadow: this.shadow, numUpdates: this.numUpdates, decay: this.decay };
  }
  loadStateDict(sd: { shadow: Tensor[]; numUpdates: number }): void {
    this.numUpdates = sd.numUpdates;
    noGrad(() => sd.shadow.forEach((t, i) => this.shadow[i].copy_(t)));
  }
}

interface ModuleLike { parameters(): Tensor[]; forward(x: Tensor): Tensor; stateDict(): Record<string, Tensor>; loadStateDict(sd: Record<string, Tensor>): unknown; train(mode?: boolean): unknown; eval(): unknown }

/** A custom average: the new averaged value from the average so far, the current value and the count. */
export type AvgFn = (avg: Tensor, current: Tensor, n: number) => Tensor;
export interface AveragedModelOptions { avgFn?: AvgFn }

export const swa = {
  /**
   * A model whose parameters average those of `model` over `updateParameters` calls (equal
   * weights by default, as torch.optim.swa_utils.AveragedModel; or a custom `avgFn(avg, current, n)`).
   * Its module is a deep copy of `model` (`model.clone()`, as PyTorch's `deepcopy`), whose weights
   * start as the model's. (A function as second argument, `makeCopy`, building the copy, is still
   * accepted for compatibility; no longer needed.)
   * @example
   * const swaModel = new optim.swa.AveragedModel(model);
   * // after each epoch of the SWA phase:
   * swaModel.updateParameters(model);
   */
  AveragedModel: class AveragedModel {
    readonly module: ModuleLike;
    nAveraged = 0;
    readonly avgFn?: AvgFn;
    constructor(model: ModuleLike, options?: AveragedModelOptions);
    /** @deprecated `makeCopy` is no longer needed: the model is deep-copied. */
    constructor(model: ModuleLike, makeCopy: () => ModuleLike, options?: AveragedModelOptions);
    constructor(model: ModuleLike, second: AveragedModelOptions | (() => ModuleLike) = {}, third: AveragedModelOptions = {}) {
      if (!model || typeof model.parameters !== 'function') throw new ArgumentError(`AveragedModel: expected a module, received ${describe(model)}`);
      const options = checkOptions<AveragedModelOptions>(typeof second === 'function' ? third : second, 'AveragedModel', ['avgFn']);
      if (options.avgFn !== undefined && typeof options.avgFn !== 'function') throw new ArgumentError(`AveragedModel: expected avgFn to be a function (avg, current, n) => Tensor, received ${describe(options.avgFn)}`);
      if (typeof second === 'function') {
        this.module = second();
        this.module.loadStateDict(model.stateDict());
      } else {
        if (!(model instanceof Module)) throw new ArgumentError(`AveragedModel: expected an nn.Module (to deep-copy), received ${describe(model)}`);
        this.module = model.clone();
      }
      this.avgFn = options.avgFn;
    }
    forward(x: Tensor): Tensor { return this.module.forward(x); }
    updateParameters(model: ModuleLike): void {
      const mine = this.module.parameters(), theirs = model.parameters();
      if (mine.length !== theirs.length) throw new ArgumentError(`AveragedModel.updateParameters: expected a model with ${mine.length} parameters (the averaged model's), received one with ${theirs.length}`);
      noGrad(() => mine.forEach((p, i) => {
        if (this.nAveraged === 0) p.copy_(theirs[i]);
        else if (this.avgFn) { const r = this.avgFn(p.detach(), theirs[i].detach(), this.nAveraged); p.copy_(r); r.dispose(); }
        else lerpTo(p, theirs[i], 1 / (this.nAveraged + 1));
      }));
      this.nAveraged++;
    }
  },
};
