/**
 * elementwise.ts — unary, binary and ternary elementwise ops with NumPy broadcasting, and their
 * gradient rules (written with public ops, so they run on every device: DESIGN principle 5).
 *
 * Each op is one native functor (native/core/ops.h) applied by the backend's broadcast driver.
 * Numbers are accepted for either operand of a binary op (weak scalars: they do not promote a
 * float32 tensor to float64).
 */
import { attach, needsGrad } from '../autograd/engine.js';
import { ArgumentError, describe } from '../errors.js';
import { BINARY, DTYPE_CODE, UNARY, native, type BinaryName, type UnaryName } from '../native.js';
import { Tensor, setIter, type DType, type Shape } from '../tensor.js';
import { cast, copyStrided, filled } from './copy.js';
import { assertOperand, assertTensor, broadcastShapes, broadcastStrides, promote, sameDevice } from './util.js';
import { sumToShape } from './reduce.js';

// ---- raw kernels (untracked) ---------------------------------------------------------------------

/** out = f(a) for a float or int tensor; no autograd. */
export function rawUnary(op: UnaryName, a: Tensor, p0 = 0, p1 = 0, dtype: DType = a.dtype): Tensor {
  const src = a.dtype === dtype ? a : cast(a, dtype);
  const out = Tensor.empty(src.shape.slice(), dtype, src.device);
  if (out.size) {
    setIter(out.shape, [out, src]);
    native.unary(UNARY[op], DTYPE_CODE[dtype], out.storage.handle, src.storage.handle, p0, p1);
  }
  if (src !== a) src.dispose();
  return out;
}

function asDType(x: Tensor | number, dtype: DType): Tensor | number {
  return typeof x === 'number' || x.dtype === dtype ? x : cast(x, dtype);
}

/** out = f(a, b) with broadcasting; no autograd. `out` may be given (in-place forms). */
export function rawBinary(op: BinaryName, a: Tensor | number, b: Tensor | number, p0 = 0, p1 = 0, dtype?: DType, out?: Tensor): Tensor {
  dtype = dtype ?? promote(a, b);
  const device = a instanceof Tensor ? a.device : (b as Tensor).device;
  // Shapes first: nothing is allocated for a call that cannot succeed.
  const shape: Shape = broadcastShapes(a instanceof Tensor ? a.shape : [], b instanceof Tensor ? b.shape : [], op);
  let ac = asDType(a, dtype), bc = asDType(b, dtype);
  // On CUDA a number becomes a one-element device tensor (the binding takes numbers on the host only).
  const temps: Tensor[] = [];
  if (device === 'cuda') {
    if (typeof ac === 'number') { ac = filled([], ac, dtype, device); temps.push(ac); }
    if (typeof bc === 'number') { bc = filled([], bc, dtype, device); temps.push(bc); }
  }
  const result = out ?? Tensor.empty(shape, dtype, device);
  if (result.size) {
    const ops: { strides: number[]; offset: number }[] = [result];
    ops.push(ac instanceof Tensor ? { strides: broadcastStrides(ac, shape), offset: ac.offset } : { strides: [], offset: 0 });
    ops.push(bc instanceof Tensor ? { strides: broadcastStrides(bc, shape), offset: bc.offset } : { strides: [], offset: 0 });
    setIter(shape, ops);
    native.binary(BINARY[op], DTYPE_CODE[dtype], result.storage.handle,
      ac instanceof Tensor ? ac.storage.handle : ac, bc instanceof Tensor ? bc.storage.handle : bc, p0, p1);
  }
  if (ac !== a && ac instanceof Tensor && !temps.includes(ac)) ac.dispose();
  if (bc !== b && bc instanceof Tensor && !temps.includes(bc)) bc.dispose();
  for (const t of temps) t.dispose();
  return result;
}

// ---- binary ------------------------------------------------------------------------------------

function binaryOperands(where: string, a: unknown, b: unknown): [Tensor | number, Tensor | number] {
  const x = assertOperand(a, where, 'the first operand');
  const y = assertOperand(b, where, 'the second operand');
  if (typeof x === 'number' && typeof y === 'number') throw new ArgumentError(`${where}: expected at least one tensor operand, received two numbers`);
  sameDevice(where, x, y);
  return [x, y];
}

type BinaryGrad = (g: Tensor, a: Tensor | number, b: Tensor | number, out: Tensor) => [Tensor | null, Tensor | null];

function binaryOp(op: BinaryName, a: unknown, b: unknown, grad: BinaryGrad | null, floatResult = false): Tensor {
  const [x, y] = binaryOperands(op, a, b);
  let dtype = promote(x, y);
  if (floatResult && dtype === 'int32') dtype = 'float32';
  const out = rawBinary(op, x, y, 0, 0, dtype);
  if (grad && needsGrad(x, y)) {
    const inputs = [x, y].filter((t): t is Tensor => t instanceof Tensor);
    attach(out, op, inputs, (g) => {
      const [ga, gb] = grad(g, x, y, out);
      const res: (Tensor | null)[] = [];
      if (x instanceof Tensor) res.push(ga && x.requiresGrad ? sumToShape(ga, x.shape, x.dtype) : null);
      if (y instanceof Tensor) res.push(gb && y.requiresGrad ? sumToShape(gb, y.shape, y.dtype) : null);
      return res;
    }, [...inputs, out]);
  }
  return out;
}

/** Elementwise a + b. @example add(tensor([1, 2]), 1) // [2, 3] */
export function add(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp('add', a, b, (g) => [g, g]);
}
/** Elementwise a − b. */
export function sub(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp('sub', a, b, (g, _x, y) => [g, y instanceof Tensor && y.requiresGrad ? neg(g) : null]);
}
/** Elementwise a · b. */
export function mul(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp('mul', a, b, (g, x, y) => [
    typeof x !== 'number' && x.requiresGrad ? mul(g, y) : null,
    typeof y !== 'number' && y.requiresGrad ? mul(g, x) : null,
  ]);
}
/** Elementwise true division a / b (integers give float32). */
export function div(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp('div', a, b, (g, x, y, out) => [
    typeof x !== 'number' && x.requiresGrad ? div(g, y) : null,
    typeof y !== 'number' && y.requiresGrad ? neg(div(mul(g, out), y)) : null,
  ], true);
}
/** Elementwise a ** b. */
export function pow(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp('pow', a, b, (g, x, y, out) => [
    typeof x !== 'number' && x.requiresGrad
      // Where the exponent is 0 the gradient is 0 (not 0 · x^-1, which is NaN at x = 0), as PyTorch.
      ? typeof y === 'number'
        ? y === 0 ? mul(g, 0) : mul(g, mul(pow(x, y - 1), y))
        : where(eq(y, 0), 0, mul(g, mul(y, pow(x, sub(y, 1)))))
      : null,
    // d/db a^b = a^b · ln a, taken as 0 where a = 0 (as PyTorch masks it).
    typeof y !== 'number' && y.requiresGrad
      ? typeof x === 'number'
        ? mul(g, mul(out, x === 0 ? 0 : Math.log(x)))
        : where(eq(x, 0), 0, mul(g, mul(out, log(x))))
      : null,
  ]);
}
function minMaxGrad(isMax: boolean): BinaryGrad {
  // Ties split the gradient in half, as torch.maximum / torch.minimum.
  return (g, x, y) => {
    const win = isMax ? gt(x, y) : lt(x, y);
    const tie = mul(eq(x, y), 0.5);
    const wa = add(win, tie);
    return [mul(g, wa), mul(g, rsub(wa, 1))];
  };
}
/** Elementwise maximum (NaN propagates). */
export function maximum(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp('maximum', a, b, minMaxGrad(true));
}
/** Elementwise minimum (NaN propagates). */
export function minimum(a: Tensor | number, b: Tensor | number): Tensor {
  return binaryOp('minimum', a, b, minMaxGrad(false));
}
/** 1 where a == b, else 0 (same dtype as the operands). */
export function eq(a: Tensor | number, b: Tensor | number): Tensor { return binaryOp('eq', a, b, null); }
export function ne(a: Tensor | number, b: Tensor | number): Tensor { return binaryOp('ne', a, b, null); }
export function gt(a: Tensor | number, b: Tensor | number): Tensor { return binaryOp('gt', a, b, null); }
export function ge(a: Tensor | number, b: Tensor | number): Tensor { return binaryOp('ge', a, b, null); }
export function lt(a: Tensor | number, b: Tensor | number): Tensor { return binaryOp('lt', a, b, null); }
export function le(a: Tensor | number, b: Tensor | number): Tensor { return binaryOp('le', a, b, null); }

function rsub(t: Tensor, n: number): Tensor {
  return sub(n, t);
}

// ---- unary -------------------------------------------------------------------------------------

type UnaryGrad = (g: Tensor, x: Tensor, out: Tensor) => Tensor;

/** Applies a unary functor; integer inputs of float ops are promoted to float32. */
function unaryOp(op: UnaryName, a: unknown, grad: UnaryGrad | null, p0 = 0, p1 = 0, keepInt = false): Tensor {
  const x = assertTensor(a, op);
  const dtype: DType = x.dtype === 'int32' && !keepInt ? 'float32' : x.dtype;
  const out = rawUnary(op, x, p0, p1, dtype);
  if (grad && needsGrad(x)) attach(out, op, [x], (g) => [grad(g, x, out)], [x, out]);
  return out;
}

function gradOp(op: BinaryName, g: Tensor, saved: Tensor, p0 = 0, p1 = 0): Tensor {
  return rawBinary(op, g, saved, p0, p1, g.dtype);
}

export function neg(a: Tensor): Tensor { return unaryOp('neg', a, (g) => neg(g), 0, 0, true); }
export function abs(a: Tensor): Tensor { return unaryOp('abs', a, (g, x) => gradOp('sign_mul', g, x), 0, 0, true); }
export function exp(a: Tensor): Tensor { return unaryOp('exp', a, (g, _x, out) => mul(g, out)); }
export function log(a: Tensor): Tensor { return unaryOp('log', a, (g, x) => div(g, x)); }
export function sqrt(a: Tensor): Tensor { return unaryOp('sqrt', a, (g, _x, out) => div(g, mul(out, 2))); }
export function rsqrt(a: Tensor): Tensor { return unaryOp('rsqrt', a, (g, _x, out) => mul(g, mul(pow(out, 3), -0.5))); }
export function square(a: Tensor): Tensor { return unaryOp('square', a, (g, x) => mul(g, mul(x, 2)), 0, 0, true); }
export function sign(a: Tensor): Tensor { return unaryOp('sign', a, null, 0, 0, true); }
export function sigmoid(a: Tensor): Tensor { return unaryOp('sigmoid', a, (g, _x, out) => gradOp('sigmoid_backward', g, out)); }
export function tanh(a: Tensor): Tensor { return unaryOp('tanh', a, (g, _x, out) => gradOp('tanh_backward', g, out)); }
export function relu(a: Tensor): Tensor { return unaryOp('relu', a, (g, x) => gradOp('relu_backward', g, x), 0, 0, true); }
export function leakyRelu(a: Tensor, negativeSlope = 0.01): Tensor {
  return unaryOp('leaky_relu', a, (g, x) => gradOp('leaky_relu_backward', g, x, negativeSlope), negativeSlope);
}
export function elu(a: Tensor, alpha = 1): Tensor { return unaryOp('elu', a, (g, x) => gradOp('elu_backward', g, x, alpha), alpha); }
export function selu(a: Tensor): Tensor { return unaryOp('selu', a, (g, x) => gradOp('selu_backward', g, x)); }
/** GELU, exact (erf) or with the tanh approximation. */
export function gelu(a: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  if (approximate !== 'none' && approximate !== 'tanh') throw new ArgumentError(`gelu: expected approximate 'none' or 'tanh', received ${describe(approximate)}`);
  return approximate === 'tanh'
    ? unaryOp('gelu_tanh', a, (g, x) => gradOp('gelu_tanh_backward', g, x))
    : unaryOp('gelu', a, (g, x) => gradOp('gelu_backward', g, x));
}
export function silu(a: Tensor): Tensor { return unaryOp('silu', a, (g, x) => gradOp('silu_backward', g, x)); }
export function mish(a: Tensor): Tensor { return unaryOp('mish', a, (g, x) => gradOp('mish_backward', g, x)); }
export function softplus(a: Tensor, beta = 1, threshold = 20): Tensor {
  return unaryOp('softplus', a, (g, x) => gradOp('softplus_backward', g, x, beta, threshold), beta, threshold);
}
export function logSigmoid(a: Tensor): Tensor { return unaryOp('log_sigmoid', a, (g, x) => gradOp('log_sigmoid_backward', g, x)); }
export function hardtanh(a: Tensor, minVal = -1, maxVal = 1): Tensor {
  return unaryOp('hardtanh', a, (g, x) => gradOp('hardtanh_backward', g, x, minVal, maxVal), minVal, maxVal);
}
export function log1p(a: Tensor): Tensor { return unaryOp('log1p', a, (g, x) => div(g, add(x, 1))); }
export function expm1(a: Tensor): Tensor { return unaryOp('expm1', a, (g, _x, out) => mul(g, add(out, 1))); }
export function sin(a: Tensor): Tensor { return unaryOp('sin', a, (g, x) => mul(g, cos(x))); }
export function cos(a: Tensor): Tensor { return unaryOp('cos', a, (g, x) => neg(mul(g, sin(x)))); }
export function reciprocal(a: Tensor): Tensor { return unaryOp('reciprocal', a, (g, _x, out) => neg(mul(g, square(out)))); }
export function floor(a: Tensor): Tensor { return unaryOp('floor', a, null, 0, 0, true); }
export function ceil(a: Tensor): Tensor { return unaryOp('ceil', a, null, 0, 0, true); }
export function round(a: Tensor): Tensor { return unaryOp('round', a, null, 0, 0, true); }
export function isnan(a: Tensor): Tensor { return unaryOp('isnan', a, null, 0, 0, true); }
export function isfinite(a: Tensor): Tensor { return unaryOp('isfinite', a, null, 0, 0, true); }

/**
 * Clamps into [min, max]; either bound may be null/undefined. The gradient passes where
 * min ≤ x ≤ max, as torch.clamp.
 * @example clamp(tensor([-2, 0, 2]), -1, 1) // [-1, 0, 1]
 */
export function clamp(a: Tensor, min?: number | null, max?: number | null): Tensor {
  const x = assertTensor(a, 'clamp');
  if (min == null && max == null) throw new ArgumentError('clamp: expected at least one of min and max');
  for (const [k, v] of [['min', min], ['max', max]] as const)
    if (v != null && typeof v !== 'number') throw new ArgumentError(`clamp: expected ${k} to be a number, received ${describe(v)}`);
  const lo = min ?? -Infinity, hi = max ?? Infinity;
  return unaryOp('clamp', x, (g, xx) => gradOp('clamp_backward', g, xx, lo, hi), lo, hi, true);
}

/**
 * Picks `a` where `cond` is non-zero, else `b` (broadcast). Numbers are accepted for a and b.
 * @example where(gt(x, 0), x, 0)
 */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  const c = assertTensor(cond, 'where', 'cond');
  const x = assertOperand(a, 'where', 'a'), y = assertOperand(b, 'where', 'b');
  sameDevice('where', c, x, y);
  const dtype = promote(x, y);
  // Shapes first: nothing is allocated for a call that cannot succeed.
  const shape = broadcastShapes(broadcastShapes(c.shape, typeof x === 'number' ? [] : x.shape, 'where'), typeof y === 'number' ? [] : y.shape, 'where');
  const xs = typeof x === 'number' ? filled([], x, dtype, c.device) : x.dtype === dtype ? x : cast(x, dtype);
  const ys = typeof y === 'number' ? filled([], y, dtype, c.device) : y.dtype === dtype ? y : cast(y, dtype);
  const out = Tensor.empty(shape, dtype, c.device);
  if (out.size) {
    setIter(shape, [out, { strides: broadcastStrides(c, shape), offset: c.offset },
      { strides: broadcastStrides(xs, shape), offset: xs.offset }, { strides: broadcastStrides(ys, shape), offset: ys.offset }]);
    native.where(DTYPE_CODE[dtype], DTYPE_CODE[c.dtype], out.storage.handle, c.storage.handle, xs.storage.handle, ys.storage.handle);
  }
  if (xs !== x) xs.dispose();
  if (ys !== y) ys.dispose();
  if (needsGrad(x, y)) {
    const inputs = [x, y].filter((t): t is Tensor => t instanceof Tensor);
    attach(out, 'where', inputs, (g) => {
      const res: (Tensor | null)[] = [];
      if (x instanceof Tensor) res.push(x.requiresGrad ? sumToShape(where(c, g, 0), x.shape, x.dtype) : null);
      if (y instanceof Tensor) res.push(y.requiresGrad ? sumToShape(where(c, 0, g), y.shape, y.dtype) : null);
      return res;
    }, [c, ...inputs]);
  }
  return out;
}

/** @internal dst ← dst + alpha · b in place (untracked): gradient accumulation and optimizers. */
export function addInPlace(dst: Tensor, b: Tensor | number, alpha = 1): void {
  assertTensor(dst, 'addInPlace');
  if (typeof b === 'number') {
    rawUnaryInto('add_scalar', dst, dst, b * alpha);
    return;
  }
  if (alpha === 1) { rawBinary('add', dst, b, 0, 0, dst.dtype, dst); return; }
  const scaled = rawUnary('mul_scalar', b, alpha);
  rawBinary('add', dst, scaled, 0, 0, dst.dtype, dst);
  scaled.dispose();
}

/** @internal out ← f(a) into an existing tensor (same shape). */
export function rawUnaryInto(op: UnaryName, out: Tensor, a: Tensor, p0 = 0, p1 = 0): void {
  if (!out.size) return;
  setIter(out.shape, [out, { strides: broadcastStrides(a, out.shape), offset: a.offset }]);
  native.unary(UNARY[op], DTYPE_CODE[out.dtype], out.storage.handle, a.storage.handle, p0, p1);
}

export { copyStrided };
