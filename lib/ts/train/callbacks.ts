/**
 * callbacks.ts — hooks into `fit`: EarlyStopping, TerminateOnNaN, CSVLogger, ModelCheckpoint,
 * GradientMonitor, and the learning-rate scheduler stepping that `fit` installs itself.
 *
 * A callback implements any of the hooks below; setting `ctx.stopTraining = reason` ends training
 * after the current epoch (or batch, for batch hooks).
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { checkNumber, checkOptions } from '../check.js';
import { ArgumentError, EntrenaError, describe } from '../errors.js';
import { Tensor, keep, tidy } from '../tensor.js';
import { noGrad } from '../autograd/engine.js';
import { History, valueOf } from './history.js';
import type { EpochLog, OptimizerLike, TrainableModel } from './types.js';

export interface TrainContext {
  model: TrainableModel;
  optimizer: OptimizerLike;
  history: History;
  epoch: number;
  epochs: number;
  /** Set to a reason to stop; `fit` stops at the next opportunity and records it. */
  stopTraining: string | null;
}

export interface BatchLogs { batch: number; loss: number; size: number }

export interface Callback {
  /** Run on rank 0 only in a data-parallel job (callbacks that write files: ModelCheckpoint, CSVLogger). */
  readonly rankZeroOnly?: boolean;
  onTrainBegin?(ctx: TrainContext): void | Promise<void>;
  onEpochBegin?(epoch: number, ctx: TrainContext): void | Promise<void>;
  /** After backward, before the optimizer step: gradients are in `.grad`. */
  onAfterBackward?(batch: number, ctx: TrainContext): void;
  onBatchEnd?(logs: BatchLogs, ctx: TrainContext): void | Promise<void>;
  onEpochEnd?(log: EpochLog, ctx: TrainContext): void | Promise<void>;
  onTrainEnd?(ctx: TrainContext): void | Promise<void>;
}

function better(mode: 'min' | 'max', value: number, best: number, minDelta: number): boolean {
  return mode === 'min' ? value < best - minDelta : value > best + minDelta;
}
function modeFor(monitor: string, mode?: 'min' | 'max' | 'auto'): 'min' | 'max' {
  if (mode === 'min' || mode === 'max') return mode;
  return /acc|f1|precision|recall|auc|r2/i.test(monitor) ? 'max' : 'min';
}

/**
 * Stops when the monitored value has not improved by `minDelta` for `patience` epochs; with
 * `restoreBestWeights`, puts back the weights of the best epoch.
 * @example new callbacks.EarlyStopping({ patience: 5, restoreBestWeights: true })
 */
export class EarlyStopping implements Callback {
  readonly monitor: string;
  readonly patience: number;
  readonly minDelta: number;
  readonly restoreBestWeights: boolean;
  readonly mode: 'min' | 'max';
  best = NaN;
  bestEpoch = -1;
  stoppedEpoch = -1;
  private wait = 0;
  private bestWeights: Map<string, Tensor> | null = null;

  constructor(options: { monitor?: string; patience?: number; minDelta?: number; restoreBestWeights?: boolean; mode?: 'min' | 'max' | 'auto' } = {}) {
    options = checkOptions<typeof options>(options, 'EarlyStopping', ['monitor', 'patience', 'minDelta', 'restoreBestWeights', 'mode'], { verbose: 'EarlyStopping prints nothing; the stop reason is in history.stopReason' });
    this.monitor = options.monitor ?? 'valLoss';
    this.patience = options.patience ?? 0;
    this.minDelta = Math.abs(options.minDelta ?? 0);
    this.restoreBestWeights = !!options.restoreBestWeights;
    checkNumber(this.patience, 'EarlyStopping', 'patience', { min: 0, integer: true });
    this.mode = modeFor(this.monitor, options.mode);
  }
  onTrainBegin(): void {
    this.best = this.mode === 'min' ? Infinity : -Infinity;
    this.wait = 0;
    this.bestEpoch = -1;
    this.stoppedEpoch = -1;
    this.dropWeights();
  }
  onEpochEnd(log: EpochLog, ctx: TrainContext): void {
    const v = valueOf(log, this.monitor);
    if (Number.isNaN(v)) throw new ArgumentError(`EarlyStopping: the monitored value '${this.monitor}' is not in the epoch log (is there validation data?); available: loss, valLoss, ${Object.keys(log.metrics).join(', ')}`);
    if (better(this.mode, v, this.best, this.minDelta)) {
      this.best = v;
      this.bestEpoch = log.epoch;
      this.wait = 0;
      if (this.restoreBestWeights) this.snapshot(ctx.model);
      return;
    }
    this.wait++;
    if (this.wait >= this.patience) {
      this.stoppedEpoch = log.epoch;
      ctx.stopTraining = 'earlyStopping';
    }
  }
  onTrainEnd(ctx: TrainContext): void {
    if (this.restoreBestWeights && this.bestWeights) {
      const sd: Record<string, Tensor> = {};
      for (const [k, v] of this.bestWeights) sd[k] = v;
      ctx.model.loadStateDict(sd);
    }
    this.dropWeights();
  }
  private snapshot(model: TrainableModel): void {
    this.dropWeights();
    this.bestWeights = new Map();
    const sd = model.stateDict();
    for (const [k, v] of Object.entries(sd)) this.bestWeights.set(k, keep(noGrad(() => v.clone())));
  }
  private dropWeights(): void {
    if (this.bestWeights) for (const t of this.bestWeights.values()) t.dispose();
    this.bestWeights = null;
  }
}

/**
 * Stops training at the first non-finite batch loss, naming the epoch and batch.
 * @example new callbacks.TerminateOnNaN()
 */
export class TerminateOnNaN implements Callback {
  /** Where the loss first became non-finite, or null. */
  at: { epoch: number; batch: number; loss: number } | null = null;
  onBatchEnd(logs: BatchLogs, ctx: TrainContext): void {
    if (!Number.isFinite(logs.loss)) {
      this.at = { epoch: ctx.epoch, batch: logs.batch, loss: logs.loss };
      ctx.stopTraining = `nan: loss became ${logs.loss} at epoch ${ctx.epoch}, batch ${logs.batch}`;
    }
  }
}

/**
 * Appends one CSV row per epoch (epoch, loss, valLoss, lr, seconds, metrics…).
 * @example new callbacks.CSVLogger('runs/log.csv')
 */
export class CSVLogger implements Callback {
  readonly rankZeroOnly = true;
  private columns: string[] | null = null;
  constructor(readonly path: string, readonly options: { append?: boolean } = {}) {
    if (typeof path !== 'string' || !path) throw new ArgumentError(`CSVLogger: expected a file path, received ${describe(path)}`);
    checkOptions(options, 'CSVLogger', ['append']);
  }
  onTrainBegin(): void {
    this.columns = null;
    if (!this.options.append) writeFileSync(this.path, '');
  }
  onEpochEnd(log: EpochLog): void {
    const row: Record<string, number | undefined> = { epoch: log.epoch, loss: log.loss, valLoss: log.valLoss, lr: log.lr, seconds: log.seconds };
    for (const [k, v] of Object.entries(log.metrics)) row[k] = v;
    for (const [k, v] of Object.entries(log.valMetrics ?? {})) row['val' + k[0].toUpperCase() + k.slice(1)] = v;
    if (!this.columns) {
      this.columns = Object.keys(row);
      appendFileSync(this.path, this.columns.join(',') + '\n');
    }
    appendFileSync(this.path, this.columns.map((c) => (row[c] === undefined ? '' : String(row[c]))).join(',') + '\n');
  }
}

/**
 * Saves the model (safetensors) after each epoch, or only when the monitored value improves.
 * @example new callbacks.ModelCheckpoint({ path: 'runs/best.safetensors', monitor: 'valLoss', saveBestOnly: true })
 */
export class ModelCheckpoint implements Callback {
  readonly rankZeroOnly = true;
  readonly path: string;
  readonly monitor: string;
  readonly saveBestOnly: boolean;
  readonly mode: 'min' | 'max';
  best = NaN;
  saves = 0;
  constructor(options: { path: string; monitor?: string; saveBestOnly?: boolean; mode?: 'min' | 'max' | 'auto' }) {
    if (!options || typeof options.path !== 'string') throw new ArgumentError(`ModelCheckpoint: expected { path }, received ${describe(options)}`);
    checkOptions(options, 'ModelCheckpoint', ['path', 'monitor', 'saveBestOnly', 'mode']);
    this.path = options.path;
    this.monitor = options.monitor ?? 'valLoss';
    this.saveBestOnly = !!options.saveBestOnly;
    this.mode = modeFor(this.monitor, options.mode);
  }
  onTrainBegin(): void {
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }
  async onEpochEnd(log: EpochLog, ctx: TrainContext): Promise<void> {
    const path = this.path.replace('{epoch}', String(log.epoch));
    if (this.saveBestOnly) {
      const v = valueOf(log, this.monitor);
      if (Number.isNaN(v)) throw new ArgumentError(`ModelCheckpoint: the monitored value '${this.monitor}' is not in the epoch log`);
      if (!better(this.mode, v, this.best, 0)) return;
      this.best = v;
    }
    const { save } = await import('../io/safetensors.js');
    save(ctx.model, path, { epoch: String(log.epoch) });
    this.saves++;
  }
}

/** Per-layer statistics of one epoch (the vanishing / exploding-gradient diagnosis). */
export interface LayerStats {
  name: string;
  /** L2 norm of the layer's parameter gradients, averaged over the epoch's batches. */
  gradNorm: number;
  /** Mean and standard deviation of the layer's output activations (last batch of the epoch). */
  activationMean: number;
  activationStd: number;
  /** Fraction of outputs saturated (Tanh: |y| ≥ 0.99; Sigmoid: y ≤ 0.005 or ≥ 0.995) or dead (ReLU family: y = 0); NaN for other layers. */
  saturated: number;
  dead: number;
}

interface Hookable { forward(x: Tensor): Tensor; constructor: { name: string } }

/**
 * Records, per layer and epoch, the gradient norm and activation statistics: vanishing gradients
 * show as norms that shrink layer by layer towards the input, exploding ones as norms that grow;
 * saturated sigmoid/tanh units and dead ReLUs show in the fractions.
 * @example
 * const monitor = new callbacks.GradientMonitor();
 * await fit(model, { ..., callbacks: [monitor] });
 * console.table(monitor.epochs.at(-1));
 */
export class GradientMonitor implements Callback {
  /** One entry per epoch: the per-layer statistics. */
  epochs: LayerStats[][] = [];
  private layers: { name: string; module: Hookable; params: Tensor[]; original: (x: Tensor) => Tensor; own: boolean }[] = [];
  private sums = new Map<string, { norm: number; count: number; mean: number; std: number; saturated: number; dead: number }>();
  constructor(readonly options: { saturationThreshold?: number } = {}) {
    checkOptions(options, 'GradientMonitor', ['saturationThreshold']);
  }

  onTrainBegin(ctx: TrainContext): void {
    this.epochs = [];
    const m = ctx.model as unknown as { namedModules?(): [string, Hookable][] };
    if (typeof m.namedModules !== 'function') throw new EntrenaError('ERR_INVALID_ARGUMENT', 'GradientMonitor: the model must be an nn.Module (namedModules() is missing)');
    const threshold = this.options.saturationThreshold ?? 0.99;
    for (const [name, mod] of m.namedModules()) {
      if (name === '' || !mod || typeof mod.forward !== 'function') continue;
      const pm = mod as unknown as { parameters?(): Tensor[]; namedModules?(): [string, unknown][] };
      // Leaves only: a container's statistics are its children's.
      if (pm.namedModules && pm.namedModules().length > 1) continue;
      const params = pm.parameters ? pm.parameters() : [];
      const original = mod.forward;
      const layer = { name: `${name} (${mod.constructor.name})`, module: mod, params, original, own: Object.prototype.hasOwnProperty.call(mod, 'forward') };
      this.layers.push(layer);
      const self = this;
      mod.forward = function (this: Hookable, x: Tensor): Tensor {
        const y = original.call(this, x);
        if ((ctx.model as unknown as { training?: boolean }).training !== false) self.observe(layer.name, mod.constructor.name, y, threshold);
        return y;
      };
    }
  }
  private entry(name: string) {
    let e = this.sums.get(name);
    if (!e) this.sums.set(name, (e = { norm: 0, count: 0, mean: 0, std: 0, saturated: 0, dead: 0 }));
    return e;
  }
  private observe(name: string, kind: string, y: Tensor, threshold: number): void {
    const stats = noGrad(() => tidy(() => {
      const d = y.detach();
      const mean = d.mean().item();
      const std = d.size > 1 ? d.std().item() : 0;
      // Dead units are ReLU-family outputs stuck at 0; saturation is measured where it means
      // something: tanh near ±1, sigmoid near 0 or 1 (both have vanishing derivatives there).
      const dead = /ReLU$/.test(kind) ? d.eq(0).cast('float32').mean().item() : NaN;
      const saturated = kind === 'Tanh' ? d.abs().ge(threshold).cast('float32').mean().item()
        : kind === 'Sigmoid' ? d.sub(0.5).abs().ge(threshold / 2).cast('float32').mean().item() : NaN;
      return { mean, std, dead, saturated };
    }));
    const e = this.entry(name);
    e.mean = stats.mean; e.std = stats.std; e.dead = stats.dead; e.saturated = stats.saturated;
  }
  onAfterBackward(): void {
    for (const l of this.layers) {
      if (!l.params.length) continue;
      let sq = 0;
      for (const p of l.params) {
        if (!p.grad) continue;
        sq += noGrad(() => tidy(() => p.grad!.square().sum().item()));
      }
      const e = this.entry(l.name);
      e.norm += Math.sqrt(sq);
      e.count++;
    }
  }
  onEpochEnd(log: EpochLog, ctx: TrainContext): void {
    const row: LayerStats[] = this.layers.map((l) => {
      const e = this.entry(l.name);
      return { name: l.name, gradNorm: e.count ? e.norm / e.count : NaN, activationMean: e.mean, activationStd: e.std, saturated: e.saturated, dead: e.dead };
    });
    this.epochs.push(row);
    this.sums.clear();
    ctx.history.extras.gradientMonitor = this.epochs;
  }
  onTrainEnd(): void {
    // Put back exactly what was there: the prototype's method (delete the hook) or an own function.
    for (const l of this.layers) {
      if (l.own) l.module.forward = l.original;
      else delete (l.module as { forward?: unknown }).forward;
    }
    this.layers = [];
  }
}
