// 11_hyperparameter_search.mjs — a grid search over learning rate × hidden size on a Fashion-MNIST
// subset, scored by validation accuracy (with --full: 3-fold cross-validation), printed as a
// ranked table; the best configuration is retrained on all the training data and tested.
// The search runs through tune.gridSearch(space, evaluate, { folds }) (evaluate trains one
// configuration on one fold and returns its validation accuracy); on a build whose dist/ predates
// `tune`, an equivalent loop written out below takes its place.
import * as entrena from '../dist/index.js';
import { nn, optim, data, fit, evaluate } from '../dist/index.js';
import { flags, pick, fashion, outPath, writeCharts, chart, printTable, seed, seconds } from './_common.mjs';

const f = flags();
const t0 = performance.now();
const { train, test } = fashion({ train: pick(f, { smoke: 400, default: 3000, full: 6000 }), test: pick(f, { smoke: 300, default: 2000, full: 10000 }) });
const epochs = pick(f, { smoke: 1, default: 4, full: 8 });
const grid = {
  lr: f.smoke ? [1e-3, 1e-2] : [3e-4, 1e-3, 3e-3, 1e-2],
  hidden: f.smoke ? [32] : [32, 128, 512],
};
const folds = f.full ? 3 : 1;

/** The same contract as tune.gridSearch: every combination, scored over the folds, ranked best first. */
async function localGridSearch(space, evaluateFn, { folds: k = 1 } = {}) {
  let combos = [{}];
  for (const [key, values] of Object.entries(space)) combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
  const trials = [];
  for (const params of combos) {
    const t = performance.now(), scores = [];
    for (let fold = 0; fold < k; fold++) scores.push(await evaluateFn(params, k > 1 ? fold : undefined));
    trials.push({ params, scores, score: scores.reduce((a, b) => a + b, 0) / k, seconds: (performance.now() - t) / 1000 });
  }
  trials.sort((a, b) => b.score - a.score);
  trials.forEach((tr, i) => (tr.rank = i + 1));
  return trials;
}
const gridSearch = entrena.tune?.gridSearch ?? localGridSearch;

const all = new data.TensorDataset(train.x, train.y);
// Fold k: a stratified split of the training data (holdout 20 % when folds = 1).
const splits = [];
if (folds === 1) splits.push(data.randomSplit(all, [0.8, 0.2], { seed: 0, stratify: train.y }));
else {
  const parts = data.randomSplit(all, Array(folds).fill(1 / folds), { seed: 0, stratify: train.y });
  for (let k = 0; k < folds; k++) {
    const rest = parts.filter((_, j) => j !== k);
    const x = entrena.concat(rest.map((p) => p.x), 0), y = entrena.concat(rest.map((p) => p.y), 0);
    splits.push([new data.TensorDataset(x, y), parts[k]]);
  }
}

const model = (hidden) => new nn.Sequential(new nn.Linear(784, hidden), new nn.ReLU(), new nn.Linear(hidden, hidden), new nn.ReLU(), new nn.Linear(hidden, 10));
async function score(lr, hidden, fitSet, valSet, validate = true) {
  seed(0);
  const m = model(hidden);
  await fit(m, {
    train: new data.DataLoader(fitSet, { batchSize: 64, shuffle: true, seed: 0 }),
    loss: new nn.CrossEntropyLoss(), optimizer: new optim.Adam(m.parameters(), { lr }), epochs, progress: false,
  });
  return (await evaluate(m, new data.DataLoader(valSet, { batchSize: 1000 }), { metrics: ['accuracy'] })).metrics.accuracy;
}

const trials = await gridSearch(grid, (p, fold) => score(p.lr, p.hidden, ...splits[fold ?? 0]), { folds });
const ranked = trials.map((t) => {
  const sd = Math.sqrt(t.scores.reduce((a, b) => a + (b - t.score) ** 2, 0) / t.scores.length);
  return { rank: t.rank, lr: t.params.lr, hidden: t.params.hidden, 'val acc': t.score, ...(folds > 1 ? { '± (folds)': sd } : {}), seconds: t.seconds };
});
const results = ranked;
printTable(ranked);
console.log(`(search loop: ${entrena.tune?.gridSearch ? 'tune.gridSearch' : 'the local fallback'})`);

const best = ranked[0];
const testAcc = await score(best.lr, best.hidden, all, new data.TensorDataset(test.x, test.y));
const file = writeCharts(outPath('11_hyperparameter_search.svg'), [
  chart(grid.hidden.map((h) => ({ name: `hidden ${h}`, values: grid.lr.map((lr) => results.find((r) => r.lr === lr && r.hidden === h)['val acc']) })),
    { title: `Grid search (${folds > 1 ? `${folds}-fold CV` : 'holdout'}): validation accuracy`, xLabel: 'log10(lr)', yLabel: 'accuracy', x: grid.lr.map(Math.log10) }),
]);
console.log(`best: lr ${best.lr}, hidden ${best.hidden} — validation accuracy ${(100 * best['val acc']).toFixed(2)}%, retrained on all ${all.length} images: test accuracy ${(100 * testAcc).toFixed(2)}% (${results.length} configurations × ${folds} fold(s))`);
console.log(`plot: ${file}  (${seconds(t0)} s)`);
