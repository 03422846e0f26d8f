/**
 * elementwise.ts — unary, binary and ternary elementwise ops with NumPy broadcasting, and their
 * gradient rules (written with public ops, so they run on every device: DESIGN principle 5).
 *
 * Each op is one native functor (native/core/ops.h) applied by the backend's broadcast driver,
 * defined once as an OpDef and run through the door (door.ts), which checks the operands, applies
 * the dtype rule, reduces gradients back over broadcast dims and records the graph. Numbers are
 * accepted for either operand of a binary op (weak scalars: they do not promote a float32 tensor
 * to float64).
 */
import { ArgumentError, describe } from '../errors.js';
import type { BinaryName, UnaryName } from '../native.js';
import type { Tensor } from '../core/tensor.js';
import { binary, broadcastShapes, fill, select, unary, unaryInto } from '../core/kernels.js';
import { isGradEnabled } from '../autograd/graph.js';
import { defineOp, needsInputGrad, runOp, runOp1, runOp2, type ArgSpec, type DTypeRule, type Op, type OpContext, type OpDef, type Operand } from './door.js';

// ---- binary ------------------------------------------------------------------------------------

const FIRST: ArgSpec = { name: 'the first operand', number: true };
const SECOND: ArgSpec = { name: 'the second operand', number: true };

type BinaryRule = (g: Tensor, x: Tensor | number, y: Tensor | number, c: OpContext<undefined>) => [Tensor | null, Tensor | null];

function binaryDef(op: BinaryName, rule: BinaryRule | null, dtype: DTypeRule = 'promote'): Op {
  return defineOp({
    name: op, args: [FIRST, SECOND], dtype, broadcast: true, savesOutput: op === 'div' || op === 'pow' || op === 'atan2',
    forward: (c) => binary(op, c.args[0] as Tensor | number, c.args[1] as Tensor | number, 0, 0, c.dtype),
    // Unrecorded calls that need no conversion: the one kernel call (binary frees its result if it throws).
    direct2: (a, b) => binary(op, a, b),
    backward: rule ? (g, c) => rule(g, c.inputs[0] as Tensor | number, c.inputs[1] as Tensor | number, c) : undefined,
  });
}

const ADD = binaryDef('add', (g) => [g, g]);
const SUB = binaryDef('sub', (g, _x, _y, c) => [g, needsInputGrad(c, 1) ? neg(g) : null]);
const MUL = binaryDef('mul', (g, x, y, c) => [needsInputGrad(c, 0) ? mul(g, y) : null, needsInputGrad(c, 1) ? mul(g, x) : null]);
const DIV = binaryDef('div', (g, x, y, c) => [
  needsInputGrad(c, 0) ? div(g, y) : null,
  needsInputGrad(c, 1) ? neg(div(mul(g, c.out), y)) : null,
], 'float');
const POW = binaryDef('pow', (g, x, y, c) => [
  needsInputGrad(c, 0)
    // Where the exponent is 0 the gradient is 0 (not 0 · x^-1, which is NaN at x = 0), as PyTorch.
    ? typeof y === 'number'
      ? y === 0 ? mul(g, 0) : mul(g, mul(pow(x, y - 1), y))
      : where(eq(y, 0), 0, mul(g, mul(y, pow(x, sub(y, 1)))))
    : null,
  // d/db a^b = a^b · ln a, taken as 0 where a = 0 (as PyTorch masks it).
  needsInputGrad(c, 1)
    ? typeof x === 'number'
      ? mul(g, mul(c.out, x === 0 ? 0 : Math.log(x)))
      : where(eq(x, 0), 0, mul(g, mul(c.out, log(x))))
    : null,
]);
// Ties split the gradient in half, as torch.maximum / torch.minimum.
function minMaxRule(isMax: boolean): BinaryRule {
  return (g, x, y) => {
    const wa = add(isMax ? gt(x, y) : lt(x, y), mul(eq(x, y), 0.5));
    return [mul(g, wa), mul(g, sub(1, wa))];
  };
}
const MAXIMUM = binaryDef('maximum', minMaxRule(true));
const MINIMUM = binaryDef('minimum', minMaxRule(false));
// d/dy atan2(y, x) = x / (x² + y²), d/dx = −y / (x² + y²).
const ATAN2 = binaryDef('atan2', (g, y, x, c) => {
  const sq = (v: Tensor | number): Tensor | number => (typeof v === 'number' ? v * v : mul(v, v));
  const r = div(g, add(sq(x), sq(y)));
  return [needsInputGrad(c, 0) ? mul(r, x) : null, needsInputGrad(c, 1) ? neg(mul(r, y)) : null];
}, 'float');
const EQ = binaryDef('eq', null), NE = binaryDef('ne', null), GT = binaryDef('gt', null);
const GE = binaryDef('ge', null), LT = binaryDef('lt', null), LE = binaryDef('le', null);

/** Elementwise a + b. @example add(tensor([1, 2]), 1) // [2, 3] */
export function add(a: Tensor | number, b: Tensor | number): Tensor { return runOp2(ADD, a, b, undefined); }
/** Elementwise a − b. @example sub(tensor([3, 4]), 1) // [2, 3] */
export function sub(a: Tensor | number, b: Tensor | number): Tensor { return runOp2(SUB, a, b, undefined); }
/** Elementwise a · b. @example mul(tensor([1, 2]), tensor([3, 4])) // [3, 8] */
export function mul(a: Tensor | number, b: Tensor | number): Tensor { return runOp2(MUL, a, b, undefined); }
/** Elementwise true division a / b (integers give float32). @example div(tensor([1, 2]), 2) // [0.5, 1] */
export function div(a: Tensor | number, b: Tensor | number): Tensor { return runOp2(DIV, a, b, undefined); }
/** Elementwise a ** b. @example pow(tensor([2, 3]), 2) // [4, 9] */
export function pow(a: Tensor | number, b: Tensor | number): Tensor { return runOp2(POW, a, b, undefined); }
/** Elementwise maximum (NaN propagates). @example maximum(tensor([1, 5]), 3) // [3, 5] */
export function maximum(a: Tensor | number, b: Tensor | number): Tensor { return runOp2(MAXIMUM, a, b, undefined); }
/** Elementwise minimum (NaN propagates). @example minimum(tensor([1, 5]), 3) // [1, 3] */
export function minimum(a: Tensor | number, b: Tensor | number): Tensor { return runOp2(MINIMUM, a, b, undefined); }
/**
 * The angle of the point (b, a) in radians, in (−π, π], as torch.atan2(input=a, other=b).
 * @example atan2(tensor([1]), tensor([-1])) // [2.3562]
 */
export function atan2(a: Tensor | number, b: Tensor | number): Tensor { return runOp2(ATAN2, a, b, undefined); }
/** 1 where a == b, else 0 (same dtype as the operands). @example eq(tensor([1, 2]), 2) // [0, 1] */
export function eq(a: Tensor | number, b: Tensor | number): Tensor { return runOp2(EQ, a, b, undefined); }
/** 1 where a ≠ b, else 0. */
export function ne(a: Tensor | number, b: Tensor | number): Tensor { return runOp2(NE, a, b, undefined); }
/** 1 where a > b, else 0. */
export function gt(a: Tensor | number, b: Tensor | number): Tensor { return runOp2(GT, a, b, undefined); }
/** 1 where a ≥ b, else 0. */
export function ge(a: Tensor | number, b: Tensor | number): Tensor { return runOp2(GE, a, b, undefined); }
/** 1 where a < b, else 0. */
export function lt(a: Tensor | number, b: Tensor | number): Tensor { return runOp2(LT, a, b, undefined); }
/** 1 where a ≤ b, else 0. */
export function le(a: Tensor | number, b: Tensor | number): Tensor { return runOp2(LE, a, b, undefined); }

// ---- unary -------------------------------------------------------------------------------------

const INPUT: ArgSpec = { name: 'input' };
type Params = readonly [number, number];
const NO_PARAMS: Params = [0, 0];
type UnaryRule = (g: Tensor, x: Tensor, c: OpContext<Params>) => Tensor;

/**
 * A unary functor as an op. `keepInt`: integer inputs stay integer (neg, abs, relu); otherwise
 * they compute in float32 (exp, sigmoid). The functor's parameters come per call (slopes, bounds).
 */
function unaryDef(op: UnaryName, rule: UnaryRule | null, keepInt = false, savesOutput = false): Op<Params> {
  return defineOp<Params>({
    name: op.replace(/_(\w)/g, (_m, ch: string) => ch.toUpperCase()), args: [INPUT], dtype: keepInt ? 'promote' : 'float', savesOutput,
    forward: (c) => unary(op, c.args[0] as Tensor, c.params[0], c.params[1], c.dtype),
    // Unrecorded calls on the op's own dtype: the one kernel call (unary frees its output if it throws).
    direct: (x, p) => unary(op, x, p[0], p[1]),
    backward: rule ? (g, c) => [rule(g, c.inputs[0] as Tensor, c)] : undefined,
  });
}
// ---- activation gradients, themselves ops ---------------------------------------------------------
//
// An activation's gradient g·f'(s) is one native functor of (g, s) (relu_backward and kin; s is the
// input x, or the output y for sigmoid and tanh). It is an op of its own so that it can be
// differentiated again (double backward): ∂/∂g = f'(s) — the same op applied to the incoming
// gradient — and ∂/∂s = g·f''(s), with f'' composed from public ops below (null where f'' = 0).

const SELU_ALPHA = 1.6732632423543772848170429916717, SELU_SCALE = 1.0507009873554804934193349852946;
const GELU_K = Math.sqrt(2 / Math.PI), GELU_C = 0.044715;
type Second = (s: Tensor, p: Params) => Tensor | null;

function gradDef(op: BinaryName, second: Second | null): Op<Params> {
  const def: Op<Params> = defineOp<Params>({
    name: op.replace(/_(\w)/g, (_m, ch: string) => ch.toUpperCase()), args: [{ name: 'grad' }, { name: 'input' }],
    forward: (c) => binary(op, c.args[0] as Tensor, c.args[1] as Tensor, c.params[0], c.params[1], c.dtype),
    backward: (gg, c) => {
      const [g, sv] = c.inputs as [Tensor, Tensor];
      const f2 = needsInputGrad(c, 1) && second ? second(sv, c.params) : null;
      return [needsInputGrad(c, 0) ? runOp(def, [gg, sv], c.params) : null, f2 ? mul(mul(gg, g), f2) : null];
    },
  });
  return def;
}
const sigmoidOf = (x: Tensor): Tensor => sigmoid(x);
const GRADS = {
  relu: gradDef('relu_backward', null),
  leakyRelu: gradDef('leaky_relu_backward', null),
  hardtanh: gradDef('hardtanh_backward', null),
  clamp: gradDef('clamp_backward', null),
  abs: gradDef('sign_mul', null),
  elu: gradDef('elu_backward', (x, p) => where(gt(x, 0), 0, mul(exp(x), p[0]))),
  selu: gradDef('selu_backward', (x) => where(gt(x, 0), 0, mul(exp(x), SELU_SCALE * SELU_ALPHA))),
  // f' = Φ(x) + xφ(x), f'' = φ(x)(2 − x²), φ the standard normal density.
  gelu: gradDef('gelu_backward', (x) => mul(mul(exp(mul(square(x), -0.5)), 1 / Math.sqrt(2 * Math.PI)), sub(2, square(x)))),
  // u = k(x + c x³), t = tanh u: f' = ½(1 + t) + ½x(1 − t²)u', f'' = (1 − t²)[u' + ½x(u'' − 2t u'²)].
  geluTanh: gradDef('gelu_tanh_backward', (x) => {
    const t = tanh(mul(add(x, mul(pow(x, 3), GELU_C)), GELU_K));
    const du = mul(add(mul(square(x), 3 * GELU_C), 1), GELU_K), ddu = mul(x, 6 * GELU_C * GELU_K);
    return mul(sub(1, square(t)), add(du, mul(mul(x, 0.5), sub(ddu, mul(mul(t, 2), square(du))))));
  }),
  // s = σ(x): f' = s(1 + x(1 − s)), f'' = s(1 − s)(2 + x(1 − 2s)).
  silu: gradDef('silu_backward', (x) => {
    const s = sigmoidOf(x);
    return mul(mul(s, sub(1, s)), add(mul(x, sub(1, mul(s, 2))), 2));
  }),
  // t = tanh(softplus x), s = σ(x): f' = t + x(1 − t²)s, f'' = (1 − t²)s(2 + x(1 − s − 2ts)).
  mish: gradDef('mish_backward', (x) => {
    const t = tanh(softplus(x)), s = sigmoidOf(x);
    return mul(mul(sub(1, square(t)), s), add(mul(x, sub(sub(1, s), mul(mul(t, 2), s))), 2));
  }),
  // f' = σ(βx) below the threshold (1 above), f'' = βσ(βx)(1 − σ(βx)) (0 above).
  softplus: gradDef('softplus_backward', (x, p) => {
    const s = sigmoidOf(mul(x, p[0]));
    return where(gt(mul(x, p[0]), p[1]), 0, mul(mul(s, sub(1, s)), p[0]));
  }),
  // f' = σ(−x) = 1 − σ(x), f'' = −σ(x)(1 − σ(x)).
  logSigmoid: gradDef('log_sigmoid_backward', (x) => {
    const s = sigmoidOf(x);
    return neg(mul(s, sub(1, s)));
  }),
  // From the output y: sigmoid' = y(1 − y), ∂/∂y = 1 − 2y; tanh' = 1 − y², ∂/∂y = −2y.
  sigmoid: gradDef('sigmoid_backward', (y) => sub(1, mul(y, 2))),
  tanh: gradDef('tanh_backward', (y) => mul(y, -2)),
};
/**
 * The rule of an activation: its gradient op applied to (g, x), or (g, y) when `fromOutput`. A
 * backward that is not recorded (no createGraph) calls the kernel straight away: nothing would be
 * recorded, and the door's checks were done by the forward.
 */
function activationRule(grad: Op<Params>, op: BinaryName, fromOutput = false): UnaryRule {
  return (g, x, c) => {
    const s = fromOutput ? c.out : x;
    return isGradEnabled() ? runOp(grad, [g, s], c.params) : binary(op, g, s, c.params[0], c.params[1], g.dtype);
  };
}

const NEG = unaryDef('neg', (g) => neg(g), true);
const ABS = unaryDef('abs', activationRule(GRADS.abs, 'sign_mul'), true);
const EXP = unaryDef('exp', (g, _x, c) => mul(g, c.out), false, true);
const LOG = unaryDef('log', (g, x) => div(g, x));
const SQRT = unaryDef('sqrt', (g, _x, c) => div(g, mul(c.out, 2)), false, true);
const RSQRT = unaryDef('rsqrt', (g, _x, c) => mul(g, mul(pow(c.out, 3), -0.5)), false, true);
const SQUARE = unaryDef('square', (g, x) => mul(g, mul(x, 2)), true);
const SIGN = unaryDef('sign', null, true);
const SIGMOID = unaryDef('sigmoid', activationRule(GRADS.sigmoid, 'sigmoid_backward', true), false, true);
const TANH = unaryDef('tanh', activationRule(GRADS.tanh, 'tanh_backward', true), false, true);
const RELU = unaryDef('relu', activationRule(GRADS.relu, 'relu_backward'), true);
const LEAKY_RELU = unaryDef('leaky_relu', activationRule(GRADS.leakyRelu, 'leaky_relu_backward'));
const ELU = unaryDef('elu', activationRule(GRADS.elu, 'elu_backward'));
const SELU = unaryDef('selu', activationRule(GRADS.selu, 'selu_backward'));
const GELU = unaryDef('gelu', activationRule(GRADS.gelu, 'gelu_backward'));
const GELU_TANH = unaryDef('gelu_tanh', activationRule(GRADS.geluTanh, 'gelu_tanh_backward'));
const SILU = unaryDef('silu', activationRule(GRADS.silu, 'silu_backward'));
const MISH = unaryDef('mish', activationRule(GRADS.mish, 'mish_backward'));
const SOFTPLUS = unaryDef('softplus', activationRule(GRADS.softplus, 'softplus_backward'));
const LOG_SIGMOID = unaryDef('log_sigmoid', activationRule(GRADS.logSigmoid, 'log_sigmoid_backward'));
const HARDTANH = unaryDef('hardtanh', activationRule(GRADS.hardtanh, 'hardtanh_backward'));
const LOG1P = unaryDef('log1p', (g, x) => div(g, add(x, 1)));
const EXPM1 = unaryDef('expm1', (g, _x, c) => mul(g, add(c.out, 1)), false, true);
const SIN = unaryDef('sin', (g, x) => mul(g, cos(x)));
const COS = unaryDef('cos', (g, x) => neg(mul(g, sin(x))));
const RECIPROCAL = unaryDef('reciprocal', (g, _x, c) => neg(mul(g, square(c.out))), false, true);
const FLOOR = unaryDef('floor', null, true), CEIL = unaryDef('ceil', null, true), ROUND = unaryDef('round', null, true);
const ISNAN = unaryDef('isnan', null, true), ISFINITE = unaryDef('isfinite', null, true);
const CLAMP = unaryDef('clamp', activationRule(GRADS.clamp, 'clamp_backward'), true);

/** −x. @example neg(tensor([1, -2])) // [-1, 2] */
export function neg(a: Tensor): Tensor { return runOp1(NEG, a, NO_PARAMS); }
/** |x|; its gradient is sign(x) (0 at 0). */
export function abs(a: Tensor): Tensor { return runOp1(ABS, a, NO_PARAMS); }
/** eˣ. */
export function exp(a: Tensor): Tensor { return runOp1(EXP, a, NO_PARAMS); }
/** The natural logarithm. */
export function log(a: Tensor): Tensor { return runOp1(LOG, a, NO_PARAMS); }
/** √x. */
export function sqrt(a: Tensor): Tensor { return runOp1(SQRT, a, NO_PARAMS); }
/** 1 / √x. */
export function rsqrt(a: Tensor): Tensor { return runOp1(RSQRT, a, NO_PARAMS); }
/** x². */
export function square(a: Tensor): Tensor { return runOp1(SQUARE, a, NO_PARAMS); }
/** −1, 0 or 1 (no gradient). */
export function sign(a: Tensor): Tensor { return runOp1(SIGN, a, NO_PARAMS); }
/** 1 / (1 + e⁻ˣ). */
export function sigmoid(a: Tensor): Tensor { return runOp1(SIGMOID, a, NO_PARAMS); }
/** The hyperbolic tangent. */
export function tanh(a: Tensor): Tensor { return runOp1(TANH, a, NO_PARAMS); }
/** max(x, 0); the gradient is 0 at 0, as PyTorch. @example relu(tensor([-1, 2])) // [0, 2] */
export function relu(a: Tensor): Tensor { return runOp1(RELU, a, NO_PARAMS); }
/** x where x > 0, else negativeSlope · x. */
export function leakyRelu(a: Tensor, negativeSlope = 0.01): Tensor { return runOp1(LEAKY_RELU, a, [negativeSlope, 0]); }
/** x where x > 0, else α(eˣ − 1) (Clevert et al. 2015). */
export function elu(a: Tensor, alpha = 1): Tensor { return runOp1(ELU, a, [alpha, 0]); }
/** Scaled ELU with the self-normalising constants (Klambauer et al. 2017). */
export function selu(a: Tensor): Tensor { return runOp1(SELU, a, NO_PARAMS); }
/** GELU, exact (erf) or with the tanh approximation (Hendrycks & Gimpel 2016). @example gelu(x, 'tanh') */
export function gelu(a: Tensor, approximate: 'none' | 'tanh' = 'none'): Tensor {
  if (approximate !== 'none' && approximate !== 'tanh') throw new ArgumentError(`gelu: expected approximate 'none' or 'tanh', received ${describe(approximate)}`);
  return runOp(approximate === 'tanh' ? GELU_TANH : GELU, [a], NO_PARAMS);
}
/** x · σ(x) (SiLU / Swish). */
export function silu(a: Tensor): Tensor { return runOp1(SILU, a, NO_PARAMS); }
/** x · tanh(softplus(x)) (Misra 2019). */
export function mish(a: Tensor): Tensor { return runOp1(MISH, a, NO_PARAMS); }
/** log(1 + e^{βx}) / β, linear above `threshold` (as torch.nn.functional.softplus). */
export function softplus(a: Tensor, beta = 1, threshold = 20): Tensor { return runOp1(SOFTPLUS, a, [beta, threshold]); }
/** log σ(x), computed stably. */
export function logSigmoid(a: Tensor): Tensor { return runOp1(LOG_SIGMOID, a, NO_PARAMS); }
/** x clipped to [minVal, maxVal]; the gradient passes strictly inside. */
export function hardtanh(a: Tensor, minVal = -1, maxVal = 1): Tensor { return runOp1(HARDTANH, a, [minVal, maxVal]); }
/** log(1 + x), accurate near 0. */
export function log1p(a: Tensor): Tensor { return runOp1(LOG1P, a, NO_PARAMS); }
/** eˣ − 1, accurate near 0. */
export function expm1(a: Tensor): Tensor { return runOp1(EXPM1, a, NO_PARAMS); }
/** sin x. */
export function sin(a: Tensor): Tensor { return runOp1(SIN, a, NO_PARAMS); }
/** cos x. */
export function cos(a: Tensor): Tensor { return runOp1(COS, a, NO_PARAMS); }
/** 1 / x. */
export function reciprocal(a: Tensor): Tensor { return runOp1(RECIPROCAL, a, NO_PARAMS); }
/** ⌊x⌋ (no gradient). */
export function floor(a: Tensor): Tensor { return runOp1(FLOOR, a, NO_PARAMS); }
/** ⌈x⌉ (no gradient). */
export function ceil(a: Tensor): Tensor { return runOp1(CEIL, a, NO_PARAMS); }
/** x rounded half to even, as torch.round (no gradient). */
export function round(a: Tensor): Tensor { return runOp1(ROUND, a, NO_PARAMS); }
/** 1 where x is NaN, else 0. */
export function isnan(a: Tensor): Tensor { return runOp1(ISNAN, a, NO_PARAMS); }
/** 1 where x is finite, else 0. */
export function isfinite(a: Tensor): Tensor { return runOp1(ISFINITE, a, NO_PARAMS); }

/**
 * Clamps into [min, max]; either bound may be null/undefined. The gradient passes where
 * min ≤ x ≤ max, as torch.clamp.
 * @example clamp(tensor([-2, 0, 2]), -1, 1) // [-1, 0, 1]
 */
export function clamp(a: Tensor, min?: number | null, max?: number | null): Tensor {
  if (min == null && max == null) throw new ArgumentError('clamp: expected at least one of min and max');
  for (const [k, v] of [['min', min], ['max', max]] as const)
    if (v != null && typeof v !== 'number') throw new ArgumentError(`clamp: expected ${k} to be a number, received ${describe(v)}`);
  return runOp1(CLAMP, a, [min ?? -Infinity, max ?? Infinity]);
}

// ---- where -------------------------------------------------------------------------------------

const WHERE = defineOp({
  name: 'where', args: [{ name: 'cond', noGrad: true }, { name: 'a', number: true }, { name: 'b', number: true }], broadcast: true,
  forward: (c) => {
    const [cond, x, y] = c.args as [Tensor, Tensor | number, Tensor | number];
    // Shapes first: nothing is allocated for a call that cannot succeed.
    const shape = broadcastShapes(broadcastShapes(cond.shape, typeof x === 'number' ? [] : x.shape, 'where'), typeof y === 'number' ? [] : y.shape, 'where');
    return select(cond, x, y, c.dtype, shape);
  },
  backward: (g, c) => {
    const cond = c.inputs[0] as Tensor;
    return [null, needsInputGrad(c, 1) ? where(cond, g, 0) : null, needsInputGrad(c, 2) ? where(cond, 0, g) : null];
  },
});

/**
 * Picks `a` where `cond` is non-zero, else `b` (broadcast). Numbers are accepted for a and b.
 * @example where(gt(x, 0), x, 0)
 */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  return runOp(WHERE, [cond, a, b], undefined);
}

// ---- in place, untracked (optimizers, gradient accumulation, clipping) ---------------------------

/** @internal dst ← dst + alpha · b in place (untracked): gradient accumulation and optimizers. */
export function addInPlace(dst: Tensor, b: Tensor | number, alpha = 1): void {
  if (typeof b === 'number') { unaryInto('add_scalar', dst, dst, b * alpha); return; }
  if (alpha === 1) { binary('add', dst, b, 0, 0, dst.dtype, dst); return; }
  const scaled = unary('mul_scalar', b, alpha);
  try { binary('add', dst, scaled, 0, 0, dst.dtype, dst); } finally { scaled.dispose(); }
}

/** @internal out = f(a), untracked (the optimizers' composed reference steps). */
export const rawUnary = unary;
/** @internal out = f(a, b) with broadcasting, untracked. */
export const rawBinary = binary;
/** @internal out ← f(a) into an existing tensor, untracked (clipping in place). */
export const rawUnaryInto = unaryInto;
/** @internal dst ← value, untracked. */
export const fillInPlace = fill;
export type { Operand };
