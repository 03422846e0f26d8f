// ddp.mjs — run by test/distributed.test.ts under mpirun.
//   equivalence <sgd|adam>: N ranks training a DistributedDataParallel MLP on their DistributedSampler
//     shares must end with the parameters of one process trained on the concatenated batches (each
//     rank computes that reference itself). Prints { rank, maxDiff, steps, buckets }.
//   mismatch: rank 1 builds a different model; DistributedDataParallel must name rank 1 and the parameter.
//   buffers: BatchNorm running statistics start each training forward from rank 0's.
import { distributed, nn, optim, data, manualSeed, randn, tidy, indexSelect } from '../../dist/index.js';

const mode = process.argv[2];
const which = process.argv[3] ?? 'sgd';
const { rank, worldSize } = distributed.init({ timeoutMs: 60_000 });
const dtype = which === 'sgd' ? 'float64' : 'float32';

function makeModel(seed, hidden = 16) {
  manualSeed(seed);
  return new nn.Sequential(new nn.Linear(5, hidden, { dtype }), new nn.Tanh(), new nn.Linear(hidden, 7, { dtype }), new nn.Tanh(), new nn.Linear(7, 2, { dtype }));
}
const makeOpt = (params) => (which === 'sgd' ? new optim.SGD(params, { lr: 0.1, momentum: 0.9 }) : new optim.Adam(params, { lr: 1e-2 }));

if (mode === 'mismatch') {
  try {
    new nn.parallel.DistributedDataParallel(makeModel(0, rank === 1 ? 17 : 16));
    console.log(JSON.stringify({ rank, error: null }));
  } catch (e) {
    console.log(JSON.stringify({ rank, error: e.message, code: e.code }));
  }
  process.exit(0);
}

if (mode === 'buffers') {
  // Each rank sets its own running statistics after wrapping; a training forward on the same input
  // on every rank must start from rank 0's (broadcast, as PyTorch's broadcast_buffers), so that all
  // ranks end equal: 0.9 · rank 0's + 0.1 · the batch's.
  manualSeed(0);
  const bn = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4));
  const ddp = new nn.parallel.DistributedDataParallel(bn);
  const sd = bn.stateDict();
  sd['1.running_mean'].fill_(10 * (rank + 1));
  sd['1.num_batches_tracked'].fill_(rank);
  manualSeed(2);
  tidy(() => ddp.forward(randn([6, 3])));
  console.log(JSON.stringify({ rank, mean: Array.from(sd['1.running_mean'].data()), count: sd['1.num_batches_tracked'].item() }));
  process.exit(0);
}

manualSeed(1);
const n = 37, batchSize = 4, epochs = 2;
const x = randn([n, 5], { dtype }), y = randn([n, 2], { dtype });
const ds = new data.TensorDataset(x, y);
const lossFn = new nn.MSELoss();

// Different initial weights per rank: DistributedDataParallel must broadcast rank 0's.
const ddp = new nn.parallel.DistributedDataParallel(makeModel(100 + rank), { bucketCapMb: 0.0005 });
const opt = makeOpt(ddp.parameters());
const sampler = new data.DistributedSampler(ds, { shuffle: true, seed: 3 });
const loader = new data.DataLoader(ds, { batchSize, sampler });
let steps = 0;
for (let e = 0; e < epochs; e++) {
  for (const [xb, yb] of loader) {
    tidy(() => {
      opt.zeroGrad();
      lossFn.forward(ddp.forward(xb), yb).backward();
      opt.step();
    });
    steps++;
  }
}

// The reference: one process, rank 0's initial weights, each step on the ranks' batches concatenated.
const ref = makeModel(100);
const refOpt = makeOpt(ref.parameters());
for (let e = 0; e < epochs; e++) {
  const shares = Array.from({ length: worldSize }, (_, r) => { const s = new data.DistributedSampler(ds, { numReplicas: worldSize, rank: r, shuffle: true, seed: 3 }); s.setEpoch(e); return s.indices(); });
  for (let k = 0; k * batchSize < shares[0].length; k++) {
    const idx = shares.flatMap((s) => Array.from(s.subarray(k * batchSize, (k + 1) * batchSize)));
    tidy(() => {
      refOpt.zeroGrad();
      lossFn.forward(ref.forward(indexSelect(x, 0, idx)), indexSelect(y, 0, idx)).backward();
      refOpt.step();
    });
  }
}
// Training must have moved the weights (else equality would prove nothing).
let moved = 0;
const init = makeModel(100).stateDict();
let maxDiff = 0;
const mine = ddp.stateDict(), theirs = ref.stateDict();
for (const k of Object.keys(theirs)) {
  const a = mine[k].data(), b = theirs[k].data();
  const c = init[k].data();
  for (let i = 0; i < a.length; i++) { maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i])); moved = Math.max(moved, Math.abs(b[i] - c[i])); }
}
console.log(JSON.stringify({ rank, maxDiff, moved, steps, buckets: ddp.bucketSizes().length, keys: Object.keys(mine).join(',') }));
