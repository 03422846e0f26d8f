// 09_data_augmentation.mjs — data augmentation on a small training set: 1 000 Fashion-MNIST
// images, the same MLP trained with and without data.augment (random horizontal flip, rotation of
// up to 10°, a small zoom and Gaussian noise applied to every batch, freshly drawn each epoch).
// Prints the test accuracy of both; plots the validation curves.
import { nn, optim, data, fit, evaluate } from '../dist/index.js';
import { flags, pick, fashion, outPath, writeCharts, chart, printTable, seed, seconds } from './_common.mjs';

const f = flags();
const t0 = performance.now();
const { train, test } = fashion({ train: pick(f, { smoke: 300, default: 1000, full: 1000 }), test: pick(f, { smoke: 300, default: 2000, full: 10000 }) });
const epochs = pick(f, { smoke: 2, default: 40, full: 100 });

const augment = data.augment.compose([
  data.augment.randomHorizontalFlip({ p: 0.5 }),
  data.augment.randomRotation({ degrees: 10 }),
  data.augment.randomScale({ min: 0.9, max: 1.1 }),
  data.augment.randomNoise({ std: 0.05 }),
]);

/** Wraps a DataLoader: each [x, y] batch of flat 784-pixel rows comes back augmented (as images, then flattened again). */
function augmented(loader) {
  return {
    length: loader.length,
    async *[Symbol.asyncIterator]() {
      let prev = null;
      for await (const [x, y] of loader) {
        prev?.dispose(); // fit is done with the previous batch
        const images = x.reshape([x.shape[0], 1, 28, 28]);
        const out = augment(images);
        prev = out.reshape([x.shape[0], 784]);
        if (prev !== out) out.dispose();
        yield [prev, y];
      }
      prev?.dispose();
    },
  };
}

const rows = [], curves = [];
for (const useAug of [false, true]) {
  seed(0);
  const model = new nn.Sequential(new nn.Linear(784, 256), new nn.ReLU(), new nn.Dropout(0.2), new nn.Linear(256, 128), new nn.ReLU(), new nn.Linear(128, 10));
  const loader = new data.DataLoader(new data.TensorDataset(train.x, train.y), { batchSize: 32, shuffle: true, seed: 0 });
  const h = await fit(model, {
    train: useAug ? augmented(loader) : loader,
    validation: new data.DataLoader(new data.TensorDataset(test.x, test.y), { batchSize: 1000 }),
    loss: new nn.CrossEntropyLoss(), optimizer: new optim.Adam(model.parameters(), { lr: 1e-3 }),
    epochs, metrics: ['accuracy'], progress: false,
  });
  const name = useAug ? 'with augmentation' : 'without augmentation';
  rows.push({ setup: name, 'train acc (last epoch)': h.last.metrics.accuracy, 'test acc': h.last.valMetrics.accuracy, 'best test acc': Math.max(...h.series('valAccuracy')), 'test loss': h.last.valLoss });
  curves.push({ name: `${name} (test)`, values: h.series('valAccuracy') }, { name: `${name} (train)`, values: h.series('accuracy'), dashed: true });
}
printTable(rows);
const file = writeCharts(outPath('09_data_augmentation.svg'), [
  chart(curves, { title: `Fashion-MNIST, ${train.x.shape[0]} training images`, xLabel: 'epoch', yLabel: 'accuracy' }),
]);
console.log(`test accuracy: ${(100 * rows[0]['test acc']).toFixed(2)}% without augmentation → ${(100 * rows[1]['test acc']).toFixed(2)}% with`);
console.log(`plot: ${file}  (${seconds(t0)} s)`);
