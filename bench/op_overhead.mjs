// bench/op_overhead.mjs — the fixed cost of one op called from JavaScript: every op passes the
// same door (lib/ts/ops/door.ts: operand checks, dtype rule, per-op scope, autograd record), so on
// tiny tensors this measures the door plus one native call, allocation and dispose included.
//
// Run: node bench/op_overhead.mjs [--quick] [--compare DIR]   (needs dist/ and the built addon)
// Checks each op's result first, then times batches of calls and prints the median µs per call of
// several batches (medians: the machines are shared and noisy). With --compare DIR (another
// compiled tree, e.g. the dist/ of an older commit), both trees are loaded into this one process —
// they share the addon — and timed in alternating batches; the ratio printed is the median of the
// per-pair ratios, so a drift of the machine's load lands on both sides. The figure to watch is
// `add [4]`, about 1 µs.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const cmpArg = process.argv.indexOf('--compare');
const CALLS = quick ? 20_000 : 100_000;
const BATCHES = quick ? 7 : 15;

const ours = await import(path.join(root, 'dist/index.js'));
const other = cmpArg > 0 ? await import(path.join(path.resolve(process.argv[cmpArg + 1]), 'index.js')) : null;

function casesOf(E) {
  const a = E.tensor([1, 2, 3, 4]);
  const b = E.tensor([10, 20, 30, 40]);
  const m = E.tensor([[1, 2], [3, 4]]);
  const w = E.tensor([1, 2, 3, 4], { requiresGrad: true });
  return [
    ['add [4]', () => E.add(a, b), [11, 22, 33, 44]],
    ['a.add(b) method [4]', () => a.add(b), [11, 22, 33, 44]],
    ['mul [4] by a number', () => E.mul(a, 2), [2, 4, 6, 8]],
    ['relu [4]', () => E.relu(a), [1, 2, 3, 4]],
    ['sum [4]', () => E.sum(a), [10]],
    ['reshape [4]→[2,2]', () => E.reshape(a, [2, 2]), [1, 2, 3, 4]],
    ['matmul [2,2]', () => E.matmul(m, m), [7, 10, 15, 22]],
    ['add [4] recorded (requiresGrad)', () => E.add(w, b), [11, 22, 33, 44]],
  ];
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
function check(name, fn, expect) {
  const r = fn();
  const got = Array.from(r.data());
  r.dispose();
  if (got.length !== expect.length || got.some((v, i) => v !== expect[i])) {
    console.error(`${name}: wrong result ${JSON.stringify(got)}, expected ${JSON.stringify(expect)}`);
    process.exit(1);
  }
}
function batch(fn) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) fn().dispose();
  return Number(process.hrtime.bigint() - t0) / 1e3 / CALLS;
}

const mine = casesOf(ours), theirs = other ? casesOf(other) : null;
console.log(`op overhead: ${CALLS} calls per batch, median of ${BATCHES} batches (µs per call, allocation and dispose included)`);
if (theirs) console.log(`${''.padEnd(34)} ${'this tree'.padStart(10)} ${'--compare'.padStart(10)}   ratio (this / compare, median of pairs)`);
for (let k = 0; k < mine.length; k++) {
  const [name, fn, expect] = mine[k];
  check(name, fn, expect);
  if (theirs) check(name, theirs[k][1], expect);
  for (let i = 0; i < 3; i++) { batch(fn); if (theirs) batch(theirs[k][1]); } // warm up (JIT, buffer pool)
  const a = [], b = [], r = [];
  for (let j = 0; j < BATCHES; j++) {
    const ta = batch(fn);
    a.push(ta);
    if (theirs) { const tb = batch(theirs[k][1]); b.push(tb); r.push(ta / tb); }
  }
  console.log(`  ${name.padEnd(32)} ${median(a).toFixed(3).padStart(8)} µs` + (theirs ? ` ${median(b).toFixed(3).padStart(8)} µs   ${median(r).toFixed(2)}×` : ''));
}
const live = ours.memory().cpu.tensors;
if (live !== 4) { console.error(`leak: ${live} live tensors in this tree, expected the 4 inputs`); process.exit(1); }
