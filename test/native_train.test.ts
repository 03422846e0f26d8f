// native_train.test.ts — the fused native training kernels (batchnormForward, batchnormBackward,
// optimStep) against PyTorch fixtures (test/fixtures/native_train.json, written by
// scripts/gen_native_train_fixtures.py), against plain JavaScript references on sizes that span
// several thread-pool chunks, and their argument validation. Calls the binding directly; the host
// scalars come from lib/ts/optim/fused_host.ts, the same functions the optimizer classes use.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  adagradHost, adamaxHost, adamHost, nadamHost, OPTIM_SCALAR, OptimFlag, readScalars, rmspropHost, sgdHost, statesUsed, type FusedStep,
} from '../lib/ts/optim/fused_host.js';

type Handle = unknown;
interface Binding {
  init(scratch: Float64Array): void;
  alloc(device: number, bytes: number): Handle;
  free(h: Handle): void;
  write(h: Handle, byteOffset: number, src: ArrayBufferView): void;
  read(h: Handle, byteOffset: number, dst: ArrayBufferView): void;
  batchnormForward(...args: unknown[]): void;
  batchnormBackward(...args: unknown[]): void;
  optimStep(...args: unknown[]): void;
}
// ENTRENA_ADDON, as in lib/ts/native.ts, names another binary (the linux-arm64 prebuild under qemu:
// scripts/test_linux_arm64.mjs); node-gyp-build would take the host's build/Release first.
const requireHere = createRequire(import.meta.url);
const b = (process.env.ENTRENA_ADDON ? requireHere(process.env.ENTRENA_ADDON) : requireHere('node-gyp-build')(process.cwd())) as Binding;
b.init(new Float64Array(128));

const fixture = JSON.parse(readFileSync(new URL('./fixtures/native_train.json', import.meta.url), 'utf8'));

type DT = 'f32' | 'f64';
const DTYPE_CODE: Record<DT, number> = { f32: 0, f64: 1 };
const Arr = { f32: Float32Array, f64: Float64Array };

function upload(dt: DT, values: ArrayLike<number>): Handle {
  const a = Arr[dt].from(values as number[]);
  const h = b.alloc(0, a.byteLength);
  b.write(h, 0, a);
  return h;
}
function filled(dt: DT, n: number, v: number): Handle {
  return upload(dt, new Array(n).fill(v));
}
function download(dt: DT, h: Handle, n: number): Float64Array {
  const a = new Arr[dt](n);
  b.read(h, 0, a);
  return Float64Array.from(a);
}

/** Largest violation of |a − ref| ≤ atol + rtol·|ref| (≤ 0 means all within). Throws with the worst element. */
function expectClose(actual: ArrayLike<number>, ref: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  expect(actual.length, `${what}: length`).toBe(ref.length);
  let worst = -Infinity, at = -1;
  for (let i = 0; i < ref.length; i++) {
    const excess = Math.abs(actual[i] - ref[i]) - (atol + rtol * Math.abs(ref[i]));
    if (!(excess <= worst) || Number.isNaN(excess)) { worst = Number.isNaN(excess) ? Infinity : excess; at = i; }
  }
  if (worst > 0) throw new Error(`${what}: element ${at} is ${actual[at]}, expected ${ref[at]} (rtol ${rtol}, atol ${atol})`);
}

// ---- batchnorm ---------------------------------------------------------------------------------

const BN_TOL: Record<DT, [number, number]> = { f32: [1e-4, 1e-5], f64: [1e-10, 1e-12] };

describe('batchnorm against torch.nn.BatchNorm1d', () => {
  for (const cs of fixture.batchnorm) {
    for (const dt of ['f32', 'f64'] as DT[]) {
      const [rtol, atol] = BN_TOL[dt];
      const { n, c, l, eps, momentum, affine } = cs;
      const total = n * c * l;
      const code = DTYPE_CODE[dt];

      it(`${cs.name} ${dt} training forward + backward`, () => {
        const ref = cs[dt].train;
        const x = upload(dt, cs.x), dy = upload(dt, cs.dy), y = filled(dt, total, NaN), dx = filled(dt, total, NaN);
        const w = affine ? upload(dt, cs.weight) : null, bias = affine ? upload(dt, cs.bias) : null;
        const rm = upload(dt, cs.runningMean0), rv = upload(dt, cs.runningVar0);
        const sm = filled(dt, c, NaN), si = filled(dt, c, NaN);
        b.batchnormForward(code, n, c, l, eps, momentum, true, x, 0, y, 0, w, bias, rm, rv, sm, si);
        expectClose(download(dt, y, total), ref.y, rtol, atol, 'y');
        expectClose(download(dt, rm, c), ref.runningMean, rtol, atol, 'running_mean');
        expectClose(download(dt, rv, c), ref.runningVar, rtol, atol, 'running_var');
        expectClose(download(dt, sm, c), ref.saveMean, rtol, atol, 'save_mean');
        expectClose(download(dt, si, c), ref.saveInvstd, rtol, atol, 'save_invstd');
        const dw = affine ? filled(dt, c, NaN) : null, db = affine ? filled(dt, c, NaN) : null;
        b.batchnormBackward(code, n, c, l, eps, true, x, 0, dy, 0, w, sm, si, rm, rv, dx, 0, dw, db);
        expectClose(download(dt, dx, total), ref.dx, rtol, atol, 'dx');
        if (affine) {
          expectClose(download(dt, dw, c), ref.dweight, rtol, atol, 'dweight');
          expectClose(download(dt, db, c), ref.dbias, rtol, atol, 'dbias');
        }
      });

      it(`${cs.name} ${dt} eval forward + backward`, () => {
        const ref = cs[dt].eval;
        const x = upload(dt, cs.x), dy = upload(dt, cs.dy), y = filled(dt, total, NaN), dx = filled(dt, total, NaN);
        const w = affine ? upload(dt, cs.weight) : null, bias = affine ? upload(dt, cs.bias) : null;
        const rm = upload(dt, cs.runningMean0), rv = upload(dt, cs.runningVar0);
        b.batchnormForward(code, n, c, l, eps, momentum, false, x, 0, y, 0, w, bias, rm, rv, null, null);
        expectClose(download(dt, y, total), ref.y, rtol, atol, 'y');
        expectClose(download(dt, rm, c), cs.runningMean0, 0, 0, 'running_mean unchanged in eval');
        const dw = affine ? filled(dt, c, NaN) : null, db = affine ? filled(dt, c, NaN) : null;
        b.batchnormBackward(code, n, c, l, eps, false, x, 0, dy, 0, w, null, null, rm, rv, dx, 0, dw, db);
        expectClose(download(dt, dx, total), ref.dx, rtol, atol, 'dx');
        if (affine) {
          expectClose(download(dt, dw, c), ref.dweight, rtol, atol, 'dweight');
          expectClose(download(dt, db, c), ref.dbias, rtol, atol, 'dbias');
        }
      });
    }
  }
});

/** Plain float64 batch norm (training mode), the formulas of BatchNormArgs in core/backend.h. */
function bnReference(x: Float64Array, dy: Float64Array, w: Float64Array, bias: Float64Array, n: number, c: number, l: number, eps: number) {
  const m = n * l, y = new Float64Array(x.length), dx = new Float64Array(x.length);
  const dw = new Float64Array(c), db = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    const idx = (i: number, j: number) => (i * c + ch) * l + j;
    let mean = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < l; j++) mean += x[idx(i, j)];
    mean /= m;
    let v = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < l; j++) v += (x[idx(i, j)] - mean) ** 2;
    const invstd = 1 / Math.sqrt(v / m + eps);
    let sdy = 0, sdyx = 0;
    for (let i = 0; i < n; i++) for (let j = 0; j < l; j++) {
      const k = idx(i, j), xh = (x[k] - mean) * invstd;
      y[k] = xh * w[ch] + bias[ch];
      sdy += dy[k];
      sdyx += dy[k] * xh;
    }
    dw[ch] = sdyx;
    db[ch] = sdy;
    for (let i = 0; i < n; i++) for (let j = 0; j < l; j++) {
      const k = idx(i, j), xh = (x[k] - mean) * invstd;
      dx[k] = (invstd / m) * (m * dy[k] * w[ch] - sdy * w[ch] - xh * sdyx * w[ch]);
    }
  }
  return { y, dx, dw, db };
}

describe('batchnorm on shapes that span several threads', () => {
  for (const [n, c, l] of [[64, 300, 1], [8, 40, 97], [3, 2, 20000]]) {
    it(`[${n}, ${c}, ${l}] float64 matches the plain reference`, () => {
      let seed = 7;
      const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 4 - 1.5;
      const total = n * c * l;
      const x = Float64Array.from({ length: total }, rnd), dy = Float64Array.from({ length: total }, rnd);
      const w = Float64Array.from({ length: c }, rnd), bias = Float64Array.from({ length: c }, rnd);
      const ref = bnReference(x, dy, w, bias, n, c, l, 1e-5);
      const hx = upload('f64', x), hy = filled('f64', total, 0), hdy = upload('f64', dy), hdx = filled('f64', total, 0);
      const hw = upload('f64', w), hb = upload('f64', bias), sm = filled('f64', c, 0), si = filled('f64', c, 0);
      const dw = filled('f64', c, 0), db = filled('f64', c, 0);
      b.batchnormForward(1, n, c, l, 1e-5, 0.1, true, hx, 0, hy, 0, hw, hb, null, null, sm, si);
      b.batchnormBackward(1, n, c, l, 1e-5, true, hx, 0, hdy, 0, hw, sm, si, null, null, hdx, 0, dw, db);
      expectClose(download('f64', hy, total), ref.y, 1e-10, 1e-12, 'y');
      expectClose(download('f64', hdx, total), ref.dx, 1e-9, 1e-12, 'dx');
      expectClose(download('f64', dw, c), ref.dw, 1e-9, 1e-10, 'dweight');
      expectClose(download('f64', db, c), ref.db, 1e-9, 1e-10, 'dbias');
      for (const h of [hx, hy, hdy, hdx, hw, hb, sm, si, dw, db]) b.free(h);
    });
  }

  it('honours element offsets of x, y, dy and dx', () => {
    const [n, c, l] = [5, 3, 2], total = n * c * l;
    const x = Float64Array.from({ length: total }, (_, i) => Math.sin(i) * 3);
    const dy = Float64Array.from({ length: total }, (_, i) => Math.cos(i * 1.7));
    const ones = new Float64Array(c).fill(1), zeros = new Float64Array(c);
    const ref = bnReference(x, dy, ones, zeros, n, c, l, 1e-5);
    const pad = (a: Float64Array, k: number) => Float64Array.from([...new Array(k).fill(99), ...a]);
    const hx = upload('f64', pad(x, 3)), hy = filled('f64', total + 5, 0), hdy = upload('f64', pad(dy, 7)), hdx = filled('f64', total + 2, 0);
    const sm = filled('f64', c, 0), si = filled('f64', c, 0);
    b.batchnormForward(1, n, c, l, 1e-5, 0.1, true, hx, 3, hy, 5, null, null, null, null, sm, si);
    b.batchnormBackward(1, n, c, l, 1e-5, true, hx, 3, hdy, 7, null, sm, si, null, null, hdx, 2, null, null);
    expectClose(download('f64', hy, total + 5).subarray(5), ref.y, 1e-12, 1e-13, 'y');
    expectClose(download('f64', hdx, total + 2).subarray(2), ref.dx, 1e-10, 1e-12, 'dx');
  });
});

describe('batchnorm argument validation', () => {
  const x = filled('f32', 12, 1), y = filled('f32', 12, 0), small = filled('f32', 2, 1), ch = filled('f32', 3, 1);
  it('rejects a per-channel array shorter than C', () => {
    expect(() => b.batchnormForward(0, 4, 3, 1, 1e-5, 0.1, true, x, 0, y, 0, small, null, null, null, null, null)).toThrow(/exceeds its buffer/);
  });
  it('rejects x or y views outside their buffers', () => {
    expect(() => b.batchnormForward(0, 4, 3, 1, 1e-5, 0.1, true, x, 1, y, 0, null, null, null, null, null, null)).toThrow(/exceeds its buffer/);
    expect(() => b.batchnormForward(0, 5, 3, 1, 1e-5, 0.1, true, x, 0, y, 0, null, null, null, null, null, null)).toThrow(/exceeds its buffer/);
  });
  it('rejects evaluation without running statistics', () => {
    expect(() => b.batchnormForward(0, 4, 3, 1, 1e-5, 0.1, false, x, 0, y, 0, null, null, null, null, null, null)).toThrow(/runningMean/);
    expect(() => b.batchnormBackward(0, 4, 3, 1, 1e-5, false, x, 0, y, 0, null, null, null, null, null, y, 0, null, null)).toThrow(/runningMean/);
  });
  it('rejects training backward without the saved statistics', () => {
    expect(() => b.batchnormBackward(0, 4, 3, 1, 1e-5, true, x, 0, y, 0, null, ch, null, null, null, y, 0, null, null)).toThrow(/saveInvstd/);
  });
  it('rejects int32, negative extents and disposed buffers', () => {
    expect(() => b.batchnormForward(2, 4, 3, 1, 1e-5, 0.1, true, x, 0, y, 0, null, null, null, null, null, null)).toThrow(/int32/);
    expect(() => b.batchnormForward(0, -4, 3, 1, 1e-5, 0.1, true, x, 0, y, 0, null, null, null, null, null, null)).toThrow(/negative/);
    const gone = filled('f32', 12, 0);
    b.free(gone);
    expect(() => b.batchnormForward(0, 4, 3, 1, 1e-5, 0.1, true, gone, 0, y, 0, null, null, null, null, null, null)).toThrow(/disposed/);
  });
  it('rejects extents whose product n·c·l overflows 64-bit counts (it would wrap to 0 and pass the range checks)', () => {
    const one = filled('f32', 1, 1);
    expect(() => b.batchnormForward(0, 2 ** 32, 1, 2 ** 32, 1e-5, 0.1, true, x, 0, y, 0, null, null, null, null, null, null)).toThrow(/overflow/);
    expect(() => b.batchnormForward(0, 2 ** 31, 2 ** 33, 1, 1e-5, 0.1, true, x, 0, y, 0, null, null, null, null, null, null)).toThrow(/overflow/);
    expect(() => b.batchnormBackward(0, 2 ** 32, 1, 2 ** 32, 1e-5, true, x, 0, y, 0, null, one, one, null, null, y, 0, null, null)).toThrow(/overflow/);
  });
});

// ---- optimizers ----------------------------------------------------------------------------------

interface OptimCase {
  name: string; optimizer: string; options: Record<string, unknown>; steps: number;
  shapes: number[][]; params0: number[][]; grads: number[][][]; f32: number[][][]; f64: number[][][];
}

/** Builds the per-step host function from PyTorch-named options, with PyTorch's defaults. */
function hostFor(cs: OptimCase): { step: (t: number) => FusedStep; initialAccumulator: number } {
  const o = cs.options as Record<string, any>;
  const get = <T>(k: string, d: T): T => (k in o ? (o[k] as T) : d);
  switch (cs.optimizer) {
    case 'SGD': {
      const opts = { lr: o.lr, momentum: get('momentum', 0), dampening: get('dampening', 0), weightDecay: get('weight_decay', 0), nesterov: get('nesterov', false) };
      return { step: (t) => sgdHost(opts, t === 1), initialAccumulator: 0 };
    }
    case 'Adam':
    case 'AdamW': {
      const decoupled = cs.optimizer === 'AdamW';
      const opts = { lr: get('lr', 1e-3), betas: get('betas', [0.9, 0.999]) as [number, number], eps: get('eps', 1e-8),
        weightDecay: get('weight_decay', decoupled ? 1e-2 : 0), amsgrad: get('amsgrad', false), decoupled };
      return { step: (t) => adamHost(opts, t), initialAccumulator: 0 };
    }
    case 'Adagrad': {
      const opts = { lr: get('lr', 1e-2), lrDecay: get('lr_decay', 0), weightDecay: get('weight_decay', 0), eps: get('eps', 1e-10) };
      return { step: (t) => adagradHost(opts, t), initialAccumulator: get('initial_accumulator_value', 0) };
    }
    case 'RMSprop': {
      const opts = { lr: get('lr', 1e-2), alpha: get('alpha', 0.99), eps: get('eps', 1e-8), weightDecay: get('weight_decay', 0),
        momentum: get('momentum', 0), centered: get('centered', false) };
      return { step: () => rmspropHost(opts), initialAccumulator: 0 };
    }
    case 'Adamax': {
      const opts = { lr: get('lr', 2e-3), betas: get('betas', [0.9, 0.999]) as [number, number], eps: get('eps', 1e-8), weightDecay: get('weight_decay', 0) };
      return { step: (t) => adamaxHost(opts, t), initialAccumulator: 0 };
    }
    case 'NAdam': {
      const opts = { lr: get('lr', 2e-3), betas: get('betas', [0.9, 0.999]) as [number, number], eps: get('eps', 1e-8),
        weightDecay: get('weight_decay', 0), momentumDecay: get('momentum_decay', 4e-3) };
      let muProduct = 1;
      return {
        step: (t) => {
          if (t === 1) muProduct = 1;
          const s = nadamHost(opts, t, muProduct);
          muProduct = s.muProduct;
          return s;
        },
        initialAccumulator: 0,
      };
    }
  }
  throw new Error(`unknown optimizer ${cs.optimizer}`);
}

// float32 runs 20 steps of PyTorch's own float32 arithmetic; a few ulp of difference per step
// (host scalars rounded once here, per op there) accumulate, hence 1e-4 early and 1e-3 late.
const OPT_TOL: Record<DT, (step: number) => [number, number]> = {
  f32: (s) => (s < 5 ? [1e-4, 1e-6] : [1e-3, 1e-5]),
  f64: () => [1e-10, 1e-13],
};

describe('fused optimizer steps against torch.optim (20 steps)', () => {
  for (const cs of fixture.optim as OptimCase[]) {
    for (const dt of ['f32', 'f64'] as DT[]) {
      it(`${cs.name} ${dt}`, () => {
        const host = hostFor(cs);
        const sizes = cs.params0.map((p) => p.length);
        const params = cs.params0.map((p) => upload(dt, p));
        const grads = sizes.map((n) => filled(dt, n, 0));
        const first = host.step(1);
        const used = statesUsed(first);
        const states = [0, 1, 2].map((k) => (used >> k) & 1
          ? sizes.map((n) => filled(dt, n, k === 0 ? host.initialAccumulator : 0)) : null);
        for (let t = 1; t <= cs.steps; t++) {
          cs.grads[t - 1].forEach((g, i) => b.write(grads[i], 0, Arr[dt].from(g)));
          const s = t === 1 ? first : host.step(t);
          b.optimStep(s.kind, DTYPE_CODE[dt], params, grads, states[0], states[1], states[2], sizes, s.h, s.flags);
          const [rtol, atol] = OPT_TOL[dt](t);
          params.forEach((p, i) => expectClose(download(dt, p, sizes[i]), cs[dt][t - 1][i], rtol, atol, `step ${t} param ${i}`));
        }
      });
    }
  }
});

/** Plain float64 Adam/AdamW, the formula of OptimArgs in core/backend.h. */
function adamReference(p: Float64Array, g: Float64Array, m: Float64Array, v: Float64Array, s: FusedStep): void {
  const { lr, beta1: b1, beta2: b2, eps, weightDecay: wd, stepSize, biasCorrection2Sqrt: bc2s } = readScalars(s.h, OPTIM_SCALAR.adam);
  for (let i = 0; i < p.length; i++) {
    let gi = g[i];
    if (s.flags & OptimFlag.decoupled) p[i] *= 1 - lr * wd;
    else gi += wd * p[i];
    m[i] = m[i] * b1 + (1 - b1) * gi;
    v[i] = v[i] * b2 + (1 - b2) * gi * gi;
    p[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2s + eps);
  }
}

describe('fused optimizer step over many tensors', () => {
  it('Adam over tensors spanning several thread chunks equals the plain reference and per-tensor calls', () => {
    const sizes = [70001, 3, 0, 40000, 1, 16384];
    let seed = 11;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
    const p0 = sizes.map((n) => Float64Array.from({ length: n }, rnd));
    const g0 = sizes.map((n) => Float64Array.from({ length: n }, rnd));
    for (const decoupled of [false, true]) {
      const opts = { lr: 1e-2, betas: [0.9, 0.99] as [number, number], eps: 1e-8, weightDecay: 0.05, amsgrad: false, decoupled };
      const params = p0.map((p) => upload('f64', p)), grads = g0.map((g) => upload('f64', g));
      const m = sizes.map((n) => filled('f64', n, 0)), v = sizes.map((n) => filled('f64', n, 0));
      const refP = p0.map((p) => p.slice()), refM = sizes.map((n) => new Float64Array(n)), refV = sizes.map((n) => new Float64Array(n));
      // The same update, one tensor per call, as a second witness (bitwise: elementwise work).
      const single = p0.map((p) => upload('f64', p));
      const sm = sizes.map((n) => filled('f64', n, 0)), sv = sizes.map((n) => filled('f64', n, 0));
      for (let t = 1; t <= 3; t++) {
        const s = adamHost(opts, t);
        b.optimStep(s.kind, 1, params, grads, m, v, null, sizes, s.h, s.flags);
        sizes.forEach((n, i) => {
          adamReference(refP[i], g0[i], refM[i], refV[i], s);
          b.optimStep(s.kind, 1, [single[i]], [grads[i]], [sm[i]], [sv[i]], null, [n], s.h, s.flags);
        });
      }
      sizes.forEach((n, i) => {
        const got = download('f64', params[i], n);
        expectClose(got, refP[i], 1e-12, 1e-14, `param ${i} (decoupled ${decoupled})`);
        expect(Array.from(got)).toEqual(Array.from(download('f64', single[i], n)));
      });
    }
  });
});

describe('optimStep argument validation', () => {
  const p = filled('f32', 4, 1), g = filled('f32', 4, 1), m = filled('f32', 4, 0), v = filled('f32', 4, 0);
  const adam = adamHost({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false, decoupled: false }, 1);
  it('accepts a well-formed call', () => {
    expect(() => b.optimStep(1, 0, [p], [g], [m], [v], null, [4], adam.h, adam.flags)).not.toThrow();
  });
  it('rejects mismatched array lengths', () => {
    expect(() => b.optimStep(1, 0, [p], [g, g], [m], [v], null, [4], adam.h, adam.flags)).toThrow(/same length/);
    expect(() => b.optimStep(1, 0, [p], [g], [m, m], [v], null, [4], adam.h, adam.flags)).toThrow(/state0 has 2 entries/);
  });
  it('rejects a buffer smaller than its size', () => {
    expect(() => b.optimStep(1, 0, [p], [g], [m], [v], null, [5], adam.h, adam.flags)).toThrow(/params\[0\] holds 16 bytes/);
    const small = filled('f32', 2, 0);
    expect(() => b.optimStep(1, 0, [p], [g], [m], [small], null, [4], adam.h, adam.flags)).toThrow(/state1\[0\]/);
  });
  it('rejects a missing state the configuration needs', () => {
    expect(() => b.optimStep(1, 0, [p], [g], [m], null, null, [4], adam.h, adam.flags)).toThrow(/needs state1 \(exp_avg_sq\)/);
    const ams = adamHost({ lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: true, decoupled: false }, 1);
    expect(() => b.optimStep(1, 0, [p], [g], [m], [v], [null], [4], ams.h, ams.flags)).toThrow(/needs state2\[0\] \(max_exp_avg_sq\)/);
    const sgd = sgdHost({ lr: 0.1, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false }, true);
    expect(() => b.optimStep(0, 0, [p], [g], null, null, null, [4], sgd.h, sgd.flags)).toThrow(/needs state0/);
  });
  it('rejects disposed handles, bad kinds, dtypes, sizes and h', () => {
    const gone = filled('f32', 4, 0);
    b.free(gone);
    expect(() => b.optimStep(1, 0, [p], [gone], [m], [v], null, [4], adam.h, adam.flags)).toThrow(/disposed/);
    expect(() => b.optimStep(9, 0, [p], [g], [m], [v], null, [4], adam.h, adam.flags)).toThrow(/unknown optimizer kind/);
    expect(() => b.optimStep(1, 2, [p], [g], [m], [v], null, [4], adam.h, adam.flags)).toThrow(/int32/);
    expect(() => b.optimStep(1, 0, [p], [g], [m], [v], null, [-1], adam.h, adam.flags)).toThrow(/non-negative integer/);
    expect(() => b.optimStep(1, 0, [p], [g], [m], [v], null, [4], new Float64Array(4), adam.flags)).toThrow(/Float64Array of 16/);
    expect(() => b.optimStep(1, 0, [p], [{}], [m], [v], null, [4], adam.h, adam.flags)).toThrow(/not a tensor buffer handle/);
  });
  it('does nothing for an empty parameter list', () => {
    expect(() => b.optimStep(1, 0, [], [], null, null, null, [], adam.h, adam.flags)).not.toThrow();
  });
});
