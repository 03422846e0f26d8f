// 03_batchnorm_high_lr.mjs — Batch normalisation lets the same MLP train at a 10× higher learning
// rate. Four runs of a 5-hidden-layer ReLU MLP on a Fashion-MNIST subset (plain SGD, He init):
// without / with BatchNorm1d, at lr and at 10 × lr. The plain net at 10 × lr diverges or lags;
// the BatchNorm net converges. Prints the final losses and test accuracies, plots the curves.
import { nn, optim, data, fit, evaluate, callbacks } from '../dist/index.js';
import { flags, pick, fashion, outPath, writeCharts, chart, printTable, seed, seconds } from './_common.mjs';

const f = flags();
const t0 = performance.now();
const { train, test } = fashion({ train: pick(f, { smoke: 500, default: 4000, full: 60000 }), test: pick(f, { smoke: 500, default: 2000, full: 10000 }) });
const epochs = pick(f, { smoke: 1, default: 6, full: 15 });
const width = pick(f, { smoke: 32, default: 128 });
const baseLr = 0.05;

function mlp(batchNorm) {
  const layers = [];
  for (let i = 0; i < 5; i++) {
    const lin = new nn.Linear(i === 0 ? 784 : width, width, { bias: !batchNorm });
    nn.init.kaimingNormal(lin.weight, { nonlinearity: 'relu' });
    layers.push(lin);
    if (batchNorm) layers.push(new nn.BatchNorm1d(width));
    layers.push(new nn.ReLU());
  }
  layers.push(new nn.Linear(width, 10));
  return new nn.Sequential(...layers);
}

const rows = [], lossCurves = [], accCurves = [];
for (const bn of [false, true]) {
  for (const mult of [1, 10]) {
    seed(0);
    const model = mlp(bn);
    const lr = baseLr * mult;
    const name = `${bn ? 'BatchNorm' : 'plain'} lr ${lr}`;
    const stop = new callbacks.TerminateOnNaN();
    const h = await fit(model, {
      train: new data.DataLoader(new data.TensorDataset(train.x, train.y), { batchSize: 64, shuffle: true, seed: 0 }),
      validation: new data.DataLoader(new data.TensorDataset(test.x, test.y), { batchSize: 1000 }),
      loss: new nn.CrossEntropyLoss(),
      optimizer: new optim.SGD(model.parameters(), { lr }),
      epochs, metrics: ['accuracy'], callbacks: [stop], progress: false,
    });
    const acc = h.stopReason === 'nan' ? NaN : h.last.valMetrics.accuracy;
    rows.push({ setup: name, 'final train loss': h.last.loss, 'test acc': acc, stopped: h.stopReason });
    lossCurves.push({ name, values: h.series('loss'), dashed: mult === 1 });
    accCurves.push({ name, values: h.series('valAccuracy'), dashed: mult === 1 });
  }
}
printTable(rows);
const file = writeCharts(outPath('03_batchnorm_high_lr.svg'), [
  chart(lossCurves, { title: 'Training loss', xLabel: 'epoch', yLabel: 'loss', logY: true }),
  chart(accCurves, { title: 'Test accuracy', xLabel: 'epoch', yLabel: 'accuracy' }),
]);
const get = (s) => rows.find((r) => r.setup === s);
const fmt = (r) => (Number.isFinite(r['test acc']) ? `${(100 * r['test acc']).toFixed(2)}%` : `diverged (${r.stopped})`);
console.log(`at 10× lr (${baseLr * 10}): plain ${fmt(get(`plain lr ${baseLr * 10}`))}, BatchNorm ${fmt(get(`BatchNorm lr ${baseLr * 10}`))}; at lr ${baseLr}: plain ${fmt(get(`plain lr ${baseLr}`))}, BatchNorm ${fmt(get(`BatchNorm lr ${baseLr}`))}`);
console.log(`plot: ${file}  (${seconds(t0)} s)`);
