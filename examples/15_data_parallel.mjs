// 15_data_parallel.mjs — data-parallel training: the same script runs alone (a world of one) or as
// N ranks under MPI, each rank reading its DistributedSampler share of the batches, the gradients
// averaged by DistributedDataParallel while backward runs.
//
//   node examples/15_data_parallel.mjs                                     # one process
//   mpirun -np 2 --bind-to none node examples/15_data_parallel.mjs         # two ranks (as root add --allow-run-as-root)
//
// The total batch is 128 whatever the number of ranks (128 / N per rank), so the runs train the
// same model on the same batches; rank 0 prints the epoch log (averaged over the ranks), the test
// accuracy and the time per epoch.
import { distributed, nn, optim, data, fit, evaluate } from '../dist/index.js';
import { flags, pick, seed } from './_common.mjs';

const f = flags();
const { rank, worldSize } = distributed.init();
seed(0);
const { x, y } = data.datasets.spirals({ samples: pick(f, { smoke: 600, default: 6000, full: 30000 }), classes: 3, seed: 0 });
const [trainSet, testSet] = data.randomSplit(new data.TensorDataset(x, y), [0.8, 0.2], { seed: 0 });
const model = new nn.parallel.DistributedDataParallel(new nn.Sequential(
  new nn.Linear(2, 128), new nn.ReLU(), new nn.Linear(128, 128), new nn.ReLU(), new nn.Linear(128, 3)));
const totalBatch = 128;
const sampler = new data.DistributedSampler(trainSet, { seed: 0 });
const epochs = pick(f, { smoke: 2, default: 10, full: 30 });
const t0 = performance.now();
const history = await fit(model, {
  train: new data.DataLoader(trainSet, { batchSize: totalBatch / worldSize, sampler }),
  validation: new data.DataLoader(testSet, { batchSize: 1000, sampler: new data.DistributedSampler(testSet, { shuffle: false }) }),
  loss: new nn.CrossEntropyLoss(), optimizer: new optim.Adam(model.parameters(), { lr: 3e-3 }),
  epochs, metrics: ['accuracy'], progress: rank === 0 && !f.smoke,
});
const seconds = (performance.now() - t0) / 1000 / epochs;
// Every rank holds the same weights: rank 0 evaluates alone on the whole test set.
if (rank === 0) {
  const test = await evaluate(model.module, new data.DataLoader(testSet, { batchSize: 1000 }), { metrics: ['accuracy'] });
  console.log(`${worldSize} rank(s): test accuracy ${(100 * test.metrics.accuracy).toFixed(2)} % (validation ${(100 * history.last.valMetrics.accuracy).toFixed(2)} % averaged over ranks), ${seconds.toFixed(2)} s/epoch, waiting on all-reduce ${(model.stats.totalWaitMs / Math.max(1, model.stats.steps)).toFixed(2)} ms/step`);
}
