// reliability.test.mjs — CUDA reliability through the public API (dist/index.js): out-of-memory is
// an error the caller can catch, after which training continues (with a smaller batch) and memory
// is given back. Plain node:test (npm run test:gpu); every test skips, saying why, when
// `cuda.isAvailable()` is false.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = path.join(root, 'dist', 'index.js');
let E = null;
let skip = false;
if (!fs.existsSync(dist)) skip = 'dist/index.js is missing (npx tsc -p tsconfig.json)';
else {
  E = await import(pathToFileURL(dist).href);
  if (!E.cuda.isAvailable()) skip = 'no CUDA GPU available (cuda.isAvailable() is false)';
}

/** Allocates 1 GiB blocks on the GPU until ERR_OUT_OF_MEMORY; returns the blocks (to free). */
function fillGpu() {
  const blocks = [];
  for (let i = 0; i < 4096; i++) {
    try {
      blocks.push(E.zeros([256, 1024, 1024], { device: 'cuda' }));
    } catch (e) {
      return { blocks, error: e };
    }
  }
  return { blocks, error: null };
}

test('allocating until out of memory throws a catchable ERR_OUT_OF_MEMORY', { skip }, () => {
  const { blocks, error } = fillGpu();
  try {
    assert.ok(error, `no error after ${blocks.length} GiB`);
    assert.ok(error instanceof E.EntrenaError, `${error?.constructor?.name}: ${error?.message}`);
    assert.equal(error.code, 'ERR_OUT_OF_MEMORY');
  } finally {
    for (const b of blocks) b.dispose();
  }
  // Freed: a large allocation succeeds again.
  const again = E.zeros([256, 1024, 1024], { device: 'cuda' });
  again.dispose();
});

test('training that runs out of memory recovers: catch, smaller batch, continue; memory is returned', { skip }, async () => {
  E.manualSeed(0);
  const model = new E.nn.Sequential(new E.nn.Linear(4096, 4096), new E.nn.ReLU(), new E.nn.Linear(4096, 10)).to('cuda');
  const optimizer = new E.optim.Adam(model.parameters(), { lr: 1e-4 });
  const lossFn = new E.nn.CrossEntropyLoss();
  const before = E.cuda.memory();
  // Leave almost no room, so that the first (huge) batch fails part-way through forward/backward.
  const { blocks } = fillGpu();
  const ballast = blocks.slice(0, Math.max(0, blocks.length - 2));
  for (const b of blocks.slice(ballast.length)) b.dispose();
  let batch = 65536, failures = 0, steps = 0, lastLoss = NaN;
  try {
    while (steps < 5 && batch >= 16) {
      try {
        const x = E.randn([batch, 4096], { device: 'cuda' });
        const y = E.randint(0, 10, [batch]).to('cuda');
        lastLoss = E.tidy(() => {
          optimizer.zeroGrad();
          const l = lossFn.forward(model.forward(x), y);
          l.backward();
          optimizer.step();
          return l.item();
        });
        x.dispose(); y.dispose();
        steps++;
      } catch (e) {
        assert.ok(e instanceof E.EntrenaError, `${e?.constructor?.name}: ${e?.message}`);
        assert.equal(e.code, 'ERR_OUT_OF_MEMORY');
        failures++;
        batch = Math.floor(batch / 4);
      }
    }
  } finally {
    for (const b of ballast) b.dispose();
  }
  assert.ok(failures >= 1, 'the first batch was expected to run out of memory');
  assert.equal(steps, 5, `only ${steps} steps after ${failures} OOM errors (batch ${batch})`);
  assert.ok(Number.isFinite(lastLoss));
  optimizer.zeroGrad();
  // What the failed steps allocated was given back: only parameters, Adam state and cache remain.
  E.cuda.synchronize();
  const after = E.cuda.memory();
  const params = model.parameters().reduce((n, p) => n + p.size * 4, 0);
  assert.ok(after.allocatedBytes <= before.allocatedBytes + 3 * params + (64 << 20), `allocated ${after.allocatedBytes} bytes, before ${before.allocatedBytes}`);
  for (const p of model.parameters()) p.dispose();
});

test('a fit() whose batches do not fit fails with ERR_OUT_OF_MEMORY and leaves the model trainable', { skip }, async () => {
  E.manualSeed(1);
  const model = new E.nn.Sequential(new E.nn.Linear(2048, 2048), new E.nn.Linear(2048, 2)).to('cuda');
  const optimizer = new E.optim.SGD(model.parameters(), { lr: 0.01 });
  const make = (rows) => new E.data.DataLoader(new E.data.TensorDataset(E.randn([rows, 2048], { device: 'cuda' }), E.randint(0, 2, [rows]).to('cuda')), { batchSize: rows });
  const { blocks } = fillGpu();
  const ballast = blocks.slice(0, Math.max(0, blocks.length - 1));
  for (const b of blocks.slice(ballast.length)) b.dispose();
  let error = null;
  try {
    await E.fit(model, { train: make(200_000), loss: new E.nn.CrossEntropyLoss(), optimizer, epochs: 1, progress: false });
  } catch (e) { error = e; } finally { for (const b of ballast) b.dispose(); }
  assert.ok(error && error.code === 'ERR_OUT_OF_MEMORY', `expected ERR_OUT_OF_MEMORY, got ${error?.code ?? 'no error'}`);
  const h = await E.fit(model, { train: make(256), loss: new E.nn.CrossEntropyLoss(), optimizer, epochs: 2, progress: false });
  assert.equal(h.epochs.length, 2);
  assert.ok(h.epochs.every((e) => Number.isFinite(e.loss)));
});
