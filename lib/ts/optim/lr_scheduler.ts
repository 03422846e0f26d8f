/**
 * lr_scheduler.ts — learning-rate schedules with PyTorch's step-by-step values
 * (torch.optim.lr_scheduler, 1.13+). Each scheduler writes `optimizer.paramGroups[i].lr`.
 *
 * As in PyTorch, constructing a scheduler records each group's `initialLr` and performs the first
 * step (epoch 0); call `step()` once per epoch after the optimizer's steps (OneCycleLR: once per
 * batch — its `interval` is 'batch', and `fit` steps it so). Schedules are computed in closed form
 * from the base learning rates (PyTorch's chainable recursive forms give the same values up to
 * rounding when a scheduler is used alone).
 */
import { checkNumber, checkOptions, checkPositiveInt } from '../check.js';
import { ArgumentError, describe } from '../errors.js';

export interface ParamGroupLike { lr: number; initialLr?: number; momentum?: number; betas?: [number, number]; [k: string]: unknown }
export interface OptimizerWithGroups { paramGroups: ParamGroupLike[] }

function checkOptimizer(o: unknown, where: string): OptimizerWithGroups {
  const opt = o as OptimizerWithGroups;
  if (!opt || !Array.isArray(opt.paramGroups) || opt.paramGroups.length === 0)
    throw new ArgumentError(`${where}: expected an optimizer (with paramGroups), received ${describe(o)}`);
  return opt;
}

/** Base class: holds the optimizer, base learning rates and the epoch counter. */
export abstract class LRScheduler {
  readonly optimizer: OptimizerWithGroups;
  readonly baseLrs: number[];
  lastEpoch = -1;
  interval: 'batch' | 'epoch' = 'epoch';
  protected lastLr: number[] = [];

  constructor(optimizer: OptimizerWithGroups, where: string) {
    this.optimizer = checkOptimizer(optimizer, where);
    for (const g of this.optimizer.paramGroups) if (g.initialLr === undefined) g.initialLr = g.lr;
    this.baseLrs = this.optimizer.paramGroups.map((g) => g.initialLr as number);
  }
  /** Learning rates at epoch `e` (closed form). */
  abstract lrAt(e: number): number[];
  /** Advances one epoch (or one batch for OneCycleLR) and writes the new learning rates. */
  step(): void {
    this.lastEpoch++;
    this.apply(this.lrAt(this.lastEpoch));
  }
  protected apply(lrs: number[]): void {
    this.optimizer.paramGroups.forEach((g, i) => (g.lr = lrs[i]));
    this.lastLr = lrs.slice();
  }
  /** The learning rates written by the last step. */
  getLastLr(): number[] {
    return this.lastLr.slice();
  }
  stateDict(): Record<string, unknown> {
    return { lastEpoch: this.lastEpoch, baseLrs: this.baseLrs.slice(), lastLr: this.lastLr.slice() };
  }
  loadStateDict(sd: Record<string, unknown>): void {
    this.lastEpoch = sd.lastEpoch as number;
    this.lastLr = (sd.lastLr as number[]).slice();
    (sd.baseLrs as number[]).forEach((v, i) => (this.baseLrs[i] = v));
  }
  /** @internal Performs PyTorch's initial step. */
  protected init(): void {
    this.step();
  }
}

/** lr = base · gamma^⌊epoch / stepSize⌋. @example new StepLR(opt, { stepSize: 30, gamma: 0.1 }) */
export class StepLR extends LRScheduler {
  /** Epochs between two decays. */ readonly stepSize: number;
  /** The factor of each decay (default 0.1). */ readonly gamma: number;
  constructor(optimizer: OptimizerWithGroups, options: { stepSize: number; gamma?: number }) {
    super(optimizer, 'StepLR');
    options = checkOptions<typeof options>(options, 'StepLR', ['stepSize', 'gamma']);
    this.stepSize = checkPositiveInt(options?.stepSize, 'StepLR', 'stepSize');
    this.gamma = options.gamma ?? 0.1;
    this.init();
  }
  lrAt(e: number): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(e / this.stepSize));
  }
}

/** lr = base · gamma^(number of milestones ≤ epoch). @example new MultiStepLR(opt, { milestones: [30, 80] }) */
export class MultiStepLR extends LRScheduler {
  readonly milestones: number[];
  readonly gamma: number;
  constructor(optimizer: OptimizerWithGroups, options: { milestones: number[]; gamma?: number }) {
    super(optimizer, 'MultiStepLR');
    options = checkOptions<typeof options>(options, 'MultiStepLR', ['milestones', 'gamma']);
    if (!Array.isArray(options?.milestones) || options.milestones.some((m) => !Number.isInteger(m)))
      throw new ArgumentError(`MultiStepLR: expected milestones to be an array of integers, received ${describe(options?.milestones)}`);
    this.milestones = options.milestones.slice().sort((a, b) => a - b);
    this.gamma = options.gamma ?? 0.1;
    this.init();
  }
  lrAt(e: number): number[] {
    const passed = this.milestones.filter((m) => m <= e).length;
    return this.baseLrs.map((b) => b * this.gamma ** passed);
  }
}

/** lr = base · gamma^epoch. @example new ExponentialLR(opt, { gamma: 0.95 }) */
export class ExponentialLR extends LRScheduler {
  readonly gamma: number;
  constructor(optimizer: OptimizerWithGroups, options: { gamma: number }) {
    super(optimizer, 'ExponentialLR');
    options = checkOptions<typeof options>(options, 'ExponentialLR', ['gamma']);
    this.gamma = checkNumber(options?.gamma, 'ExponentialLR', 'gamma', { min: 0, minExclusive: true });
    this.init();
  }
  lrAt(e: number): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** e);
  }
}

/**
 * Cosine annealing from base to etaMin over tMax epochs (Loshchilov & Hutter, SGDR, 2017):
 * lr = etaMin + (base − etaMin)(1 + cos(π·epoch/tMax))/2.
 * @example new CosineAnnealingLR(opt, { tMax: 50 })
 */
export class CosineAnnealingLR extends LRScheduler {
  /** Epochs from the base rate down to `etaMin` (half a cosine period). */
  readonly tMax: number;
  /** The rate reached at epoch `tMax` (default 0). */
  readonly etaMin: number;
  constructor(optimizer: OptimizerWithGroups, options: { tMax: number; etaMin?: number }) {
    options = checkOptions<typeof options>(options, 'CosineAnnealingLR', ['tMax', 'etaMin']);
    super(optimizer, 'CosineAnnealingLR');
    this.tMax = checkPositiveInt(options?.tMax, 'CosineAnnealingLR', 'tMax');
    // A learning rate floor that is not a finite number would turn every rate into NaN.
    this.etaMin = checkNumber(options.etaMin ?? 0, 'CosineAnnealingLR', 'etaMin', { finite: true });
    this.init();
  }
  lrAt(e: number): number[] {
    // The cosine's share of the distance from etaMin to each base rate: 1 at epoch 0, 0 at tMax.
    const share = (1 + Math.cos((Math.PI * e) / this.tMax)) / 2;
    return this.baseLrs.map((b) => this.etaMin + (b - this.etaMin) * share);
  }
}

/**
 * Linear warm-up (or decay) of a multiplicative factor from startFactor to endFactor over totalIters.
 * @example new LinearLR(opt, { startFactor: 0.1, totalIters: 5 })
 */
export class LinearLR extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;
  constructor(optimizer: OptimizerWithGroups, options: { startFactor?: number; endFactor?: number; totalIters?: number } = {}) {
    super(optimizer, 'LinearLR');
    options = checkOptions<typeof options>(options, 'LinearLR', ['startFactor', 'endFactor', 'totalIters']);
    this.startFactor = options.startFactor ?? 1 / 3;
    this.endFactor = options.endFactor ?? 1;
    this.totalIters = options.totalIters ?? 5;
    if (!(this.startFactor > 0 && this.startFactor <= 1)) throw new ArgumentError(`LinearLR: expected startFactor in (0, 1], received ${describe(options.startFactor)}`);
    if (!(this.endFactor >= 0 && this.endFactor <= 1)) throw new ArgumentError(`LinearLR: expected endFactor in [0, 1], received ${describe(options.endFactor)}`);
    checkPositiveInt(this.totalIters, 'LinearLR', 'totalIters');
    this.init();
  }
  lrAt(e: number): number[] {
    const f = this.startFactor + ((this.endFactor - this.startFactor) * Math.min(this.totalIters, e)) / this.totalIters;
    return this.baseLrs.map((b) => b * f);
  }
}

/** lr = base · lrLambda(epoch) (one function, or one per group). @example new LambdaLR(opt, { lrLambda: (e) => 0.95 ** e }) */
export class LambdaLR extends LRScheduler {
  readonly lambdas: ((e: number) => number)[];
  constructor(optimizer: OptimizerWithGroups, options: { lrLambda: ((e: number) => number) | ((e: number) => number)[] }) {
    super(optimizer, 'LambdaLR');
    options = checkOptions<typeof options>(options, 'LambdaLR', ['lrLambda']);
    const l = options?.lrLambda;
    const list = Array.isArray(l) ? l : this.optimizer.paramGroups.map(() => l);
    if (list.length !== this.optimizer.paramGroups.length || list.some((f) => typeof f !== 'function'))
      throw new ArgumentError(`LambdaLR: expected lrLambda to be a function or one function per parameter group, received ${describe(l)}`);
    this.lambdas = list as ((e: number) => number)[];
    this.init();
  }
  lrAt(e: number): number[] {
    return this.baseLrs.map((b, i) => b * this.lambdas[i](e));
  }
}

/**
 * The 1cycle policy (Smith & Topin 2018), stepped after every batch: warm up from maxLr/divFactor
 * to maxLr over pctStart of the steps, then anneal to maxLr/(divFactor·finalDivFactor); momentum
 * (SGD's momentum or Adam's beta1) cycles inversely between maxMomentum and baseMomentum.
 * @example new OneCycleLR(opt, { maxLr: 0.01, totalSteps: epochs * loader.length })
 */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  private readonly phases: { end: number; lr: [string, string]; mom: [string, string] }[];
  private readonly groupsInfo: { initialLr: number; maxLr: number; minLr: number; maxMomentum: number; baseMomentum: number }[];
  readonly anneal: (start: number, end: number, pct: number) => number;
  readonly cycleMomentum: boolean;
  constructor(optimizer: OptimizerWithGroups, options: {
    maxLr: number | number[]; totalSteps?: number; epochs?: number; stepsPerEpoch?: number; pctStart?: number;
    annealStrategy?: 'cos' | 'linear'; cycleMomentum?: boolean; baseMomentum?: number; maxMomentum?: number;
    divFactor?: number; finalDivFactor?: number; threePhase?: boolean;
  }) {
    const opt = checkOptimizer(optimizer, 'OneCycleLR');
    options = checkOptions<typeof options>(options, 'OneCycleLR', ['maxLr', 'totalSteps', 'epochs', 'stepsPerEpoch', 'pctStart', 'annealStrategy', 'cycleMomentum', 'baseMomentum', 'maxMomentum', 'divFactor', 'finalDivFactor', 'threePhase']);
    const o = options ?? ({} as never);
    const total = o.totalSteps ?? (o.epochs !== undefined && o.stepsPerEpoch !== undefined ? o.epochs * o.stepsPerEpoch : undefined);
    if (total === undefined) throw new ArgumentError('OneCycleLR: expected totalSteps, or epochs and stepsPerEpoch');
    checkPositiveInt(total, 'OneCycleLR', 'totalSteps');
    const pct = o.pctStart ?? 0.3;
    if (!(pct >= 0 && pct <= 1)) throw new ArgumentError(`OneCycleLR: expected pctStart in [0, 1], received ${describe(o.pctStart)}`);
    const div = o.divFactor ?? 25, finalDiv = o.finalDivFactor ?? 1e4;
    const maxLrs = Array.isArray(o.maxLr) ? o.maxLr : opt.paramGroups.map(() => o.maxLr as number);
    if (maxLrs.length !== opt.paramGroups.length || maxLrs.some((x) => typeof x !== 'number' || !(x > 0)))
      throw new ArgumentError(`OneCycleLR: expected maxLr to be a positive number or one per group, received ${describe(o.maxLr)}`);
    // As PyTorch: the groups' lr is set to initial_lr before the base class records it.
    opt.paramGroups.forEach((g, i) => { g.lr = maxLrs[i] / div; g.initialLr = g.lr; });
    super(opt, 'OneCycleLR');
    this.interval = 'batch';
    this.totalSteps = total;
    this.cycleMomentum = o.cycleMomentum ?? true;
    const baseM = o.baseMomentum ?? 0.85, maxM = o.maxMomentum ?? 0.95;
    this.groupsInfo = opt.paramGroups.map((g, i) => ({ initialLr: maxLrs[i] / div, maxLr: maxLrs[i], minLr: maxLrs[i] / div / finalDiv, maxMomentum: maxM, baseMomentum: baseM }));
    if (this.cycleMomentum) {
      for (const g of opt.paramGroups) {
        if (g.betas) g.betas = [maxM, g.betas[1]];
        else if (g.momentum !== undefined) g.momentum = maxM;
        else throw new ArgumentError('OneCycleLR: cycleMomentum needs an optimizer with momentum or betas (pass cycleMomentum: false)');
      }
    }
    this.phases = o.threePhase
      ? [
          { end: pct * total - 1, lr: ['initialLr', 'maxLr'], mom: ['maxMomentum', 'baseMomentum'] },
          { end: 2 * pct * total - 2, lr: ['maxLr', 'initialLr'], mom: ['baseMomentum', 'maxMomentum'] },
          { end: total - 1, lr: ['initialLr', 'minLr'], mom: ['maxMomentum', 'maxMomentum'] },
        ]
      : [
          { end: pct * total - 1, lr: ['initialLr', 'maxLr'], mom: ['maxMomentum', 'baseMomentum'] },
          { end: total - 1, lr: ['maxLr', 'minLr'], mom: ['baseMomentum', 'maxMomentum'] },
        ];
    const strategy = o.annealStrategy ?? 'cos';
    if (strategy !== 'cos' && strategy !== 'linear') throw new ArgumentError(`OneCycleLR: expected annealStrategy 'cos' or 'linear', received ${describe(strategy)}`);
    this.anneal = strategy === 'cos'
      ? (s, e, p) => e + ((s - e) / 2) * (Math.cos(Math.PI * p) + 1)
      : (s, e, p) => (e - s) * p + s;
    this.init();
  }
  private values(step: number): { lrs: number[]; moms: number[] } {
    if (step > this.totalSteps) throw new ArgumentError(`OneCycleLR: stepped ${step} times, more than totalSteps = ${this.totalSteps}`);
    const lrs: number[] = [], moms: number[] = [];
    for (const info of this.groupsInfo) {
      let start = 0;
      for (let i = 0; i < this.phases.length; i++) {
        const ph = this.phases[i];
        if (step <= ph.end || i === this.phases.length - 1) {
          const p = (step - start) / (ph.end - start);
          const rec = info as unknown as Record<string, number>;
          lrs.push(this.anneal(rec[ph.lr[0]], rec[ph.lr[1]], p));
          moms.push(this.anneal(rec[ph.mom[0]], rec[ph.mom[1]], p));
          break;
        }
        start = ph.end;
      }
    }
    return { lrs, moms };
  }
  lrAt(e: number): number[] {
    return this.values(e).lrs;
  }
  override step(): void {
    this.lastEpoch++;
    const { lrs, moms } = this.values(this.lastEpoch);
    this.apply(lrs);
    if (this.cycleMomentum)
      this.optimizer.paramGroups.forEach((g, i) => {
        if (g.betas) g.betas = [moms[i], g.betas[1]];
        else g.momentum = moms[i];
      });
  }
}

/**
 * Runs schedulers one after another, switching at the given epochs (each restarts at its epoch 0).
 * @example new SequentialLR(opt, { schedulers: [warmup, cosine], milestones: [5] })
 */
export class SequentialLR extends LRScheduler {
  readonly schedulers: LRScheduler[];
  readonly milestones: number[];
  constructor(optimizer: OptimizerWithGroups, options: { schedulers: LRScheduler[]; milestones: number[] }) {
    super(optimizer, 'SequentialLR');
    options = checkOptions<typeof options>(options, 'SequentialLR', ['schedulers', 'milestones']);
    const s = options?.schedulers, m = options?.milestones;
    if (!Array.isArray(s) || s.length === 0 || s.some((x) => !(x instanceof LRScheduler))) throw new ArgumentError(`SequentialLR: expected schedulers to be a non-empty array of schedulers, received ${describe(s)}`);
    if (!Array.isArray(m) || m.length !== s.length - 1) throw new ArgumentError(`SequentialLR: expected ${s.length - 1} milestones for ${s.length} schedulers, received ${describe(m)}`);
    if (s.some((x) => x.optimizer !== optimizer)) throw new ArgumentError('SequentialLR: every scheduler must drive the same optimizer');
    this.schedulers = s;
    this.milestones = m.slice();
    this.init();
  }
  lrAt(e: number): number[] {
    let idx = 0;
    while (idx < this.milestones.length && this.milestones[idx] <= e) idx++;
    const local = idx === 0 ? e : e - this.milestones[idx - 1];
    return this.schedulers[idx].lrAt(local);
  }
}

/**
 * Reduces the learning rate by `factor` when a monitored value stops improving for `patience`
 * epochs (PyTorch's ReduceLROnPlateau, relative or absolute threshold, cooldown, minLr).
 * `step(value)` takes the monitored value; `fit` passes the one named by `monitor` (default 'valLoss').
 * @example new ReduceLROnPlateau(opt, { factor: 0.5, patience: 3 })
 */
export class ReduceLROnPlateau {
  readonly optimizer: OptimizerWithGroups;
  interval: 'epoch' = 'epoch';
  readonly monitor: string;
  readonly mode: 'min' | 'max';
  readonly factor: number;
  readonly patience: number;
  readonly threshold: number;
  readonly thresholdMode: 'rel' | 'abs';
  readonly cooldown: number;
  readonly minLrs: number[];
  readonly eps: number;
  best: number;
  numBadEpochs = 0;
  cooldownCounter = 0;
  lastEpoch = 0;
  constructor(optimizer: OptimizerWithGroups, options: {
    mode?: 'min' | 'max'; factor?: number; patience?: number; threshold?: number; thresholdMode?: 'rel' | 'abs';
    cooldown?: number; minLr?: number | number[]; eps?: number; monitor?: string;
  } = {}) {
    this.optimizer = checkOptimizer(optimizer, 'ReduceLROnPlateau');
    options = checkOptions<typeof options>(options, 'ReduceLROnPlateau', ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps', 'monitor']);
    this.mode = options.mode ?? 'min';
    if (this.mode !== 'min' && this.mode !== 'max') throw new ArgumentError(`ReduceLROnPlateau: expected mode 'min' or 'max', received ${describe(options.mode)}`);
    this.factor = options.factor ?? 0.1;
    checkNumber(this.factor, 'ReduceLROnPlateau', 'factor', { min: 0, max: 1, maxExclusive: true });
    this.patience = options.patience ?? 10;
    this.threshold = options.threshold ?? 1e-4;
    this.thresholdMode = options.thresholdMode ?? 'rel';
    this.cooldown = options.cooldown ?? 0;
    const minLr = options.minLr ?? 0;
    this.minLrs = Array.isArray(minLr) ? minLr.slice() : this.optimizer.paramGroups.map(() => minLr);
    this.eps = options.eps ?? 1e-8;
    this.monitor = options.monitor ?? 'valLoss';
    this.best = this.mode === 'min' ? Infinity : -Infinity;
  }
  private isBetter(a: number, best: number): boolean {
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < best * (1 - this.threshold) : a < best - this.threshold;
    return this.thresholdMode === 'rel' ? a > best * (this.threshold + 1) : a > best + this.threshold;
  }
  /** Records the epoch's monitored value and reduces the learning rate when it has plateaued. */
  step(metric?: number): void {
    if (typeof metric !== 'number') throw new ArgumentError(`ReduceLROnPlateau.step: expected the monitored value (a number), received ${describe(metric)}`);
    this.lastEpoch++;
    if (this.isBetter(metric, this.best)) { this.best = metric; this.numBadEpochs = 0; }
    else this.numBadEpochs++;
    if (this.cooldownCounter > 0) { this.cooldownCounter--; this.numBadEpochs = 0; }
    if (this.numBadEpochs > this.patience) {
      this.optimizer.paramGroups.forEach((g, i) => {
        const next = Math.max(g.lr * this.factor, this.minLrs[i]);
        if (g.lr - next > this.eps) g.lr = next;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
  }
  getLastLr(): number[] {
    return this.optimizer.paramGroups.map((g) => g.lr);
  }
  stateDict(): Record<string, unknown> {
    return { best: this.best, numBadEpochs: this.numBadEpochs, cooldownCounter: this.cooldownCounter, lastEpoch: this.lastEpoch };
  }
  loadStateDict(sd: Record<string, unknown>): void {
    this.best = sd.best as number;
    this.numBadEpochs = sd.numBadEpochs as number;
    this.cooldownCounter = sd.cooldownCounter as number;
    this.lastEpoch = sd.lastEpoch as number;
  }
}
