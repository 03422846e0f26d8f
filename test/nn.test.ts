// nn.test.ts — PyTorch parity for lib/ts/nn: layers (forward, backward, running statistics),
// losses (every reduction and option), initialiser statistics, gains, state-dict keys, gradient
// clipping and max-norm. Fixtures: scripts/gen_nn_fixtures.py → test/fixtures/nn.json.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { Tensor, tidy } from '../lib/ts/tensor.js';
import { manualSeed, tensor, zeros } from '../lib/ts/ops/index.js';
import * as nn from '../lib/ts/nn/index.js';

type Nested = number | Nested[];
const fx = JSON.parse(readFileSync(new URL('./fixtures/nn.json', import.meta.url), 'utf8'));

function flat(v: Nested): number[] {
  return Array.isArray(v) ? v.flatMap((x) => flat(x)) : [v];
}
function shapeOf(v: Nested): number[] {
  const s: number[] = [];
  let c: Nested = v;
  while (Array.isArray(c)) { s.push(c.length); c = c[0]; }
  return s;
}
function close(actual: Tensor | number | Nested, expected: Nested, what: string, rtol = 1e-4, atol = 1e-5): void {
  const a = actual instanceof Tensor ? Array.from(actual.data() as ArrayLike<number>) : flat(actual as Nested);
  const e = flat(expected);
  if (actual instanceof Tensor) expect(actual.shape, `${what}: shape`).toEqual(shapeOf(expected));
  expect(a.length, `${what}: size`).toBe(e.length);
  for (let i = 0; i < e.length; i++) {
    const ok = Math.abs(a[i] - e[i]) <= atol + rtol * Math.abs(e[i]);
    if (!ok) throw new Error(`${what}[${i}]: got ${a[i]}, expected ${e[i]}`);
  }
}
// ENTRENA_TEST_DEVICE=cuda runs the layer and loss cases on the GPU (or the emulated CUDA backend of
// test/stress/cuda_emu.test.ts) against the same PyTorch numbers.
const device = (process.env.ENTRENA_TEST_DEVICE ?? 'cpu') as 'cpu' | 'cuda';
function t32(v: Nested): Tensor { return tensor(v as number[], { device }); }

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function build(ctor: any[]): nn.Module {
  const [cls, ...args] = ctor;
  if (cls === 'Sequential') return new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4), new nn.ReLU(), new nn.Linear(4, 2));
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const C = (nn as any)[cls];
  return new C(...args);
}

describe('layers match PyTorch', () => {
  for (const c of fx.layers) {
    test(c.name, () => {
      tidy(() => {
        const m = build(c.ctor);
        const sd: Record<string, Tensor> = {};
        for (const [k, v] of Object.entries(c.state)) sd[k] = t32(v as Nested);
        m.to(device);
        m.loadStateDict(sd); // no num_batches_tracked: allowed
        m.train(c.train);
        const x = tensor(c.x, { requiresGrad: true, device });
        const y = m.forward(x);
        expect(y.device).toBe(device);
        close(y, c.y, 'y');
        y.mul(t32(c.gy)).sum().backward();
        close(x.grad!, c.dx, 'dx');
        const params = Object.fromEntries(m.namedParameters());
        for (const [k, g] of Object.entries(c.grads)) close(params[k].grad!, g as Nested, `grad ${k}`);
        expect(Object.keys(m.stateDict())).toEqual(Object.keys(c.after));
        const after = m.stateDict();
        for (const [k, v] of Object.entries(c.after)) close(after[k], v as Nested, `state ${k}`);
      });
    });
  }
});

describe('losses match PyTorch', () => {
  for (const c of fx.losses) {
    test(c.name, () => {
      tidy(() => {
        const [cls, opts] = c.ctor;
        const o: Record<string, unknown> = { ...(opts ?? {}) };
        for (const k of ['weight', 'posWeight']) if (o[k]) o[k] = t32(o[k] as Nested);
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const loss = new (nn as any)[cls](o) as nn.Loss;
        const x = tensor(c.x, { requiresGrad: true, device });
        const target = tensor(c.target, { dtype: c.targetDtype, device });
        const out = loss.forward(x, target);
        close(out, c.out, 'loss', 1e-4, 1e-5);
        out.mul(tensor(c.gout, { device })).sum().backward();
        const dx = x.grad!;
        expect(Array.from(dx.data()).every(Number.isFinite)).toBe(true);
        close(dx, c.dx, 'dx', 1e-4, 1e-5);
      });
    });
  }
});

describe('initialisers match PyTorch statistics', () => {
  for (const c of fx.inits) {
    test(c.name, () => {
      manualSeed(7);
      tidy(() => {
        const [fn, ...args] = c.ts;
        const t = zeros(c.shape);
        // eslint-disable-next-line @typescript-eslint/no-explicit-any
        const r = (nn.init as any)[fn](t, ...args);
        expect(r).toBe(t);
        const v = Array.from(t.data());
        const n = v.length;
        const mean = v.reduce((a, b) => a + b, 0) / n;
        const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
        const min = v.reduce((a, b) => Math.min(a, b), Infinity), max = v.reduce((a, b) => Math.max(a, b), -Infinity);
        const scale = c.std;
        // Both means are random: 5 standard errors of their difference.
        expect(Math.abs(mean - c.mean)).toBeLessThan(5 * scale * Math.sqrt(2 / n) + 1e-6);
        expect(Math.abs(std - c.std) / c.std).toBeLessThan(0.03);
        // Bounded distributions: the extremes agree closely; unbounded ones loosely.
        const bounded = /uniform|trunc|varianceScaling$|lecunNormal/i.test(c.name) && !/fanOut normal/.test(c.name);
        const tol = bounded ? 0.02 * scale : 1.5 * scale;
        expect(Math.abs(min - c.min)).toBeLessThan(tol);
        expect(Math.abs(max - c.max)).toBeLessThan(tol);
        if (fn === 'orthogonal') {
          // Rows are orthonormal (64 × 128): W Wᵀ ≈ I.
          const [rows, cols] = c.shape;
          for (let i = 0; i < rows; i += 7) for (let j = 0; j < rows; j += 5) {
            let dot = 0;
            for (let k = 0; k < cols; k++) dot += v[i * cols + k] * v[j * cols + k];
            expect(Math.abs(dot - (i === j ? 1 : 0))).toBeLessThan(1e-5);
          }
        }
      });
    });
  }
  test('orthogonal on a tall matrix gives WᵀW ≈ I, with gain', () => {
    const w = nn.init.orthogonal(zeros([50, 20], { dtype: 'float64' }), { gain: 2 });
    const v = w.data();
    for (let i = 0; i < 20; i++) for (let j = 0; j < 20; j++) {
      let dot = 0;
      for (let k = 0; k < 50; k++) dot += v[k * 20 + i] * v[k * 20 + j];
      expect(Math.abs(dot - (i === j ? 4 : 0))).toBeLessThan(1e-10);
    }
  });
  test('calculateGain values', () => {
    for (const g of fx.gains) expect(nn.init.calculateGain(g.args[0], g.args[1])).toBeCloseTo(g.value, 12);
  });
});

describe('module contract and utils match PyTorch', () => {
  test('state-dict keys and parameter names of Sequential(Linear, BatchNorm1d, ReLU, Linear)', () => {
    const m = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4), new nn.ReLU(), new nn.Linear(4, 2));
    expect(Object.keys(m.stateDict())).toEqual(fx.stateKeys);
    expect(m.namedParameters().map(([n]) => n)).toEqual(fx.namedParameters);
  });
  for (const c of fx.clipGradNorm) {
    test(`clipGradNorm normType ${c.normType} maxNorm ${c.maxNorm}`, () => {
      const ps = c.grads.map((g: Nested) => {
        const p = zeros(shapeOf(g), { requiresGrad: true, device });
        p.grad = t32(g);
        return p;
      });
      const total = nn.utils.clipGradNorm(ps, c.maxNorm, { normType: c.normType === 'inf' ? Infinity : c.normType });
      expect(Math.abs(total - c.total)).toBeLessThan(1e-5 * Math.max(1, c.total));
      ps.forEach((p: Tensor, i: number) => close(p.grad!, c.clipped[i], `clipped ${i}`));
    });
  }
  for (const c of fx.renorm) {
    test(`maxNorm dim ${c.dim} as torch.renorm`, () => {
      const w = t32(c.w);
      expect(nn.utils.maxNorm(w, c.maxValue, { dim: c.dim })).toBe(w);
      close(w, c.out, 'renorm');
    });
  }
});
