"""gen_second_order_fixtures.py — PyTorch's second derivatives, for test/second_order.test.ts.

Run with Debian's python3-torch:  /usr/bin/python3 scripts/gen_second_order_fixtures.py
Writes test/fixtures/second_order.json (float64 throughout, so the comparison is tight):
  - ops: for each op, inputs xs, an output weight w, vectors vs; gs = d/dxs sum(op(xs)·w) taken with
    create_graph=True, and hv = d/dxs sum(gs·vs) (torch.autograd.grad twice);
  - mlp: Linear → BatchNorm1d (training) → Tanh → Linear with cross-entropy: loss, gradients, and the
    Hessian-vector product over all parameters for a fixed vector (torch.autograd.functional.hvp's
    double-backward, written out);
  - hessian: torch.autograd.functional.hessian of a small scalar function, and (hessianMlp) of a
    small MLP with BatchNorm in training mode with respect to its input batch;
  - penalty: a WGAN-GP critic loss, D(fake) − D(real) + λ (‖∇ₓD(x̂)‖ − 1)², and its parameter gradients.
Seeded: the output is reproducible on the same PyTorch version.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)
RNG = np.random.default_rng(20261129)


def t(*shape, lo=None, hi=None, scale=0.8):
    if lo is not None:
        v = RNG.uniform(lo, hi, size=shape)
    else:
        v = RNG.standard_normal(shape) * scale
    return torch.tensor(v)


def away(*shape):
    return torch.tensor(RNG.uniform(0.3, 1.5, size=shape) * RNG.choice([-1, 1], size=shape))


def enc(x):
    return {'shape': list(x.shape), 'data': x.detach().reshape(-1).tolist()}


OPS = []


def op_case(name, fn, inputs, params=None):
    xs = [x.clone().requires_grad_(True) for x in inputs]
    y = fn(*xs)
    w = t(*y.shape)
    gs = torch.autograd.grad((y * w).sum(), xs, create_graph=True, allow_unused=True)
    gs = [g if g is not None else torch.zeros_like(x) for g, x in zip(gs, xs)]
    vs = [t(*x.shape) for x in xs]
    s = sum((g * v).sum() for g, v in zip(gs, vs))
    hv = torch.autograd.grad(s, xs, allow_unused=True) if s.requires_grad else [None] * len(xs)
    hv = [h if h is not None else torch.zeros_like(x) for h, x in zip(hv, xs)]
    OPS.append({'name': name, 'params': params or {}, 'inputs': [enc(x) for x in xs], 'out': enc(y), 'w': enc(w),
                'v': [enc(v) for v in vs], 'grads': [enc(g) for g in gs], 'hv': [enc(h) for h in hv]})


for name, f in [('tanh', torch.tanh), ('sigmoid', torch.sigmoid), ('exp', torch.exp), ('sin', torch.sin), ('cos', torch.cos),
                ('gelu', F.gelu), ('silu', F.silu), ('mish', F.mish), ('softplus', F.softplus), ('logSigmoid', F.logsigmoid),
                ('elu', F.elu), ('selu', F.selu), ('square', torch.square), ('expm1', torch.expm1)]:
    op_case(name, f, [t(3, 4)])
op_case('geluTanh', lambda x: F.gelu(x, approximate='tanh'), [t(3, 4)])
op_case('leakyRelu', lambda x: F.leaky_relu(x, 0.1), [away(3, 4)])
op_case('relu', F.relu, [away(3, 4)])
for name, f in [('log', torch.log), ('sqrt', torch.sqrt), ('rsqrt', torch.rsqrt), ('reciprocal', torch.reciprocal), ('log1p', torch.log1p)]:
    op_case(name, f, [t(3, 4, lo=0.4, hi=2.0)])
op_case('mul', torch.mul, [t(3, 4), t(4)])
op_case('div', torch.div, [t(3, 4), away(3, 1)])
op_case('pow', torch.pow, [t(3, 4, lo=0.5, hi=2.0), t(3, 4, lo=-1.0, hi=2.0)])
op_case('atan2', torch.atan2, [t(3, 4), away(3, 4)])
op_case('sum', lambda x: torch.sum(x, 1), [t(3, 4)], {'dim': 1})
op_case('mean', lambda x: torch.mean(x, 0), [t(3, 4)], {'dim': 0})
op_case('variance', lambda x: torch.var(x, 1), [t(3, 4)], {'dim': 1})
op_case('std', lambda x: torch.std(x, 0), [t(3, 4)], {'dim': 0})
op_case('prod', lambda x: torch.prod(x, 1), [away(3, 4)], {'dim': 1})
op_case('max', lambda x: torch.max(x, 1)[0], [t(3, 4)], {'dim': 1})
op_case('softmax', lambda x: torch.softmax(x, 1), [t(3, 4)], {'dim': 1})
op_case('logSoftmax', lambda x: torch.log_softmax(x, 0), [t(3, 4)], {'dim': 0})
op_case('matmul', torch.matmul, [t(3, 4), t(4, 2)])
op_case('linear', F.linear, [t(5, 4), t(3, 4), t(3)])
op_case('batchNorm', lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), [t(6, 3), t(3), t(3)])
op_case('gather', lambda x: torch.gather(x, 1, torch.tensor([[0, 3], [2, 2], [1, 0]])).square(), [t(3, 4)], {'dim': 1, 'index': [[0, 3], [2, 2], [1, 0]]})
op_case('crossEntropy', lambda x: F.cross_entropy(x, torch.tensor([0, 3, 1])), [t(3, 4)], {'target': [0, 3, 1]})
op_case('bce', lambda p, y: F.binary_cross_entropy(p, y), [t(3, 4, lo=0.1, hi=0.9), t(3, 4, lo=0.0, hi=1.0)])
op_case('bceWithLogits', lambda x, y: F.binary_cross_entropy_with_logits(x, y), [t(3, 4), t(3, 4, lo=0.0, hi=1.0)])
op_case('mse', F.mse_loss, [t(3, 4), t(3, 4)])
op_case('huber', lambda a, b: F.huber_loss(a, b, delta=0.5), [t(3, 4), t(3, 4)])

# Linear and piecewise-linear ops, cubed so that their gradient is differentiated through them
# (the cube's second derivative passes back through the op's backward); appended last, so the cases
# above keep their random draws.
cube = lambda f: (lambda *a: f(*a) ** 3)
op_case('neg', cube(torch.neg), [t(3, 4)])
op_case('abs', cube(torch.abs), [away(3, 4)])
op_case('add', cube(torch.add), [t(3, 4), t(4)])
op_case('sub', cube(torch.sub), [t(3, 1), t(3, 4)])
op_case('maximum', cube(torch.maximum), [t(3, 4), t(3, 4)])
op_case('minimum', cube(torch.minimum), [t(3, 4), t(3, 4)])
op_case('min', cube(lambda x: torch.min(x, 0)[0]), [t(3, 4)], {'dim': 0})
op_case('clamp', cube(lambda x: torch.clamp(x, -0.5, 0.6)), [t(3, 4)], {'min': -0.5, 'max': 0.6})
op_case('hardtanh', cube(F.hardtanh), [t(3, 4, lo=-2.0, hi=2.0)])
op_case('where', cube(lambda a, b: torch.where(torch.tensor([[True, False, True, False]]), a, b)), [t(3, 4), t(4)], {'cond': [[1, 0, 1, 0]]})
op_case('reshape', cube(lambda x: x.reshape(2, 6)), [t(3, 4)], {'shape': [2, 6]})
op_case('permute', cube(lambda x: x.permute(2, 0, 1)), [t(2, 3, 2)], {'dims': [2, 0, 1]})
op_case('transpose', cube(lambda x: x.transpose(0, 1)), [t(3, 4)], {'dims': [0, 1]})
op_case('expand', cube(lambda x: x.expand(3, 4)), [t(3, 1)], {'shape': [3, 4]})
op_case('narrow', cube(lambda x: x.narrow(1, 1, 2)), [t(3, 4)], {'dim': 1, 'start': 1, 'length': 2})
op_case('concat', cube(lambda a, b: torch.cat([a, b], 0)), [t(2, 3), t(1, 3)], {'dim': 0})
op_case('stack', cube(lambda a, b: torch.stack([a, b], 1)), [t(2, 3), t(2, 3)], {'dim': 1})
op_case('indexSelect', cube(lambda x: torch.index_select(x, 1, torch.tensor([2, 0, 2]))), [t(3, 4)], {'dim': 1, 'index': [2, 0, 2]})
op_case('flatten', cube(lambda x: x.flatten()), [t(2, 3, 2)])
op_case('squeeze', cube(lambda x: x.squeeze(1)), [t(3, 1, 2)], {'dim': 1})
op_case('unsqueeze', cube(lambda x: x.unsqueeze(0)), [t(3, 2)], {'dim': 0})
op_case('clone', cube(torch.clone), [t(3, 2)])
op_case('nll', lambda x: F.nll_loss(torch.log_softmax(x, 1), torch.tensor([1, 0, 3])), [t(3, 4)], {'target': [1, 0, 3]})
op_case('l1', cube(F.l1_loss), [t(3, 4), t(3, 4)])

# ---- MLP with BatchNorm in training mode: loss, gradients, Hessian-vector product ----------------------
torch.manual_seed(0)
mlp = nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 3))
state0 = {k: v.clone() for k, v in mlp.state_dict().items()}
x = t(6, 5)
y = torch.tensor([0, 2, 1, 1, 0, 2])
params = [p for p in mlp.parameters()]
names = [n for n, _ in mlp.named_parameters()]
loss = F.cross_entropy(mlp(x), y)
g = torch.autograd.grad(loss, params, create_graph=True)
v = [t(*p.shape) for p in params]
hv = torch.autograd.grad(sum((gi * vi).sum() for gi, vi in zip(g, v)), params)
MLP = {'state': {k: enc(s) for k, s in state0.items() if not k.endswith('num_batches_tracked')}, 'x': enc(x), 'y': y.tolist(),
       'loss': float(loss), 'names': names, 'grads': [enc(gi) for gi in g], 'v': [enc(vi) for vi in v], 'hv': [enc(h) for h in hv]}

# ---- a small Hessian ---------------------------------------------------------------------------------
def hfun(z):
    return (z ** 3).sum() + z[0] * z[1] * torch.tanh(z[2]) + torch.logsumexp(z, 0)


hx = t(4)
HESS = {'x': enc(hx), 'value': float(hfun(hx)), 'hessian': enc(torch.autograd.functional.hessian(hfun, hx))}

# ---- the Hessian of a small MLP with BatchNorm in training mode, with respect to its input ----------
torch.manual_seed(2)
hmlp = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 1))
hstate = {k: v.clone() for k, v in hmlp.state_dict().items()}
hx2 = t(4, 3)
HESS_MLP = {'state': {k: enc(s) for k, s in hstate.items() if not k.endswith('num_batches_tracked')}, 'x': enc(hx2),
            'hessian': enc(torch.autograd.functional.hessian(lambda z: hmlp(z).sum(), hx2))}

# ---- gradient penalty (WGAN-GP) -----------------------------------------------------------------------
torch.manual_seed(1)
critic = nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
cstate = {k: v.clone() for k, v in critic.state_dict().items()}
real, fake, eps = t(5, 4), t(5, 4), t(5, 1, lo=0.0, hi=1.0)
xhat = (eps * real + (1 - eps) * fake).requires_grad_(True)
gx = torch.autograd.grad(critic(xhat).sum(), xhat, create_graph=True)[0]
gp = ((gx.square().sum(1).sqrt() - 1) ** 2).mean()
closs = critic(fake).mean() - critic(real).mean() + 10 * gp
cgrads = torch.autograd.grad(closs, list(critic.parameters()))
PENALTY = {'state': {k: enc(s) for k, s in cstate.items()}, 'real': enc(real), 'fake': enc(fake), 'eps': enc(eps),
           'penalty': float(gp), 'loss': float(closs), 'names': [n for n, _ in critic.named_parameters()],
           'grads': [enc(c) for c in cgrads]}


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'second_order.json')
    doc = {'generator': 'scripts/gen_second_order_fixtures.py', 'torch': torch.__version__, 'dtype': 'float64',
           'ops': OPS, 'mlp': MLP, 'hessian': HESS, 'hessianMlp': HESS_MLP, 'penalty': PENALTY}
    with open(out, 'w') as f:
        json.dump(doc, f, separators=(',', ':'), allow_nan=False)
        f.write('\n')
    print(f'wrote {len(OPS)} op cases to {os.path.normpath(out)}', file=sys.stderr)


if __name__ == '__main__':
    main()
