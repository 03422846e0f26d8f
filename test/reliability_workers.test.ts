// reliability_workers.test.ts — the addon loads and works in several worker_threads at once: each
// worker trains a tiny model (sharing the process's native thread pool with the others) and its
// weights equal, bit for bit, those of the same training on this thread.
//
// This file uses the compiled dist/ only (workers cannot load TypeScript) and never lib/ts: two
// copies of the library in one thread would share the addon (see docs/reliability.md).
import { beforeAll, describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { cpSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { distIndex as dist, requireDist } from './helpers/dist.js';

// The training, as a string so that the worker and this thread run the very same code.
const TRAIN = `
async function train(E, seed) {
  E.manualSeed(seed);
  const x = E.randn([64, 6]), y = E.randint(0, 3, [64]);
  const model = new E.nn.Sequential(new E.nn.Linear(6, 32), new E.nn.ReLU(), new E.nn.Dropout(0.1), new E.nn.Linear(32, 3));
  const loader = new E.data.DataLoader(new E.data.TensorDataset(x, y), { batchSize: 8, shuffle: true, seed });
  const h = await E.fit(model, { train: loader, loss: new E.nn.CrossEntropyLoss(), optimizer: new E.optim.AdamW(model.parameters(), { lr: 0.01 }), epochs: 4, progress: false });
  // A GEMM large enough to use the native thread pool from several threads at once.
  const big = E.randn([256, 256]).matmul(E.randn([256, 256])).sum().item();
  return { weights: model.parameters().map((p) => Array.from(p.data())), losses: h.epochs.map((e) => e.loss), big };
}`;

function inWorker(seed: number): Promise<unknown> {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    ${TRAIN}
    import(workerData.dist).then((E) => train(E, workerData.seed)).then((r) => parentPort.postMessage(r), (e) => parentPort.postMessage({ error: String(e && e.stack || e) }));`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { dist: pathToFileURL(dist).href, seed } });
    w.once('message', (m) => { void w.terminate(); resolve(m); });
    w.once('error', reject);
  });
}

describe('worker_threads', () => {
  // dist/ is compiled by the globalSetup; missing or stale, it fails this suite (never skips it).
  beforeAll(() => { requireDist(); });
  it('4 workers train at once; each equals the same training on the main thread', async () => {
    const E = await import(pathToFileURL(dist).href);
    const train = new Function('E', 'seed', `${TRAIN}; return train(E, seed);`) as (e: unknown, s: number) => Promise<{ weights: number[][]; losses: number[]; big: number }>;
    const seeds = [1, 2, 3, 1];
    const reference = new Map<number, Awaited<ReturnType<typeof train>>>();
    for (const s of new Set(seeds)) reference.set(s, await train(E, s));
    const results = await Promise.all(seeds.map((s) => inWorker(s)));
    results.forEach((r, i) => {
      expect((r as { error?: string }).error, `worker ${i}`).toBeUndefined();
      expect(r, `worker ${i} (seed ${seeds[i]})`).toEqual(reference.get(seeds[i]));
    });
  }, 60_000);

  it('a worker that is terminated mid-training does not disturb the others (or this thread)', async () => {
    const E = await import(pathToFileURL(dist).href);
    const doomed = new Worker(`const { workerData } = require('node:worker_threads'); import(workerData).then(async (E) => { for (;;) { E.randn([128, 128]).matmul(E.randn([128, 128])).dispose(); await null; } });`, { eval: true, workerData: pathToFileURL(dist).href });
    await new Promise((r) => setTimeout(r, 300));
    const survivor = inWorker(5);
    await doomed.terminate();
    const r = (await survivor) as { error?: string; losses: number[] };
    expect(r.error).toBeUndefined();
    expect(r.losses.every(Number.isFinite)).toBe(true);
    const t = E.ones([3]).add(1);
    expect(Array.from(t.data())).toEqual([2, 2, 2]);
  }, 60_000);

  // Last in this file: it leaves this process's copy of the library in the broken state it shows.
  it('a second copy of the library loaded in the same thread leaves the first one computing right (known bug)', async () => {
    const E = await import(pathToFileURL(dist).href);
    const before = Array.from(E.tensor([[1, 2], [3, 4]]).transpose(0, 1).add(E.tensor([1, 1])).data());
    expect(before).toEqual([2, 4, 3, 5]);
    // A duplicated install: the same dist/ and addon under another package root.
    const dir = mkdtempSync(join(tmpdir(), 'entrena-dup-'));
    const repo = join(import.meta.dirname, '..');
    cpSync(join(repo, 'dist'), join(dir, 'dist'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'entrena', type: 'module' }));
    symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
    symlinkSync(join(repo, 'build'), join(dir, 'build'));
    const B = await import(pathToFileURL(join(dir, 'dist', 'index.js')).href);
    expect(Array.from(B.tensor([10, 20]).add(1).data())).toEqual([11, 21]);
    // Was [2, 3, 4, 0]: the second copy's native.init replaced the scratch buffer the addon reads.
    expect(Array.from(E.tensor([[1, 2], [3, 4]]).transpose(0, 1).add(E.tensor([1, 1])).data())).toEqual([2, 4, 3, 5]);
  });
});
