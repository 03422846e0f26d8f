// nccl_ddp.mjs — DistributedDataParallel on CUDA tensors through the 'nccl' backend, in a world of
// one (run by test/stress/cuda_emu.test.ts against the emulated device and the stand-in NCCL, and
// usable on a GPU machine with the real one): the gradients after backward must equal the plain
// model's, and the collectives must leave CUDA tensors' values as a world of one should.
import { distributed, nn, manualSeed, randn, tensor } from '../../dist/index.js';

const w = distributed.init({ backend: 'nccl', timeoutMs: 60_000 });
if (w.worldSize !== 1) throw new Error('this check runs in a world of one');
manualSeed(0);
const model = new nn.Sequential(new nn.Linear(6, 8), new nn.Tanh(), new nn.Linear(8, 3)).to('cuda');
const plain = model.clone();
const ddp = new nn.parallel.DistributedDataParallel(model, { bucketCapMb: 1e-4 });
const x = randn([5, 6]).cuda(), y = randn([5, 3]).cuda();
new nn.MSELoss().forward(ddp.forward(x), y).backward();
new nn.MSELoss().forward(plain.forward(x), y).backward();
let maxDiff = 0;
model.parameters().forEach((p, i) => {
  const a = p.grad.data(), b = plain.parameters()[i].grad.data();
  for (let k = 0; k < a.length; k++) maxDiff = Math.max(maxDiff, Math.abs(a[k] - b[k]));
});
const t = tensor([1, -2, 3], { dtype: 'int32' }).cuda();
distributed.allReduce(t, { op: 'avg' });
const g = distributed.allGather(tensor([4, 5]).cuda());
console.log(JSON.stringify({ maxDiff, buckets: ddp.bucketSizes().length, avg: Array.from(t.data()), gathered: g.toArray(), device: g.device }));
