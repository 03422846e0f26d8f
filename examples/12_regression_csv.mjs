// 12_regression_csv.mjs — regression from a CSV file. Writes a small synthetic data set
// (runs/examples/12_houses.csv: area, rooms, age, distance, a categorical district, and a price
// with heavy-tailed noise), reads it back with data.readCsv (the district one-hot encoded),
// standardises the features with data.StandardScaler (fitted on the training rows only), and
// trains the same MLP with four losses: MSE, MAE (L1Loss), MAPE and Huber. Reports MAE, RMSE,
// MAPE and R² on the test rows, in price units.
import { writeFileSync } from 'node:fs';
import { nn, optim, data, fit, predict, metrics, manualSeed, randn } from '../dist/index.js';
import { flags, pick, outPath, writeCharts, chart, printTable, seed, seconds } from './_common.mjs';

const f = flags();
const t0 = performance.now();
const n = pick(f, { smoke: 300, default: 2000, full: 10000 });
const epochs = pick(f, { smoke: 3, default: 60, full: 150 });

// 1. A synthetic CSV (seeded): price in k€.
manualSeed(7);
const draw = (k) => { const t = randn([k]); const v = t.data(); t.dispose(); return v; };
const z = [draw(n), draw(n), draw(n), draw(n), draw(n), draw(n)];
const districts = ['centre', 'north', 'riverside', 'suburb'];
const premium = { centre: 60, north: 10, riverside: 35, suburb: -15 };
const lines = ['area,rooms,age,distance,district,price'];
for (let i = 0; i < n; i++) {
  const area = Math.max(25, 90 + 30 * z[0][i]);
  const rooms = Math.max(1, Math.round(area / 30 + 0.7 * z[1][i]));
  const age = Math.max(0, 30 + 20 * z[2][i]);
  const distance = Math.abs(8 + 5 * z[3][i]);
  const district = districts[Math.floor(Math.abs(z[4][i] * 1000)) % 4];
  // Heavy-tailed noise: mostly ±5 %, sometimes much more (a few outliers).
  const noise = 0.05 * z[5][i] * (Math.abs(z[5][i]) > 1.8 ? 4 : 1);
  const price = (40 + 2.6 * area + 8 * rooms - 0.04 * age * age / 10 - 6 * Math.sqrt(distance) + premium[district]) * (1 + noise);
  lines.push([area.toFixed(1), rooms, age.toFixed(1), distance.toFixed(2), district, Math.max(20, price).toFixed(1)].join(','));
}
const csv = outPath('12_houses.csv');
writeFileSync(csv, lines.join('\n') + '\n');

// 2. Read, split, scale.
const { x, y, columns } = data.readCsv(csv, { target: 'price', categorical: ['district'] });
const [trainSet, testSet] = data.randomSplit(new data.TensorDataset(x, y), [0.8, 0.2], { seed: 0 });
const scaler = new data.StandardScaler().fit(trainSet.x);
const xTrain = scaler.transform(trainSet.x), xTest = scaler.transform(testSet.x);
// Targets divided by the training mean (positive, ~1): the same scale for every loss, MAPE included.
const yScale = trainSet.y.mean().item();
const yTrain = trainSet.y.div(yScale).reshape([-1, 1]);
console.log(`read ${csv}: ${x.shape[0]} rows, features [${columns.join(', ')}]; ${trainSet.length} train / ${testSet.length} test`);

const losses = {
  MSE: () => new nn.MSELoss(),
  'MAE (L1Loss)': () => new nn.L1Loss(),
  MAPE: () => new nn.MAPELoss(),
  'Huber (δ 0.1)': () => new nn.HuberLoss({ delta: 0.1 }),
};
const rows = [], curves = [];
for (const [name, make] of Object.entries(losses)) {
  seed(0);
  const model = new nn.Sequential(new nn.Linear(x.shape[1], 64), new nn.ReLU(), new nn.Linear(64, 64), new nn.ReLU(), new nn.Linear(64, 1));
  const h = await fit(model, {
    train: new data.DataLoader(new data.TensorDataset(xTrain, yTrain), { batchSize: 32, shuffle: true, seed: 0 }),
    loss: make(), optimizer: new optim.Adam(model.parameters(), { lr: 3e-3 }),
    epochs, progress: false,
  });
  const pred = predict(model, xTest).reshape([-1]).mul(yScale);
  rows.push({ loss: name, MAE: metrics.mae(pred, testSet.y), RMSE: metrics.rmse(pred, testSet.y), 'MAPE %': metrics.mape(pred, testSet.y), 'R²': metrics.r2(pred, testSet.y) });
  curves.push({ name, values: h.series('loss').map((v) => v / h.epochs[0].loss) });
}
printTable(rows);
const file = writeCharts(outPath('12_regression_csv.svg'), [
  chart(curves, { title: 'Training loss (relative to epoch 1)', xLabel: 'epoch', yLabel: 'loss / first-epoch loss', logY: true }),
]);
const best = (k, dir = 1) => rows.reduce((a, b) => (dir * (b[k] - a[k]) < 0 ? b : a));
console.log(`test R²: ${rows.map((r) => `${r.loss} ${r['R²'].toFixed(4)}`).join(', ')}; lowest MAE ${best('MAE').loss} (${best('MAE').MAE.toFixed(2)} k€), lowest MAPE ${best('MAPE %').loss} (${best('MAPE %')['MAPE %'].toFixed(2)} %)`);
console.log(`plot: ${file}  (${seconds(t0)} s)`);
