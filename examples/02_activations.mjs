// 02_activations.mjs — ReLU, LeakyReLU, ELU, SELU (self-normalising: LeCun-normal init and
// AlphaDropout), GELU, SiLU/Swish and Mish compared on a Fashion-MNIST subset with the same
// 4-hidden-layer MLP, optimizer and seed. Prints test accuracy per activation and plots the
// validation-accuracy curves.
import { nn, optim, data, fit, evaluate } from '../dist/index.js';
import { flags, pick, fashion, outPath, writeCharts, chart, printTable, seed, seconds } from './_common.mjs';

const f = flags();
const t0 = performance.now();
const { train, test } = fashion({ train: pick(f, { smoke: 500, default: 4000, full: 60000 }), test: pick(f, { smoke: 500, default: 2000, full: 10000 }) });
const epochs = pick(f, { smoke: 1, default: 6, full: 20 });
const width = pick(f, { smoke: 32, default: 128, full: 256 });
const hidden = 4;

const activations = {
  ReLU: () => new nn.ReLU(),
  LeakyReLU: () => new nn.LeakyReLU({ negativeSlope: 0.01 }),
  ELU: () => new nn.ELU(),
  SELU: () => new nn.SELU(),
  GELU: () => new nn.GELU(),
  'SiLU (Swish)': () => new nn.SiLU(),
  Mish: () => new nn.Mish(),
};

function mlp(name) {
  const selu = name === 'SELU';
  const layers = [];
  for (let i = 0; i < hidden; i++) {
    const lin = new nn.Linear(i === 0 ? 784 : width, width);
    // SELU self-normalises only with LeCun-normal weights (Klambauer et al. 2017); the others get He init.
    if (selu) nn.init.lecunNormal(lin.weight);
    else nn.init.kaimingNormal(lin.weight, { nonlinearity: name === 'ReLU' ? 'relu' : 'leaky_relu', a: name === 'LeakyReLU' ? 0.01 : 0 });
    nn.init.zeros(lin.bias);
    layers.push(lin, activations[name]());
    // Dropout of the same rate everywhere; SELU needs AlphaDropout to keep mean 0 / variance 1.
    layers.push(selu ? new nn.AlphaDropout(0.1) : new nn.Dropout(0.1));
  }
  layers.push(new nn.Linear(width, 10));
  return new nn.Sequential(...layers);
}

const trainSet = new data.TensorDataset(train.x, train.y);
const [fitSet, valSet] = data.randomSplit(trainSet, [0.9, 0.1], { seed: 0, stratify: train.y });
// SELU expects standardised inputs; use the same standardisation for every activation.
const scaler = new data.StandardScaler().fit(fitSet.x);
const fitStd = new data.TensorDataset(scaler.transform(fitSet.x), fitSet.y);
const valStd = new data.TensorDataset(scaler.transform(valSet.x), valSet.y);
const testStd = new data.TensorDataset(scaler.transform(test.x), test.y);

const rows = [], curves = [];
for (const name of Object.keys(activations)) {
  seed(0);
  const model = mlp(name);
  const t = performance.now();
  const h = await fit(model, {
    train: new data.DataLoader(fitStd, { batchSize: 64, shuffle: true, seed: 0 }),
    validation: new data.DataLoader(valStd, { batchSize: 1000 }),
    loss: new nn.CrossEntropyLoss(),
    optimizer: new optim.Adam(model.parameters(), { lr: 1e-3 }),
    epochs, metrics: ['accuracy'], progress: false,
  });
  const ev = await evaluate(model, new data.DataLoader(testStd, { batchSize: 1000 }), { loss: new nn.CrossEntropyLoss(), metrics: ['accuracy'] });
  rows.push({ activation: name, 'train loss': h.last.loss, 'val acc': h.last.valMetrics.accuracy, 'test acc': ev.metrics.accuracy, seconds: (performance.now() - t) / 1000 });
  curves.push({ name, values: h.series('valAccuracy') });
  curves.at(-1).loss = h.series('loss');
}
rows.sort((a, b) => b['test acc'] - a['test acc']);
printTable(rows);
const file = writeCharts(outPath('02_activations.svg'), [
  chart(curves.map((c) => ({ name: c.name, values: c.values })), { title: 'Validation accuracy', xLabel: 'epoch', yLabel: 'accuracy' }),
  chart(curves.map((c) => ({ name: c.name, values: c.loss })), { title: 'Training loss', xLabel: 'epoch', yLabel: 'loss', logY: true }),
]);
console.log(`best: ${rows[0].activation} ${(100 * rows[0]['test acc']).toFixed(2)}% test accuracy; worst: ${rows.at(-1).activation} ${(100 * rows.at(-1)['test acc']).toFixed(2)}%`);
console.log(`plot: ${file}  (${seconds(t0)} s)`);
