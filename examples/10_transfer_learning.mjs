// 10_transfer_learning.mjs — reuse the lower layers of a net trained on other classes.
// 1. Train a 784-256-128 ReLU feature extractor + a 5-way head on Fashion-MNIST classes 0–4
//    (T-shirt, Trouser, Pullover, Dress, Coat).
// 2. Freeze the extractor (module.freeze()), put a new 5-way head on it and train only the head on
//    a few labelled images of classes 5–9 (Sandal, Shirt, Sneaker, Bag, Ankle boot).
//    Variant: freeze only the first layer and train new layers above it.
// 3. Train the same architecture from scratch on the same few images.
// On this split the transfer does NOT win: features learnt on tops, trousers, dresses and coats
// carry little about sandals, sneakers, boots and bags, and classes 5–9 are easy enough that 100
// images from scratch do well. The example reports what it measures.
// Prints both test accuracies on classes 5–9; plots their validation curves.
import { nn, optim, data, fit, evaluate } from '../dist/index.js';
import { flags, pick, fashion, outPath, writeCharts, chart, printTable, seed, seconds } from './_common.mjs';

const f = flags();
const t0 = performance.now();
const perClass = pick(f, { smoke: 10, default: 20, full: 20 });
const A = fashion({ train: pick(f, { smoke: 500, default: 10000, full: 30000 }), test: pick(f, { smoke: 200, default: 1000 }), classes: [0, 1, 2, 3, 4] });
const Ball = fashion({ train: 5 * perClass * 10, test: pick(f, { smoke: 300, default: 2000 }), classes: [5, 6, 7, 8, 9] });
const shift = (y) => y.sub(5); // labels 5..9 → 0..4

// The few-shot training set of classes 5–9: the first `perClass` images of each class.
function fewShot(split) {
  const y = split.y.data();
  const count = new Map(), rows = [];
  for (let i = 0; i < y.length; i++) {
    const c = count.get(y[i]) ?? 0;
    if (c < perClass) { rows.push(i); count.set(y[i], c + 1); }
  }
  const ds = new data.TensorDataset(split.x, split.y);
  const idx = rows;
  const x = ds.x.indexSelect(0, idxTensor(idx)), yy = ds.y.indexSelect(0, idxTensor(idx));
  return { x, y: shift(yy) };
}
import { tensor } from '../dist/index.js';
const idxTensor = (rows) => tensor(Int32Array.from(rows), { dtype: 'int32' });

const B = fewShot(Ball.train);
const Btest = new data.TensorDataset(Ball.test.x, shift(Ball.test.y));
const epochsA = pick(f, { smoke: 1, default: 5, full: 10 });
const epochsB = pick(f, { smoke: 5, default: 100, full: 200 });

const extractor = () => new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 128), new nn.ReLU());

// 1. Pre-train on classes 0–4.
seed(0);
const base = extractor();
const modelA = new nn.Sequential(base, new nn.Linear(128, 5));
const hA = await fit(modelA, {
  train: new data.DataLoader(new data.TensorDataset(A.train.x, A.train.y), { batchSize: 64, shuffle: true, seed: 0 }),
  validation: new data.DataLoader(new data.TensorDataset(A.test.x, A.test.y), { batchSize: 1000 }),
  loss: new nn.CrossEntropyLoss(), optimizer: new optim.Adam(modelA.parameters(), { lr: 1e-3 }),
  epochs: epochsA, metrics: ['accuracy'], progress: false,
});
console.log(`pre-training on classes 0–4 (${A.train.x.shape[0]} images): test accuracy ${(100 * hA.last.valMetrics.accuracy).toFixed(2)}%`);

async function trainB(model, params, lr) {
  return fit(model, {
    train: new data.DataLoader(new data.TensorDataset(B.x, B.y), { batchSize: 25, shuffle: true, seed: 0 }),
    validation: new data.DataLoader(Btest, { batchSize: 1000 }),
    loss: new nn.CrossEntropyLoss(), optimizer: new optim.Adam(params, { lr }),
    epochs: epochsB, metrics: ['accuracy'], progress: false,
  });
}

// 2. Transfer: frozen extractor + new head.
seed(1);
base.freeze();
const transfer = new nn.Sequential(base, new nn.Linear(128, 5));
const trainable = transfer.parameters().filter((p) => p.requiresGrad);
const before = base.parameters().map((p) => p.data().slice());
const hT = await trainB(transfer, trainable, 1e-2); // only 645 parameters: a higher lr
const unchanged = base.parameters().every((p, i) => p.data().every((v, j) => v === before[i][j]));

// 2b. Freeze only the first (lowest) layer; re-initialise and train the layers above it.
seed(1);
base.unfreeze();
const lower = base.at(0);
lower.freeze();
const partial = new nn.Sequential(lower, new nn.ReLU(), new nn.Linear(256, 128), new nn.ReLU(), new nn.Linear(128, 5));
const trainable2 = partial.parameters().filter((p) => p.requiresGrad);
const hP = await trainB(partial, trainable2, 1e-3);

// 3. From scratch on the same few images.
seed(1);
const scratch = new nn.Sequential(extractor(), new nn.Linear(128, 5));
const hS = await trainB(scratch, scratch.parameters(), 1e-3);

const rows = [
  { model: 'frozen pre-trained layers + new head', 'trainable params': trainable.reduce((s, p) => s + p.size, 0), 'test acc (5–9)': hT.last.valMetrics.accuracy, 'best test acc': Math.max(...hT.series('valAccuracy')) },
  { model: 'frozen first layer + new upper layers', 'trainable params': trainable2.reduce((s, p) => s + p.size, 0), 'test acc (5–9)': hP.last.valMetrics.accuracy, 'best test acc': Math.max(...hP.series('valAccuracy')) },
  { model: 'from scratch', 'trainable params': scratch.parameters().reduce((s, p) => s + p.size, 0), 'test acc (5–9)': hS.last.valMetrics.accuracy, 'best test acc': Math.max(...hS.series('valAccuracy')) },
];
printTable(rows);
const file = writeCharts(outPath('10_transfer_learning.svg'), [
  chart([{ name: 'frozen extractor + new head', values: hT.series('valAccuracy') }, { name: 'frozen first layer', values: hP.series('valAccuracy') }, { name: 'from scratch', values: hS.series('valAccuracy') }],
    { title: `Classes 5–9 from ${perClass} images per class: test accuracy`, xLabel: 'epoch', yLabel: 'accuracy' }),
]);
console.log(`frozen layers unchanged by training the head: ${unchanged}`);
console.log(`classes 5–9 with ${perClass} images per class: frozen extractor + head ${(100 * rows[0]['test acc (5–9)']).toFixed(2)}%, frozen first layer ${(100 * rows[1]['test acc (5–9)']).toFixed(2)}%, from scratch ${(100 * rows[2]['test acc (5–9)']).toFixed(2)}%`);
console.log(`plot: ${file}  (${seconds(t0)} s)`);
