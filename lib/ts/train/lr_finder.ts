/**
 * lr_finder.ts — the learning-rate range test (Smith, "Cyclical Learning Rates for Training Neural
 * Networks", 2017; as popularised by fastai): train for a few hundred steps while the learning rate
 * grows exponentially from `startLr` to `endLr`, record the (smoothed) loss at each, stop when it
 * diverges, and suggest the learning rate where the loss falls fastest. The model's weights and
 * the optimizer's state are put back afterwards, so the sweep leaves no trace.
 */
import { writeFileSync } from 'node:fs';
import { checkNumber, checkOptions } from '../check.js';
import { ArgumentError, describe } from '../errors.js';
import { Tensor, keep, tidy } from '../tensor.js';
import { noGrad } from '../autograd/engine.js';
import { lineChart } from '../report/svg.js';
import type { Batch, BatchSource, LossArg, OptimizerLike, TrainableModel } from './types.js';

export interface LrFinderOptions {
  train: BatchSource;
  loss: LossArg;
  optimizer: OptimizerLike;
  startLr?: number;
  endLr?: number;
  steps?: number;
  /** Exponential smoothing of the loss (fastai's 0.98 = beta; here the weight of the new value). */
  smoothing?: number;
  /** Stop once the smoothed loss exceeds this multiple of the best one. */
  divergeThreshold?: number;
}

export interface LrFinderResult {
  lrs: number[];
  losses: number[];
  smoothed: number[];
  /** The learning rate at the steepest descent of the smoothed loss. */
  suggestion: number;
  /** Writes the sweep (loss against log10 learning rate) as an SVG. */
  plot(path: string): string;
}

async function* cycle(src: BatchSource): AsyncGenerator<Batch> {
  for (;;) {
    let any = false;
    if (typeof (src as AsyncIterable<Batch>)[Symbol.asyncIterator] === 'function') {
      for await (const b of src as AsyncIterable<Batch>) { any = true; yield b; }
    } else {
      for (const b of src as Iterable<Batch>) { any = true; yield b; }
    }
    if (!any) throw new ArgumentError('lrFinder: the training data yielded no batches');
  }
}

function cloneDeep(value: unknown): unknown {
  if (value instanceof Tensor) return keep(noGrad(() => value.detach().clone()));
  if (Array.isArray(value)) return value.map(cloneDeep);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, cloneDeep(v)]));
  return value;
}
function disposeDeep(value: unknown): void {
  if (value instanceof Tensor) value.dispose();
  else if (Array.isArray(value)) value.forEach(disposeDeep);
  else if (value && typeof value === 'object') Object.values(value).forEach(disposeDeep);
}

/**
 * Runs the learning-rate range test and suggests a learning rate.
 * @example
 * const r = await lrFinder(model, { train: loader, loss: new nn.CrossEntropyLoss(), optimizer: new optim.SGD(model.parameters(), { lr: 1e-3, momentum: 0.9 }) });
 * r.plot('runs/lr_finder.svg'); console.log(r.suggestion);
 */
export async function lrFinder(model: TrainableModel, options: LrFinderOptions): Promise<LrFinderResult> {
  if (!model || typeof model.forward !== 'function') throw new ArgumentError(`lrFinder: expected an nn.Module, received ${describe(model)}`);
  const o = checkOptions<LrFinderOptions>(options, 'lrFinder', ['train', 'loss', 'optimizer', 'startLr', 'endLr', 'steps', 'smoothing', 'divergeThreshold']);
  const startLr = o.startLr ?? 1e-7, endLr = o.endLr ?? 10, steps = o.steps ?? 100;
  const smoothing = o.smoothing ?? 0.05, diverge = o.divergeThreshold ?? 5;
  if (!(startLr > 0 && endLr > startLr)) throw new ArgumentError(`lrFinder: expected 0 < startLr < endLr, received ${describe(startLr)} and ${describe(endLr)}`);
  checkNumber(steps, 'lrFinder', 'steps', { min: 2, integer: true });
  const opt = o.optimizer;
  if (!opt || typeof opt.step !== 'function' || !Array.isArray(opt.paramGroups)) throw new ArgumentError(`lrFinder: expected an optimizer, received ${describe(opt)}`);
  const lossFn = typeof o.loss === 'function' ? o.loss : (p: Tensor, t: Tensor) => (o.loss as { forward(p: Tensor, t: Tensor): Tensor }).forward(p, t);

  // Snapshot weights and optimizer state, to restore afterwards.
  const weights = cloneDeep(model.stateDict()) as Record<string, Tensor>;
  const optState = opt.stateDict ? cloneDeep(opt.stateDict()) : null;
  const groupLrs = opt.paramGroups.map((g) => g.lr);

  const lrs: number[] = [], losses: number[] = [], smoothed: number[] = [];
  let avg = 0, best = Infinity;
  model.train();
  try {
    const it = cycle(o.train);
    for (let i = 0; i < steps; i++) {
      const lr = startLr * (endLr / startLr) ** (i / (steps - 1));
      for (const g of opt.paramGroups) g.lr = lr;
      const { value } = await it.next();
      const [x, y] = value as Batch;
      const l = tidy(() => {
        opt.zeroGrad();
        const loss = lossFn(model.forward(x), y);
        loss.backward();
        opt.step();
        return loss.item();
      });
      avg = smoothing * l + (1 - smoothing) * avg;
      const s = avg / (1 - (1 - smoothing) ** (i + 1)); // bias-corrected, as fastai
      lrs.push(lr); losses.push(l); smoothed.push(s);
      if (!Number.isFinite(s) || s > diverge * best) break;
      if (s < best) best = s;
    }
  } finally {
    model.loadStateDict(weights);
    disposeDeep(weights);
    if (optState !== null && opt.loadStateDict) { opt.loadStateDict(optState); disposeDeep(optState); }
    opt.paramGroups.forEach((g, i) => (g.lr = groupLrs[i]));
    opt.zeroGrad();
  }
  // Steepest descent of the smoothed loss against log10(lr), ignoring the noisy ends.
  let suggestion = lrs[0];
  const lo = Math.min(5, Math.floor(lrs.length / 10)), hi = Math.max(lo + 1, smoothed.length - 1 - lo);
  let steepest = Infinity;
  for (let i = Math.max(1, lo); i < hi; i++) {
    const slope = (smoothed[i + 1] - smoothed[i - 1]) / (Math.log10(lrs[i + 1]) - Math.log10(lrs[i - 1]));
    if (slope < steepest) { steepest = slope; suggestion = lrs[i]; }
  }
  return {
    lrs, losses, smoothed, suggestion,
    plot(path: string): string {
      const svg = lineChart([{ name: 'loss', values: losses, color: '#bbbbbb' }, { name: 'smoothed loss', values: smoothed }], {
        title: `Learning-rate finder (suggested lr ${suggestion.toExponential(1)})`, xLabel: 'log10(learning rate)', yLabel: 'loss', x: lrs.map((v) => Math.log10(v)),
      });
      writeFileSync(path, svg);
      return svg;
    },
  };
}
