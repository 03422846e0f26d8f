// 06_optimizers.mjs — SGD, momentum, Nesterov, AdaGrad, RMSProp, Adam, AdamW and NAdam on the
// same problem (CS231n's 3-class spirals, a 2-64-64-3 MLP, the same initial weights and batch
// order), each at a customary learning rate; then L-BFGS (strong-Wolfe line search), full batch,
// on the same net. Prints the final loss and accuracy per optimizer, plots the loss curves.
import { nn, optim, data, fit, evaluate, metrics, noGrad } from '../dist/index.js';
import { flags, pick, outPath, writeCharts, chart, printTable, seed, seconds } from './_common.mjs';

const f = flags();
const t0 = performance.now();
const samples = pick(f, { smoke: 300, default: 900, full: 3000 });
const epochs = pick(f, { smoke: 3, default: 60, full: 200 });
const { x, y } = data.datasets.spirals({ samples, classes: 3, noise: 0.2, seed: 0 });
const ds = new data.TensorDataset(x, y);

function net() {
  seed(0); // the same initial weights for every optimizer
  return new nn.Sequential(new nn.Linear(2, 64), new nn.ReLU(), new nn.Linear(64, 64), new nn.ReLU(), new nn.Linear(64, 3));
}

const optimizers = {
  'SGD (lr 0.1)': (p) => new optim.SGD(p, { lr: 0.1 }),
  'Momentum (0.9)': (p) => new optim.SGD(p, { lr: 0.05, momentum: 0.9 }),
  'Nesterov (0.9)': (p) => new optim.SGD(p, { lr: 0.05, momentum: 0.9, nesterov: true }),
  'AdaGrad (lr 0.1)': (p) => new optim.Adagrad(p, { lr: 0.1 }),
  'RMSProp (lr 1e-3)': (p) => new optim.RMSprop(p, { lr: 1e-3 }),
  'Adam (lr 1e-2)': (p) => new optim.Adam(p, { lr: 1e-2 }),
  'AdamW (lr 1e-2)': (p) => new optim.AdamW(p, { lr: 1e-2, weightDecay: 1e-2 }),
  'NAdam (lr 1e-2)': (p) => new optim.NAdam(p, { lr: 1e-2 }),
};

const rows = [], curves = [];
for (const [name, make] of Object.entries(optimizers)) {
  const model = net();
  const t = performance.now();
  const h = await fit(model, {
    train: new data.DataLoader(ds, { batchSize: 32, shuffle: true, seed: 0 }),
    loss: new nn.CrossEntropyLoss(), optimizer: make(model.parameters()), epochs, progress: false,
  });
  const ev = await evaluate(model, [[x, y]], { loss: new nn.CrossEntropyLoss(), metrics: ['accuracy'] });
  rows.push({ optimizer: name, 'final loss': ev.loss, accuracy: ev.metrics.accuracy, seconds: (performance.now() - t) / 1000 });
  curves.push({ name, values: h.series('loss') });
}

// L-BFGS: full batch, one step = up to maxIter iterations with a strong-Wolfe line search.
const model = net();
const ce = new nn.CrossEntropyLoss();
const lbfgs = new optim.LBFGS(model.parameters(), { lr: 1, maxIter: 20, historySize: 20, lineSearchFn: 'strongWolfe' });
const lbfgsLoss = [];
const steps = pick(f, { smoke: 2, default: 15, full: 50 });
const tl = performance.now();
for (let s = 0; s < steps; s++) {
  lbfgs.step(() => {
    lbfgs.zeroGrad();
    const l = ce.forward(model.forward(x), y);
    l.backward();
    lbfgsLoss.push(l.item());
    return l;
  });
}
const lbAcc = noGrad(() => metrics.accuracy(model.forward(x), y));
const lbFinal = noGrad(() => ce.forward(model.forward(x), y).item());
rows.push({ optimizer: `L-BFGS (full batch, ${steps}×20 it)`, 'final loss': lbFinal, accuracy: lbAcc, seconds: (performance.now() - tl) / 1000 });

rows.sort((a, b) => a['final loss'] - b['final loss']);
printTable(rows);
const file = writeCharts(outPath('06_optimizers.svg'), [
  chart(curves, { title: `Spirals (${samples} points): training loss per epoch`, xLabel: 'epoch', yLabel: 'loss', logY: true }),
  chart([{ name: 'L-BFGS', values: lbfgsLoss }], { title: 'L-BFGS, full batch: loss per function evaluation', xLabel: 'evaluation', yLabel: 'loss', logY: true }),
]);
console.log(`lowest final loss: ${rows[0].optimizer} ${rows[0]['final loss'].toFixed(4)} (accuracy ${(100 * rows[0].accuracy).toFixed(1)}%); highest: ${rows.at(-1).optimizer} ${rows.at(-1)['final loss'].toFixed(4)}`);
console.log(`plot: ${file}  (${seconds(t0)} s)`);
