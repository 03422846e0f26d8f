// reliability_numerics.test.ts — numerical safety: float32 results of large reductions and softmax
// against float64 references computed here in plain JavaScript; TerminateOnNaN names the epoch and
// batch where a fit's loss became NaN; and the opt-in anomaly mode names the op that produced the
// first NaN (when the build has it).
import { describe, expect, it } from 'vitest';
import * as E from '../lib/ts/index.js';

/** Deterministic values in a wide dynamic range (mulberry32), as float32 numbers. */
function values(n: number, seed: number, scale = 1, offset = 0): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = offset + scale * ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1);
  }
  return out;
}
const relErr = (got: number, want: number) => Math.abs(got - want) / Math.max(Math.abs(want), 1e-30);

describe('float32 against float64 references', () => {
  // 2^22 + 3 elements: large enough that a naive float32 running sum loses digits, odd so that the
  // vectorised and tail paths are both exercised.
  const N = (1 << 22) + 3;
  const host = values(N, 1, 1, 0.5); // mean ≈ 0.5: a long sum of same-signed values, the hard case
  const x = E.tensor(host);
  let ref = 0;
  for (let i = 0; i < N; i++) ref += host[i];

  it('sum and mean of 4M float32 values stay within 1e-5 relative of the float64 sum', () => {
    const s = x.sum(), m = x.mean();
    // A naive float32 accumulator is off by ~1e-2 here; pairwise or float64 accumulation is ~1e-7.
    expect(relErr(s.item(), ref)).toBeLessThan(1e-5);
    expect(relErr(m.item(), ref / N)).toBeLessThan(1e-5);
    s.dispose(); m.dispose();
  });

  it('sum along a dim of a [1024, 4096] matrix matches float64 row sums', () => {
    const rows = 1024, cols = 4096;
    const t = E.tensor(host.subarray(0, rows * cols), { shape: [rows, cols] });
    const r = t.sum(1), c = t.sum(0);
    const rs = r.data(), cs = c.data();
    for (let i = 0; i < rows; i += 97) {
      let want = 0;
      for (let j = 0; j < cols; j++) want += host[i * cols + j];
      expect(relErr(rs[i], want)).toBeLessThan(1e-5);
    }
    for (let j = 0; j < cols; j += 331) {
      let want = 0;
      for (let i = 0; i < rows; i++) want += host[i * cols + j];
      expect(relErr(cs[j], want)).toBeLessThan(1e-5);
    }
    for (const u of [t, r, c]) u.dispose();
  });

  it('variance of values with a large common offset (catastrophic cancellation) matches float64', () => {
    const n = 1 << 20;
    const h = values(n, 7, 1, 1e4); // var ≈ 1/3 around a mean of 1e4: E[x²] − E[x]² would lose it all
    const t = E.tensor(h);
    let mean = 0;
    for (let i = 0; i < n; i++) mean += h[i];
    mean /= n;
    let m2 = 0;
    for (let i = 0; i < n; i++) m2 += (h[i] - mean) ** 2;
    const v = t.variance(), want = m2 / (n - 1);
    expect(relErr(v.item(), want)).toBeLessThan(1e-3);
    t.dispose(); v.dispose();
  });

  it('softmax and logSoftmax over 100k logits with large magnitudes match float64 (no overflow, sums to 1)', () => {
    const n = 100_000;
    const h = values(n, 3, 80, 0); // logits in [-80, 80]: exp overflows float32 without max-subtraction
    h[17] = 88.5; h[18] = -1e30;
    const t = E.tensor(h, { shape: [1, n] });
    const p = t.softmax(-1), lp = t.logSoftmax(-1);
    let m = -Infinity;
    for (const v of h) m = Math.max(m, v);
    let z = 0;
    for (const v of h) z += Math.exp(v - m);
    const lse = m + Math.log(z);
    const pd = p.data(), lpd = lp.data();
    let total = 0, worstP = 0, worstLog = 0;
    for (let i = 0; i < n; i++) {
      total += pd[i];
      const want = Math.exp(h[i] - lse);
      worstP = Math.max(worstP, Math.abs(pd[i] - want) / (want + 1e-30));
      if (h[i] > -1e29) worstLog = Math.max(worstLog, Math.abs(lpd[i] - (h[i] - lse)) / Math.max(1, Math.abs(h[i] - lse)));
    }
    expect(worstP).toBeLessThan(1e-5);
    expect(worstLog).toBeLessThan(1e-5);
    expect(Math.abs(total - 1)).toBeLessThan(1e-4);
    expect(pd.every((v) => Number.isFinite(v))).toBe(true);
    for (const u of [t, p, lp]) u.dispose();
  });

  it('matmul with K = 16384 matches a float64 dot product', () => {
    const K = 16384;
    const a = values(4 * K, 11), b = values(K * 3, 12);
    const A = E.tensor(a, { shape: [4, K] }), B = E.tensor(b, { shape: [K, 3] });
    const C = A.matmul(B);
    const c = C.data();
    for (let i = 0; i < 4; i++)
      for (let j = 0; j < 3; j++) {
        let want = 0, mag = 0;
        for (let k = 0; k < K; k++) { want += a[i * K + k] * b[k * 3 + j]; mag += Math.abs(a[i * K + k] * b[k * 3 + j]); }
        expect(Math.abs(c[i * 3 + j] - want)).toBeLessThanOrEqual(1e-5 * mag);
      }
    for (const u of [A, B, C]) u.dispose();
  });

  it('cross-entropy of extreme logits stays finite and matches float64', () => {
    const logits = E.tensor([[1000, -1000, 0], [-1e4, 1e4, 5], [0, 0, 0]]);
    const labels = E.tensor([1, 1, 2], { dtype: 'int32' });
    const l = new E.nn.CrossEntropyLoss({ reduction: 'none' }).forward(logits, labels);
    const got = Array.from(l.data());
    // log-sum-exp − logit[label], in float64.
    const ref = [[1000, -1000, 0, 1], [-1e4, 1e4, 5, 1], [0, 0, 0, 2]].map(([a, b, c, y]) => {
      const v = [a, b, c], m = Math.max(...v);
      return m + Math.log(v.reduce((s, q) => s + Math.exp(q - m), 0)) - v[y];
    });
    got.forEach((g, i) => expect(Math.abs(g - ref[i])).toBeLessThanOrEqual(1e-3 * Math.max(1, ref[i])));
    for (const u of [logits, labels, l]) u.dispose();
  });
});

describe('NaN during training', () => {
  function nanRun(callbacks: E.callbacks.TerminateOnNaN[], poisonAt: { epoch: number; batch: number }) {
    E.manualSeed(0);
    const model = new E.nn.Sequential(new E.nn.Linear(3, 4), new E.nn.ReLU(), new E.nn.Linear(4, 1));
    const x = E.randn([32, 3]), y = E.randn([32, 1]);
    const ds = new E.data.TensorDataset(x, y);
    const loader = new E.data.DataLoader(ds, { batchSize: 8 });
    // A loss that turns NaN at a chosen (epoch, batch): the model's own numbers are not touched.
    let epoch = 0, batch = 0;
    const mse = new E.nn.MSELoss();
    const loss = (p: E.Tensor, t: E.Tensor) => {
      const l = mse.forward(p, t);
      const hit = epoch === poisonAt.epoch && batch === poisonAt.batch;
      batch++;
      return hit ? l.mul(NaN) : l;
    };
    const counter = { onEpochBegin: (e: number) => { epoch = e; batch = 0; } };
    return { run: () => E.fit(model, { train: loader, loss, optimizer: new E.optim.SGD(model.parameters(), { lr: 0.01 }), epochs: 4, callbacks: [counter, ...callbacks], progress: false }), model, dispose: () => { loader.dispose(); x.dispose(); y.dispose(); } };
  }

  it('TerminateOnNaN stops at the first NaN loss and names its epoch and batch', async () => {
    const cb = new E.callbacks.TerminateOnNaN();
    const r = nanRun([cb], { epoch: 2, batch: 3 });
    const history = await r.run();
    expect(cb.at).toMatchObject({ epoch: 2, batch: 3 });
    expect(cb.at!.loss).toBeNaN();
    expect(history.stopReason).toBe('nan');
    expect(String(history.extras.nan)).toMatch(/epoch 2, batch 3/);
    // Epochs 0 and 1 completed; epoch 2 stopped at its NaN batch.
    expect(history.epochs.length).toBeLessThanOrEqual(3);
    r.dispose();
  });

  it('a loss that becomes NaN through the model (huge learning rate) is caught too', async () => {
    E.manualSeed(1);
    const model = new E.nn.Sequential(new E.nn.Linear(4, 16), new E.nn.Tanh(), new E.nn.Linear(16, 1));
    const x = E.randn([64, 4]).mul(100), y = E.randn([64, 1]).mul(1e6);
    const loader = new E.data.DataLoader(new E.data.TensorDataset(x, y), { batchSize: 16 });
    const cb = new E.callbacks.TerminateOnNaN();
    const history = await E.fit(model, { train: loader, loss: new E.nn.MSELoss(), optimizer: new E.optim.SGD(model.parameters(), { lr: 1e6 }), epochs: 50, callbacks: [cb], progress: false });
    expect(cb.at, 'the loss never became non-finite').not.toBeNull();
    expect(history.stopReason).toBe('nan');
    expect(String(history.extras.nan)).toMatch(new RegExp(`epoch ${cb.at!.epoch}, batch ${cb.at!.batch}`));
    loader.dispose(); x.dispose(); y.dispose();
  });
});

const anomalyApi = E as unknown as { detectAnomaly?: <T>(fn: () => T) => T; setDetectAnomaly?: (on: boolean) => void; isAnomalyEnabled?: () => boolean };
describe.skipIf(typeof anomalyApi.detectAnomaly !== 'function')('anomaly mode names the op that produced the first NaN', () => {
  const expectAnomaly = (fn: () => unknown, pattern: RegExp) => {
    try { fn(); } catch (e) {
      expect(e).toBeInstanceOf(E.EntrenaError);
      expect((e as E.EntrenaError).code).toBe('ERR_ANOMALY');
      expect((e as Error).message).toMatch(pattern);
      return;
    }
    throw new Error('expected ERR_ANOMALY');
  };

  it('forward: log of a negative input is named', () => {
    const x = E.tensor([1, -1, 2], { requiresGrad: true });
    expectAnomaly(() => anomalyApi.detectAnomaly!(() => x.mul(2).log().sum()), /'log'/);
    x.dispose();
  });

  it('backward: sqrt at 0 gives an infinite, then NaN, gradient and the rule is named', () => {
    const x = E.tensor([0, 1], { requiresGrad: true });
    expectAnomaly(() => anomalyApi.detectAnomaly!(() => { const l = x.sqrt().mul(0).sum(); l.backward(); }), /backward of '(sqrt|mul)'/);
    x.grad = null; x.dispose();
  });

  it('NaN that came in is not blamed on the op that passed it on; off by default and restored after', () => {
    const x = E.tensor([NaN, 1], { requiresGrad: true });
    expect(() => anomalyApi.detectAnomaly!(() => x.mul(2).add(1).sum().dispose())).not.toThrow();
    expect(anomalyApi.isAnomalyEnabled?.() ?? false).toBe(false);
    anomalyApi.setDetectAnomaly!(true);
    try {
      const y = E.tensor([-1], { requiresGrad: true });
      expectAnomaly(() => y.log(), /'log'/);
      y.dispose();
    } finally { anomalyApi.setDetectAnomaly!(false); }
    const z = E.tensor([-1], { requiresGrad: true });
    const r = z.log(); // off again: NaN flows silently
    expect(r.item()).toBeNaN();
    r.dispose(); z.dispose(); x.dispose();
  });
});
