// 01_vanishing_gradients.mjs — why deep sigmoid nets with N(0, 1) weights barely train.
// A 10-layer MLP on a Fashion-MNIST subset, three set-ups:
//   sigmoid + N(0, 1) weights   → saturated units, gradients vanish towards the input
//   sigmoid + Glorot (xavier)   → no saturation, but sigmoid's slope of at most 1/4 shrinks the
//                                  gradient ~4× per layer (Glorot's derivation assumes slope 1)
//   sigmoid + Glorot ×4         → the gain of 4 that compensates that slope (Theano's advice)
//   ReLU    + He (kaiming)      → gradient norms of the same order in every layer
// callbacks.GradientMonitor records the per-layer gradient norms (averaged over the first
// epoch's batches); the example prints the first-layer / last-layer ratio and plots the norms.
import { nn, optim, data, fit, evaluate, callbacks } from '../dist/index.js';
import { flags, pick, fashion, outPath, writeCharts, chart, printTable, seed, seconds } from './_common.mjs';

const f = flags();
const t0 = performance.now();
const depth = 10, width = pick(f, { smoke: 32, default: 100 });
const { train, test } = fashion({ train: pick(f, { smoke: 512, default: 4000, full: 20000 }), test: pick(f, { smoke: 256, default: 2000 }) });
const epochs = pick(f, { smoke: 1, default: 3, full: 10 });

function mlp(activation, initWeight) {
  const layers = [];
  for (let i = 0; i < depth; i++) {
    const lin = new nn.Linear(i === 0 ? 784 : width, i === depth - 1 ? 10 : width);
    initWeight(lin.weight);
    nn.init.zeros(lin.bias);
    layers.push(lin);
    if (i < depth - 1) layers.push(activation());
  }
  return new nn.Sequential(...layers);
}

const setups = [
  { name: 'sigmoid + N(0,1)', make: () => mlp(() => new nn.Sigmoid(), (w) => nn.init.normal(w, 0, 1)) },
  { name: 'sigmoid + Glorot', make: () => mlp(() => new nn.Sigmoid(), (w) => nn.init.xavierNormal(w, { gain: nn.init.calculateGain('sigmoid') })) },
  { name: 'sigmoid + Glorot x4', make: () => mlp(() => new nn.Sigmoid(), (w) => nn.init.xavierNormal(w, { gain: 4 })) },
  { name: 'ReLU + He', make: () => mlp(() => new nn.ReLU(), (w) => nn.init.kaimingNormal(w, { nonlinearity: 'relu' })) },
];

const rows = [], series = [];
for (const s of setups) {
  seed(0);
  const model = s.make();
  const monitor = new callbacks.GradientMonitor();
  await fit(model, {
    train: new data.DataLoader(new data.TensorDataset(train.x, train.y), { batchSize: 64, shuffle: true, seed: 0 }),
    loss: new nn.CrossEntropyLoss(),
    optimizer: new optim.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 }),
    epochs, callbacks: [monitor], progress: false,
  });
  const first = monitor.epochs[0].filter((l) => Number.isFinite(l.gradNorm)); // the Linear layers, input first
  const norms = first.map((l) => l.gradNorm);
  const acc = (await evaluate(model, new data.DataLoader(new data.TensorDataset(test.x, test.y), { batchSize: 1000 }), { metrics: ['accuracy'] })).metrics.accuracy;
  const sat = monitor.epochs[0].filter((l) => l.name.includes('Sigmoid')).map((l) => l.saturated);
  rows.push({
    setup: s.name, 'grad layer 1': norms[0], 'grad layer 10': norms.at(-1), 'ratio first/last': norms[0] / norms.at(-1),
    'saturated units': sat.length ? sat.reduce((a, b) => a + b, 0) / sat.length : 0, [`test acc (${epochs} ep)`]: acc,
  });
  series.push({ name: s.name, values: norms });
}
printTable(rows);
const file = writeCharts(outPath('01_vanishing_gradients.svg'), [
  chart(series, { title: 'Gradient norm per layer (first epoch, mean over batches)', xLabel: 'layer (1 = input side)', yLabel: '‖∂L/∂W‖', logY: true }),
]);
for (const r of rows) console.log(`${r.setup}: first/last layer gradient-norm ratio ${r['ratio first/last'].toExponential(2)}`);
console.log(`plot: ${file}  (${seconds(t0)} s)`);
