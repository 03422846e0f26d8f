#!/usr/bin/python3
"""gen_fixtures.py — PyTorch parity fixtures for entrena's tensor ops (DESIGN principle 12).

Run with Debian's python3-torch:  /usr/bin/python3 scripts/gen_fixtures.py
Writes test/fixtures/ops.json, read by test/parity_ops.test.ts (which never needs PyTorch).

Every case records, in float32:
  * the inputs (flat row-major lists plus shape; numbers for scalar operands),
  * optional "pre" view transforms applied to an input leaf before the op (transpose / narrow /
    permute / expand), so non-contiguous operands are covered while gradients still refer to the leaf,
  * the forward output,
  * for differentiable cases: a fixed random weight w of the output's shape and the gradients of
    (out * w).sum() with respect to every input that requires grad.
NaN / Inf are encoded as the strings "nan", "inf", "-inf" (JSON has no literal for them).

The op names and parameters are entrena's (camelCase); the test maps each to its entrena call.
Everything is seeded: the output is byte-for-byte reproducible on the same PyTorch version.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float32)
RNG = np.random.default_rng(20240601)
NAN = float('nan')
INF = float('inf')


# ---- value generation ------------------------------------------------------------------------------

def randn(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def uniform(lo, hi, *shape):
    return RNG.uniform(lo, hi, shape).astype(np.float32)


def away(*shape, lo=0.2, hi=1.5):
    """Random values with |x| in [lo, hi] and a random sign (away from kinks at 0)."""
    mag = RNG.uniform(lo, hi, shape)
    sgn = np.where(RNG.uniform(size=shape) < 0.5, -1.0, 1.0)
    return (mag * sgn).astype(np.float32)


def distinct(*shape, scale=1.0):
    """Values with no ties (a shuffled, jittered grid): max/min/argmax are well defined."""
    n = int(np.prod(shape)) if shape else 1
    v = (np.arange(n) - n / 2) * 0.37 + RNG.uniform(-0.1, 0.1, n)
    RNG.shuffle(v)
    return (v * scale / max(1.0, n * 0.18)).reshape(shape).astype(np.float32)


def arr(values, shape=None):
    a = np.array(values, dtype=np.float32)
    return a.reshape(shape) if shape is not None else a


# ---- encoding ----------------------------------------------------------------------------------------

def enc_num(v):
    v = float(v)
    if math.isnan(v):
        return 'nan'
    if math.isinf(v):
        return 'inf' if v > 0 else '-inf'
    if v == int(v) and abs(v) < 2 ** 24:
        return int(v) if not (v == 0 and math.copysign(1, v) < 0) else 0
    # 9 significant digits round-trip a float32 exactly (Math.fround on the JS side).
    return float('%.9g' % v)


def enc_tensor(t):
    t = t.detach()
    if t.dtype == torch.bool:
        t = t.to(torch.float32)
    if t.dtype in (torch.int64, torch.int32):
        return {'shape': list(t.shape), 'data': [int(v) for v in t.reshape(-1).tolist()]}
    t = t.to(torch.float32)
    return {'shape': list(t.shape), 'data': [enc_num(v) for v in t.reshape(-1).tolist()]}


# ---- case recording ----------------------------------------------------------------------------------

CASES = []
NAMES = set()


def apply_pre(t, pre):
    for step in pre or []:
        kind = step[0]
        if kind == 'transpose':
            t = t.transpose(step[1], step[2])
        elif kind == 'permute':
            t = t.permute(*step[1])
        elif kind == 'narrow':
            t = t.narrow(step[1], step[2], step[3])
        elif kind == 'expand':
            t = t.expand(*step[1])
        else:
            raise ValueError(kind)
    return t


def case(name, op, inputs, fn, params=None, grad=True, tol=None):
    """inputs: list of np arrays (float32 tensors), dicts {'value', 'dtype', 'pre', 'grad'} or numbers.

    fn(*torch_args) computes the PyTorch reference from the (pre-transformed) operands.
    """
    full_name = f'{op}/{name}'
    assert full_name not in NAMES, full_name
    NAMES.add(full_name)
    leaves, args, enc_inputs = [], [], []
    for x in inputs:
        if isinstance(x, (int, float)) and not isinstance(x, bool):
            args.append(x)
            leaves.append(None)
            enc_inputs.append({'scalar': enc_num(x)})
            continue
        spec = x if isinstance(x, dict) else {'value': x}
        dtype = spec.get('dtype', 'float32')
        value = np.asarray(spec['value'])
        if dtype == 'int32':
            t = torch.tensor(value.astype(np.int64))
            wants_grad = False
        else:
            t = torch.tensor(value.astype(np.float32))
            wants_grad = grad and spec.get('grad', True)
            t.requires_grad_(wants_grad)
        leaves.append(t if wants_grad else None)
        e = enc_tensor(t)
        if dtype != 'float32':
            e['dtype'] = dtype
        if spec.get('pre'):
            e['pre'] = spec['pre']
        if dtype == 'float32' and not wants_grad:
            e['requiresGrad'] = False
        enc_inputs.append(e)
        args.append(apply_pre(t, spec.get('pre')))
    out = fn(*args)
    rec = {'name': full_name, 'op': op, 'params': params or {}, 'inputs': enc_inputs, 'out': enc_tensor(out)}
    if tol:
        rec['tol'] = tol
    if grad and out.requires_grad:
        w = torch.tensor(randn(*out.shape) if out.dim() else np.float32(RNG.standard_normal()))
        (out * w).sum().backward()
        rec['w'] = enc_tensor(w)
        rec['grads'] = [enc_tensor(l.grad) if l is not None and l.grad is not None else None for l in leaves]
    CASES.append(rec)


def T(v):
    """A scalar operand as PyTorch needs it for ops that refuse Python numbers (maximum, pow base)."""
    return torch.tensor(v, dtype=torch.float32)


# ---- elementwise binary ------------------------------------------------------------------------------

BINARY = {
    'add': torch.add, 'sub': torch.sub, 'mul': torch.mul, 'div': torch.div,
    'maximum': lambda a, b: torch.maximum(a if torch.is_tensor(a) else T(a), b if torch.is_tensor(b) else T(b)),
    'minimum': lambda a, b: torch.minimum(a if torch.is_tensor(a) else T(a), b if torch.is_tensor(b) else T(b)),
}


def bin_fn(op):
    f = BINARY[op]

    def g(a, b):
        if not torch.is_tensor(a) and op in ('add', 'mul'):
            return f(b, a)
        if not torch.is_tensor(a):
            return f(T(a), b) if op not in ('maximum', 'minimum') else f(a, b)
        return f(a, b)
    return g


for op in BINARY:
    positive = op == 'div'
    mk = (lambda *s: away(*s, lo=0.5, hi=2.0)) if positive else randn
    mk_a = randn if op not in ('maximum', 'minimum') else distinct
    case('same_2x3', op, [mk_a(2, 3), mk(2, 3)], bin_fn(op))
    case('bcast_3x1_1x4', op, [mk_a(3, 1), mk(1, 4)], bin_fn(op))
    case('bcast_2x3x4_4', op, [mk_a(2, 3, 4), mk(4)], bin_fn(op))
    case('bcast_4_2x3x4', op, [mk_a(4), mk(2, 3, 4)], bin_fn(op))
    case('bcast_2x1x4_3x1', op, [mk_a(2, 1, 4), mk(3, 1)], bin_fn(op))
    case('scalar_right', op, [mk_a(2, 3), 0.75], bin_fn(op))
    case('scalar_left', op, [-1.25 if not positive else 1.25, mk(2, 3)], bin_fn(op))
    case('zero_dim_and_3', op, [mk_a(), mk(3)], bin_fn(op))
    case('size1_dims_1x1_and_2x3', op, [mk_a(1, 1), mk(2, 3)], bin_fn(op))
    case('empty_0x3_and_1x3', op, [mk_a(0, 3), mk(1, 3)], bin_fn(op))
    case('empty_0x3_and_3', op, [mk_a(0, 3), mk(3)], bin_fn(op))
    case('transposed_operand', op, [{'value': mk_a(4, 3), 'pre': [['transpose', 0, 1]]}, mk(3, 4)], bin_fn(op))
    case('narrowed_operand', op, [{'value': mk_a(3, 5), 'pre': [['narrow', 1, 1, 3]]}, mk(3, 3)], bin_fn(op))
    case('nan', op, [arr([1.0, NAN, -2.0, NAN]), arr([NAN, 3.0, 0.5, 1.0])], bin_fn(op), grad=False)

# Ties: torch.maximum / torch.minimum split the gradient in half where a == b.
case('ties', 'maximum', [arr([1.0, 2.0, -0.5, 3.0]), arr([1.0, 1.0, -0.5, 4.0])], bin_fn('maximum'))
case('ties', 'minimum', [arr([1.0, 2.0, -0.5, 3.0]), arr([1.0, 1.0, -0.5, 4.0])], bin_fn('minimum'))
case('inf', 'add', [arr([INF, -INF, INF, 1.0]), arr([1.0, 2.0, -INF, INF])], bin_fn('add'), grad=False)
case('inf', 'maximum', [arr([INF, -INF, 0.5]), arr([1.0, 2.0, -INF])], bin_fn('maximum'), grad=False)
case('by_zero', 'div', [arr([1.0, -1.0, 0.0, 2.0]), arr([0.0, 0.0, 0.0, 4.0])], bin_fn('div'), grad=False)

# pow: positive bases (the exponent's gradient is out · ln a).
case('tensor_tensor', 'pow', [uniform(0.5, 2.0, 2, 3), uniform(-1.5, 2.0, 2, 3)], torch.pow)
case('bcast_3x1_1x4', 'pow', [uniform(0.5, 2.0, 3, 1), uniform(-1.5, 2.0, 1, 4)], torch.pow)
case('bcast_2x3x4_4', 'pow', [uniform(0.5, 2.0, 2, 3, 4), uniform(-1.5, 2.0, 4)], torch.pow)
case('scalar_exp_2', 'pow', [randn(2, 3), 2], torch.pow)
case('scalar_exp_3', 'pow', [randn(2, 3), 3], torch.pow)
case('scalar_exp_half', 'pow', [uniform(0.3, 2.0, 2, 3), 0.5], torch.pow)
case('scalar_exp_neg1p5', 'pow', [uniform(0.3, 2.0, 2, 3), -1.5], torch.pow)
case('scalar_base_2', 'pow', [2, uniform(-2.0, 2.0, 2, 3)], lambda a, b: torch.pow(a, b))
case('scalar_base_0p5', 'pow', [0.5, uniform(-2.0, 2.0, 2, 3)], lambda a, b: torch.pow(a, b))
case('empty', 'pow', [uniform(0.5, 2.0, 0, 3), 2], torch.pow)
case('nan', 'pow', [arr([NAN, 2.0, 1.0, 4.0]), arr([1.0, NAN, NAN, 0.5])], torch.pow, grad=False)

# comparisons (entrena returns 0/1 in the operands' dtype; values are compared)
CMP = {'eq': torch.eq, 'ne': torch.ne, 'gt': torch.gt, 'ge': torch.ge, 'lt': torch.lt, 'le': torch.le}
for op, f in CMP.items():
    a = arr([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]])
    b = arr([[1.0, 1.0, 4.0], [-1.0, 0.75, 2.5]])
    case('same', op, [a, b], f, grad=False)
    case('bcast_2x3_3', op, [a, arr([1.0, 0.5, 2.0])], f, grad=False)
    case('bcast_3x1_1x4', op, [arr([[0.0], [1.0], [2.0]]), arr([[2.0, 1.0, 0.0, 1.0]])], f, grad=False)
    case('scalar_right', op, [a, 2.0], f, grad=False)
    case('scalar_left', op, [1.0, a], (lambda f: lambda s, t: f(T(s), t))(f), grad=False)
    case('nan', op, [arr([NAN, 1.0, NAN]), arr([NAN, NAN, 1.0])], f, grad=False)
    case('empty', op, [arr([], (0, 3)), arr([1.0, 2.0, 3.0])], f, grad=False)
    case('int32', op, [{'value': np.array([[1, 2, 3], [4, 5, 6]]), 'dtype': 'int32'},
                       {'value': np.array([2, 2, 6]), 'dtype': 'int32'}], f, grad=False)


# ---- elementwise unary -------------------------------------------------------------------------------

UNARY = {
    # name: (torch fn, input maker, params)
    'neg': (torch.neg, lambda *s: randn(*s), {}),
    'abs': (torch.abs, lambda *s: away(*s), {}),
    'exp': (torch.exp, lambda *s: randn(*s), {}),
    'log': (torch.log, lambda *s: uniform(0.1, 3.0, *s), {}),
    'sqrt': (torch.sqrt, lambda *s: uniform(0.1, 3.0, *s), {}),
    'rsqrt': (torch.rsqrt, lambda *s: uniform(0.2, 3.0, *s), {}),
    'square': (torch.square, lambda *s: randn(*s), {}),
    'sigmoid': (torch.sigmoid, lambda *s: randn(*s, scale=2), {}),
    'tanh': (torch.tanh, lambda *s: randn(*s, scale=1.5), {}),
    'relu': (torch.relu, lambda *s: away(*s), {}),
    'leakyRelu': (lambda x: F.leaky_relu(x), lambda *s: away(*s), {}),
    'elu': (lambda x: F.elu(x), lambda *s: away(*s, hi=3), {}),
    'selu': (F.selu, lambda *s: away(*s, hi=3), {}),
    'gelu': (lambda x: F.gelu(x), lambda *s: randn(*s, scale=2), {}),
    'silu': (F.silu, lambda *s: randn(*s, scale=2), {}),
    'mish': (F.mish, lambda *s: randn(*s, scale=2), {}),
    'softplus': (lambda x: F.softplus(x), lambda *s: randn(*s, scale=3), {}),
    'logSigmoid': (F.logsigmoid, lambda *s: randn(*s, scale=3), {}),
    'hardtanh': (lambda x: F.hardtanh(x), lambda *s: away(*s, lo=0.1, hi=0.9) * np.float32(1.7), {}),
    'log1p': (torch.log1p, lambda *s: uniform(-0.8, 3.0, *s), {}),
    'expm1': (torch.expm1, lambda *s: randn(*s), {}),
    'sin': (torch.sin, lambda *s: randn(*s, scale=2), {}),
    'cos': (torch.cos, lambda *s: randn(*s, scale=2), {}),
    'reciprocal': (torch.reciprocal, lambda *s: away(*s, lo=0.3, hi=2.0), {}),
    'sign': (torch.sign, lambda *s: away(*s), {}),
    'floor': (torch.floor, lambda *s: randn(*s, scale=3), {}),
    'ceil': (torch.ceil, lambda *s: randn(*s, scale=3), {}),
    'round': (torch.round, lambda *s: randn(*s, scale=3), {}),
}
NON_DIFF = {'sign', 'floor', 'ceil', 'round'}

for op, (f, mk, params) in UNARY.items():
    g = op not in NON_DIFF
    case('2x3', op, [mk(2, 3)], f, params, grad=g)
    case('2x3x4', op, [mk(2, 3, 4)], f, params, grad=g)
    case('zero_dim', op, [mk()], f, params, grad=g)
    case('empty_0x3', op, [mk(0, 3)], f, params, grad=g)
    case('transposed', op, [{'value': mk(3, 4), 'pre': [['transpose', 0, 1]]}], f, params, grad=g)

# parameterised activations
case('slope_0p2', 'leakyRelu', [away(2, 5)], lambda x: F.leaky_relu(x, 0.2), {'negativeSlope': 0.2})
case('alpha_0p5', 'elu', [away(2, 5, hi=3)], lambda x: F.elu(x, 0.5), {'alpha': 0.5})
case('tanh_approx', 'gelu', [randn(2, 5, scale=2)], lambda x: F.gelu(x, approximate='tanh'), {'approximate': 'tanh'})
case('tanh_approx_3d', 'gelu', [randn(2, 3, 4, scale=3)], lambda x: F.gelu(x, approximate='tanh'), {'approximate': 'tanh'})
case('beta2_thr5', 'softplus', [arr([-4.0, -1.0, 0.3, 2.0, 2.4, 2.6, 4.0, 9.0])],
     lambda x: F.softplus(x, beta=2, threshold=5), {'beta': 2, 'threshold': 5})
case('large', 'softplus', [arr([-30.0, -15.0, 15.0, 19.0, 21.0, 50.0])], lambda x: F.softplus(x))
case('bounds_m0p5_0p8', 'hardtanh', [arr([-2.0, -0.7, -0.3, 0.1, 0.6, 0.9, 3.0])],
     lambda x: F.hardtanh(x, -0.5, 0.8), {'minVal': -0.5, 'maxVal': 0.8})
case('extreme', 'sigmoid', [arr([-100.0, -20.0, 20.0, 100.0])], torch.sigmoid)
case('extreme', 'logSigmoid', [arr([-100.0, -20.0, 20.0, 100.0])], F.logsigmoid)
case('extreme', 'tanh', [arr([-50.0, -10.0, 10.0, 50.0])], torch.tanh)
case('extreme', 'silu', [arr([-50.0, -10.0, 10.0, 50.0])], F.silu)
case('extreme', 'mish', [arr([-50.0, -10.0, 10.0, 50.0])], F.mish)
case('extreme', 'gelu', [arr([-20.0, -6.0, 6.0, 20.0])], F.gelu)
case('tiny', 'expm1', [arr([1e-7, -1e-6, 1e-4, -3e-5])], torch.expm1)
case('tiny', 'log1p', [arr([1e-7, -1e-6, 1e-4, -3e-5])], torch.log1p)

# kinks: PyTorch's conventions at exactly the non-differentiable points
case('kink_zero', 'relu', [arr([0.0, -1.0, 1.0, 0.0])], torch.relu)
case('kink_zero', 'abs', [arr([0.0, -1.0, 1.0, 0.0])], torch.abs)
case('kink_zero', 'leakyRelu', [arr([0.0, -1.0, 1.0])], lambda x: F.leaky_relu(x, 0.1), {'negativeSlope': 0.1})
case('kink_bounds', 'hardtanh', [arr([-1.0, 1.0, 0.0, -2.0, 2.0])], F.hardtanh)
case('halfway', 'round', [arr([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 3.5])], torch.round, grad=False)
case('halfway', 'floor', [arr([0.5, -0.5, -1.0, 1.0, -2.5])], torch.floor, grad=False)
case('halfway', 'ceil', [arr([0.5, -0.5, -1.0, 1.0, -2.5])], torch.ceil, grad=False)
case('zero', 'sign', [arr([0.0, -3.0, 2.0])], torch.sign, grad=False)

# NaN / Inf propagation (forward only)
NAN_IN = arr([NAN, 1.0, -1.0, INF, -INF, 0.5])
for op in ['neg', 'abs', 'exp', 'relu', 'leakyRelu', 'sigmoid', 'tanh', 'square', 'elu', 'selu', 'gelu',
           'silu', 'softplus', 'hardtanh', 'floor', 'ceil', 'round', 'sin', 'expm1']:
    f = UNARY[op][0]
    case('nan_inf', op, [NAN_IN], f, grad=False)
case('nan_neg', 'log', [arr([NAN, -1.0, 0.0, INF, 1.0])], torch.log, grad=False)
case('nan_neg', 'sqrt', [arr([NAN, -1.0, 0.0, INF, 4.0])], torch.sqrt, grad=False)
case('zero_inf', 'reciprocal', [arr([0.0, INF, -INF, NAN])], torch.reciprocal, grad=False)
case('overflow', 'exp', [arr([100.0, -200.0, 88.0, 89.0])], torch.exp, grad=False)

# clamp
case('both', 'clamp', [away(3, 4, lo=0.05, hi=2.0)], lambda x: torch.clamp(x, -0.5, 0.7), {'min': -0.5, 'max': 0.7})
case('min_only', 'clamp', [away(3, 4, lo=0.05, hi=2.0)], lambda x: torch.clamp(x, min=-0.3), {'min': -0.3, 'max': None})
case('max_only', 'clamp', [away(3, 4, lo=0.05, hi=2.0)], lambda x: torch.clamp(x, max=0.4), {'min': None, 'max': 0.4})
case('boundary', 'clamp', [arr([-1.0, 1.0, 0.0, -2.0, 2.0])], lambda x: torch.clamp(x, -1, 1), {'min': -1, 'max': 1})
case('nan', 'clamp', [arr([NAN, -3.0, 3.0, 0.2])], lambda x: torch.clamp(x, -1, 1), {'min': -1, 'max': 1}, grad=False)
case('empty', 'clamp', [randn(0, 3)], lambda x: torch.clamp(x, -1, 1), {'min': -1, 'max': 1})
case('transposed', 'clamp', [{'value': randn(3, 4), 'pre': [['transpose', 0, 1]]}],
     lambda x: torch.clamp(x, -0.5, 0.5), {'min': -0.5, 'max': 0.5})

# where (cond stored as 0/1 float32; PyTorch gets a bool mask)
def where_fn(c, a, b):
    cb = c != 0
    a = a if torch.is_tensor(a) else T(a)
    b = b if torch.is_tensor(b) else T(b)
    return torch.where(cb, a, b)


case('same', 'where', [{'value': arr([[1, 0, 1], [0, 0, 1]]), 'grad': False}, randn(2, 3), randn(2, 3)], where_fn)
case('bcast_cond_3', 'where', [{'value': arr([1, 0, 1]), 'grad': False}, randn(2, 3), randn(2, 1)], where_fn)
case('bcast_cond_3x1', 'where', [{'value': arr([[1], [0], [1]]), 'grad': False}, randn(1, 4), randn(3, 4)], where_fn)
case('scalar_b', 'where', [{'value': arr([[1, 0, 1], [0, 1, 1]]), 'grad': False}, randn(2, 3), 0.5], where_fn)
case('scalar_a', 'where', [{'value': arr([[1, 0, 1], [0, 1, 1]]), 'grad': False}, -2.0, randn(2, 3)], where_fn)
case('int_cond', 'where', [{'value': np.array([0, 3, -1, 0]), 'dtype': 'int32'}, randn(4), randn(4)], where_fn)
case('nan_unselected', 'where', [{'value': arr([1, 0, 1]), 'grad': False}, arr([1.0, NAN, 2.0]), arr([NAN, 5.0, INF])],
     where_fn, grad=False)
case('empty', 'where', [{'value': arr([], (0, 3)), 'grad': False}, randn(0, 3), randn(3)], where_fn)


# ---- reductions ----------------------------------------------------------------------------------------

def red_cases(op, fn_all, fn_dim, mk, dims_list=True):
    x = mk(2, 3, 4)
    case('all', op, [x], fn_all, {'dim': None})
    for d in [0, 1, 2, -1, -2]:
        for kd in [False, True]:
            case(f'dim{d}_keep{int(kd)}', op, [x], (lambda d, kd: lambda t: fn_dim(t, d, kd))(d, kd), {'dim': d, 'keepDim': kd})
    if dims_list:
        for dl in ([0, 2], [-1, 0], [0, 1, 2]):
            for kd in [False, True]:
                case(f'dims{"_".join(map(str, dl))}_keep{int(kd)}', op, [x], (lambda dl, kd: lambda t: fn_dim(t, dl, kd))(dl, kd),
                     {'dim': dl, 'keepDim': kd})
    case('2d_dim1', op, [mk(3, 5)], lambda t: fn_dim(t, 1, False), {'dim': 1, 'keepDim': False})
    case('1d_all', op, [mk(7)], fn_all, {'dim': None})
    case('size1_dim', op, [mk(3, 1, 2)], lambda t: fn_dim(t, 1, False), {'dim': 1, 'keepDim': False})
    case('transposed_dim0', op, [{'value': mk(4, 3), 'pre': [['transpose', 0, 1]]}], lambda t: fn_dim(t, 0, False),
         {'dim': 0, 'keepDim': False})


red_cases('sum', torch.sum, lambda t, d, kd: torch.sum(t, d, keepdim=kd), randn)
red_cases('mean', torch.mean, lambda t, d, kd: torch.mean(t, d, keepdim=kd), randn)
case('zero_dim', 'sum', [randn()], torch.sum, {'dim': None})
case('empty_dim0', 'sum', [randn(0, 3)], lambda t: torch.sum(t, 0), {'dim': 0})
case('empty_dim1', 'sum', [randn(0, 3)], lambda t: torch.sum(t, 1), {'dim': 1})
case('empty_all', 'sum', [randn(0, 3)], torch.sum, {'dim': None})
case('empty_dim0', 'mean', [randn(0, 3)], lambda t: torch.mean(t, 0), {'dim': 0}, grad=False)
case('nan', 'sum', [arr([[1.0, NAN, 2.0], [3.0, 4.0, 5.0]])], lambda t: torch.sum(t, 1), {'dim': 1}, grad=False)
case('nan', 'mean', [arr([[1.0, NAN, 2.0], [3.0, 4.0, 5.0]])], lambda t: torch.mean(t, 1), {'dim': 1}, grad=False)
case('inf', 'sum', [arr([INF, -INF, 1.0, INF])], torch.sum, {'dim': None}, grad=False)
case('large_n', 'sum', [randn(3, 1000)], lambda t: torch.sum(t, 1), {'dim': 1}, grad=False)
case('large_n', 'mean', [randn(1000, 3) + np.float32(100)], lambda t: torch.mean(t, 0), {'dim': 0}, grad=False)

for op, tf in (('variance', torch.var), ('std', torch.std)):
    for unb in (True, False):
        x = randn(2, 3, 4)
        sfx = 'unbiased' if unb else 'biased'
        case(f'all_{sfx}', op, [x], (lambda unb: lambda t: tf(t, unbiased=unb))(unb), {'dim': None, 'unbiased': unb})
        for d in (0, 1, 2, -1):
            for kd in (False, True):
                case(f'dim{d}_keep{int(kd)}_{sfx}', op, [x], (lambda d, kd, unb: lambda t: tf(t, d, unbiased=unb, keepdim=kd))(d, kd, unb),
                     {'dim': d, 'unbiased': unb, 'keepDim': kd})
        for dl in ([0, 2], [1, -1]):
            for kd in (False, True):
                case(f'dims{"_".join(map(str, dl))}_keep{int(kd)}_{sfx}', op, [x],
                     (lambda dl, kd, unb: lambda t: tf(t, dl, unbiased=unb, keepdim=kd))(dl, kd, unb),
                     {'dim': dl, 'unbiased': unb, 'keepDim': kd})
    case('default_unbiased', op, [randn(3, 5)], lambda t: tf(t, 1), {'dim': 1})
    case('offset_large', op, [randn(4, 50) + np.float32(1000)], lambda t: tf(t, 1), {'dim': 1}, grad=False,
         tol={'rtol': 2e-3, 'atol': 1e-4, 'why': 'mean 1000, var ~1: float32 cancellation (PyTorch uses Welford)'})
    case('transposed', op, [{'value': randn(5, 3), 'pre': [['transpose', 0, 1]]}], lambda t: tf(t, 1), {'dim': 1})
    case('nan', op, [arr([[1.0, NAN, 2.0], [3.0, 4.0, 6.0]])], lambda t: tf(t, 1), {'dim': 1}, grad=False)
    case('single_unbiased', op, [arr([[1.0], [2.0]])], lambda t: tf(t, 1), {'dim': 1}, grad=False)

for op, tf in (('max', torch.max), ('min', torch.min)):
    x = distinct(2, 3, 4)
    case('all', op, [x], tf, {'dim': None})
    for d in (0, 1, 2, -1, -3):
        for kd in (False, True):
            case(f'dim{d}_keep{int(kd)}', op, [x], (lambda d, kd: lambda t: tf(t, d, keepdim=kd)[0])(d, kd), {'dim': d, 'keepDim': kd})
    case('1d', op, [distinct(6)], tf, {'dim': None})
    case('zero_dim', op, [randn()], tf, {'dim': None})
    case('ties_all', op, [arr([1.0, 3.0, 3.0, -1.0, 3.0, 0.0])], tf, {'dim': None} if op == 'max' else {'dim': None})
    case('transposed_dim1', op, [{'value': distinct(4, 3), 'pre': [['transpose', 0, 1]]}],
         lambda t: tf(t, 1)[0], {'dim': 1, 'keepDim': False})
    case('nan_all', op, [arr([1.0, NAN, 3.0, -2.0])], tf, {'dim': None}, grad=False)
    case('nan_dim1', op, [arr([[1.0, NAN, 3.0], [4.0, 2.0, 0.0]])], lambda t: tf(t, 1)[0], {'dim': 1}, grad=False)
    case('inf', op, [arr([[1.0, INF, -INF], [-INF, -INF, -INF]])], lambda t: tf(t, 1)[0], {'dim': 1}, grad=False)
case('ties_dim', 'max', [arr([[1.0, 3.0, 3.0], [2.0, 2.0, 0.0]])], lambda t: torch.max(t, 1)[0], {'dim': 1})
case('ties_dim', 'min', [arr([[1.0, 0.0, 0.0], [2.0, 2.0, 5.0]])], lambda t: torch.min(t, 1)[0], {'dim': 1})

for op, tf in (('argmax', torch.argmax), ('argmin', torch.argmin)):
    x = distinct(2, 3, 4)
    case('all', op, [x], tf, {'dim': None}, grad=False)
    case('all_keep', op, [x], lambda t: tf(t, keepdim=True), {'dim': None, 'keepDim': True}, grad=False)
    for d in (0, 1, 2, -1):
        for kd in (False, True):
            case(f'dim{d}_keep{int(kd)}', op, [x], (lambda d, kd: lambda t: tf(t, d, keepdim=kd))(d, kd), {'dim': d, 'keepDim': kd}, grad=False)
    case('ties_first', op, [arr([[1.0, 5.0, 5.0, 0.0], [-1.0, -1.0, 2.0, 2.0]])], lambda t: tf(t, 1), {'dim': 1}, grad=False)
    case('nan', op, [arr([[1.0, NAN, 3.0], [4.0, 2.0, 0.0]])], lambda t: tf(t, 1), {'dim': 1}, grad=False)
    case('transposed', op, [{'value': distinct(4, 3), 'pre': [['transpose', 0, 1]]}], lambda t: tf(t, 1), {'dim': 1}, grad=False)

for op, tf in (('softmax', torch.softmax), ('logSoftmax', torch.log_softmax)):
    x = randn(2, 3, 4, scale=2)
    for d in (0, 1, 2, -1, -2):
        case(f'dim{d}', op, [x], (lambda d: lambda t: tf(t, d))(d), {'dim': d})
    case('1d', op, [randn(5)], lambda t: tf(t, 0), {'dim': 0})
    case('extreme_last', op, [arr([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, -1000.0], [1000.0, 1000.0, 999.0]])],
         lambda t: tf(t, -1), {'dim': -1})
    case('extreme_dim0', op, [arr([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 1.0]])], lambda t: tf(t, 0), {'dim': 0})
    case('size1_dim', op, [randn(3, 1)], lambda t: tf(t, 1), {'dim': 1})
    case('transposed', op, [{'value': randn(4, 3), 'pre': [['transpose', 0, 1]]}], lambda t: tf(t, 1), {'dim': 1})
    case('empty', op, [randn(0, 3)], lambda t: tf(t, 1), {'dim': 1})
    case('inf', op, [arr([[-INF, 0.0, 1.0], [INF, 0.0, 1.0]])], lambda t: tf(t, 1), {'dim': 1}, grad=False)
    case('nan', op, [arr([[NAN, 0.0, 1.0], [2.0, 0.0, 1.0]])], lambda t: tf(t, 1), {'dim': 1}, grad=False)


# ---- shape ops -------------------------------------------------------------------------------------------

x234 = lambda: randn(2, 3, 4)
case('2x3x4_to_4x6', 'reshape', [x234()], lambda t: t.reshape(4, 6), {'shape': [4, 6]})
case('infer', 'reshape', [x234()], lambda t: t.reshape(-1, 4), {'shape': [-1, 4]})
case('to_scalar', 'reshape', [randn(1, 1)], lambda t: t.reshape([]), {'shape': []})
case('transposed_copy', 'reshape', [{'value': randn(3, 4), 'pre': [['transpose', 0, 1]]}], lambda t: t.reshape(12), {'shape': [12]})
case('empty', 'reshape', [randn(0, 3)], lambda t: t.reshape(3, 0), {'shape': [3, 0]})
case('all', 'flatten', [x234()], lambda t: torch.flatten(t), {})
case('start1', 'flatten', [x234()], lambda t: torch.flatten(t, 1), {'startDim': 1})
case('0_to_1', 'flatten', [x234()], lambda t: torch.flatten(t, 0, 1), {'startDim': 0, 'endDim': 1})
case('neg', 'flatten', [randn(2, 3, 4, 2)], lambda t: torch.flatten(t, -3, -2), {'startDim': -3, 'endDim': -2})
case('zero_dim', 'flatten', [randn()], lambda t: torch.flatten(t), {})
case('0_1', 'transpose', [x234()], lambda t: t.transpose(0, 1), {'dims': [0, 1]})
case('neg', 'transpose', [x234()], lambda t: t.transpose(-1, -3), {'dims': [-1, -3]})
case('same', 'transpose', [x234()], lambda t: t.transpose(1, 1), {'dims': [1, 1]})
case('2d', 'transpose', [randn(3, 5)], lambda t: t.transpose(0, 1), {'dims': [0, 1]})
case('201', 'permute', [x234()], lambda t: t.permute(2, 0, 1), {'dims': [2, 0, 1]})
case('neg', 'permute', [x234()], lambda t: t.permute(-1, -3, -2), {'dims': [-1, -3, -2]})
case('identity', 'permute', [randn(2, 3)], lambda t: t.permute(0, 1), {'dims': [0, 1]})
case('all', 'squeeze', [randn(1, 3, 1, 2)], lambda t: t.squeeze(), {})
case('dim', 'squeeze', [randn(1, 3, 1, 2)], lambda t: t.squeeze(2), {'dim': 2})
case('neg_dim', 'squeeze', [randn(1, 3, 1, 2)], lambda t: t.squeeze(-4), {'dim': -4})
case('not_size1', 'squeeze', [randn(1, 3, 1, 2)], lambda t: t.squeeze(1), {'dim': 1})
case('front', 'unsqueeze', [randn(2, 3)], lambda t: t.unsqueeze(0), {'dim': 0})
case('end', 'unsqueeze', [randn(2, 3)], lambda t: t.unsqueeze(2), {'dim': 2})
case('neg', 'unsqueeze', [randn(2, 3)], lambda t: t.unsqueeze(-1), {'dim': -1})
case('neg_mid', 'unsqueeze', [randn(2, 3)], lambda t: t.unsqueeze(-2), {'dim': -2})
case('zero_dim', 'unsqueeze', [randn()], lambda t: t.unsqueeze(0), {'dim': 0})
case('3x1_to_3x4', 'expand', [randn(3, 1)], lambda t: t.expand(3, 4), {'shape': [3, 4]})
case('4_to_2x3x4', 'expand', [randn(4)], lambda t: t.expand(2, 3, 4), {'shape': [2, 3, 4]})
case('minus1', 'expand', [randn(1, 3)], lambda t: t.expand(2, -1), {'shape': [2, -1]})
case('1x1_to_2x1x3', 'expand', [randn(1, 1)], lambda t: t.expand(2, 1, 3), {'shape': [2, 1, 3]})
case('zero_dim', 'expand', [randn()], lambda t: t.expand(2, 2), {'shape': [2, 2]})
case('dim0', 'narrow', [x234()], lambda t: t.narrow(0, 1, 1), {'dim': 0, 'start': 1, 'length': 1})
case('dim1', 'narrow', [x234()], lambda t: t.narrow(1, 1, 2), {'dim': 1, 'start': 1, 'length': 2})
case('neg_dim', 'narrow', [x234()], lambda t: t.narrow(-1, 0, 3), {'dim': -1, 'start': 0, 'length': 3})
case('neg_start', 'narrow', [x234()], lambda t: t.narrow(2, -2, 2), {'dim': 2, 'start': -2, 'length': 2})
case('length0', 'narrow', [x234()], lambda t: t.narrow(1, 3, 0), {'dim': 1, 'start': 3, 'length': 0})
case('transposed', 'narrow', [{'value': randn(4, 3), 'pre': [['transpose', 0, 1]]}], lambda t: t.narrow(1, 1, 2),
     {'dim': 1, 'start': 1, 'length': 2})
case('dim0', 'concat', [randn(2, 3), randn(1, 3), randn(3, 3)], lambda *ts: torch.cat(ts, 0), {'dim': 0})
case('dim1', 'concat', [randn(2, 3), randn(2, 1)], lambda *ts: torch.cat(ts, 1), {'dim': 1})
case('neg_dim', 'concat', [randn(2, 3, 2), randn(2, 3, 1)], lambda *ts: torch.cat(ts, -1), {'dim': -1})
case('with_empty', 'concat', [randn(2, 3), randn(0, 3), randn(1, 3)], lambda *ts: torch.cat(ts, 0), {'dim': 0})
case('single', 'concat', [randn(2, 3)], lambda *ts: torch.cat(ts, 0), {'dim': 0})
case('transposed', 'concat', [{'value': randn(3, 2), 'pre': [['transpose', 0, 1]]}, randn(2, 3)],
     lambda *ts: torch.cat(ts, 0), {'dim': 0})
case('dim0', 'stack', [randn(2, 3), randn(2, 3), randn(2, 3)], lambda *ts: torch.stack(ts, 0), {'dim': 0})
case('dim1', 'stack', [randn(2, 3), randn(2, 3)], lambda *ts: torch.stack(ts, 1), {'dim': 1})
case('dim_end', 'stack', [randn(2, 3), randn(2, 3)], lambda *ts: torch.stack(ts, 2), {'dim': 2})
case('neg_dim', 'stack', [randn(2, 3), randn(2, 3)], lambda *ts: torch.stack(ts, -1), {'dim': -1})
case('zero_dim', 'stack', [randn(), randn(), randn()], lambda *ts: torch.stack(ts, 0), {'dim': 0})
IDX = lambda *v: {'value': np.array(v), 'dtype': 'int32'}
case('dim0', 'indexSelect', [randn(4, 3), IDX(2, 0)], lambda t, i: torch.index_select(t, 0, i), {'dim': 0})
case('dim1_repeat', 'indexSelect', [randn(2, 4), IDX(3, 1, 3, 3)], lambda t, i: torch.index_select(t, 1, i), {'dim': 1})
case('neg_dim', 'indexSelect', [x234(), IDX(0, 3)], lambda t, i: torch.index_select(t, -1, i), {'dim': -1})
case('mid_dim', 'indexSelect', [x234(), IDX(2, 2, 0)], lambda t, i: torch.index_select(t, 1, i), {'dim': 1})
case('empty_idx', 'indexSelect', [randn(3, 2), {'value': np.zeros(0, dtype=np.int64), 'dtype': 'int32'}],
     lambda t, i: torch.index_select(t, 0, i), {'dim': 0})
case('transposed', 'indexSelect', [{'value': randn(4, 3), 'pre': [['transpose', 0, 1]]}, IDX(3, 0)],
     lambda t, i: torch.index_select(t, 1, i), {'dim': 1})
G = lambda arr_, shape: {'value': np.array(arr_).reshape(shape), 'dtype': 'int32'}
case('dim1', 'gather', [randn(3, 4), G([0, 3, 1, 1, 2, 2], (3, 2))], lambda t, i: torch.gather(t, 1, i), {'dim': 1})
case('dim0', 'gather', [randn(3, 4), G([2, 0, 1, 2, 0, 0, 0, 1], (2, 4))], lambda t, i: torch.gather(t, 0, i), {'dim': 0})
case('neg_dim_3d', 'gather', [x234(), G([3, 0, 1, 1, 2, 3, 0, 0, 1, 3, 2, 2], (2, 3, 2))], lambda t, i: torch.gather(t, -1, i),
     {'dim': -1})
case('dim1_3d', 'gather', [x234(), G([2, 0, 1, 1, 0, 0, 2, 2], (2, 1, 4))], lambda t, i: torch.gather(t, 1, i), {'dim': 1})
case('transposed', 'gather', [{'value': randn(4, 3), 'pre': [['transpose', 0, 1]]}, G([3, 3, 0, 1, 2, 0], (3, 2))],
     lambda t, i: torch.gather(t, 1, i), {'dim': 1})
case('basic', 'oneHot', [IDX(0, 2, 1, 2)], lambda i: F.one_hot(i, 3), {'numClasses': 3}, grad=False)
case('2d', 'oneHot', [G([0, 4, 3, 1, 1, 0], (2, 3))], lambda i: F.one_hot(i, 5), {'numClasses': 5}, grad=False)
case('empty', 'oneHot', [{'value': np.zeros(0, dtype=np.int64), 'dtype': 'int32'}], lambda i: F.one_hot(i, 4), {'numClasses': 4}, grad=False)


# ---- matmul ---------------------------------------------------------------------------------------------

mm = torch.matmul
case('2d', 'matmul', [randn(3, 4), randn(4, 5)], mm)
case('batched', 'matmul', [randn(2, 3, 4), randn(2, 4, 5)], mm)
case('batch_bcast_1_2', 'matmul', [randn(1, 3, 4), randn(2, 4, 5)], mm)
case('batch_bcast_2_1', 'matmul', [randn(2, 3, 4), randn(1, 4, 5)], mm)
case('3d_2d', 'matmul', [randn(2, 3, 4), randn(4, 5)], mm)
case('2d_3d', 'matmul', [randn(3, 4), randn(2, 4, 5)], mm)
case('a_transposed', 'matmul', [{'value': randn(4, 3), 'pre': [['transpose', 0, 1]]}, randn(4, 5)], mm)
case('b_transposed', 'matmul', [randn(3, 4), {'value': randn(5, 4), 'pre': [['transpose', 0, 1]]}], mm)
case('both_transposed', 'matmul', [{'value': randn(4, 3), 'pre': [['transpose', 0, 1]]},
                                   {'value': randn(5, 4), 'pre': [['transpose', 0, 1]]}], mm)
case('batched_b_transposed', 'matmul', [randn(2, 3, 4), {'value': randn(2, 5, 4), 'pre': [['transpose', 1, 2]]}], mm)
case('batched_a_permuted', 'matmul', [{'value': randn(3, 2, 4), 'pre': [['permute', [1, 0, 2]]]}, randn(2, 4, 5)], mm)
case('narrowed_a', 'matmul', [{'value': randn(3, 6), 'pre': [['narrow', 1, 1, 4]]}, randn(4, 2)], mm)
case('expanded_batch', 'matmul', [{'value': randn(1, 3, 4), 'pre': [['expand', [2, 3, 4]]]}, randn(2, 4, 5)], mm)
case('vec_vec', 'matmul', [randn(4), randn(4)], mm)
case('vec_mat', 'matmul', [randn(4), randn(4, 5)], mm)
case('mat_vec', 'matmul', [randn(3, 4), randn(4)], mm)
case('batched_vec', 'matmul', [randn(2, 3, 4), randn(4)], mm)
case('vec_batched', 'matmul', [randn(4), randn(2, 4, 5)], mm)
case('outer_1xk', 'matmul', [randn(3, 1), randn(1, 4)], mm)
case('row_times_mat', 'matmul', [randn(1, 4), randn(4, 3)], mm)
case('k0', 'matmul', [randn(3, 0), randn(0, 5)], mm)
case('m0', 'matmul', [randn(0, 4), randn(4, 5)], mm)
case('larger', 'matmul', [randn(17, 33), randn(33, 9)], mm)
case('nan', 'matmul', [arr([[1.0, NAN], [2.0, 3.0]]), arr([[1.0, 0.0], [0.0, 1.0]])], mm, grad=False)


# ---- edge cases: degenerate exponents, int32 arithmetic, strided/expanded views ------------------------

case('negative_base_int_exp', 'pow', [arr([-2.0, -1.5, 3.0, -0.5]), {'value': arr([3.0, 2.0, 2.0, 4.0]), 'grad': False}], torch.pow)
case('zero_base', 'pow', [arr([0.0, 1.0, 2.0, 0.0]), arr([2.0, 0.5, 3.0, 1.5])], torch.pow)
case('scalar_exp_0', 'pow', [arr([0.0, 1.5, -2.0]), 0], torch.pow)
case('scalar_exp_1', 'pow', [arr([0.0, 1.5, -2.0]), 1], torch.pow)
case('scalar_base_0', 'pow', [0, arr([0.0, 1.0, 2.5])], lambda a, b: torch.pow(a, b))
case('scalar_base_1', 'pow', [1, arr([0.0, 1.0, -2.5])], lambda a, b: torch.pow(a, b))
case('min_gt_max', 'clamp', [arr([-2.0, 0.0, 0.5, 3.0])], lambda x: torch.clamp(x, 1.0, -1.0), {'min': 1.0, 'max': -1.0})
INT = lambda *v: {'value': np.array(v), 'dtype': 'int32'}
for op in ('add', 'sub', 'mul', 'maximum', 'minimum'):
    case('int32', op, [INT(7, -7, 3, 0), INT(2, 2, -4, 5)], bin_fn(op), grad=False)
    case('int32_scalar', op, [INT(7, -7, 3, 0), 3], bin_fn(op), grad=False)
case('int32', 'div', [INT(7, -7, 3, 0), INT(2, 2, -4, 5)], torch.div, grad=False)
case('int32_scalar', 'div', [INT(7, -7, 3, 0), 2], torch.div, grad=False)
case('int32_float_scalar', 'mul', [INT(7, -7, 3, 0), 0.5], torch.mul, grad=False)
case('int32_float_scalar', 'add', [INT(7, -7, 3, 0), 0.25], torch.add, grad=False)
case('int32_int_exp', 'pow', [INT(2, -3, 0, 5), 2], torch.pow, grad=False)
for op in ('neg', 'abs', 'square', 'sign', 'relu'):
    case('int32', op, [INT(-3, 0, 4, -1)], UNARY[op][0], grad=False)
case('int32', 'clamp', [INT(-3, 0, 4, -1, 9)], lambda x: torch.clamp(x, -1, 5), {'min': -1, 'max': 5}, grad=False)
case('int32_dim0', 'sum', [{'value': np.array([[1, 2, 3], [4, 5, -6]]), 'dtype': 'int32'}], lambda t: torch.sum(t, 0), {'dim': 0}, grad=False)
case('int32_all', 'sum', [{'value': np.array([[1, 2, 3], [4, 5, -6]]), 'dtype': 'int32'}], torch.sum, {'dim': None}, grad=False)
case('int32_dim1', 'max', [{'value': np.array([[1, 7, 3], [4, 5, -6]]), 'dtype': 'int32'}], lambda t: torch.max(t, 1)[0], {'dim': 1}, grad=False)
case('int32_dim1', 'argmax', [{'value': np.array([[1, 7, 3], [4, 5, -6]]), 'dtype': 'int32'}], lambda t: torch.argmax(t, 1), {'dim': 1}, grad=False)
case('int32', 'transpose', [{'value': np.array([[1, 7, 3], [4, 5, -6]]), 'dtype': 'int32'}], lambda t: t.transpose(0, 1), {'dims': [0, 1]}, grad=False)
case('int32', 'concat', [INT(1, 2), INT(3)], lambda *ts: torch.cat(ts, 0), {'dim': 0}, grad=False)
case('int32', 'indexSelect', [INT(10, 20, 30), INT(2, 2, 0)], lambda t, i: torch.index_select(t, 0, i), {'dim': 0}, grad=False)
case('expanded_copy', 'reshape', [{'value': randn(1, 3), 'pre': [['expand', [2, 3]]]}], lambda t: t.reshape(6), {'shape': [6]})
case('narrowed_view', 'reshape', [{'value': randn(4, 6), 'pre': [['narrow', 1, 1, 4]]}], lambda t: t.reshape(4, 2, 2), {'shape': [4, 2, 2]})
case('narrowed_rows_copy', 'reshape', [{'value': randn(4, 6), 'pre': [['narrow', 1, 1, 4]]}], lambda t: t.reshape(2, 8), {'shape': [2, 8]})
case('permuted', 'flatten', [{'value': randn(2, 3, 4), 'pre': [['permute', [2, 0, 1]]]}], lambda t: torch.flatten(t, 1), {'startDim': 1})
case('expanded', 'sum', [{'value': randn(3, 1), 'pre': [['expand', [3, 4]]]}], lambda t: torch.sum(t, 0), {'dim': 0})
case('expanded', 'exp', [{'value': randn(1, 4), 'pre': [['expand', [3, 4]]]}], torch.exp)
case('expanded_both', 'mul', [{'value': randn(3, 1), 'pre': [['expand', [3, 4]]]}, {'value': randn(1, 4), 'pre': [['expand', [3, 4]]]}], torch.mul)
case('permuted_dim1', 'softmax', [{'value': randn(2, 3, 4), 'pre': [['permute', [2, 0, 1]]]}], lambda t: torch.softmax(t, 1), {'dim': 1})
case('permuted_dims', 'variance', [{'value': randn(2, 3, 4), 'pre': [['permute', [2, 0, 1]]]}], lambda t: torch.var(t, [0, 2]), {'dim': [0, 2]})
case('narrowed', 'max', [{'value': distinct(3, 6), 'pre': [['narrow', 1, 2, 3]]}], lambda t: torch.max(t, 1)[0], {'dim': 1})
case('narrowed', 'gather', [{'value': randn(3, 6), 'pre': [['narrow', 1, 1, 4]]}, G([0, 3, 1, 1, 2, 2], (3, 2))],
     lambda t, i: torch.gather(t, 1, i), {'dim': 1})
case('expanded', 'indexSelect', [{'value': randn(1, 3), 'pre': [['expand', [4, 3]]]}, IDX(2, 0, 2)],
     lambda t, i: torch.index_select(t, 1, i), {'dim': 1})
case('of_expanded', 'concat', [{'value': randn(1, 3), 'pre': [['expand', [2, 3]]]}, randn(1, 3)], lambda *ts: torch.cat(ts, 0), {'dim': 0})
case('of_transposed', 'stack', [{'value': randn(3, 2), 'pre': [['transpose', 0, 1]]}, randn(2, 3)], lambda *ts: torch.stack(ts, 0), {'dim': 0})
case('expanded_b', 'matmul', [randn(3, 4), {'value': randn(4, 1), 'pre': [['expand', [4, 5]]]}], mm)
case('k1', 'matmul', [randn(3, 1), randn(1, 5)], mm)
case('n1_batched', 'matmul', [randn(2, 3, 4), randn(2, 4, 1)], mm)
case('m1_batched_transposed', 'matmul', [{'value': randn(2, 4, 1), 'pre': [['transpose', 1, 2]]}, randn(2, 4, 3)], mm)

# 0-d tensors with an explicit dim (PyTorch accepts dim 0 / -1 on a scalar)
case('zero_dim_dim0', 'sum', [randn()], lambda t: torch.sum(t, 0), {'dim': 0})
case('zero_dim_dim_neg1_keep', 'mean', [randn()], lambda t: torch.mean(t, -1, keepdim=True), {'dim': -1, 'keepDim': True})
case('zero_dim_dim0', 'max', [randn()], lambda t: torch.max(t, 0)[0], {'dim': 0})
case('zero_dim_dim0', 'argmax', [randn()], lambda t: torch.argmax(t, 0), {'dim': 0}, grad=False)
case('zero_dim', 'softmax', [randn()], lambda t: torch.softmax(t, 0), {'dim': 0})
case('zero_dim', 'logSoftmax', [randn()], lambda t: torch.log_softmax(t, -1), {'dim': -1})
case('zero_dim', 'squeeze', [randn()], lambda t: t.squeeze(0), {'dim': 0})
case('zero_dim_neg', 'unsqueeze', [randn()], lambda t: t.unsqueeze(-1), {'dim': -1})
case('zero_dim', 'transpose', [randn()], lambda t: t.transpose(0, -1), {'dims': [0, -1]})

# ---- atan2 and prod (appended last: the cases above keep their random draws) -------------------------------

case('same_shape', 'atan2', [randn(2, 3), randn(2, 3)], torch.atan2)
case('broadcast', 'atan2', [randn(3, 1), away(1, 4)], torch.atan2)
case('quadrants', 'atan2', [arr([1.0, 1.0, -1.0, -1.0, 0.0, 2.0]), arr([1.0, -1.0, -1.0, 1.0, -1.0, 0.0])], torch.atan2, grad=False)
case('scalar_right', 'atan2', [randn(2, 3), 0.5], lambda a, b: torch.atan2(a, T(b)))
case('scalar_left', 'atan2', [-0.5, away(4)], lambda a, b: torch.atan2(T(a), b))


def prod_dim(t, d, kd):
    # torch.prod takes one dim: a list reduces one dim at a time, last first.
    for k in sorted([x % t.dim() for x in d] if isinstance(d, list) else [d % t.dim()], reverse=True):
        t = torch.prod(t, k, keepdim=True)
    if not kd:
        dims = sorted([x % 3 for x in d] if isinstance(d, list) else [d % t.dim()], reverse=True)
        for k in dims:
            t = t.squeeze(k)
    return t


red_cases('prod', torch.prod, prod_dim, lambda *s: away(*s, lo=0.5, hi=1.5))
case('one_zero', 'prod', [arr([[0.0, 1.5, -2.0], [0.7, 1.1, -0.4]])], lambda t: torch.prod(t, 1), {'dim': 1, 'keepDim': False})
case('two_zeros', 'prod', [arr([[0.0, 1.5, 0.0], [0.7, 1.1, -0.4]])], lambda t: torch.prod(t, 1), {'dim': 1, 'keepDim': False})
case('int32_all', 'prod', [{'value': np.array([[1, 2, 3], [4, 5, -6]]), 'dtype': 'int32'}], torch.prod, {'dim': None}, grad=False)

# ---- write -----------------------------------------------------------------------------------------------

def main():
    out_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'ops.json')
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    doc = {
        'generator': 'scripts/gen_fixtures.py',
        'torch': torch.__version__,
        'dtype': 'float32',
        'note': 'grads are d/d input of (out * w).sum(); NaN/Inf encoded as "nan"/"inf"/"-inf"',
        'cases': CASES,
    }
    text = json.dumps(doc, separators=(',', ':'), allow_nan=False)
    with open(out_path, 'w') as f:
        f.write(text)
        f.write('\n')
    print(f'wrote {len(CASES)} cases, {len(text) / 1e6:.2f} MB to {os.path.normpath(out_path)}', file=sys.stderr)


if __name__ == '__main__':
    main()
