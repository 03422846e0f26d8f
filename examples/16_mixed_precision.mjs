// 16_mixed_precision.mjs — the reference Fashion-MNIST MLP (784-512-256-10, BatchNorm, ReLU,
// Dropout 0.2, He init, Adam 1e-3, batch 128) trained twice from the same seed: in float32, and
// with bfloat16 autocast (`fit({ amp: { dtype: 'bfloat16' } })`: matmul and linear in bfloat16,
// losses and batch-norm statistics in float32, float32 master weights). Prints both test
// accuracies and their difference, which should stay within half a point.
//
//   node examples/16_mixed_precision.mjs           # 3 epochs on the 60 000 training images
//   node examples/16_mixed_precision.mjs --smoke   # 2 000 images, 1 epoch
//   node examples/16_mixed_precision.mjs --seed 1  # another initialisation and data order
import { nn, optim, data, fit, evaluate, manualSeed } from '../dist/index.js';
import { fashion, flags, pick } from './_common.mjs';

const f = flags();
const epochs = f.smoke ? 1 : 3;
const seedArg = process.argv.indexOf('--seed');
const seed = seedArg > 0 ? Number(process.argv[seedArg + 1]) : 0;
const { train, test } = fashion({ train: pick(f, { smoke: 2000, default: 60000 }), test: pick(f, { smoke: 1000, default: 10000 }) });
const flat = (x) => x.reshape([x.shape[0], 784]);
const xTrain = flat(train.x), xTest = flat(test.x);

function model() {
  const layer = (i, o) => {
    const m = new nn.Linear(i, o);
    nn.init.kaimingNormal(m.weight, { nonlinearity: 'relu' });
    nn.init.zeros(m.bias);
    return m;
  };
  return new nn.Sequential(layer(784, 512), new nn.BatchNorm1d(512), new nn.ReLU(), new nn.Dropout(0.2),
    layer(512, 256), new nn.BatchNorm1d(256), new nn.ReLU(), new nn.Dropout(0.2), layer(256, 10));
}

async function run(amp) {
  manualSeed(seed);
  const m = model();
  const loader = new data.DataLoader(new data.TensorDataset(xTrain, train.y), { batchSize: 128, shuffle: true, seed });
  const t0 = performance.now();
  await fit(m, { train: loader, loss: new nn.CrossEntropyLoss(), optimizer: new optim.Adam(m.parameters(), { lr: 1e-3 }), epochs, progress: false, amp });
  const time = performance.now() - t0;
  const testLoader = new data.DataLoader(new data.TensorDataset(xTest, test.y), { batchSize: 1000 });
  const { metrics } = await evaluate(m, testLoader, { loss: new nn.CrossEntropyLoss(), metrics: ['accuracy'] });
  loader.dispose(); testLoader.dispose();
  return { accuracy: metrics.accuracy, time };
}

const full = await run(undefined);
const mixed = await run({ dtype: 'bfloat16' });
const diff = (mixed.accuracy - full.accuracy) * 100;
console.log(`float32:          test accuracy ${(full.accuracy * 100).toFixed(2)}% (${(full.time / 1000).toFixed(1)} s)`);
console.log(`bfloat16 autocast: test accuracy ${(mixed.accuracy * 100).toFixed(2)}% (${(mixed.time / 1000).toFixed(1)} s)`);
console.log(`difference: ${diff >= 0 ? '+' : ''}${diff.toFixed(2)} points after ${epochs} epoch(s)`);
console.log(JSON.stringify({ float32: full.accuracy, bfloat16: mixed.accuracy, epochs }));
