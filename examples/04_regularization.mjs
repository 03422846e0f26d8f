// 04_regularization.mjs — Dropout and L2 close the train/validation gap on a small training set;
// L1 drives weights to zero.
// Part 1: a wide MLP on 500 Fashion-MNIST images overfits (train accuracy → 100 %, train loss → 0,
//   validation loss climbing back up); Dropout, L2 weight decay (AdamW's decoupled weightDecay),
//   and both, narrow the gap between train and validation loss. (With 500 images the accuracy gap
//   hardly moves: validation accuracy is limited by the data, ~80 %, not by overfitting.)
// Part 2: the same net trained with an L1 penalty (nn.utils.l1Penalty added to the loss) ends with
//   most first-layer weights below 1e-3 in magnitude; without it, almost none.
import { nn, optim, data, fit, evaluate } from '../dist/index.js';
import { flags, pick, fashion, outPath, writeCharts, chart, printTable, seed, seconds } from './_common.mjs';

const f = flags();
const t0 = performance.now();
const { train, test } = fashion({ train: pick(f, { smoke: 200, default: 500, full: 1000 }), test: pick(f, { smoke: 300, default: 1000, full: 10000 }) });
const epochs = pick(f, { smoke: 2, default: 60, full: 120 });
const width = pick(f, { smoke: 64, default: 256 });
const ce = new nn.CrossEntropyLoss();
const trainSet = new data.TensorDataset(train.x, train.y), testSet = new data.TensorDataset(test.x, test.y);

function mlp(p) {
  const drop = () => (p > 0 ? [new nn.Dropout(p)] : []);
  return new nn.Sequential(new nn.Linear(784, width), new nn.ReLU(), ...drop(), new nn.Linear(width, width), new nn.ReLU(), ...drop(), new nn.Linear(width, 10));
}

async function run({ dropout = 0, weightDecay = 0, l1 = 0, optimizer = 'adam' }) {
  seed(0);
  const model = mlp(dropout);
  const params = model.parameters();
  const weights = model.namedParameters().filter(([n]) => n.endsWith('weight')).map(([, w]) => w);
  const opt = optimizer === 'adam'
    ? new optim.AdamW(params, { lr: 1e-3, weightDecay }) // decoupled L2 (weight decay)
    : new optim.SGD(params, { lr: 0.05, weightDecay });
  // L1: the penalty λ·Σ|w| over the weights is part of the loss (a function loss is allowed by fit).
  const loss = l1 > 0 ? (p, t) => ce.forward(p, t).add(nn.utils.l1Penalty(weights).mul(l1)) : ce;
  const h = await fit(model, {
    train: new data.DataLoader(trainSet, { batchSize: 50, shuffle: true, seed: 0 }),
    validation: new data.DataLoader(testSet, { batchSize: 1000 }),
    loss, optimizer: opt, epochs, metrics: ['accuracy'], progress: false,
  });
  // Both sets evaluated in eval mode (no dropout) with the plain cross-entropy (no penalty term).
  const tr = await evaluate(model, new data.DataLoader(trainSet, { batchSize: 1000 }), { loss: ce, metrics: ['accuracy'] });
  const va = await evaluate(model, new data.DataLoader(testSet, { batchSize: 1000 }), { loss: ce, metrics: ['accuracy'] });
  const trainAcc = tr.metrics.accuracy, valAcc = va.metrics.accuracy;
  const w0 = model.at(0).weight.data();
  let small = 0;
  for (const v of w0) if (Math.abs(v) < 1e-3) small++;
  return { history: h, trainAcc, valAcc, gap: trainAcc - valAcc, trainLoss: tr.loss, valLoss: va.loss, lossGap: va.loss - tr.loss, sparsity: small / w0.length };
}

// Part 1 — the generalisation gap.
const setups = [
  ['no regularisation', {}],
  ['Dropout 0.5', { dropout: 0.5 }],
  ['L2 (AdamW weightDecay 1)', { weightDecay: 1 }],
  ['Dropout 0.5 + L2', { dropout: 0.5, weightDecay: 1 }],
];
const rows = [], curves = [];
for (const [name, opts] of setups) {
  const r = await run(opts);
  rows.push({ setup: name, 'train loss': r.trainLoss, 'val loss': r.valLoss, 'loss gap': r.lossGap, 'train acc': r.trainAcc, 'val acc': r.valAcc, 'acc gap': r.gap });
  curves.push({ name: `${name} (train)`, values: r.history.series('loss') }, { name: `${name} (val)`, values: r.history.series('valLoss'), dashed: true });
}
printTable(rows);

// Part 2 — L1 sparsity (plain SGD: its L1 subgradient steps are lr·λ, far below the 1e-3 threshold).
const lambda = 1e-3;
const sgd = await run({ optimizer: 'sgd' });
const sgdL1 = await run({ optimizer: 'sgd', l1: lambda });
const sparseRows = [
  { setup: 'SGD', 'val acc': sgd.valAcc, 'layer-1 |w| < 1e-3': sgd.sparsity },
  { setup: `SGD + L1 (λ = ${lambda})`, 'val acc': sgdL1.valAcc, 'layer-1 |w| < 1e-3': sgdL1.sparsity },
];
console.log();
printTable(sparseRows);

const file = writeCharts(outPath('04_regularization.svg'), [
  chart(curves.filter((_, i) => Math.floor(i / 2) % 2 === 0), { title: 'Cross-entropy: none vs L2', xLabel: 'epoch', yLabel: 'loss', logY: true }),
  chart(curves.filter((_, i) => Math.floor(i / 2) % 2 === 1), { title: 'Cross-entropy: Dropout vs Dropout + L2', xLabel: 'epoch', yLabel: 'loss', logY: true }),
  chart([{ name: 'SGD', values: sgd.history.series('valAccuracy') }, { name: 'SGD + L1', values: sgdL1.history.series('valAccuracy') }], { title: 'L1: validation accuracy', xLabel: 'epoch', yLabel: 'accuracy' }),
]);
const base = rows[0], best = rows.reduce((a, b) => (b['loss gap'] < a['loss gap'] ? b : a));
console.log(`validation − train loss gap: ${base['loss gap'].toFixed(3)} without regularisation → ${best['loss gap'].toFixed(3)} with ${best.setup} (val accuracy ${(100 * base['val acc']).toFixed(1)}% → ${(100 * best['val acc']).toFixed(1)}%)`);
console.log(`L1 sparsity: ${(100 * sgdL1.sparsity).toFixed(1)}% of first-layer weights below 1e-3 (${(100 * sgd.sparsity).toFixed(1)}% without)`);
console.log(`plot: ${file}  (${seconds(t0)} s)`);
