// bench/op_overhead.mjs — the fixed cost of one op called from JavaScript: every op passes the
// same door (lib/ts/ops/door.ts: operand checks, dtype rule, per-op scope, autograd record), so on
// tiny tensors this measures the door plus one native call, allocation and dispose included.
//
// Run: node bench/op_overhead.mjs [--quick]     (needs dist/ and the built addon)
// Checks each op's result first, then times batches of calls and prints the median µs per call of
// several batches (medians, because the machines are shared and noisy). Compare two trees by
// running this in each, alternately; the figure to watch is `add [4]`, about 1 µs.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const E = await import(path.join(root, 'dist/index.js'));
const quick = process.argv.includes('--quick');
const CALLS = quick ? 20_000 : 100_000;
const BATCHES = quick ? 5 : 11;

const a = E.tensor([1, 2, 3, 4]);
const b = E.tensor([10, 20, 30, 40]);
const m = E.tensor([[1, 2], [3, 4]]);
const w = E.tensor([1, 2, 3, 4], { requiresGrad: true });

const cases = [
  ['add [4]', () => E.add(a, b), [11, 22, 33, 44]],
  ['mul [4] by a number', () => E.mul(a, 2), [2, 4, 6, 8]],
  ['relu [4]', () => E.relu(a), [1, 2, 3, 4]],
  ['sum [4]', () => E.sum(a), [10]],
  ['reshape [4]→[2,2]', () => E.reshape(a, [2, 2]), [1, 2, 3, 4]],
  ['matmul [2,2]', () => E.matmul(m, m), [7, 10, 15, 22]],
  ['add [4] recorded (requiresGrad)', () => E.add(w, b), [11, 22, 33, 44]],
];

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
console.log(`op overhead: ${CALLS} calls per batch, median of ${BATCHES} batches (µs per call, allocation and dispose included)`);
for (const [name, fn, expect] of cases) {
  const r = fn();
  const got = Array.from(r.data());
  r.dispose();
  if (got.length !== expect.length || got.some((v, i) => v !== expect[i])) {
    console.error(`${name}: wrong result ${JSON.stringify(got)}, expected ${JSON.stringify(expect)}`);
    process.exit(1);
  }
  for (let i = 0; i < CALLS; i++) fn().dispose(); // warm up (JIT, buffer pool)
  const times = [];
  for (let k = 0; k < BATCHES; k++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < CALLS; i++) fn().dispose();
    times.push(Number(process.hrtime.bigint() - t0) / 1e3 / CALLS);
  }
  console.log(`  ${name.padEnd(34)} ${median(times).toFixed(3)} µs`);
}
const live = E.memory().cpu.tensors;
if (live !== 4) { console.error(`leak: ${live} live tensors, expected the 4 inputs`); process.exit(1); }
