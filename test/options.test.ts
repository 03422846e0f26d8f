// options.test.ts — every public function and constructor that takes an options object rejects an
// unknown key with ERR_INVALID_ARGUMENT naming the key and the valid ones (a Keras user's
// `fit(model, { ..., verbose: 0 })` must not be silently ignored), and still accepts its valid
// options. One table: [name, (extra) => the call with `extra` merged into its options].
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../lib/ts/index.js';

const { nn, data, optim, callbacks, metrics, tune, ensemble, io } = E;
const sched = optim.lrScheduler;
const dir = mkdtempSync(join(tmpdir(), 'entrena-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

E.manualSeed(0);
const x = E.randn([8, 2]);
const y = E.randn([8, 1]);
const labels = E.tensor([0, 1, 1, 0, 1, 0, 0, 1], { dtype: 'int32' });
const ds = new data.TensorDataset(x, y);
const model = new nn.Sequential(new nn.Linear(2, 4), new nn.ReLU(), new nn.Linear(4, 1));
const params = () => model.parameters();
const sgd = () => new optim.SGD(params(), { lr: 0.01, momentum: 0.9 });
const loader = () => new data.DataLoader(ds, { batchSize: 4 });
const loss = new nn.MSELoss();
const weights = join(dir, 'model.safetensors');
const ckpt = join(dir, 'ckpt.safetensors');
io.save(model, weights);
io.saveCheckpoint({ model, epoch: 0 }, ckpt);
// An IDX file (ubyte [n, ...dims]) and a small Fashion-MNIST folder; a CSV file; a history for the report.
function writeIdx(path: string, dims: number[], fill = 1): void {
  const n = dims.reduce((a, b) => a * b, 1);
  const buf = Buffer.alloc(4 + 4 * dims.length + n, fill);
  buf.writeUInt32BE(0x00000800 | dims.length, 0);
  dims.forEach((d, i) => buf.writeUInt32BE(d, 4 + 4 * i));
  writeFileSync(path, buf);
}
const idx = join(dir, 'x.idx');
writeIdx(idx, [2, 3]);
const fashion = join(dir, 'fashion');
mkdirSync(fashion);
for (const split of ['train', 't10k']) {
  writeIdx(join(fashion, `${split}-images-idx3-ubyte`), [2, 28, 28]);
  writeIdx(join(fashion, `${split}-labels-idx1-ubyte`), [2]);
}
const csv = join(dir, 'x.csv');
writeFileSync(csv, 'a,b,y\n1,2,0\n3,4,1\n');
const history = new E.History();
history.epochs.push({ epoch: 0, loss: 1, metrics: {}, lr: 0.1, seconds: 1 } as never);
const img = E.rand([2, 1, 4, 4]);
const aug = data.augment;
const xg = () => E.randn([3], { dtype: 'float64', requiresGrad: true });

type Extra = Record<string, unknown>;
/** [name, call(extra): the entry point with valid options plus `extra`, the valid keys it must list]. */
const table: [string, (o: Extra) => unknown][] = [
  // training
  ['fit', (o) => E.fit(model, { train: loader(), loss, optimizer: sgd(), epochs: 1, progress: false, ...o })],
  ['evaluate', (o) => E.evaluate(model, loader(), { loss, metrics: ['mse'], ...o })],
  ['predict', (o) => E.predict(model, x, { batchSize: 4, ...o })],
  ['lrFinder', (o) => E.lrFinder(model, { train: loader(), loss, optimizer: sgd(), steps: 3, ...o })],
  ['callbacks.EarlyStopping', (o) => new callbacks.EarlyStopping({ patience: 2, ...o })],
  ['callbacks.ModelCheckpoint', (o) => new callbacks.ModelCheckpoint({ path: join(dir, 'best.safetensors'), ...o })],
  ['callbacks.CSVLogger', (o) => new callbacks.CSVLogger(join(dir, 'log.csv'), { append: false, ...o })],
  ['callbacks.GradientMonitor', (o) => new callbacks.GradientMonitor({ saturationThreshold: 0.9, ...o })],
  ['metrics.precision', (o) => metrics.precision([0, 1, 1], [0, 1, 0], { average: 'micro', ...o })],
  ['metrics.recall', (o) => metrics.recall([0, 1, 1], [0, 1, 0], { average: 'macro', ...o })],
  ['metrics.f1', (o) => metrics.f1([0, 1, 1], [0, 1, 0], { ...o })],
  ['tune.gridSearch', (o) => tune.gridSearch({ a: [1, 2] }, (p) => p.a as number, { mode: 'max', ...o })],
  ['tune.randomSearch', (o) => tune.randomSearch({ a: [1, 2] }, (p) => p.a as number, { trials: 2, seed: 1, ...o })],
  ['ensemble.average', (o) => ensemble.average([model], { transform: (t) => t, ...o })],
  // data
  ['data.DataLoader', (o) => new data.DataLoader(ds, { batchSize: 2, shuffle: true, seed: 0, ...o })],
  ['data.randomSplit', (o) => data.randomSplit(ds, [0.5, 0.5], { seed: 0, ...o })],
  // optimizers
  ['optim.SGD', (o) => new optim.SGD(params(), { lr: 0.1, ...o })],
  ['optim.Adam', (o) => new optim.Adam(params(), { lr: 1e-3, ...o })],
  ['optim.AdamW', (o) => new optim.AdamW(params(), { weightDecay: 0.1, ...o })],
  ['optim.Adagrad', (o) => new optim.Adagrad(params(), { lrDecay: 0, ...o })],
  ['optim.RMSprop', (o) => new optim.RMSprop(params(), { centered: true, ...o })],
  ['optim.Adamax', (o) => new optim.Adamax(params(), { eps: 1e-8, ...o })],
  ['optim.NAdam', (o) => new optim.NAdam(params(), { momentumDecay: 4e-3, ...o })],
  ['optim.LBFGS', (o) => new optim.LBFGS(params(), { historySize: 10, ...o })],
  ['optim.ConjugateGradient', (o) => new optim.ConjugateGradient(params(), { method: 'fletcher-reeves', ...o })],
  ['optim.ExponentialMovingAverage', (o) => new optim.ExponentialMovingAverage(params(), { decay: 0.9, ...o })],
  ['optim.swa.AveragedModel', (o) => new optim.swa.AveragedModel(model, { ...o })],
  // schedulers
  ['lrScheduler.StepLR', (o) => new sched.StepLR(sgd(), { stepSize: 2, ...o })],
  ['lrScheduler.MultiStepLR', (o) => new sched.MultiStepLR(sgd(), { milestones: [2], ...o })],
  ['lrScheduler.ExponentialLR', (o) => new sched.ExponentialLR(sgd(), { gamma: 0.9, ...o })],
  ['lrScheduler.CosineAnnealingLR', (o) => new sched.CosineAnnealingLR(sgd(), { tMax: 5, ...o })],
  ['lrScheduler.LinearLR', (o) => new sched.LinearLR(sgd(), { totalIters: 3, ...o })],
  ['lrScheduler.LambdaLR', (o) => new sched.LambdaLR(sgd(), { lrLambda: (e) => 0.9 ** e, ...o })],
  ['lrScheduler.OneCycleLR', (o) => new sched.OneCycleLR(sgd(), { maxLr: 0.1, totalSteps: 10, ...o })],
  ['lrScheduler.SequentialLR', (o) => {
    const opt = sgd();
    return new sched.SequentialLR(opt, { schedulers: [new sched.LinearLR(opt), new sched.ExponentialLR(opt, { gamma: 0.9 })], milestones: [2], ...o });
  }],
  ['lrScheduler.ReduceLROnPlateau', (o) => new sched.ReduceLROnPlateau(sgd(), { patience: 1, ...o })],
  // layers and activations
  ['nn.Linear', (o) => new nn.Linear(2, 3, { bias: false, ...o })],
  ['nn.BatchNorm1d', (o) => new nn.BatchNorm1d(3, { momentum: 0.2, ...o })],
  ['nn.LayerNorm', (o) => new nn.LayerNorm(3, { eps: 1e-6, ...o })],
  ['nn.LeakyReLU', (o) => new nn.LeakyReLU({ negativeSlope: 0.2, ...o })],
  ['nn.PReLU', (o) => new nn.PReLU({ numParameters: 1, ...o })],
  ['nn.RReLU', (o) => new nn.RReLU({ lower: 0.1, ...o })],
  ['nn.ELU', (o) => new nn.ELU({ alpha: 0.5, ...o })],
  ['nn.GELU', (o) => new nn.GELU({ approximate: 'tanh', ...o })],
  ['nn.Softplus', (o) => new nn.Softplus({ beta: 2, ...o })],
  // losses
  ['nn.MSELoss', (o) => new nn.MSELoss({ reduction: 'sum', ...o })],
  ['nn.L1Loss', (o) => new nn.L1Loss({ reduction: 'none', ...o })],
  ['nn.MAPELoss', (o) => new nn.MAPELoss({ eps: 1e-6, ...o })],
  ['nn.HuberLoss', (o) => new nn.HuberLoss({ delta: 0.5, ...o })],
  ['nn.BCELoss', (o) => new nn.BCELoss({ reduction: 'mean', ...o })],
  ['nn.BCEWithLogitsLoss', (o) => new nn.BCEWithLogitsLoss({ reduction: 'mean', ...o })],
  ['nn.NLLLoss', (o) => new nn.NLLLoss({ ignoreIndex: -1, ...o })],
  ['nn.CrossEntropyLoss', (o) => new nn.CrossEntropyLoss({ labelSmoothing: 0.1, ...o })],
  // io
  ['io.load', (o) => io.load(model, weights, { strict: true, ...o })],
  ['io.saveCheckpoint', (o) => io.saveCheckpoint({ model, epoch: 1, ...o } as never, join(dir, 'c2.safetensors'))],
  ['io.loadCheckpoint', (o) => io.loadCheckpoint(ckpt, { model, ...o })],
  // tensor creation
  ['tensor', (o) => E.tensor([1, 2, 3, 4], { shape: [2, 2], dtype: 'float64', ...o })],
  ['zeros', (o) => E.zeros([2], { dtype: 'float32', ...o })],
  ['ones', (o) => E.ones([2], { device: 'cpu', ...o })],
  ['full', (o) => E.full([2], 3, { requiresGrad: true, ...o })],
  ['zerosLike', (o) => E.zerosLike(x, { dtype: 'float64', ...o })],
  ['eye', (o) => E.eye(2, 3, { dtype: 'float64', ...o })],
  ['arange', (o) => E.arange(0, 4, 1, { dtype: 'float32', ...o })],
  ['linspace', (o) => E.linspace(0, 1, 5, { dtype: 'float64', ...o })],
  ['rand', (o) => E.rand([2], { dtype: 'float64', ...o })],
  ['randn', (o) => E.randn([2], { requiresGrad: true, ...o })],
  ['randint', (o) => E.randint(0, 5, [3], { dtype: 'int32', ...o })],
  // preprocessing, readers, datasets, augmentation
  ['data.StandardScaler', (o) => new data.StandardScaler({ withMean: true, withStd: false, ...o })],
  ['data.MinMaxScaler', (o) => new data.MinMaxScaler({ range: [-1, 1], clip: true, ...o })],
  ['data.OneHotEncoder', (o) => new data.OneHotEncoder({ handleUnknown: 'ignore', dtype: 'float32', ...o })],
  ['data.readIdx', (o) => data.readIdx(idx, { dtype: 'int32', ...o })],
  ['data.readCsv', (o) => data.readCsv(csv, { target: 'y', header: true, ...o })],
  ['data.datasets.spirals', (o) => data.datasets.spirals({ samples: 30, seed: 1, ...o })],
  ['data.datasets.fashionMnist', (o) => data.datasets.fashionMnist({ dir: fashion, flatten: false, ...o })],
  ['data.augment.randomHorizontalFlip', (o) => aug.randomHorizontalFlip({ p: 0.5, ...o })],
  ['data.augment.randomRotation', (o) => aug.randomRotation({ degrees: 10, fill: 0, ...o })],
  ['data.augment.randomScale', (o) => aug.randomScale({ min: 0.9, max: 1.1, ...o })],
  ['data.augment.randomNoise', (o) => aug.randomNoise({ std: 0.1, ...o })],
  ['data.augment.randomBrightness', (o) => aug.randomBrightness({ delta: 0.1, ...o })],
  ['data.augment transform call', (o) => aug.randomNoise({ std: 0.1 })(img, { seed: 1, ...o })],
  ['data.augment.compose call', (o) => aug.compose([aug.randomHorizontalFlip()])(img, { seed: 1, ...o })],
  // nn.init, nn.utils, Monte-Carlo dropout
  ['nn.init.truncNormal', (o) => nn.init.truncNormal(E.zeros([3, 2]), { std: 0.02, ...o })],
  ['nn.init.xavierUniform', (o) => nn.init.xavierUniform(E.zeros([3, 2]), { gain: 1, ...o })],
  ['nn.init.xavierNormal', (o) => nn.init.xavierNormal(E.zeros([3, 2]), { gain: 1, ...o })],
  ['nn.init.kaimingUniform', (o) => nn.init.kaimingUniform(E.zeros([3, 2]), { mode: 'fanOut', ...o })],
  ['nn.init.kaimingNormal', (o) => nn.init.kaimingNormal(E.zeros([3, 2]), { nonlinearity: 'relu', ...o })],
  ['nn.init.varianceScaling', (o) => nn.init.varianceScaling(E.zeros([3, 2]), { scale: 2, ...o })],
  ['nn.init.orthogonal', (o) => nn.init.orthogonal(E.zeros([3, 2]), { gain: 1, ...o })],
  ['nn.utils.clipGradNorm', (o) => nn.utils.clipGradNorm(params(), 1, { normType: 2, ...o })],
  ['nn.utils.maxNorm', (o) => nn.utils.maxNorm(E.randn([3, 2]), 1, { dim: 0, ...o })],
  ['nn.mcDropoutPredict', (o) => nn.mcDropoutPredict(new nn.Sequential(new nn.Linear(2, 2), new nn.Dropout(0.5)), x, { passes: 3, ...o })],
  // report
  ['report.html', (o) => E.report.html(history, join(dir, 'r.html'), { title: 't', ...o })],
  ['report.lineChart', (o) => E.report.lineChart([{ name: 'a', values: [1, 2] }], { title: 't', ...o })],
  ['report.heatMap', (o) => E.report.heatMap([[1, 2], [3, 4]], { log: false, ...o })],
  // autograd
  ['gradcheck', (o) => E.gradcheck((a) => a.mul(a).sum(), [xg()], { eps: 1e-6, ...o })],
  ['gradgradcheck', (o) => E.gradgradcheck((a) => a.tanh(), [xg()], { seed: 1, ...o })],
  ['autograd.grad', (o) => { const a = xg(); return E.autograd.grad(a.mul(a).sum(), a, { createGraph: false, ...o }); }],
  ['autograd.vjp', (o) => E.autograd.vjp((a) => a.mul(a).sum(), xg(), undefined, { createGraph: false, ...o })],
  ['autograd.jvp', (o) => E.autograd.jvp((a) => a.mul(a).sum(), xg(), E.ones([3], { dtype: 'float64' }), { ...o })],
  ['autograd.hvp', (o) => E.autograd.hvp((a) => a.mul(a).sum(), xg(), E.ones([3], { dtype: 'float64' }), { ...o })],
];

async function codeOf(fn: () => unknown): Promise<{ code: string; message: string }> {
  try {
    await fn();
    return { code: 'none', message: '' };
  } catch (e) {
    return { code: (e as E.EntrenaError).code ?? String(e), message: (e as Error).message };
  }
}

describe('options objects', () => {
  it.each(table)('%s rejects an unknown option, naming it and the valid ones', async (name, call) => {
    const r = await codeOf(() => call({ bogusOption: 1 }));
    expect(r.code, `${name}: ${r.message}`).toBe('ERR_INVALID_ARGUMENT');
    expect(r.message).toMatch(/unknown option 'bogusOption' \(expected one of '/);
  });

  it.each(table)('%s accepts its valid options', async (name, call) => {
    const r = await codeOf(() => call({}));
    expect(r, name).toEqual({ code: 'none', message: '' });
  });

  it('names the valid keys, and points a Keras user to the entrena spelling', async () => {
    const r = await codeOf(() => E.fit(model, { train: loader(), loss, optimizer: sgd(), epochs: 1, verbose: 0 } as never));
    expect(r.code).toBe('ERR_INVALID_ARGUMENT');
    expect(r.message).toMatch(/^fit: unknown option 'verbose' \(expected one of 'train', 'validation', 'loss', 'optimizer', 'epochs',/);
    expect(r.message).toMatch(/use progress: false/);
    const s = await codeOf(() => new data.DataLoader(ds, { batch_size: 4 } as never));
    expect(s.message).toMatch(/unknown option 'batch_size'.*did you mean 'batchSize'\?/);
    const t = await codeOf(() => new optim.Adam(params(), { weight_decay: 0.1 } as never));
    expect(t.message).toMatch(/^Adam: unknown option 'weight_decay'.*did you mean 'weightDecay'\?/);
    const u = await codeOf(() => new nn.BatchNorm1d(3, { track_running_stats: false } as never));
    expect(u.message).toMatch(/^BatchNorm1d: unknown option 'track_running_stats'.*did you mean 'trackRunningStats'\?/);
  });

  it('rejects what is not an options object', async () => {
    for (const bad of [null, 3, 'fast', [1]]) {
      expect((await codeOf(() => new data.DataLoader(ds, bad as never))).code).toBe('ERR_INVALID_ARGUMENT');
      expect((await codeOf(() => new optim.Adam(params(), bad as never))).code).toBe('ERR_INVALID_ARGUMENT');
      expect((await codeOf(() => new sched.StepLR(sgd(), bad as never))).code).toBe('ERR_INVALID_ARGUMENT');
    }
    expect((await codeOf(() => E.predict(model, x, x as never))).message).toMatch(/expected an options object, received a float32 tensor/);
  });

  it('rejects arguments to a layer that takes none (PyTorch\'s inplace flag)', async () => {
    for (const [name, make] of [['ReLU', (a: unknown) => new (nn.ReLU as never as new (a: unknown) => unknown)(a)],
      ['Sigmoid', (a: unknown) => new (nn.Sigmoid as never as new (a: unknown) => unknown)(a)],
      ['Tanh', (a: unknown) => new (nn.Tanh as never as new (a: unknown) => unknown)(a)],
      ['SiLU', (a: unknown) => new (nn.SiLU as never as new (a: unknown) => unknown)(a)],
      ['SELU', (a: unknown) => new (nn.SELU as never as new (a: unknown) => unknown)(a)],
      ['Mish', (a: unknown) => new (nn.Mish as never as new (a: unknown) => unknown)(a)],
      ['LogSigmoid', (a: unknown) => new (nn.LogSigmoid as never as new (a: unknown) => unknown)(a)]] as const) {
      const r = await codeOf(() => make({ inplace: true }));
      expect(r.code, name).toBe('ERR_INVALID_ARGUMENT');
      expect(r.message).toBe(`${name}: takes no options, received option 'inplace'`);
      expect((await codeOf(() => make(true))).message).toMatch(new RegExp(`^${name}: takes no arguments, received`));
      expect((await codeOf(() => make(undefined))).code).toBe('none');
    }
    const s = await codeOf(() => new (nn.Softmax as never as new (d: number, o: unknown) => unknown)(1, { inplace: true }));
    expect(s.message).toBe("Softmax: takes no options, received option 'inplace'");
    expect((await codeOf(() => new nn.Softmax(-1))).code).toBe('none');
  });

  it('checks the values it now reads (predict batchSize, metrics average, io.save metadata)', async () => {
    expect((await codeOf(() => E.predict(model, x, { batchSize: 0 }))).message).toMatch(/predict: expected batchSize to be an integer ≥ 1/);
    expect((await codeOf(() => metrics.f1([0, 1], [0, 1], { average: 'weighted' as never }))).message).toMatch(/f1: expected average 'macro' or 'micro'/);
    expect((await codeOf(() => io.save(model, join(dir, 'm.safetensors'), { epochs: 3 as never }))).message).toMatch(/metadata 'epochs' to be a string/);
    // A class index target for completeness: CrossEntropyLoss still computes with its options.
    expect(new nn.CrossEntropyLoss({ labelSmoothing: 0.1 }).forward(E.randn([8, 2]), labels).item()).toBeGreaterThan(0);
  });
});
