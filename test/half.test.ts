// half.test.ts — the 16-bit dtypes (bfloat16, float16) and mixed precision (amp) against PyTorch's
// numbers (test/fixtures/half.json, written by scripts/gen_half_fixtures.py with python3-torch):
// casts bit for bit, ops computed in float32 and rounded once, promotion, autocast's linear and
// MLP forward/backward, GradScaler's scale sequence, safetensors BF16/F16, and the errors.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as E from '../lib/ts/index.js';
import { fromBits } from '../lib/ts/core/kernels.js';

const fx = JSON.parse(readFileSync(new URL('./fixtures/half.json', import.meta.url), 'utf8'));
type Half = 'bfloat16' | 'float16';

const f32FromBits = (bits: number[]) => new Float32Array(Int32Array.from(bits).buffer);
const raw = (t: E.Tensor) => Array.from(t.rawData() as Uint16Array);
/** The float value of 16-bit `bits` (exact: decoded by hand). */
function decode(bits: number, dtype: Half): number {
  if (dtype === 'bfloat16') return f32FromBits([bits << 16])[0];
  const s = bits & 0x8000 ? -1 : 1, e = (bits >> 10) & 0x1f, f = bits & 0x3ff;
  if (e === 0) return s * 2 ** -24 * f;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}
/**
 * The bits equal, or both NaN: PyTorch's CPU casts give 0x7FC0 (c10::BFloat16, scalar) or 0xFFFF
 * (its AVX2 path) for a bfloat16 NaN; ours are c10's, 0x7FC0.
 */
function sameBits(got: number[], want: number[], dtype: Half): void {
  const nan = (b: number) => Number.isNaN(decode(b, dtype));
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => { if (g !== want[i] && !(nan(g) && nan(want[i]))) expect.fail(`${dtype} element ${i}: 0x${g.toString(16)}, PyTorch 0x${want[i].toString(16)}`); });
}
/** Units in the last place between two 16-bit values of one sign (the bit patterns' distance). */
function ulps(a: number, b: number): number {
  const key = (x: number) => (x & 0x8000 ? -(x & 0x7fff) : x);
  return Math.abs(key(a) - key(b));
}

describe('16-bit dtypes', () => {
  it('float32 → bfloat16 / float16 casts give PyTorch\'s bits (ties to even, NaN, ±Inf, subnormals, float16 overflow)', () => {
    const x = E.tensor(f32FromBits(fx.casts.f32_bits));
    sameBits(raw(x.cast('bfloat16')), fx.casts.bf16, 'bfloat16');
    sameBits(raw(x.cast('float16')), fx.casts.f16, 'float16');
    // float64 goes through float32 (double rounding), as PyTorch's cast does.
    const d = E.tensor(fx.casts.f64, { dtype: 'float64' });
    expect(raw(d.cast('bfloat16'))).toEqual(fx.casts.f64_bf16);
    expect(raw(d.cast('float16'))).toEqual(fx.casts.f64_f16);
    // tensor(values, { dtype }) rounds the same way.
    sameBits(raw(E.tensor(f32FromBits(fx.casts.f32_bits), { dtype: 'bfloat16' })), fx.casts.bf16, 'bfloat16');
  });

  it('16-bit values read back exactly as float32 (data, item, toArray), and convert back bit for bit', () => {
    for (const dt of ['bfloat16', 'float16'] as const) {
      const bits = dt === 'bfloat16' ? fx.casts.bf16 : fx.casts.f16;
      const t = fromBits(Uint16Array.from(bits), [bits.length], dt, 'cpu');
      const back = t.data();
      expect(back).toBeInstanceOf(Float32Array);
      bits.forEach((b: number, i: number) => expect(Object.is(back[i], Math.fround(decode(b, dt))) || (Number.isNaN(back[i]) && Number.isNaN(decode(b, dt)))).toBe(true));
      expect(t.narrow(0, 2, 1).item()).toBe(back[2]);
      sameBits(raw(t.cast('float32').cast(dt)), bits, dt);
      // A strided view reads and converts through the native copy.
      const m = fromBits(Uint16Array.from(bits.slice(0, 12)), [3, 4], dt, 'cpu').transpose(0, 1);
      expect(Array.from(m.data())).toEqual(Array.from(m.contiguous().data()));
      expect(m.toString()).toContain(`dtype=${dt}`);
      t.dispose(); m.dispose();
    }
  });

  it('promotion matches torch.promote_types for every pair', () => {
    for (const [a, b, want] of fx.promote as [E.DType, E.DType, E.DType][]) {
      const x = E.ones([2], { dtype: a }), y = E.ones([2], { dtype: b });
      expect(`${a}+${b}=${E.add(x, y).dtype}`).toBe(`${a}+${b}=${want}`);
    }
    expect(E.add(E.ones([2], { dtype: 'bfloat16' }), 2.5).dtype).toBe('bfloat16');  // numbers are weak
  });

  for (const c of fx.ops as { dtype: Half; a: number[]; b: number[]; shape: number[]; ops: Record<string, { shape: number[]; bits: number[] }> }[]) {
    it(`${c.dtype}: elementwise ops, reductions and matmul compute in float32 and round once (PyTorch's bits)`, () => {
      const a = fromBits(Uint16Array.from(c.a), c.shape, c.dtype, 'cpu'), b = fromBits(Uint16Array.from(c.b), c.shape, c.dtype, 'cpu');
      const ours: Record<string, () => E.Tensor> = {
        add: () => a.add(b), sub: () => a.sub(b), mul: () => a.mul(b), div: () => a.div(b), add_scalar: () => a.add(0.1), mul_scalar: () => a.mul(3.7),
        exp: () => a.div(4).exp(), tanh: () => a.tanh(), sigmoid: () => a.sigmoid(), relu: () => a.relu(), gelu: () => E.gelu(a), sqrt_abs: () => a.abs().sqrt(), neg: () => a.neg(),
        sum: () => a.sum(), sum_dim1: () => a.sum(1), mean_dim0: () => a.mean(0), max_dim1: () => E.max(a, 1), matmul: () => E.matmul(a, b.transpose(0, 1)),
      };
      // Where both sides compute one correctly rounded float32 value and round it once, the bits
      // are PyTorch's. Elsewhere (transcendental functions, sums, the GEMM) PyTorch 1.13's 16-bit
      // CPU kernels round intermediate values too (its bfloat16 GELU is up to 2 ulps off the
      // correctly rounded value): ours must be exactly the float32 op on the float32 values,
      // rounded once, and within bfloat16's relative error of PyTorch's.
      const exact = new Set(['add', 'sub', 'mul', 'div', 'add_scalar', 'mul_scalar', 'relu', 'neg', 'max_dim1', 'sqrt_abs']);
      const wide: Record<string, () => E.Tensor> = {
        exp: () => a.cast('float32').div(4).cast(c.dtype).cast('float32').exp(), tanh: () => a.cast('float32').tanh(),
        sigmoid: () => a.cast('float32').sigmoid(), gelu: () => E.gelu(a.cast('float32')), sum: () => a.cast('float32').sum(),
        sum_dim1: () => a.cast('float32').sum(1), mean_dim0: () => a.cast('float32').mean(0),
        matmul: () => E.matmul(a.cast('float32'), b.cast('float32').transpose(0, 1)),
      };
      for (const [name, want] of Object.entries(c.ops)) {
        const y = ours[name]();
        expect(y.dtype, name).toBe(c.dtype);
        expect(y.shape, name).toEqual(want.shape);
        const got = raw(y);
        if (exact.has(name)) {
          sameBits(got, want.bits, c.dtype);
        } else {
          sameBits(got, raw(wide[name]().cast(c.dtype)), c.dtype);
          expect(relL2(y.data(), want.bits.map((b) => decode(b, c.dtype))), `${c.dtype} ${name}`).toBeLessThan(2 ** -7);
        }
      }
    });
  }

  it('autograd through 16-bit tensors: a float32 leaf cast to bfloat16 gets a float32 gradient', () => {
    const w = E.tensor([0.5, -1.25, 3], { requiresGrad: true });
    const y = E.cast(w, 'bfloat16').square().sum();
    expect(y.dtype).toBe('bfloat16');
    y.backward();
    expect(w.grad!.dtype).toBe('float32');
    expect(Array.from(w.grad!.data())).toEqual([1, -2.5, 6]);
    // A 16-bit leaf accumulates 16-bit gradients over two backward passes.
    const h = E.tensor([1, 2], { dtype: 'float16', requiresGrad: true });
    h.mul(3).sum().backward();
    h.mul(3).sum().backward();
    expect(h.grad!.dtype).toBe('float16');
    expect(Array.from(h.grad!.data())).toEqual([6, 6]);
  });

  it('safetensors writes BF16 / F16 with the raw bits and reads them back as 16-bit tensors', () => {
    for (const [dt, st] of [['bfloat16', 'BF16'], ['float16', 'F16']] as const) {
      const bits = (dt === 'bfloat16' ? fx.casts.bf16 : fx.casts.f16).slice(0, 20);
      const t = fromBits(Uint16Array.from(bits), [4, 5], dt, 'cpu');
      const bytes = E.io.serializeSafetensors([['w', t]]);
      const file = E.io.parseSafetensors(bytes);
      expect(file.tensors.get('w')!.dtype).toBe(st);
      const data = bytes.subarray(file.dataStart + file.tensors.get('w')!.begin);
      expect(Array.from({ length: 20 }, (_, i) => data.readUInt16LE(2 * i))).toEqual(bits);
      const { tensors } = (() => {
        const path = `/tmp/entrena-half-${process.pid}-${dt}.safetensors`;
        E.io.writeAtomic(path, bytes);
        return E.io.readSafetensors(path);
      })();
      expect(tensors.w.dtype).toBe(dt);
      expect(raw(tensors.w)).toEqual(bits);
    }
  });
});

/** Elementwise: |got − want| ≤ rel·|want| (plus a floor at 1% of the largest |want|). */
function close(got: ArrayLike<number>, want: number[], rel: number, what: string) {
  const scale = Math.max(...want.map(Math.abs));
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (err > rel * Math.max(Math.abs(want[i]), scale * 0.01)) expect.fail(`${what}[${i}]: ${got[i]} vs ${want[i]} (relative tolerance ${rel})`);
  }
}
/** ‖got − want‖₂ / ‖want‖₂: the usual measure for mixed-precision results, whose every element carries rounding noise. */
function relL2(got: ArrayLike<number>, want: number[]): number {
  let num = 0, den = 0;
  for (let i = 0; i < want.length; i++) { num += (got[i] - want[i]) ** 2; den += want[i] ** 2; }
  return Math.sqrt(num / den);
}
const bf16 = (v: number) => E.tensor([v]).cast('bfloat16').item();

describe('amp.autocast', () => {
  it('linear runs in bfloat16 and sends float32 gradients to float32 parameters (PyTorch\'s numbers)', () => {
    const f = fx.autocast_linear;
    const x = E.tensor(f.x).reshape([8, 16]);
    const w = E.tensor(f.w, { requiresGrad: true }).reshape([12, 16]).detach();
    w.requiresGrad = true;
    const b = E.tensor(f.b, { requiresGrad: true });
    const y = E.amp.autocast({ device: 'cpu', dtype: 'bfloat16' }, () => E.linear(x, w, b));
    expect(y.dtype).toBe(f.dtype);
    close(y.data(), f.y, 2 ** -7, 'y');
    y.cast('float32').sum().backward();
    expect(w.grad!.dtype).toBe(f.gw_dtype);
    // dW = 1ᵀ·x̂ (x̂ = x rounded to bfloat16): the column sums of x̂, each rounded once — ours is
    // that value exactly (float32 accumulation); PyTorch's bfloat16 GEMM rounds along the way,
    // so against it the tolerance is the relative L2 error of bfloat16 (2⁻⁸) times a few.
    const xs = Array.from(x.data()).map(bf16);
    const exact = Array.from({ length: 12 * 16 }, (_, k) => bf16(xs.filter((_, i) => i % 16 === k % 16).reduce((a, v) => a + v, 0)));
    expect(Array.from(w.grad!.data())).toEqual(exact);
    expect(relL2(w.grad!.data(), f.gw)).toBeLessThan(2 ** -6);
    close(b.grad!.data(), f.gb, 0, 'db');
    // Outside the region nothing is cast.
    expect(E.linear(x, w, b).dtype).toBe('float32');
    expect(E.amp.isAutocastEnabled()).toBe(false);
  });

  it('an MLP step under bf16 autocast: bfloat16 logits, float32 loss and gradients within bfloat16 tolerance of PyTorch', () => {
    const f = fx.autocast_mlp;
    const model = new E.nn.Sequential(new E.nn.Linear(20, 32), new E.nn.ReLU(), new E.nn.Linear(32, 5));
    const sd: Record<string, E.Tensor> = {};
    const shapes: Record<string, number[]> = { '0.weight': [32, 20], '0.bias': [32], '2.weight': [5, 32], '2.bias': [5] };
    for (const [k, v] of Object.entries(f.params as Record<string, number[]>)) sd[k] = E.tensor(v).reshape(shapes[k]);
    model.loadStateDict(sd);
    const x = E.tensor(f.x).reshape([16, 20]), t = E.tensor(f.target, { dtype: 'int32' });
    const lossFn = new E.nn.CrossEntropyLoss();
    const { logits, loss } = E.amp.autocast({ device: 'cpu', dtype: 'bfloat16' }, () => {
      const logits = model.forward(x);
      return { logits, loss: lossFn.forward(logits, t) };
    });
    expect(logits.dtype).toBe(f.logits_dtype);
    expect(loss.dtype).toBe(f.loss_dtype);
    expect(relL2(logits.data(), f.logits)).toBeLessThan(2 ** -7);
    expect(Math.abs(loss.item() - f.loss)).toBeLessThan(1e-2 * Math.abs(f.loss));
    loss.backward();
    for (const [name, p] of model.namedParameters()) {
      expect(p.grad!.dtype).toBe('float32');
      expect(relL2(p.grad!.data(), f.grads[name]), `grad ${name}`).toBeLessThan(2 ** -5);
    }
  });

  it('is scoped like tidy: nested regions, enabled: false, exceptions and async functions restore the state', async () => {
    const cpu = { device: 'cpu', dtype: 'bfloat16' } as const;
    E.amp.autocast(cpu, () => {
      expect(E.amp.getAutocastDtype()).toBe('bfloat16');
      E.amp.autocast({ device: 'cpu', enabled: false }, () => expect(E.amp.isAutocastEnabled()).toBe(false));
      expect(E.amp.isAutocastEnabled('cpu')).toBe(true);
      expect(E.amp.isAutocastEnabled('cuda')).toBe(false);
    });
    expect(() => E.amp.autocast(cpu, () => { throw new Error('boom'); })).toThrow('boom');
    expect(E.amp.isAutocastEnabled()).toBe(false);
    const p = E.amp.autocast(cpu, async () => { await new Promise((r) => setTimeout(r, 1)); return E.amp.getAutocastDtype(); });
    expect(await p).toBe('bfloat16');
    expect(E.amp.isAutocastEnabled()).toBe(false);
    // float64 tensors are left alone, as PyTorch's autocast does.
    const d = E.amp.autocast(cpu, () => E.matmul(E.ones([2, 2], { dtype: 'float64' }), E.ones([2, 2], { dtype: 'float64' })));
    expect(d.dtype).toBe('float64');
    // Softmax and reductions run in float32 inside the region.
    const h = E.ones([2, 3], { dtype: 'bfloat16' });
    E.amp.autocast(cpu, () => {
      expect(E.softmax(h, 1).dtype).toBe('float32');
      expect(h.sum().dtype).toBe('float32');
      expect(h.relu().dtype).toBe('bfloat16');
    });
  });

  it('bad input: an unknown dtype, an unsupported device/dtype pair, a bad precision — coded errors naming the choices', () => {
    expect(() => E.zeros([2], { dtype: 'bfloat17' as E.DType })).toThrow(/'float32', 'float64', 'int32', 'bfloat16' or 'float16', received/);
    expect(() => E.amp.autocast({ device: 'cpu', dtype: 'float16' }, () => 0)).toThrow(expect.objectContaining({ code: 'ERR_DTYPE', message: expect.stringContaining("expected 'bfloat16'") }));
    expect(() => E.amp.autocast({ device: 'tpu' as 'cpu' }, () => 0)).toThrow(expect.objectContaining({ code: 'ERR_DEVICE' }));
    expect(() => E.amp.setFloat32MatmulPrecision('low' as 'high')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining("'highest', 'high' or 'medium'") }));
    E.amp.setFloat32MatmulPrecision('high');
    expect(E.amp.getFloat32MatmulPrecision()).toBe('high');
    // The CPU computes float32 products exactly whatever the setting.
    const a = E.randn([5, 7]), b = E.randn([7, 3]);
    const hi = E.matmul(a, b).data();
    E.amp.setFloat32MatmulPrecision('highest');
    expect(Array.from(E.matmul(a, b).data())).toEqual(Array.from(hi));
  });
});

describe('amp.GradScaler', () => {
  function run(scaler: E.amp.GradScaler) {
    const f = fx.scaler;
    const p = E.tensor(f.param0, { requiresGrad: true });
    const opt = new E.optim.SGD([p], { lr: f.lr });
    const coef = E.tensor(f.coef);
    return (f.steps as { bad: boolean; scale: number; param: number[] }[]).map((s, step) => {
      opt.zeroGrad();
      scaler.scale(p.mul(coef).sum()).backward();
      if (s.bad) {
        const g = p.grad!.data();
        g[1] = step === 8 ? NaN : Infinity;
        p.grad = E.tensor(g);
      }
      scaler.step(opt);
      scaler.update();
      return { scale: scaler.getScale(), param: Array.from(p.data()) };
    });
  }

  it('gives PyTorch\'s scale sequence and skipped steps over planted inf/NaN gradients', () => {
    const f = fx.scaler;
    const got = run(new E.amp.GradScaler({ initScale: f.init_scale, growthFactor: f.growth_factor, backoffFactor: f.backoff_factor, growthInterval: f.growth_interval }));
    f.steps.forEach((s: { scale: number; param: number[] }, i: number) => {
      expect(got[i].scale, `step ${i}`).toBe(s.scale);
      close(got[i].param, s.param, 1e-6, `param after step ${i}`);
    });
  });

  it('unscale_ once per step, state dict round trip, disabled pass-through, bfloat16 refused', () => {
    const s = new E.amp.GradScaler({ initScale: 8, growthInterval: 1 });
    const p = E.tensor([1, 2], { requiresGrad: true });
    const opt = new E.optim.SGD([p], { lr: 1 });
    s.scale(p.sum()).backward();
    expect(Array.from(p.grad!.data())).toEqual([8, 8]);
    s.unscale_(opt);
    expect(Array.from(p.grad!.data())).toEqual([1, 1]);
    expect(() => s.unscale_(opt)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('already') }));
    s.step(opt);
    expect(Array.from(p.data())).toEqual([0, 1]);
    expect(() => s.step(opt)).toThrow(/already been called|already called/);
    s.update();
    expect(s.getScale()).toBe(16);
    const sd = s.stateDict();
    expect(sd).toEqual({ scale: 16, growth_factor: 2, backoff_factor: 0.5, growth_interval: 1, _growth_tracker: 0 });
    const t = new E.amp.GradScaler({ growthInterval: 1 });
    t.loadStateDict(sd);
    expect(t.getScale()).toBe(16);
    const off = new E.amp.GradScaler({ enabled: false });
    const l = p.sum();
    expect(off.scale(l)).toBe(l);
    expect(() => new E.amp.GradScaler({ growthFactor: 0.5 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => new E.amp.GradScaler().scale(p.sum().cast('bfloat16'))).toThrow(expect.objectContaining({ code: 'ERR_DTYPE' }));
    expect(() => E.amp.autocast({ device: 'cpu', dtype: 'bfloat16' }, () => new E.amp.GradScaler().scale(p.sum()))).toThrow(expect.objectContaining({ code: 'ERR_DTYPE', message: expect.stringContaining("'float16'") }));
  });
});

describe('fit({ amp })', () => {
  it('trains under bfloat16 autocast to the float32 run\'s accuracy on a separable problem; a scaler with bfloat16 is refused', async () => {
    const run = async (amp: { dtype: 'bfloat16' } | undefined) => {
      E.manualSeed(3);
      const x = E.randn([512, 10]);
      const y = x.matmul(E.randn([10, 3])).argmax(1);
      const model = new E.nn.Sequential(new E.nn.Linear(10, 32), new E.nn.BatchNorm1d(32), new E.nn.ReLU(), new E.nn.Linear(32, 3));
      const loader = new E.data.DataLoader(new E.data.TensorDataset(x, y), { batchSize: 64, shuffle: true, seed: 1 });
      const h = await E.fit(model, { train: loader, loss: new E.nn.CrossEntropyLoss(), optimizer: new E.optim.Adam(model.parameters(), { lr: 1e-2 }), epochs: 8, metrics: ['accuracy'], progress: false, amp });
      for (const p of model.parameters()) expect(p.dtype).toBe('float32');
      return h.series('accuracy').at(-1)!;
    };
    const full = await run(undefined), mixed = await run({ dtype: 'bfloat16' });
    expect(mixed).toBeGreaterThan(0.9);
    expect(Math.abs(mixed - full)).toBeLessThan(0.03);
    const model = new E.nn.Linear(2, 2);
    const opts = { train: [[E.ones([1, 2]), E.ones([1, 2])]] as [E.Tensor, E.Tensor][], loss: new E.nn.MSELoss(), optimizer: new E.optim.SGD(model.parameters(), { lr: 0.1 }), epochs: 1, progress: false };
    await expect(E.fit(model, { ...opts, amp: { dtype: 'bfloat16', scaler: true } })).rejects.toMatchObject({ code: 'ERR_DTYPE' });
    await expect(E.fit(model, { ...opts, amp: { dtype: 'float16' } })).rejects.toMatchObject({ code: 'ERR_DTYPE', message: expect.stringContaining("'bfloat16'") });
    await expect(E.fit(model, { ...opts, amp: { dtype: 'int8' as 'bfloat16' } })).rejects.toMatchObject({ code: 'ERR_DTYPE' });
  });
});

describe('16-bit models', () => {
  it('Module.to(bfloat16) gives a model for inference close to the float32 one; the fused optimizers refuse 16-bit parameters by name', () => {
    E.manualSeed(5);
    const m = new E.nn.Sequential(new E.nn.Linear(6, 8), new E.nn.BatchNorm1d(8), new E.nn.GELU(), new E.nn.Linear(8, 3));
    m.eval();
    const x = E.randn([4, 6]);
    const ref = m.forward(x).data();
    m.to('bfloat16');
    for (const p of m.parameters()) expect(p.dtype).toBe('bfloat16');
    const y = m.forward(x.cast('bfloat16'));
    expect(y.dtype).toBe('bfloat16');
    expect(relL2(y.data(), Array.from(ref))).toBeLessThan(2 ** -6);
    const opt = new E.optim.Adam(m.parameters());
    m.forward(x.cast('bfloat16')).sum().backward();
    expect(() => opt.step()).toThrow(expect.objectContaining({ code: 'ERR_DTYPE', message: expect.stringContaining('bfloat16') }));
  });
});

// ENTRENA_TEST_DEVICE=cuda (the GPU check's parity step; the emulated CUDA backend of
// scripts/cuda-emu without a GPU): the same numbers on the CUDA backend, whose 16-bit GEMMs are
// the tensor-core kernels of native/cuda/gemm_tc.cu, and float16 autocast with the GradScaler.
const DEVICE = (process.env.ENTRENA_TEST_DEVICE ?? 'cpu') as 'cpu' | 'cuda';
describe.runIf(DEVICE === 'cuda')(DEVICE === 'cuda' ? '16-bit dtypes and amp on cuda'
  : '16-bit dtypes and amp on cuda (skipped: they run with ENTRENA_TEST_DEVICE=cuda, as npm run gpu:check does)', () => {
  it('casts on the device give the CPU\'s bits; data() reads 16-bit device tensors', () => {
    const x = E.tensor(f32FromBits(fx.casts.f32_bits)).to('cuda');
    for (const dt of ['bfloat16', 'float16'] as const) {
      const h = x.cast(dt);
      expect(h.device).toBe('cuda');
      sameBits(raw(h), dt === 'bfloat16' ? fx.casts.bf16 : fx.casts.f16, dt);
      expect(Array.from(h.data())).toEqual(Array.from(h.to('cpu').data()));
    }
  });

  it('ops and the tensor-core matmul on 16-bit cuda tensors match the CPU within one 16-bit ulp', () => {
    for (const c of fx.ops as { dtype: Half; a: number[]; b: number[]; shape: number[] }[]) {
      const a = fromBits(Uint16Array.from(c.a), c.shape, c.dtype, 'cpu'), b = fromBits(Uint16Array.from(c.b), c.shape, c.dtype, 'cpu');
      const ga = a.to('cuda'), gb = b.to('cuda');
      const pairs: [E.Tensor, E.Tensor][] = [[a.add(b), ga.add(gb)], [a.mul(3.7), ga.mul(3.7)], [a.tanh(), ga.tanh()], [a.sum(1), ga.sum(1)],
        [E.matmul(a, b.transpose(0, 1)), E.matmul(ga, gb.transpose(0, 1))]];
      for (const [cpu, gpu] of pairs) {
        expect(gpu.dtype).toBe(c.dtype);
        const want = raw(cpu), got = raw(gpu.to('cpu'));
        expect(Math.max(0, ...got.map((g, i) => ulps(g, want[i])))).toBeLessThanOrEqual(1);
      }
    }
  });

  it('bfloat16 autocast on cuda: linear and the MLP step within bfloat16 tolerance of PyTorch', () => {
    const f = fx.autocast_linear;
    const x = E.tensor(f.x).reshape([8, 16]).to('cuda');
    const w = E.tensor(f.w).reshape([12, 16]).to('cuda'); w.requiresGrad = true;
    const b = E.tensor(f.b).to('cuda'); b.requiresGrad = true;
    const y = E.amp.autocast({ device: 'cuda', dtype: 'bfloat16' }, () => E.linear(x, w, b));
    expect(y.dtype).toBe('bfloat16');
    expect(relL2(y.to('cpu').data(), f.y)).toBeLessThan(2 ** -7);
    y.cast('float32').sum().backward();
    expect(w.grad!.dtype).toBe('float32');
    expect(relL2(w.grad!.to('cpu').data(), f.gw)).toBeLessThan(2 ** -6);
    const m = fx.autocast_mlp;
    const model = new E.nn.Sequential(new E.nn.Linear(20, 32), new E.nn.ReLU(), new E.nn.Linear(32, 5));
    const shapes: Record<string, number[]> = { '0.weight': [32, 20], '0.bias': [32], '2.weight': [5, 32], '2.bias': [5] };
    model.loadStateDict(Object.fromEntries(Object.entries(m.params as Record<string, number[]>).map(([k, v]) => [k, E.tensor(v).reshape(shapes[k])])));
    model.to('cuda');
    const xs = E.tensor(m.x).reshape([16, 20]).to('cuda'), t = E.tensor(m.target, { dtype: 'int32' }).to('cuda');
    const loss = E.amp.autocast({ device: 'cuda', dtype: 'bfloat16' }, () => new E.nn.CrossEntropyLoss().forward(model.forward(xs), t));
    expect(loss.dtype).toBe('float32');
    expect(Math.abs(loss.item() - m.loss)).toBeLessThan(1e-2 * Math.abs(m.loss));
    loss.backward();
    for (const [name, p] of model.namedParameters()) expect(relL2(p.grad!.to('cpu').data(), m.grads[name]), name).toBeLessThan(2 ** -5);
  });

  it('float16 autocast with the GradScaler trains on cuda as float32 does; TF32 matmul stays within TF32 error', async () => {
    const run = async (amp: { dtype: 'float16' } | undefined) => {
      E.manualSeed(3);
      const x = E.randn([512, 10]);
      const y = x.matmul(E.randn([10, 3])).argmax(1);
      const model = new E.nn.Sequential(new E.nn.Linear(10, 32), new E.nn.BatchNorm1d(32), new E.nn.ReLU(), new E.nn.Linear(32, 3)).to('cuda');
      const loader = new E.data.DataLoader(new E.data.TensorDataset(x.to('cuda'), y.to('cuda')), { batchSize: 64, shuffle: true, seed: 1 });
      const h = await E.fit(model, { train: loader, loss: new E.nn.CrossEntropyLoss(), optimizer: new E.optim.Adam(model.parameters(), { lr: 1e-2 }), epochs: 8, metrics: ['accuracy'], progress: false, amp });
      return h.series('accuracy').at(-1)!;
    };
    const full = await run(undefined), mixed = await run({ dtype: 'float16' });
    expect(mixed).toBeGreaterThan(0.9);
    expect(Math.abs(mixed - full)).toBeLessThan(0.03);
    const a = E.randn([64, 96]).to('cuda'), b = E.randn([96, 48]).to('cuda');
    const exact = E.matmul(a, b).to('cpu').data();
    E.amp.setFloat32MatmulPrecision('high');
    try {
      expect(relL2(E.matmul(a, b).to('cpu').data(), Array.from(exact))).toBeLessThan(2 ** -9);
    } finally {
      E.amp.setFloat32MatmulPrecision('highest');
    }
  });
});
