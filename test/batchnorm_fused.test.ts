// batchnorm_fused.test.ts — the fused native BatchNorm (forward, backward, running statistics)
// against the composed reference it replaces, across modes and options.
import { describe, expect, it } from 'vitest';
import * as E from '../lib/ts/index.js';
import { setFusedBatchNorm } from '../lib/ts/nn/functional.js';

function run(fused: boolean, shape: number[], opts: { affine?: boolean; momentum?: number | null; trackRunningStats?: boolean }, training: boolean, dtype: 'float32' | 'float64') {
  setFusedBatchNorm(fused);
  try {
    E.manualSeed(7);
    const c = shape[1];
    const bn = new E.nn.BatchNorm1d(c, opts as never);
    if (dtype === 'float64') bn.to('float64' as never);
    const x = E.randn(shape, { dtype, requiresGrad: true });
    const w = E.randn(shape, { dtype });
    // Two steps so that the running statistics (and eval after training) are exercised.
    const outs: number[][] = [];
    // The op that made each output: the fused path is one 'batchNorm' node (x requires grad, so
    // the graph is recorded in eval too); the composed one ends in an elementwise op.
    const lastOps: string[] = [];
    for (let step = 0; step < 2; step++) {
      if (training) bn.train(); else bn.eval();
      const y = bn.forward(x);
      lastOps.push(y.gradFn?.name ?? 'none');
      y.mul(w).sum().backward();
      outs.push(Array.from(y.data()));
    }
    const grads = [x, ...bn.parameters()].map((t) => Array.from(t.grad?.data() ?? []));
    // Parameters and buffers by name, so that the two paths are compared entry by entry.
    const stats = Object.entries(bn.stateDict()).map(([name, t]) => ({ name, values: Array.from(t.data()) }));
    return { outs, grads, stats, lastOps };
  } finally {
    setFusedBatchNorm(true);
  }
}

const cases: [string, number[], { affine?: boolean; momentum?: number | null; trackRunningStats?: boolean }, boolean][] = [
  ['train [16, 8]', [16, 8], {}, true],
  ['train [4, 3, 5]', [4, 3, 5], {}, true],
  ['eval [16, 8]', [16, 8], {}, false],
  ['train affine=false', [10, 4], { affine: false }, true],
  ['train momentum=null (cumulative)', [10, 4], { momentum: null }, true],
  ['eval without running stats', [10, 4], { trackRunningStats: false }, false],
];

describe.each(['float32', 'float64'] as const)('fused BatchNorm1d equals the composed reference (%s)', (dtype) => {
  it.each(cases)('%s', (_name, shape, opts, training) => {
    const a = run(true, shape, opts, training, dtype), b = run(false, shape, opts, training, dtype);
    // Each path ran: the fused kernel for a, the composed reference for b.
    expect(a.lastOps).toEqual(['batchNorm', 'batchNorm']);
    for (const op of b.lastOps) expect(['add', 'sub', 'mul', 'div']).toContain(op);
    const tol = dtype === 'float32' ? 2e-5 : 1e-10;
    const cmp = (x: number[][], y: number[][], what: string) => {
      expect(x.map((row) => row.length), `${what}: sizes`).toEqual(y.map((row) => row.length));
      x.forEach((row, i) => row.forEach((v, j) => {
        if (!(Math.abs(v - y[i][j]) <= tol + tol * Math.abs(y[i][j]))) expect.fail(`${what}[${i}][${j}]: fused ${v}, reference ${y[i][j]}`);
      }));
    };
    cmp(a.outs, b.outs, 'output');
    cmp(a.grads, b.grads, 'gradient');
    // The state dict holds what the options promise (γ, β when affine; the running statistics and
    // the batch count when tracked), the same entries on both paths, with the same values.
    const expected = [...(opts.affine === false ? [] : ['weight', 'bias']), ...(opts.trackRunningStats === false ? [] : ['running_mean', 'running_var', 'num_batches_tracked'])];
    expect(a.stats.map((e) => e.name)).toEqual(expected);
    expect(b.stats.map((e) => e.name)).toEqual(expected);
    cmp(a.stats.map((e) => e.values), b.stats.map((e) => e.values), 'state');
    // Training with tracked statistics moves them off their initial values (mean 0, variance 1, count 0).
    if (training && opts.trackRunningStats !== false) {
      const count = a.stats.find((e) => e.name === 'num_batches_tracked')!.values;
      expect(count).toEqual([2]);
      expect(a.stats.find((e) => e.name === 'running_mean')!.values.some((v) => v !== 0)).toBe(true);
    }
  });
});

describe('fused BatchNorm on an empty batch', () => {
  it('the native kernels accept N = 0 without crashing (was: SIGFPE in the channel grain)', async () => {
    const { native } = await import('../lib/ts/native.js');
    const h = (n: number) => native.alloc(0, n * 4);
    const c = 3;
    const x = h(0), dy = h(0), dx = h(0), w = h(c), sm = h(c), si = h(c), dw = h(c), db = h(c);
    expect(() => native.batchnormForward!(0, 0, c, 1, 1e-5, 0.1, true, x, 0, dx, 0, w, null, null, null, sm, si)).not.toThrow();
    expect(() => native.batchnormBackward!(0, 0, c, 1, 1e-5, true, x, 0, dy, 0, w, sm, si, null, null, dx, 0, dw, db)).not.toThrow();
    for (const t of [x, dy, dx, w, sm, si, dw, db]) native.free(t);
    // And through the layer (eval: training rejects one value per channel, as PyTorch): an empty
    // batch gives an empty output and zero parameter gradients.
    const bn = new E.nn.BatchNorm1d(c);
    bn.eval();
    expect(() => { bn.train(); bn.forward(E.zeros([0, c])); }).toThrow(/more than 1 value per channel/);
    bn.eval();
    const y = bn.forward(E.zeros([0, c], { requiresGrad: true }));
    expect(y.shape).toEqual([0, c]);
    y.sum().backward();
    expect(Array.from(bn.parameters()[0].grad!.data())).toEqual([0, 0, 0]);
  });
});
