// fit.mjs — run by test/distributed.test.ts under mpirun: `fit` on a DistributedDataParallel model.
//   train <outDir>: prints each rank's history; the CSV log and checkpoint must exist for rank 0 only.
//   nan: rank 1's data turns to NaN from its third batch: every rank must stop at the same batch.
import { join } from 'node:path';
import { distributed, nn, optim, data, fit, callbacks, manualSeed, randn, randint, tensor } from '../../dist/index.js';

const mode = process.argv[2];
const out = process.argv[3];
const { rank } = distributed.init({ timeoutMs: 60_000 });
manualSeed(5);
let x = randn([90, 4]);
const y = randint(0, 3, [90]);
if (mode === 'nan' && rank === 1) {
  // Rows 8.. of rank 1's share (its third batch of 4 onwards) become NaN.
  const rows = Array.from(new data.DistributedSampler({ length: 90 }, { shuffle: false }).indices()).slice(8);
  const v = x.data();
  for (const r of rows) for (let c = 0; c < 4; c++) v[r * 4 + c] = NaN;
  x = tensor(v, { shape: [90, 4] });
}
const ds = new data.TensorDataset(x, y);
const [trainSet, valSet] = [ds, new data.TensorDataset(randn([30, 4]), randint(0, 3, [30]))];
manualSeed(100 + rank); // different initial weights: DDP broadcasts rank 0's
const model = new nn.parallel.DistributedDataParallel(new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 3)));
const train = new data.DataLoader(trainSet, { batchSize: 4, sampler: new data.DistributedSampler(trainSet, { seed: 1, shuffle: mode !== 'nan' }) });
const validation = new data.DataLoader(valSet, { batchSize: 8, sampler: new data.DistributedSampler(valSet, { shuffle: false }) });
const cbs = mode === 'nan' ? [new callbacks.TerminateOnNaN()] : [
  new callbacks.CSVLogger(join(out, `log-rank${rank}.csv`)),
  new callbacks.ModelCheckpoint({ path: join(out, `best-rank${rank}.safetensors`), monitor: 'valLoss', saveBestOnly: true }),
  new callbacks.EarlyStopping({ monitor: 'valLoss', patience: 2 }),
];
const history = await fit(model, {
  train, validation, loss: new nn.CrossEntropyLoss(), optimizer: new optim.SGD(model.parameters(), { lr: 0.05 }),
  epochs: mode === 'nan' ? 3 : 4, metrics: ['accuracy'], callbacks: cbs, progress: true,
});
const w = model.parameters().map((p) => Array.from(p.data()).slice(0, 3));
console.log(JSON.stringify({ rank, epochs: history.epochs.map(({ seconds, ...e }) => e), stopReason: history.stopReason, nanAt: cbs[0].at ?? null, w }));
