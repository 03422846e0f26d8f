// 05_early_stopping.mjs — EarlyStopping({ patience, restoreBestWeights: true }) stops once the
// validation loss has not improved for `patience` epochs and puts back the weights of the best
// epoch. A wide MLP on 1 000 Fashion-MNIST images overfits after a few epochs; the example prints
// the best epoch, where training stopped, and checks that the restored model's validation loss
// equals the best one recorded.
import { nn, optim, data, fit, evaluate, callbacks } from '../dist/index.js';
import { flags, pick, fashion, outPath, writeCharts, chart, seed, seconds } from './_common.mjs';

const f = flags();
const t0 = performance.now();
const { train, test } = fashion({ train: pick(f, { smoke: 300, default: 1000, full: 2000 }), test: pick(f, { smoke: 300, default: 2000, full: 10000 }) });
const maxEpochs = pick(f, { smoke: 6, default: 100, full: 200 });
const patience = pick(f, { smoke: 2, default: 5, full: 10 });

seed(0);
const trainSet = new data.TensorDataset(train.x, train.y);
const [fitSet, valSet] = data.randomSplit(trainSet, [0.8, 0.2], { seed: 0, stratify: train.y });
const model = new nn.Sequential(new nn.Linear(784, 512), new nn.ReLU(), new nn.Linear(512, 512), new nn.ReLU(), new nn.Linear(512, 10));
const stopper = new callbacks.EarlyStopping({ monitor: 'valLoss', patience, restoreBestWeights: true });
const valLoader = new data.DataLoader(valSet, { batchSize: 1000 });
const h = await fit(model, {
  train: new data.DataLoader(fitSet, { batchSize: 32, shuffle: true, seed: 0 }),
  validation: valLoader,
  loss: new nn.CrossEntropyLoss(),
  optimizer: new optim.Adam(model.parameters(), { lr: 1e-3 }),
  epochs: maxEpochs, metrics: ['accuracy'], callbacks: [stopper], progress: false,
});
const restored = await evaluate(model, valLoader, { loss: new nn.CrossEntropyLoss(), metrics: ['accuracy'] });
const testEval = await evaluate(model, new data.DataLoader(new data.TensorDataset(test.x, test.y), { batchSize: 1000 }), { metrics: ['accuracy'] });
const last = h.last;
const bestLog = h.epochs.find((e) => e.epoch === stopper.bestEpoch);

const val = h.series('valLoss');
const file = writeCharts(outPath('05_early_stopping.svg'), [
  chart([
    { name: 'train loss', values: h.series('loss') },
    { name: 'validation loss', values: val },
    { name: `best epoch (${stopper.bestEpoch + 1})`, values: val.map((v, i) => (i === stopper.bestEpoch ? v : NaN)) },
  ], { title: `Early stopping (patience ${patience})`, xLabel: 'epoch', yLabel: 'loss', logY: true }),
]);
console.log(`stopped after epoch ${last.epoch + 1} of ${maxEpochs} (${h.stopReason}); best epoch ${stopper.bestEpoch + 1}: validation loss ${stopper.best.toFixed(6)} (accuracy ${(100 * bestLog.valMetrics.accuracy).toFixed(2)}%)`);
console.log(`last epoch's validation loss ${last.valLoss.toFixed(6)} → after restoring the best weights: ${restored.loss.toFixed(6)} (|difference from best| = ${Math.abs(restored.loss - stopper.best).toExponential(2)})`);
console.log(`restored model: test accuracy ${(100 * testEval.metrics.accuracy).toFixed(2)}%`);
if (Math.abs(restored.loss - stopper.best) > 1e-5 * Math.max(1, stopper.best)) {
  console.error('the restored validation loss differs from the best one');
  process.exitCode = 1;
}
console.log(`plot: ${file}  (${seconds(t0)} s)`);
