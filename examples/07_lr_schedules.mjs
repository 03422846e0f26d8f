// 07_lr_schedules.mjs — learning-rate schedules on the same net and data (a Fashion-MNIST subset,
// SGD with momentum 0.9): constant, StepLR, CosineAnnealingLR, linear warm-up then cosine
// (LinearLR + SequentialLR), 1cycle (OneCycleLR, stepped per batch by fit) and ReduceLROnPlateau
// (on the validation loss). Records the learning rate at every batch; prints final losses and
// test accuracy; plots the lr schedules and the validation loss.
import { nn, optim, data, fit, evaluate } from '../dist/index.js';
import { flags, pick, fashion, outPath, writeCharts, chart, printTable, seed, seconds } from './_common.mjs';

const { lrScheduler: S } = optim;
const f = flags();
const t0 = performance.now();
const { train, test } = fashion({ train: pick(f, { smoke: 400, default: 4000, full: 60000 }), test: pick(f, { smoke: 400, default: 2000, full: 10000 }) });
const epochs = pick(f, { smoke: 2, default: 12, full: 30 });
const batchSize = 64;
const lr = 0.05;
const trainSet = new data.TensorDataset(train.x, train.y);
const [fitSet, valSet] = data.randomSplit(trainSet, [0.9, 0.1], { seed: 0, stratify: train.y });
const stepsPerEpoch = Math.ceil(fitSet.length / batchSize);

const schedules = {
  constant: () => undefined,
  [`StepLR (÷10 every ${Math.ceil(epochs / 3)})`]: (o) => new S.StepLR(o, { stepSize: Math.ceil(epochs / 3), gamma: 0.1 }),
  CosineAnnealing: (o) => new S.CosineAnnealingLR(o, { tMax: epochs }),
  'warm-up + cosine': (o) => {
    const warm = Math.max(1, Math.round(epochs / 6));
    return new S.SequentialLR(o, {
      schedulers: [new S.LinearLR(o, { startFactor: 0.05, totalIters: warm }), new S.CosineAnnealingLR(o, { tMax: epochs - warm })],
      milestones: [warm],
    });
  },
  '1cycle (per batch)': (o) => new S.OneCycleLR(o, { maxLr: 2 * lr, totalSteps: epochs * stepsPerEpoch }),
  ReduceLROnPlateau: (o) => new S.ReduceLROnPlateau(o, { monitor: 'valLoss', factor: 0.3, patience: 1 }),
};

/** Records the learning rate used by every batch (read after the step, before a per-batch scheduler moves it). */
class LrRecorder {
  values = [];
  onAfterBackward(_b, ctx) { this.values.push(ctx.optimizer.paramGroups[0].lr); }
}

const rows = [], lrCurves = [], lossCurves = [];
for (const [name, make] of Object.entries(schedules)) {
  seed(0);
  const model = new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Linear(256, 128), new nn.ReLU(), new nn.Linear(128, 10));
  const optimizer = new optim.SGD(model.parameters(), { lr, momentum: 0.9 });
  const scheduler = make(optimizer);
  const rec = new LrRecorder();
  const h = await fit(model, {
    train: new data.DataLoader(fitSet, { batchSize, shuffle: true, seed: 0 }),
    validation: new data.DataLoader(valSet, { batchSize: 1000 }),
    loss: new nn.CrossEntropyLoss(), optimizer, scheduler, epochs, metrics: ['accuracy'], callbacks: [rec], progress: false,
  });
  const ev = await evaluate(model, new data.DataLoader(new data.TensorDataset(test.x, test.y), { batchSize: 1000 }), { metrics: ['accuracy'] });
  rows.push({ schedule: name, 'final train loss': h.last.loss, 'final val loss': h.last.valLoss, 'best val loss': Math.min(...h.series('valLoss')), 'test acc': ev.metrics.accuracy });
  lrCurves.push({ name, values: rec.values });
  lossCurves.push({ name, values: h.series('valLoss') });
}
rows.sort((a, b) => b['test acc'] - a['test acc']);
printTable(rows);
const file = writeCharts(outPath('07_lr_schedules.svg'), [
  chart(lrCurves, { title: 'Learning rate at each batch', xLabel: 'batch', yLabel: 'lr', logY: true }),
  chart(lossCurves, { title: 'Validation loss', xLabel: 'epoch', yLabel: 'loss' }),
]);
console.log(`best: ${rows[0].schedule} ${(100 * rows[0]['test acc']).toFixed(2)}% test accuracy; constant lr: ${(100 * rows.find((r) => r.schedule === 'constant')['test acc']).toFixed(2)}%`);
console.log(`plot: ${file}  (${seconds(t0)} s)`);
