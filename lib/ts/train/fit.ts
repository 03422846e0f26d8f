/**
 * fit.ts — the training loop: `fit`, `evaluate`, `predict`.
 *
 * `fit` is async and yields to the event loop between steps whenever ~10 ms have passed, so a
 * Node service that trains stays responsive; it honours an AbortSignal (training stops after the
 * current batch and the history so far is returned with stopReason 'aborted'). Every step runs in
 * a `tidy`, so the loop allocates nothing that outlives a step except the parameters' gradients and
 * the optimizer's state.
 *
 * In a data-parallel job (`distributed.init()` with more than one process, the model wrapped in
 * `nn.parallel.DistributedDataParallel`, each rank's loader reading its `DistributedSampler` share)
 * every rank runs `fit` with the same arguments. Progress is shown and the callbacks that write
 * files (`ModelCheckpoint`, `CSVLogger`: `rankZeroOnly`) run on rank 0 only; the logged losses are
 * the means over all ranks' samples and the metrics the per-rank values averaged with the ranks'
 * sample counts as weights (exact for accuracy and the mean errors); so every rank sees the same
 * epoch log, and early stopping, schedulers and TerminateOnNaN (which sees the all-rank batch
 * loss) decide the same everywhere. A stop set on any rank (a callback, the AbortSignal) stops all
 * of them after the same batch. This costs two small all-reduces per batch and one per epoch.
 */
import { checkNumber, checkOptions } from '../check.js';
import { ArgumentError, DTypeError, describe } from '../errors.js';
import { GradScaler, autocast, autocastRegion, type AutocastOptions } from '../amp/index.js';
import type { DeviceName, HalfDType } from '../core/dtype.js';
import { Tensor, tidy } from '../tensor.js';
import { tensor } from '../ops/index.js';
import { noGrad } from '../autograd/engine.js';
import { clipGradNorm } from '../nn/utils.js';
import * as distributed from '../distributed/index.js';
import { History } from './history.js';
import { metric as makeMetric, type Metric, type MetricName } from './metrics.js';
import { Progress } from './progress.js';
import type { Callback, TrainContext } from './callbacks.js';
import type { Batch, BatchSource, EpochLog, LossArg, OptimizerLike, SchedulerLike, TrainableModel } from './types.js';

/** The keys `fit` accepts (an unknown one is ERR_INVALID_ARGUMENT, not silently ignored). */
const FIT_OPTIONS = ['train', 'validation', 'loss', 'optimizer', 'epochs', 'metrics', 'callbacks', 'scheduler', 'clipGradNorm', 'signal', 'progress', 'initialEpoch', 'history', 'amp'] as const;
/** Advice for the names a Keras or PyTorch Lightning user types. */
const FIT_HINTS: Record<string, string> = {
  verbose: 'use progress: false for silence (progress: true, the default, shows a bar on a TTY and a line per epoch otherwise)',
  validationData: "use validation: a DataLoader or an iterable of [x, y] batches",
  validationSplit: 'split the data first with data.randomSplit, then pass validation',
  batchSize: 'the batch size belongs to the DataLoader: new data.DataLoader(ds, { batchSize })',
  shuffle: 'shuffling belongs to the DataLoader: new data.DataLoader(ds, { shuffle: true })',
  maxEpochs: 'use epochs',
  lrScheduler: 'use scheduler',
};

export interface FitOptions {
  /** Training batches: a DataLoader or any (async) iterable of [x, y]; iterated once per epoch. */
  train: BatchSource;
  validation?: BatchSource;
  loss: LossArg;
  optimizer: OptimizerLike;
  epochs: number;
  metrics?: (MetricName | Metric)[];
  callbacks?: Callback[];
  scheduler?: SchedulerLike;
  /** Clip the global gradient L2 norm to this value before each step. */
  clipGradNorm?: number;
  signal?: AbortSignal;
  /** Progress display: a bar on a TTY, one line per epoch otherwise; false for silence. */
  progress?: boolean;
  /** First epoch number (when resuming from a checkpoint). */
  initialEpoch?: number;
  /** A history to append to (when resuming). */
  history?: History;
  /**
   * Mixed precision: each training step's forward and loss run under `amp.autocast` with this
   * dtype on `device` (default: the parameters' device); float16 also scales the loss with a
   * `GradScaler` (`scaler`: true by default for float16, or your own scaler; bfloat16 needs none
   * and refuses one). Validation runs in float32.
   */
  amp?: { dtype: HalfDType; device?: DeviceName; scaler?: boolean | GradScaler };
}

/** The checked `amp` option of fit: the autocast region and the scaler, or null. */
function ampOf(o: FitOptions['amp'], params: Tensor[]): { region: AutocastOptions; scaler: GradScaler | null } | null {
  if (o === undefined) return null;
  if (!o || typeof o !== 'object') throw new ArgumentError(`fit: expected amp to be { dtype: 'bfloat16' | 'float16', device?, scaler? }, received ${describe(o)}`);
  checkOptions(o, 'fit amp', ['dtype', 'device', 'scaler']);
  if (o.dtype !== 'bfloat16' && o.dtype !== 'float16') throw new DTypeError(`fit: expected amp.dtype 'bfloat16' or 'float16', received ${describe(o.dtype)}`);
  const device = o.device ?? params[0]?.device ?? 'cpu';
  const region: AutocastOptions = { device, dtype: o.dtype };
  autocastRegion(region);  // the device/dtype pair checked now, with autocast's message
  const s = o.scaler ?? o.dtype === 'float16';
  if (s !== false && o.dtype === 'bfloat16')
    throw new DTypeError("fit: amp.scaler is for float16; bfloat16 has float32's exponent range and needs no loss scaling (drop scaler, or use dtype 'float16')");
  if (s !== true && s !== false && !(s instanceof GradScaler)) throw new ArgumentError(`fit: expected amp.scaler to be a boolean or an amp.GradScaler, received ${describe(s)}`);
  return { region, scaler: s === true ? new GradScaler() : s === false ? null : s };
}

function lossFn(loss: LossArg): (p: Tensor, t: Tensor) => Tensor {
  if (typeof loss === 'function') return loss;
  if (loss && typeof loss.forward === 'function') return (p, t) => loss.forward(p, t);
  throw new ArgumentError(`fit: expected loss to be a loss module (with forward) or a function, received ${describe(loss)}`);
}

function checkModel(model: unknown, where: string): TrainableModel {
  const m = model as TrainableModel;
  if (!m || typeof m.forward !== 'function' || typeof m.parameters !== 'function')
    throw new ArgumentError(`${where}: expected an nn.Module (with forward and parameters), received ${describe(model)}`);
  return m;
}

function isIterable(x: unknown): x is BatchSource {
  return !!x && (typeof (x as Iterable<Batch>)[Symbol.iterator] === 'function' || typeof (x as AsyncIterable<Batch>)[Symbol.asyncIterator] === 'function');
}

async function* batches(src: BatchSource): AsyncGenerator<Batch> {
  if (typeof (src as AsyncIterable<Batch>)[Symbol.asyncIterator] === 'function') {
    for await (const b of src as AsyncIterable<Batch>) yield b;
  } else {
    for (const b of src as Iterable<Batch>) yield b;
  }
}

function sizeHint(src: BatchSource): number | undefined {
  const n = (src as { length?: unknown }).length;
  return typeof n === 'number' ? n : undefined;
}

let lastYield = 0;
/** Yields to the event loop when the last yield was more than `budgetMs` ago. */
export async function maybeYield(budgetMs = 10): Promise<void> {
  const now = performance.now();
  if (now - lastYield >= budgetMs) {
    await new Promise<void>((r) => setImmediate(r));
    lastYield = performance.now();
  }
}

function metricList(metrics: (MetricName | Metric)[] | undefined): Metric[] {
  return (metrics ?? []).map((m) => (typeof m === 'string' ? makeMetric(m) : m));
}

/**
 * Trains `model` for `epochs` epochs and returns the History.
 * @example
 * const history = await fit(model, {
 *   train: new data.DataLoader(trainSet, { batchSize: 128, shuffle: true, seed: 0 }),
 *   validation: new data.DataLoader(valSet, { batchSize: 512 }),
 *   loss: new nn.CrossEntropyLoss(), optimizer: new optim.Adam(model.parameters()),
 *   epochs: 10, metrics: ['accuracy'], callbacks: [new callbacks.EarlyStopping({ patience: 3 })],
 * });
 */
export async function fit(model: TrainableModel, options: FitOptions): Promise<History> {
  const m = checkModel(model, 'fit');
  if (!options || typeof options !== 'object') throw new ArgumentError(`fit: expected an options object, received ${describe(options)}`);
  checkOptions<FitOptions>(options, 'fit', FIT_OPTIONS, FIT_HINTS);
  if (!isIterable(options.train)) throw new ArgumentError(`fit: expected train to be a DataLoader or an iterable of [x, y] batches, received ${describe(options.train)}`);
  if (options.validation !== undefined && !isIterable(options.validation)) throw new ArgumentError(`fit: expected validation to be a DataLoader or an iterable of [x, y] batches, received ${describe(options.validation)}`);
  checkNumber(options.epochs, 'fit', 'epochs', { min: 0, integer: true });
  const opt = options.optimizer;
  if (!opt || typeof opt.step !== 'function' || typeof opt.zeroGrad !== 'function') throw new ArgumentError(`fit: expected an optimizer (with step and zeroGrad), received ${describe(opt)}`);
  if (options.clipGradNorm !== undefined) checkNumber(options.clipGradNorm, 'fit', 'clipGradNorm', { min: 0, minExclusive: true });
  const loss = lossFn(options.loss);
  const metrics = metricList(options.metrics);
  // Validation reuses the metric objects: the training values are logged before evaluate() resets them.
  const valMetrics = metrics;
  const callbacks = options.callbacks ?? [];
  const sched = options.scheduler;
  const history = options.history ?? new History();
  const first = options.initialEpoch ?? history.epochs.length;
  const ctx: TrainContext = { model: m, optimizer: opt, history, epoch: first, epochs: first + options.epochs, stopTraining: null };
  const dist = distributed.isInitialized() && distributed.worldSize() > 1;
  const rankZero = !dist || distributed.rank() === 0;
  const progress = new Progress(options.progress !== false && rankZero);
  const params = m.parameters();
  const mixed = ampOf(options.amp, params);
  const scaler = mixed?.scaler ?? null;
  const active = rankZero ? callbacks : callbacks.filter((cb) => !cb.rankZeroOnly);
  // All ranks stop together: a stop (or abort) seen on any rank is everyone's.
  // Per-batch collectives only where something needs them (every rank passes the same callbacks,
  // so every rank decides the same): the all-rank batch loss when a callback reads batch logs, the
  // stop agreement when a batch callback or an AbortSignal can stop. Otherwise the epoch's loss is
  // reduced once at its end (and rank 0's progress shows its own running loss).
  const batchLossShared = dist && callbacks.some((cb) => typeof cb.onBatchEnd === 'function');
  const batchStopShared = dist && (options.signal !== undefined || callbacks.some((cb) => typeof cb.onBatchEnd === 'function' || typeof cb.onAfterBackward === 'function'));
  const agreeStop = (perBatch = false): void => {
    if (!dist || (perBatch && !batchStopShared)) return;
    const any = allSum([ctx.stopTraining ? 1 : 0, options.signal?.aborted ? 1 : 0]);
    if (any[1] > 0) ctx.stopTraining = 'aborted';
    else if (any[0] > 0 && !ctx.stopTraining) ctx.stopTraining = 'stopped on another rank';
  };

  for (const cb of active) await cb.onTrainBegin?.(ctx);
  try {
    for (let epoch = first; epoch < first + options.epochs; epoch++) {
      ctx.epoch = epoch;
      if (options.signal?.aborted) { ctx.stopTraining = 'aborted'; break; }
      for (const cb of active) await cb.onEpochBegin?.(epoch, ctx);
      m.train();
      for (const mm of metrics) mm.reset();
      const lr = opt.paramGroups[0]?.lr ?? NaN;
      const t0 = performance.now();
      let lossSum = 0, seen = 0, localSeen = 0, batchIndex = 0;
      progress.startEpoch(epoch, ctx.epochs, sizeHint(options.train));
      for await (const [x, y] of batches(options.train)) {
        const n = x.shape[0] ?? 1;
        const batchLoss = tidy(() => {
          opt.zeroGrad();
          const step = (): [Tensor, Tensor] => { const o = m.forward(x); return [o, loss(o, y)]; };
          const [out, l] = mixed ? autocast(mixed.region, step) : step();
          (scaler ? scaler.scale(l) : l).backward();
          for (const cb of active) cb.onAfterBackward?.(batchIndex, ctx);
          if (options.clipGradNorm) {
            scaler?.unscale_(opt);  // clip the true gradients
            clipGradNorm(params, options.clipGradNorm);
          }
          if (scaler) { scaler.step(opt); scaler.update(); } else opt.step();
          if (metrics.length) noGrad(() => { for (const mm of metrics) mm.update(out, y); });
          return l.item();
        });
        if (sched && sched.interval === 'batch') sched.step();
        // Under DDP the batch's loss and size are the all-rank ones.
        const [batchSum, batchN] = batchLossShared ? allSum([batchLoss * n, n]) : [batchLoss * n, n];
        lossSum += batchSum;
        seen += batchN;
        localSeen += n;
        const logs = { batch: batchIndex, loss: batchSum / batchN, size: batchN };
        for (const cb of active) await cb.onBatchEnd?.(logs, ctx);
        progress.batch(batchIndex + 1, seen, lossSum / seen, metrics);
        batchIndex++;
        if (options.signal?.aborted && !ctx.stopTraining) ctx.stopTraining = 'aborted';
        agreeStop(true);
        if (ctx.stopTraining) break;
        await maybeYield();
      }
      if (dist && !batchLossShared) [lossSum, seen] = allSum([lossSum, seen]);
      const log: EpochLog = {
        epoch, loss: seen ? lossSum / seen : NaN,
        metrics: dist ? averageMetrics(metrics, localSeen) : Object.fromEntries(metrics.map((mm) => [mm.name, seen ? mm.compute() : NaN])),
        lr, seconds: (performance.now() - t0) / 1000,
      };
      if (options.validation && ctx.stopTraining !== 'aborted') {
        const v = await evaluateOn(m, options.validation, { loss: options.loss, metrics: valMetrics }, dist);
        log.valLoss = v.loss;
        log.valMetrics = v.metrics;
      }
      log.seconds = (performance.now() - t0) / 1000;
      history.epochs.push(log);
      progress.endEpoch(log);
      if (sched && sched.interval !== 'batch') {
        if (sched.monitor !== undefined) {
          const key = sched.monitor;
          const value = key === 'valLoss' ? log.valLoss : key === 'loss' ? log.loss : log.metrics[key] ?? log.valMetrics?.[key];
          if (value === undefined) throw new ArgumentError(`fit: the scheduler monitors '${key}', which is not in the epoch log`);
          sched.step(value);
        } else sched.step();
      }
      for (const cb of active) await cb.onEpochEnd?.(log, ctx);
      agreeStop();
      if (ctx.stopTraining) break;
    }
  } finally {
    for (const cb of active) await cb.onTrainEnd?.(ctx);
    progress.done();
  }
  history.stopReason = ctx.stopTraining ? ctx.stopTraining.split(':')[0] : 'completed';
  if (ctx.stopTraining && ctx.stopTraining.startsWith('nan')) history.extras.nan = ctx.stopTraining;
  return history;
}

/**
 * Loss and metrics over a data source, in eval mode without gradients.
 * @example const { loss, metrics } = await evaluate(model, testLoader, { loss: new nn.CrossEntropyLoss(), metrics: ['accuracy'] });
 */
export async function evaluate(model: TrainableModel, source: BatchSource, options: { loss?: LossArg; metrics?: (MetricName | Metric)[] } = {}): Promise<{ loss: number; metrics: Record<string, number> }> {
  return evaluateOn(model, source, options, false);
}

/** Sums `values` over the ranks (float64). */
function allSum(values: number[]): number[] {
  return tidy(() => Array.from(distributed.allReduce(tensor(values, { dtype: 'float64' }), { op: 'sum' }).data()));
}

/** Each metric averaged over the ranks, weighted by the samples each rank saw. */
function averageMetrics(metrics: Metric[], localSeen: number): Record<string, number> {
  const local = metrics.map((mm) => (localSeen ? mm.compute() * localSeen : 0));
  const all = allSum([...local, localSeen]);
  const total = all[all.length - 1];
  return Object.fromEntries(metrics.map((mm, i) => [mm.name, total ? all[i] / total : NaN]));
}

/** `evaluate`, with the loss and metrics averaged over the ranks when `dist` (every rank must call it). */
async function evaluateOn(model: TrainableModel, source: BatchSource, options: { loss?: LossArg; metrics?: (MetricName | Metric)[] }, dist: boolean): Promise<{ loss: number; metrics: Record<string, number> }> {
  const m = checkModel(model, 'evaluate');
  if (!isIterable(source)) throw new ArgumentError(`evaluate: expected a DataLoader or an iterable of [x, y] batches, received ${describe(source)}`);
  options = checkOptions<typeof options>(options, 'evaluate', ['loss', 'metrics'], { batchSize: FIT_HINTS.batchSize, verbose: 'evaluate prints nothing' });
  const loss = options.loss ? lossFn(options.loss) : null;
  const metrics = metricList(options.metrics);
  for (const mm of metrics) mm.reset();
  const wasTraining = (m as unknown as { training?: boolean }).training;
  m.eval();
  let lossSum = 0, seen = 0;
  try {
    for await (const [x, y] of batches(source)) {
      const n = x.shape[0] ?? 1;
      const l = noGrad(() => tidy(() => {
        const out = m.forward(x);
        for (const mm of metrics) mm.update(out, y);
        return loss ? loss(out, y).item() : 0;
      }));
      lossSum += l * n;
      seen += n;
      await maybeYield();
    }
  } finally {
    if (wasTraining) m.train();
  }
  if (dist) {
    const [sum, n] = allSum([lossSum, seen]);
    return { loss: loss && n ? sum / n : NaN, metrics: averageMetrics(metrics, seen) };
  }
  return { loss: loss && seen ? lossSum / seen : NaN, metrics: Object.fromEntries(metrics.map((mm) => [mm.name, seen ? mm.compute() : NaN])) };
}

/**
 * The model's output for `x` in eval mode, without gradients, computed in batches. `x` may live on
 * another device than the model (test data kept on the CPU, a model on the GPU): each batch is
 * moved to the model's device and the result comes back on `x`'s device.
 * @example const probs = predict(model, xTest).softmax(-1);
 */
export function predict(model: TrainableModel, x: Tensor, options: { batchSize?: number } = {}): Tensor {
  const m = checkModel(model, 'predict');
  if (!(x instanceof Tensor)) throw new ArgumentError(`predict: expected x to be a Tensor, received ${describe(x)}`);
  options = checkOptions<typeof options>(options, 'predict', ['batchSize'], { verbose: 'predict prints nothing' });
  const bs = checkPositiveBatch(options.batchSize);
  const wasTraining = (m as unknown as { training?: boolean }).training;
  const device = m.parameters()[0]?.device ?? x.device;
  const forward = (xb: Tensor): Tensor => device === x.device ? m.forward(xb) : tidy(() => m.forward(xb.to(device)).to(x.device));
  m.eval();
  try {
    return noGrad(() => {
      if (x.ndim === 0 || x.shape[0] <= bs) return forward(x);
      const parts: Tensor[] = [];
      for (let i = 0; i < x.shape[0]; i += bs) parts.push(tidy(() => forward(x.narrow(0, i, Math.min(bs, x.shape[0] - i)))));
      return tidy(() => {
        const r = parts.length === 1 ? parts[0] : concatParts(parts);
        return r;
      });
    });
  } finally {
    if (wasTraining) m.train();
  }
}

function checkPositiveBatch(bs: unknown): number {
  if (bs === undefined) return 1024;
  return checkNumber(bs, 'predict', 'batchSize', { min: 1, integer: true });
}

import { concat } from '../ops/shape.js';
function concatParts(parts: Tensor[]): Tensor {
  const r = concat(parts, 0);
  for (const p of parts) p.dispose();
  return r;
}
