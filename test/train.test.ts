// train.test.ts — fit/evaluate/predict, the callbacks, scheduler stepping, gradient clipping,
// aborting, hyper-parameter search and ensembles, on real models and data.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as E from '../lib/ts/index.js';

const { nn, data, callbacks, optim } = E;
const tmp = () => mkdtempSync(join(tmpdir(), 'entrena-train-'));

function spiralsSetup(seed = 0) {
  E.manualSeed(seed);
  const { x, y } = data.datasets.spirals({ samples: 600, classes: 3, seed });
  const [train, val] = data.randomSplit(new data.TensorDataset(x, y), [0.8, 0.2], { seed });
  const model = new nn.Sequential(new nn.Linear(2, 32), new nn.ReLU(), new nn.Linear(32, 32), new nn.ReLU(), new nn.Linear(32, 3));
  return {
    model, train: new data.DataLoader(train, { batchSize: 32, shuffle: true, seed }), val: new data.DataLoader(val, { batchSize: 256 }),
    loss: new nn.CrossEntropyLoss(), trainSet: train, valSet: val,
  };
}

describe('fit', () => {
  it('trains: loss falls, accuracy rises, history holds train and validation logs', async () => {
    const s = spiralsSetup();
    const h = await E.fit(s.model, { train: s.train, validation: s.val, loss: s.loss, optimizer: new optim.Adam(s.model.parameters(), { lr: 0.01 }), epochs: 15, metrics: ['accuracy'], progress: false });
    expect(h.epochs.length).toBe(15);
    expect(h.epochs[14].loss).toBeLessThan(h.epochs[0].loss * 0.5);
    expect(h.epochs[14].valMetrics!.accuracy).toBeGreaterThan(0.85);
    expect(h.series('valAccuracy').length).toBe(15);
    expect(h.stopReason).toBe('completed');
    const r = await E.evaluate(s.model, s.val, { loss: s.loss, metrics: ['accuracy', 'f1'] });
    expect(r.metrics.accuracy).toBeCloseTo(h.epochs[14].valMetrics!.accuracy, 6);
    // predict in batches equals one forward pass in eval mode
    const p1 = E.predict(s.model, s.valSet.x, { batchSize: 7 });
    const p2 = E.noGrad(() => { s.model.eval(); return s.model.forward(s.valSet.x); });
    // Different batch sizes block the GEMM differently: equal up to float32 rounding.
    const d1 = p1.data(), d2 = p2.data();
    for (let i = 0; i < d1.length; i++) expect(Math.abs(d1[i] - d2[i])).toBeLessThan(1e-5 * (1 + Math.abs(d2[i])));
  });

  it('is repeatable under manualSeed and leaks no tensors across epochs', async () => {
    const run = async () => {
      const s = spiralsSetup(3);
      const opt = new optim.SGD(s.model.parameters(), { lr: 0.1, momentum: 0.9 });
      const h = await E.fit(s.model, { train: s.train, loss: s.loss, optimizer: opt, epochs: 1, progress: false });
      // After the first epoch: gradients, momentum buffers and the loader's batch buffers exist.
      const after1 = E.memory().cpu;
      await E.fit(s.model, { train: s.train, loss: s.loss, optimizer: opt, epochs: 2, progress: false, history: h });
      const after3 = E.memory().cpu;
      return { losses: h.series('loss'), tensors: after3.tensors - after1.tensors, bytes: after3.bytes - after1.bytes };
    };
    const a = await run(), b = await run();
    expect(a.losses.length).toBe(3);
    expect(a.losses).toEqual(b.losses);
    expect(a.tensors).toBe(0);
    // Native bytes never grow; they may shrink when the garbage collector reclaims tensors that
    // earlier tests left to it (their External finalizers free the memory at GC time).
    expect(a.bytes).toBeLessThanOrEqual(0);
  });

  it('stops on an AbortSignal and returns the history so far', async () => {
    const s = spiralsSetup();
    const ac = new AbortController();
    const h = await E.fit(s.model, {
      train: s.train, loss: s.loss, optimizer: new optim.Adam(s.model.parameters()), epochs: 50, progress: false, signal: ac.signal,
      callbacks: [{ onEpochEnd: (log) => { if (log.epoch === 1) ac.abort(); } }],
    });
    expect(h.stopReason).toBe('aborted');
    expect(h.epochs.length).toBe(2);
  });

  it('yields to the event loop while training', async () => {
    const s = spiralsSetup();
    // A macrotask queued before fit() must run before fit() resolves: fit yields (setImmediate)
    // whenever ~10 ms have passed, and 10 epochs take well over that.
    let done = false, ranDuring = false, ticks = 0;
    setImmediate(() => { if (!done) ranDuring = true; });
    const timer = setInterval(() => { if (!done) ticks++; }, 1);
    const t0 = performance.now();
    await E.fit(s.model, { train: s.train, loss: s.loss, optimizer: new optim.Adam(s.model.parameters()), epochs: 10, progress: false });
    done = true;
    clearInterval(timer);
    expect(ranDuring).toBe(true);
    if (performance.now() - t0 > 50) expect(ticks).toBeGreaterThan(0);
  });

  it('steps schedulers per epoch, OneCycleLR per batch, ReduceLROnPlateau on the monitored value', async () => {
    const s = spiralsSetup();
    const opt = new optim.SGD(s.model.parameters(), { lr: 0.1, momentum: 0.9 });
    const h = await E.fit(s.model, { train: s.train, loss: s.loss, optimizer: opt, epochs: 3, progress: false, scheduler: new optim.lrScheduler.StepLR(opt, { stepSize: 1, gamma: 0.5 }) });
    expect(h.series('lr').map((v) => +v.toFixed(6))).toEqual([0.1, 0.05, 0.025]);
    const s2 = spiralsSetup();
    const opt2 = new optim.SGD(s2.model.parameters(), { lr: 0.1, momentum: 0.9 });
    const oc = new optim.lrScheduler.OneCycleLR(opt2, { maxLr: 0.5, totalSteps: 2 * s2.train.length });
    await E.fit(s2.model, { train: s2.train, loss: s2.loss, optimizer: opt2, epochs: 2, progress: false, scheduler: oc });
    expect(oc.lastEpoch).toBe(2 * s2.train.length);
    const s3 = spiralsSetup();
    const opt3 = new optim.Adam(s3.model.parameters(), { lr: 0.01 });
    // An absolute threshold no loss can beat after the first epoch: two reductions in three epochs.
    const plateau = new optim.lrScheduler.ReduceLROnPlateau(opt3, { patience: 0, factor: 0.5, monitor: 'loss', threshold: 10, thresholdMode: 'abs' });
    await E.fit(s3.model, { train: s3.train, loss: s3.loss, optimizer: opt3, epochs: 3, progress: false, scheduler: plateau });
    expect(opt3.paramGroups[0].lr).toBeCloseTo(0.0025, 9);
  });

  it('clips the global gradient norm', async () => {
    const w = E.tensor([[1, 1]], { requiresGrad: true });
    const model = { forward: (x: E.Tensor) => x.matmul(w.T), parameters: () => [w], train() {}, eval() {}, stateDict: () => ({ w }), loadStateDict() {} };
    const x = E.tensor([[300, 400]]), y = E.tensor([[0]]);
    const opt = new optim.SGD([w], { lr: 1 });
    await E.fit(model, { train: [[x, y]], loss: (p: E.Tensor, t: E.Tensor) => p.sub(t).sum(), optimizer: opt, epochs: 1, clipGradNorm: 5, progress: false });
    // The gradient [300, 400] (norm 500) is scaled to norm 5: w = [1 − 3, 1 − 4].
    expect(Array.from(w.data())).toEqual([expect.closeTo(-2, 4), expect.closeTo(-3, 4)]);
  });

  it('validates its options with clear errors', async () => {
    const s = spiralsSetup();
    const opt = new optim.Adam(s.model.parameters());
    await expect(E.fit({} as never, { train: s.train, loss: s.loss, optimizer: opt, epochs: 1 })).rejects.toThrow(/expected an nn.Module/);
    await expect(E.fit(s.model, { train: 5 as never, loss: s.loss, optimizer: opt, epochs: 1 })).rejects.toThrow(/expected train/);
    await expect(E.fit(s.model, { train: s.train, loss: s.loss, optimizer: opt, epochs: -1 })).rejects.toThrow(/epochs/);
    await expect(E.fit(s.model, { train: s.train, loss: 'mse' as never, optimizer: opt, epochs: 1 })).rejects.toThrow(/loss/);
    await expect(E.fit(s.model, { train: s.train, loss: s.loss, optimizer: {} as never, epochs: 1 })).rejects.toThrow(/optimizer/);
    await expect(E.fit(s.model, { train: s.train, loss: s.loss, optimizer: opt, epochs: 1, clipGradNorm: -1 })).rejects.toThrow(/clipGradNorm/);
  });
});

describe('callbacks', () => {
  it('EarlyStopping stops after `patience` epochs without improvement and restores the best weights', () => {
    const model = new nn.Linear(2, 1);
    const es = new callbacks.EarlyStopping({ patience: 2, restoreBestWeights: true });
    const ctx = { model, optimizer: {} as never, history: new E.History(), epoch: 0, epochs: 10, stopTraining: null as string | null };
    es.onTrainBegin();
    const w = model.parameters()[0];
    const log = (epoch: number, valLoss: number) => ({ epoch, loss: 1, valLoss, metrics: {}, lr: 0.1, seconds: 0 });
    w.copy_(E.tensor([[1, 1]])); es.onEpochEnd(log(0, 1.0), ctx);
    w.copy_(E.tensor([[2, 2]])); es.onEpochEnd(log(1, 0.5), ctx);
    w.copy_(E.tensor([[3, 3]])); es.onEpochEnd(log(2, 0.6), ctx);
    expect(ctx.stopTraining).toBeNull();
    w.copy_(E.tensor([[4, 4]])); es.onEpochEnd(log(3, 0.7), ctx);
    expect(ctx.stopTraining).toBe('earlyStopping');
    expect(es.bestEpoch).toBe(1);
    es.onTrainEnd(ctx);
    expect(Array.from(w.data())).toEqual([2, 2]);
    expect(() => new callbacks.EarlyStopping({ patience: -1 })).toThrow(/patience/);
  });

  it('EarlyStopping inside fit restores weights whose validation loss equals the best', async () => {
    const s = spiralsSetup();
    const es = new callbacks.EarlyStopping({ patience: 2, restoreBestWeights: true, minDelta: 0.5 });
    const h = await E.fit(s.model, { train: s.train, validation: s.val, loss: s.loss, optimizer: new optim.Adam(s.model.parameters(), { lr: 0.01 }), epochs: 30, callbacks: [es], progress: false });
    expect(h.stopReason).toBe('earlyStopping');
    const r = await E.evaluate(s.model, s.val, { loss: s.loss });
    expect(r.loss).toBeCloseTo(es.best, 5);
  });

  it('TerminateOnNaN names the epoch and batch', async () => {
    const s = spiralsSetup();
    let calls = 0;
    const nanAfter = (p: E.Tensor, t: E.Tensor) => (++calls > 5 ? p.sum().mul(NaN) : s.loss.forward(p, t));
    const cb = new callbacks.TerminateOnNaN();
    const h = await E.fit(s.model, { train: s.train, loss: nanAfter, optimizer: new optim.SGD(s.model.parameters(), { lr: 0.01 }), epochs: 3, callbacks: [cb], progress: false });
    expect(h.stopReason).toBe('nan');
    expect(cb.at).toEqual({ epoch: 0, batch: 5, loss: NaN });
    expect(String(h.extras.nan)).toMatch(/epoch 0, batch 5/);
  });

  it('CSVLogger, ModelCheckpoint and GradientMonitor record what they promise', async () => {
    const dir = tmp();
    const s = spiralsSetup();
    const monitor = new callbacks.GradientMonitor();
    const ckpt = new callbacks.ModelCheckpoint({ path: join(dir, 'best.safetensors'), monitor: 'valAccuracy', saveBestOnly: true });
    await E.fit(s.model, {
      train: s.train, validation: s.val, loss: s.loss, optimizer: new optim.Adam(s.model.parameters(), { lr: 0.01 }), epochs: 3, metrics: ['accuracy'], progress: false,
      callbacks: [new callbacks.CSVLogger(join(dir, 'log.csv')), ckpt, monitor],
    });
    const lines = readFileSync(join(dir, 'log.csv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe('epoch,loss,valLoss,lr,seconds,accuracy,valAccuracy');
    expect(lines.length).toBe(4);
    expect(existsSync(join(dir, 'best.safetensors'))).toBe(true);
    expect(ckpt.saves).toBeGreaterThanOrEqual(1);
    expect(monitor.epochs.length).toBe(3);
    const last = monitor.epochs[2];
    expect(last.map((l) => l.name)).toEqual(['0 (Linear)', '1 (ReLU)', '2 (Linear)', '3 (ReLU)', '4 (Linear)']);
    expect(last[0].gradNorm).toBeGreaterThan(0);
    expect(Number.isNaN(last[1].gradNorm)).toBe(true);
    // A ReLU after a randomly initialised Linear: some units dead, not all; the fraction is only
    // defined for the ReLU family (NaN for a Linear).
    expect(last[1].dead).toBeGreaterThan(0);
    expect(last[1].dead).toBeLessThan(1);
    expect(Number.isNaN(last[0].dead)).toBe(true);
    // The model's forward methods are restored after training.
    const layers = (s.model as unknown as { namedModules(): [string, object][] }).namedModules().filter(([n]) => n !== '');
    expect(layers.length).toBe(5);
    for (const [, layer] of layers) expect(Object.prototype.hasOwnProperty.call(layer, 'forward')).toBe(false);
  });
});

describe('GradientMonitor statistics', () => {
  it('counts dead ReLU outputs and saturated Tanh outputs exactly', async () => {
    // Zero weights: each unit's output is its bias for every sample. ReLU units with a negative
    // bias are dead (2 of 4); Tanh units with |bias| ≥ 3 are saturated (tanh(3) ≈ 0.995; 3 of 4).
    const model = new nn.Sequential(new nn.Linear(2, 4), new nn.ReLU(), new nn.Linear(4, 4), new nn.Tanh());
    const [l0, , l2] = [...model] as [E.nn.Linear, unknown, E.nn.Linear];
    E.noGrad(() => {
      l0.weight.fill_(0); l0.bias!.copy_(E.tensor([-1, -2, 1, 2]));
      l2.weight.fill_(0); l2.bias!.copy_(E.tensor([3, -3, 0.5, 4]));
    });
    const x = E.randn([8, 2]), y = E.randn([8, 4]);
    const monitor = new callbacks.GradientMonitor();
    // lr 0: the weights (and hence the statistics) stay as set.
    await E.fit(model, { train: [[x, y]], loss: new nn.MSELoss(), optimizer: new optim.SGD(model.parameters(), { lr: 0 }), epochs: 1, callbacks: [monitor], progress: false });
    const [lin0, relu, lin2, tanh] = monitor.epochs[0];
    expect(relu.dead).toBe(0.5);
    expect(tanh.saturated).toBe(0.75);
    expect(Number.isNaN(relu.saturated) && Number.isNaN(tanh.dead) && Number.isNaN(lin0.dead) && Number.isNaN(lin2.saturated)).toBe(true);
    // Activation statistics of the ReLU: outputs 0, 0, 1, 2 for every sample.
    expect(relu.activationMean).toBeCloseTo(0.75, 6);
  });
});

describe('tune and ensemble', () => {
  it('gridSearch tries every combination and ranks them', async () => {
    const seen: string[] = [];
    const ranked = await E.tune.gridSearch({ a: [1, 2, 3], b: [10, 20] }, (p) => { seen.push(`${p.a},${p.b}`); return -(((p.a as number) - 2) ** 2) + (p.b as number) / 100; });
    expect(seen.length).toBe(6);
    expect(ranked[0].params).toEqual({ a: 2, b: 20 });
    expect(ranked.map((t) => t.rank)).toEqual([1, 2, 3, 4, 5, 6]);
    const min = await E.tune.gridSearch({ a: [1, 2, 3] }, (p) => p.a as number, { mode: 'min', folds: 3 });
    expect(min[0].params.a).toBe(1);
    expect(min[0].scores.length).toBe(3);
  });
  it('randomSearch is seeded and respects ranges', async () => {
    const space = { lr: { min: 1e-4, max: 1e-1, log: true }, units: [16, 32, 64] };
    const a = await E.tune.randomSearch(space, (p) => p.lr as number, { trials: 8, seed: 4 });
    const b = await E.tune.randomSearch(space, (p) => p.lr as number, { trials: 8, seed: 4 });
    expect(a.length).toBe(8);
    expect(a.map((t) => t.params)).toEqual(b.map((t) => t.params));
    for (const t of a) { expect(t.params.lr as number).toBeGreaterThanOrEqual(1e-4); expect(t.params.lr as number).toBeLessThanOrEqual(1e-1); }
    await expect(E.tune.randomSearch({ x: { min: 0, max: 1, log: true } }, () => 0)).rejects.toThrow(/log scale/);
  });
  it('kFold partitions every sample exactly once', () => {
    const folds = E.tune.kFold(10, 3);
    expect(folds.map((f) => f.validation.length)).toEqual([4, 3, 3]);
    expect(folds.flatMap((f) => f.validation).sort((p, q) => p - q)).toEqual([...Array(10).keys()]);
    for (const f of folds) expect(f.train.length + f.validation.length).toBe(10);
  });
  it('ensemble.average averages member outputs', () => {
    const m1 = { forward: (x: E.Tensor) => x.mul(2) }, m2 = { forward: (x: E.Tensor) => x.mul(4) };
    const ens = E.ensemble.average([m1, m2]);
    expect(ens.forward(E.tensor([1, 2])).toArray()).toEqual([3, 6]);
    expect(() => E.ensemble.average([])).toThrow(/non-empty/);
  });
});

describe('lrFinder', () => {
  it('sweeps the learning rate exponentially, suggests one, stops on divergence, and restores the model', async () => {
    const s = spiralsSetup(5);
    const before = Object.fromEntries(Object.entries(s.model.stateDict()).map(([k, v]) => [k, Array.from(v.data())]));
    const opt = new optim.SGD(s.model.parameters(), { lr: 0.123, momentum: 0.9 });
    const r = await E.lrFinder(s.model, { train: s.train, loss: s.loss, optimizer: opt, startLr: 1e-5, endLr: 1e3, steps: 80 });
    expect(r.lrs[0]).toBeCloseTo(1e-5, 12);
    for (let i = 1; i < r.lrs.length; i++) expect(r.lrs[i] / r.lrs[i - 1]).toBeCloseTo((1e3 / 1e-5) ** (1 / 79), 9);
    // lr 1000 with momentum diverges long before the end of the sweep.
    expect(r.lrs.length).toBeLessThan(80);
    expect(r.suggestion).toBeGreaterThan(1e-4);
    expect(r.suggestion).toBeLessThan(10);
    expect(opt.paramGroups[0].lr).toBe(0.123);
    for (const [k, v] of Object.entries(s.model.stateDict())) expect(Array.from(v.data()), k).toEqual(before[k]);
    const dir = tmp();
    const svg = r.plot(join(dir, 'lr.svg'));
    expect(svg).toContain('smoothed loss');
    expect(existsSync(join(dir, 'lr.svg'))).toBe(true);
    await expect(E.lrFinder(s.model, { train: s.train, loss: s.loss, optimizer: opt, startLr: 1, endLr: 0.1 })).rejects.toThrow(/startLr < endLr/);
  });
});

describe('progress display', () => {
  it('draws a bar with batch, loss, metric, samples/s and ETA on a TTY, and one line per epoch otherwise', async () => {
    const { Progress } = await import('../lib/ts/train/progress.js');
    const lines: string[] = [];
    const tty = { isTTY: true, write: (s: string) => { lines.push(s); return true; } } as unknown as NodeJS.WriteStream;
    const p = new Progress(true, tty);
    p.startEpoch(0, 3, 10);
    const m = E.metrics.metric('accuracy');
    m.update(E.tensor([1, 0], { dtype: 'int32' }), E.tensor([1, 1], { dtype: 'int32' }));
    p.batch(10, 1280, 0.5, [m]);
    expect(lines.at(-1)).toMatch(/epoch 1\/3 \[=+>\] 10\/10 loss 0\.5000 accuracy 0\.5000 \d+ samples\/s ETA 0s/);
    p.endEpoch({ epoch: 0, loss: 0.5, metrics: { accuracy: 0.5 }, lr: 0.01, seconds: 1 });
    expect(lines.at(-1)).toMatch(/^\r\x1b\[2Kepoch 1\/3 {2}loss 0\.5000 {2}accuracy 0\.5000 {2}lr 0\.0100 {2}1\.0s\n$/);
    const plain: string[] = [];
    const pipe = { isTTY: false, write: (s: string) => { plain.push(s); return true; } } as unknown as NodeJS.WriteStream;
    const q = new Progress(true, pipe);
    q.startEpoch(0, 1, 5);
    q.batch(5, 640, 0.25, []);
    q.endEpoch({ epoch: 0, loss: 0.25, metrics: {}, lr: 0.1, seconds: 2 });
    expect(plain).toEqual(['epoch 1/1  loss 0.2500  lr 0.100  2.0s\n']);
  });
});

// Runs where a CUDA device is present (a GPU, or the emulated device of test/stress/cuda_emu.test.ts).
describe.skipIf(!E.cuda.isAvailable())(`predict across devices${E.cuda.isAvailable() ? '' : ' (skipped: no CUDA device or a CPU-only build)'}`, () => {
  it('a cuda model takes a cpu x batch by batch and returns its output on the cpu, equal to the cpu model', () => {
    E.manualSeed(3);
    const model = new E.nn.Sequential(new E.nn.Linear(5, 8), new E.nn.ReLU(), new E.nn.Linear(8, 3));
    const x = E.randn([37, 5]);
    const onCpu = E.predict(model, x, { batchSize: 10 });
    model.to('cuda');
    const before = E.memory();
    const out = E.predict(model, x, { batchSize: 10 });
    expect(out.device).toBe('cpu');
    expect(out.shape).toEqual([37, 3]);
    const a = out.data(), b = onCpu.data();
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1e-5 + 1e-5 * Math.abs(b[i]));
    // Only the result is left behind (the batches moved to the device were released).
    const after = E.memory();
    expect(after.cuda.tensors).toBe(before.cuda.tensors);
  });
});
