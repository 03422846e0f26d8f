/**
 * config.ts — builds a training run from a JSON config (what `entrena train config.json` reads):
 * dataset, model layers, loss, optimizer, scheduler, callbacks. Every unknown name or option is
 * an error that names it and lists the valid choices.
 *
 * @example
 * { "dataset": { "name": "spirals", "samples": 3000 },
 *   "model": [ { "type": "Linear", "in": 2, "out": 64, "init": "kaimingNormal" }, { "type": "ReLU" },
 *              { "type": "Linear", "in": 64, "out": 3 } ],
 *   "loss": { "type": "CrossEntropyLoss" }, "optimizer": { "type": "Adam", "lr": 0.01 },
 *   "batchSize": 64, "epochs": 30, "metrics": ["accuracy"], "seed": 0 }
 *
 * Your own data: `"dataset": { "csv": { "train": "train.csv", "target": "label" }, "scale": "standard" }`
 * (paths relative to the config file) or `"dataset": { "idx": { "trainImages": …, "trainLabels": … } }`;
 * reading, splitting and preprocessing them is tabular.ts's. The task (classification or
 * regression) follows from the target column; `model`, `loss` and `optimizer` may then be left
 * out, and a first Linear without `in` / a last Linear without `out` are sized from the data
 * (`resolveForData`). See docs/cli.md.
 */
import { ArgumentError, describe } from '../errors.js';
import { isOwnData, ownData, type OwnDatasetSpec, type Preprocess, type Task } from './tabular.js';
import * as nn from '../nn/index.js';
import * as optim from '../optim/index.js';
import * as data from '../data/index.js';
import { callbacks as cbs, type History } from '../train/index.js';
import type { Tensor } from '../tensor.js';
import type { Callback } from '../train/callbacks.js';
import type { MetricName } from '../train/metrics.js';

export interface RunConfig {
  name?: string;
  /** A built-in dataset `{ name, ... }`, or the user's data `{ csv: {...} }` / `{ idx: {...} }` (tabular.ts, docs/cli.md). */
  dataset: { name?: string; [k: string]: unknown } & Partial<OwnDatasetSpec>;
  model: { type: string; [k: string]: unknown }[];
  loss: { type: string; [k: string]: unknown };
  optimizer: { type: string; [k: string]: unknown };
  scheduler?: { type: string; [k: string]: unknown };
  callbacks?: { type: string; [k: string]: unknown }[];
  batchSize?: number;
  epochs?: number;
  metrics?: MetricName[];
  seed?: number;
  clipGradNorm?: number;
}

function fail(where: string, what: string, got: unknown, choices: string[]): never {
  throw new ArgumentError(`${where}: unknown ${what} ${describe(got)}; valid choices: ${choices.join(', ')}`);
}

/** Picks the allowed keys, rejecting unknown ones with the list of valid keys. */
function options(where: string, spec: Record<string, unknown>, allowed: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(spec)) {
    if (k === 'type') continue;
    if (!allowed.includes(k)) throw new ArgumentError(`${where}: unknown option '${k}'; valid options: ${allowed.length ? allowed.join(', ') : '(none)'}`);
    out[k] = v;
  }
  return out;
}

const INITS: Record<string, (t: Tensor) => unknown> = {
  kaimingNormal: (t) => nn.init.kaimingNormal(t, { nonlinearity: 'relu' }),
  kaimingUniform: (t) => nn.init.kaimingUniform(t, { nonlinearity: 'relu' }),
  xavierNormal: (t) => nn.init.xavierNormal(t),
  xavierUniform: (t) => nn.init.xavierUniform(t),
  lecunNormal: (t) => nn.init.lecunNormal(t),
  lecunUniform: (t) => nn.init.lecunUniform(t),
  orthogonal: (t) => nn.init.orthogonal(t),
  normal: (t) => nn.init.normal(t, 0, 1),
  zeros: (t) => nn.init.zeros(t),
  default: () => undefined,
};

type LayerFactory = (o: Record<string, unknown>, where: string) => nn.Module;
const LAYERS: Record<string, { options: string[]; make: LayerFactory }> = {
  Linear: {
    options: ['in', 'out', 'bias', 'init'],
    make: (o, where) => {
      const l = new nn.Linear(o.in as number, o.out as number, { bias: (o.bias as boolean | undefined) ?? true });
      if (o.init !== undefined) {
        const f = INITS[o.init as string] ?? fail(where, 'init', o.init, Object.keys(INITS));
        f((l as unknown as { weight: Tensor }).weight);
        const bias = (l as unknown as { bias: Tensor | null }).bias;
        if (bias && o.init !== 'default') nn.init.zeros(bias);
      }
      return l;
    },
  },
  BatchNorm1d: { options: ['features', 'eps', 'momentum', 'affine'], make: (o) => new nn.BatchNorm1d(o.features as number, { eps: o.eps as number | undefined, momentum: o.momentum as number | undefined, affine: o.affine as boolean | undefined }) },
  LayerNorm: { options: ['shape', 'eps'], make: (o) => new nn.LayerNorm(o.shape as number, { eps: o.eps as number | undefined }) },
  Dropout: { options: ['p'], make: (o) => new nn.Dropout((o.p as number | undefined) ?? 0.5) },
  AlphaDropout: { options: ['p'], make: (o) => new nn.AlphaDropout((o.p as number | undefined) ?? 0.5) },
  Flatten: { options: [], make: () => new nn.Flatten() },
  Identity: { options: [], make: () => new nn.Identity() },
  ReLU: { options: [], make: () => new nn.ReLU() },
  LeakyReLU: { options: ['negativeSlope'], make: (o) => new nn.LeakyReLU(o as never) },
  PReLU: { options: ['numParameters', 'init'], make: (o) => new nn.PReLU(o as never) },
  RReLU: { options: ['lower', 'upper'], make: (o) => new nn.RReLU(o as never) },
  ELU: { options: ['alpha'], make: (o) => new nn.ELU(o as never) },
  SELU: { options: [], make: () => new nn.SELU() },
  GELU: { options: ['approximate'], make: (o) => new nn.GELU(o as never) },
  SiLU: { options: [], make: () => new nn.SiLU() },
  Mish: { options: [], make: () => new nn.Mish() },
  Sigmoid: { options: [], make: () => new nn.Sigmoid() },
  Tanh: { options: [], make: () => new nn.Tanh() },
  Softplus: { options: ['beta', 'threshold'], make: (o) => new nn.Softplus(o as never) },
};

/** The model as an nn.Sequential of the config's layers. */
export function buildModel(layers: RunConfig['model']): nn.Sequential {
  if (!Array.isArray(layers) || layers.length === 0) throw new ArgumentError(`config.model: expected a non-empty array of layers, received ${describe(layers)}`);
  return new nn.Sequential(...layers.map((spec, i) => {
    const where = `config.model[${i}]`;
    if (!spec || typeof spec.type !== 'string') throw new ArgumentError(`${where}: expected { "type": ... }, received ${describe(spec)}`);
    const f = LAYERS[spec.type] ?? fail(where, 'layer type', spec.type, Object.keys(LAYERS));
    return f.make(options(`${where} (${spec.type})`, spec, f.options), where);
  }));
}

const LOSSES: Record<string, { options: string[]; make: (o: Record<string, unknown>) => nn.Loss }> = {
  CrossEntropyLoss: { options: ['labelSmoothing', 'reduction'], make: (o) => new nn.CrossEntropyLoss(o as never) },
  MSELoss: { options: ['reduction'], make: (o) => new nn.MSELoss(o as never) },
  L1Loss: { options: ['reduction'], make: (o) => new nn.L1Loss(o as never) },
  HuberLoss: { options: ['delta', 'reduction'], make: (o) => new nn.HuberLoss(o as never) },
  MAPELoss: { options: ['reduction'], make: (o) => new nn.MAPELoss(o as never) },
  BCEWithLogitsLoss: { options: ['reduction'], make: (o) => new nn.BCEWithLogitsLoss(o as never) },
  NLLLoss: { options: ['reduction'], make: (o) => new nn.NLLLoss(o as never) },
};
export function buildLoss(spec: RunConfig['loss']): nn.Loss {
  if (!spec || typeof spec.type !== 'string') throw new ArgumentError(`config.loss: expected { "type": ... }, received ${describe(spec)}`);
  const f = LOSSES[spec.type] ?? fail('config.loss', 'loss', spec.type, Object.keys(LOSSES));
  return f.make(options(`config.loss (${spec.type})`, spec, f.options));
}

const OPTIMIZERS: Record<string, { options: string[]; make: (p: Tensor[], o: Record<string, unknown>) => optim.Optimizer }> = {
  SGD: { options: ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov'], make: (p, o) => new optim.SGD(p, o as never) },
  Adam: { options: ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad'], make: (p, o) => new optim.Adam(p, o as never) },
  AdamW: { options: ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad'], make: (p, o) => new optim.AdamW(p, o as never) },
  Adagrad: { options: ['lr', 'lrDecay', 'weightDecay', 'initialAccumulatorValue', 'eps'], make: (p, o) => new optim.Adagrad(p, o as never) },
  RMSprop: { options: ['lr', 'alpha', 'eps', 'weightDecay', 'momentum', 'centered'], make: (p, o) => new optim.RMSprop(p, o as never) },
  Adamax: { options: ['lr', 'betas', 'eps', 'weightDecay'], make: (p, o) => new optim.Adamax(p, o as never) },
  NAdam: { options: ['lr', 'betas', 'eps', 'weightDecay', 'momentumDecay'], make: (p, o) => new optim.NAdam(p, o as never) },
};
export function buildOptimizer(spec: RunConfig['optimizer'], params: Tensor[]): optim.Optimizer {
  if (!spec || typeof spec.type !== 'string') throw new ArgumentError(`config.optimizer: expected { "type": ... }, received ${describe(spec)}`);
  const f = OPTIMIZERS[spec.type] ?? fail('config.optimizer', 'optimizer', spec.type, Object.keys(OPTIMIZERS));
  return f.make(params, options(`config.optimizer (${spec.type})`, spec, f.options));
}

const S = optim.lrScheduler;
const SCHEDULERS: Record<string, { options: string[]; make: (o: optim.Optimizer, x: Record<string, unknown>, stepsPerEpoch: number, epochs: number) => { step(m?: number): void } }> = {
  StepLR: { options: ['stepSize', 'gamma'], make: (o, x) => new S.StepLR(o, x as never) },
  MultiStepLR: { options: ['milestones', 'gamma'], make: (o, x) => new S.MultiStepLR(o, x as never) },
  ExponentialLR: { options: ['gamma'], make: (o, x) => new S.ExponentialLR(o, x as never) },
  CosineAnnealingLR: { options: ['tMax', 'etaMin'], make: (o, x, _s, e) => new S.CosineAnnealingLR(o, { tMax: e, ...x } as never) },
  OneCycleLR: { options: ['maxLr', 'pctStart', 'annealStrategy', 'divFactor', 'finalDivFactor'], make: (o, x, s, e) => new S.OneCycleLR(o, { totalSteps: s * e, ...x } as never) },
  LinearLR: { options: ['startFactor', 'endFactor', 'totalIters'], make: (o, x) => new S.LinearLR(o, x as never) },
  ReduceLROnPlateau: { options: ['mode', 'factor', 'patience', 'threshold', 'cooldown', 'minLr', 'monitor'], make: (o, x) => new S.ReduceLROnPlateau(o, x as never) },
};
export function buildScheduler(spec: RunConfig['scheduler'], opt: optim.Optimizer, stepsPerEpoch: number, epochs: number) {
  if (!spec) return undefined;
  if (typeof spec.type !== 'string') throw new ArgumentError(`config.scheduler: expected { "type": ... }, received ${describe(spec)}`);
  const f = SCHEDULERS[spec.type] ?? fail('config.scheduler', 'scheduler', spec.type, Object.keys(SCHEDULERS));
  return f.make(opt, options(`config.scheduler (${spec.type})`, spec, f.options), stepsPerEpoch, epochs);
}

const CALLBACKS: Record<string, { options: string[]; make: (o: Record<string, unknown>, outDir: string) => Callback }> = {
  EarlyStopping: { options: ['monitor', 'patience', 'minDelta', 'restoreBestWeights', 'mode'], make: (o) => new cbs.EarlyStopping(o as never) },
  TerminateOnNaN: { options: [], make: () => new cbs.TerminateOnNaN() },
  GradientMonitor: { options: [], make: () => new cbs.GradientMonitor() },
  CSVLogger: { options: ['path'], make: (o, out) => new cbs.CSVLogger((o.path as string | undefined) ?? `${out}/log.csv`) },
  ModelCheckpoint: { options: ['path', 'monitor', 'saveBestOnly'], make: (o, out) => new cbs.ModelCheckpoint({ path: `${out}/best.safetensors`, saveBestOnly: true, ...o } as never) },
};
export function buildCallbacks(list: RunConfig['callbacks'], outDir: string): Callback[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new ArgumentError(`config.callbacks: expected an array, received ${describe(list)}`);
  return list.map((spec, i) => {
    const where = `config.callbacks[${i}]`;
    if (!spec || typeof spec.type !== 'string') throw new ArgumentError(`${where}: expected { "type": ... }, received ${describe(spec)}`);
    const f = CALLBACKS[spec.type] ?? fail(where, 'callback', spec.type, Object.keys(CALLBACKS));
    return f.make(options(`${where} (${spec.type})`, spec, f.options), outDir);
  });
}

export interface Splits {
  train: data.TensorDataset; validation?: data.TensorDataset; test?: data.TensorDataset; classes?: string[];
  /** For the user's data (csv / idx): the fitted preprocessing, saved with the run as preprocess.json. */
  preprocess?: Preprocess;
  task?: Task;
}

const FASHION = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/**
 * Loads and splits the dataset a config names ('spirals' or 'fashionMnist'), or the user's data
 * (`csv` / `idx`, relative paths resolved against `baseDir`, the config file's folder).
 */
export function buildData(spec: RunConfig['dataset'], dataDir?: string, seed = 0, baseDir = '.'): Splits {
  if (isOwnData(spec)) return ownData(spec as OwnDatasetSpec, baseDir, seed);
  if (!spec || typeof spec.name !== 'string') throw new ArgumentError(`config.dataset: expected { "name": ... }, { "csv": { ... } } or { "idx": { ... } }, received ${describe(spec)}`);
  const valFrac = (spec.validationSplit as number | undefined) ?? 0.1;
  if (spec.name === 'spirals') {
    const o = options('config.dataset (spirals)', { ...spec, name: undefined }, ['name', 'samples', 'classes', 'noise', 'validationSplit', 'testSplit', 'seed']);
    const { x, y } = data.datasets.spirals({ samples: o.samples as number | undefined, classes: o.classes as number | undefined, noise: o.noise as number | undefined, seed: (o.seed as number | undefined) ?? seed });
    const testFrac = (spec.testSplit as number | undefined) ?? 0.1;
    const [train, validation, test] = data.randomSplit(new data.TensorDataset(x, y), [1 - valFrac - testFrac, valFrac, testFrac], { seed });
    return { train, validation, test };
  }
  if (spec.name === 'fashionMnist') {
    const o = options('config.dataset (fashionMnist)', { ...spec, name: undefined }, ['name', 'dir', 'validationSplit', 'limit']);
    const fm = data.datasets.fashionMnist({ dir: dataDir ?? (o.dir as string | undefined) });
    const full = new data.TensorDataset(fm.train.x, fm.train.y);
    const [train, validation] = data.randomSplit(full, [1 - valFrac, valFrac], { seed });
    return { train, validation, test: new data.TensorDataset(fm.test.x, fm.test.y), classes: FASHION };
  }
  return fail('config.dataset', 'dataset', spec.name, ['spirals', 'fashionMnist', '{ "csv": … }', '{ "idx": … }']);
}

/** Checks the top-level keys of a config. */
export function checkConfig(c: unknown): RunConfig {
  if (!c || typeof c !== 'object' || Array.isArray(c)) throw new ArgumentError(`config: expected a JSON object, received ${describe(c)}`);
  const allowed = ['name', 'dataset', 'model', 'loss', 'optimizer', 'scheduler', 'callbacks', 'batchSize', 'epochs', 'metrics', 'seed', 'clipGradNorm', 'description'];
  for (const k of Object.keys(c)) if (!allowed.includes(k)) throw new ArgumentError(`config: unknown key '${k}'; valid keys: ${allowed.join(', ')}`);
  // For the user's data (csv / idx) model, loss and optimizer have defaults (tabular.ts resolveForData).
  const required = isOwnData((c as { dataset?: unknown }).dataset) ? ['dataset'] : ['dataset', 'model', 'loss', 'optimizer'];
  for (const k of required) if (!(k in c)) throw new ArgumentError(`config: missing '${k}'`);
  return c as RunConfig;
}

/** The built-in default run of `entrena train` / `npm start`: a small MLP on the spirals data. */
export const DEFAULT_CONFIG: RunConfig = {
  name: 'spirals',
  dataset: { name: 'spirals', samples: 3000, classes: 3, noise: 0.2, validationSplit: 0.15, testSplit: 0.15 },
  model: [
    { type: 'Linear', in: 2, out: 64, init: 'kaimingNormal' }, { type: 'BatchNorm1d', features: 64 }, { type: 'ReLU' },
    { type: 'Linear', in: 64, out: 64, init: 'kaimingNormal' }, { type: 'BatchNorm1d', features: 64 }, { type: 'ReLU' },
    { type: 'Linear', in: 64, out: 3 },
  ],
  loss: { type: 'CrossEntropyLoss' },
  optimizer: { type: 'Adam', lr: 0.01 },
  scheduler: { type: 'CosineAnnealingLR' },
  callbacks: [{ type: 'EarlyStopping', patience: 10, restoreBestWeights: true }, { type: 'GradientMonitor' }],
  batchSize: 64,
  epochs: 40,
  metrics: ['accuracy'],
  seed: 0,
};

export type { History };
