// collectives.mjs — run by test/distributed.test.ts under mpirun: every collective, op and dtype
// (float32, float64, int32, bfloat16, float16) on sizes 0, 1, 256, odd and (with --large) 30 M elements, each rank checking its own results against
// values computed locally. Prints one JSON line per rank: { rank, checks } or exits non-zero.
import { distributed, tensor, full } from '../../dist/index.js';

const large = process.argv.includes('--large');
// --no-verify: every collective straight through MPI, without the agreement exchange.
const { rank, worldSize: size } = distributed.init({ timeoutMs: 120_000, verifyCollectives: !process.argv.includes('--no-verify') });
let checks = 0;
const fail = (msg) => { throw new Error(`rank ${rank}: ${msg}`); };
// The value rank r holds at element i: small integers, exact in every dtype, distinct per rank.
const value = (r, i) => ((r * 7 + i * 3) % 11) - 5;
const expectEq = (what, got, want) => {
  checks++;
  for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) fail(`${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
  if (got.length !== want.length) fail(`${what}: ${got.length} elements, expected ${want.length}`);
};
const reduce = (op, i) => {
  const vs = Array.from({ length: size }, (_, r) => value(r, i));
  if (op === 'sum') return vs.reduce((a, b) => a + b, 0);
  if (op === 'max') return Math.max(...vs);
  if (op === 'min') return Math.min(...vs);
  return vs.reduce((a, b) => a + b, 0) / size; // avg
};

// bfloat16 / float16: reduced through a float32 copy, broadcast and gathered as bits.
const half = (v, dtype) => tensor([v]).cast(dtype).item();
for (const dtype of ['float32', 'float64', 'int32', 'bfloat16', 'float16']) {
  // 256 float32 elements fill the 1 KB a small collective carries in the agreement exchange exactly
  // (float64: twice that, so through MPI); 1001 go through MPI in every dtype.
  for (const n of [0, 1, 256, 1001]) {
    const mine = Array.from({ length: n }, (_, i) => value(rank, i));
    for (const op of ['sum', 'avg', 'max', 'min']) {
      const t = tensor(mine, { dtype, shape: [n] });
      const r = distributed.allReduce(t, { op });
      if (r !== t) fail('allReduce must return its tensor (in place)');
      const want = Array.from({ length: n }, (_, i) => {
        const v = reduce(op, i);
        return dtype === 'int32' ? Math.trunc(v) : dtype === 'float32' ? Math.fround(v) : dtype === 'float64' ? v : half(v, dtype);
      });
      expectEq(`allReduce ${op} ${dtype} [${n}]`, Array.from(t.data()), want);
      t.dispose();
    }
    // asyncOp: awaited (event loop free) and waited (blocking).
    const a = tensor(mine, { dtype, shape: [n] }), b = tensor(mine, { dtype, shape: [n] });
    const wa = distributed.allReduce(a, { op: 'max', asyncOp: true });
    const wb = distributed.allReduce(b, { op: 'min', asyncOp: true });
    expectEq(`allReduce asyncOp wait ${dtype} [${n}]`, Array.from(wb.wait().data()), Array.from({ length: n }, (_, i) => reduce('min', i)));
    expectEq(`allReduce asyncOp await ${dtype} [${n}]`, Array.from((await wa).data()), Array.from({ length: n }, (_, i) => reduce('max', i)));
    // A synchronous collective issued while an asynchronous one is queued waits its turn (FIFO) on
    // the communication thread; one issued when nothing is queued runs on this thread.
    const c = tensor(mine, { dtype, shape: [n] }), d = tensor(mine, { dtype, shape: [n] });
    const wc = distributed.allReduce(c, { op: 'sum', asyncOp: true });
    distributed.allReduce(d, { op: 'max' });
    expectEq(`allReduce sync behind asyncOp ${dtype} [${n}]`, [...Array.from(d.data()), ...Array.from(wc.wait().data())],
      [...Array.from({ length: n }, (_, i) => reduce('max', i)), ...Array.from({ length: n }, (_, i) => reduce('sum', i))]);
    for (const root of [0, size - 1]) {
      const t = tensor(mine, { dtype, shape: [n] });
      distributed.broadcast(t, root);
      expectEq(`broadcast root ${root} ${dtype} [${n}]`, Array.from(t.data()), Array.from({ length: n }, (_, i) => value(root, i)));
    }
    const g = distributed.allGather(tensor(mine, { dtype, shape: [n] }));
    if (g.shape.join() !== [size, n].join()) fail(`allGather shape ${g.shape}`);
    expectEq(`allGather ${dtype} [${n}]`, Array.from(g.data()), Array.from({ length: size * n }, (_, k) => value(Math.floor(k / Math.max(n, 1)), k % Math.max(n, 1))));
  }
}
// A 2-D tensor keeps its shape; allGather stacks along a new first dim.
const m = distributed.allGather(full([2, 3], rank, { dtype: 'int32' }));
if (m.shape.join() !== [size, 2, 3].join()) fail(`allGather of [2, 3] has shape ${m.shape}`);
checks++;
distributed.barrier();

if (large) {
  // 30 M elements: 120 MB per rank, reduced in one call (MPI chunks above 2^30 elements only).
  const n = 30_000_000;
  const t = full([n], rank + 1);
  const t0 = performance.now();
  distributed.allReduce(t, { op: 'sum' });
  const ms = performance.now() - t0;
  const want = (size * (size + 1)) / 2;
  const lo = t.min().item(), hi = t.max().item();
  if (lo !== want || hi !== want) fail(`30M allReduce: values in [${lo}, ${hi}], expected ${want}`);
  checks++;
  t.dispose();
  console.log(JSON.stringify({ rank, large: n, ms: Math.round(ms) }));
}
console.log(JSON.stringify({ rank, checks }));
