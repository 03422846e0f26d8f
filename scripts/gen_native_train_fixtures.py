#!/usr/bin/python3
"""gen_native_train_fixtures.py — PyTorch parity fixtures for the fused native training kernels.

Writes test/fixtures/native_train.json, read by test/native_train.test.ts (which never needs
PyTorch). Run with Debian's python3-torch:  /usr/bin/python3 scripts/gen_native_train_fixtures.py

Contents (every case in float32 and float64, inputs identical — drawn in float32 so that both
dtypes start from the same exactly representable values):
  batchnorm: torch.nn.BatchNorm1d forward + backward on [16, 8] and [4, 3, 5] (affine, with
    non-trivial weight, bias and initial running statistics), and [16, 8] with affine=False.
    Training: y, save_mean/save_invstd, running stats after the update, dx, dweight, dbias.
    Eval (running statistics as initialised): y, dx, dweight, dbias. dy is a fixed random tensor.
  optim: 20 steps of each optimizer on two parameter tensors ([3, 4] and [5]) with gradients
    drawn per step and stored; the parameters after every step are recorded.
    NAdam runs with foreach=True: in PyTorch 1.13 the single-tensor path multiplies mu into
    mu_product_next twice (fixed in 2.0, pytorch/pytorch#92699); the foreach path already
    implemented the corrected rule that entrena follows.
Seeds are fixed; the output is deterministic.
"""
import json
import os

import torch

torch.manual_seed(20240601)
DTYPES = {'f32': torch.float32, 'f64': torch.float64}


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


# ---- batchnorm -------------------------------------------------------------------------------

def batchnorm_case(name, shape, affine, eps=1e-5, momentum=0.1):
    c = shape[1]
    x = (torch.randn(shape) * 2.0 + 0.7).float()         # |mean| comparable to std
    dy = torch.randn(shape).float()
    weight = (torch.rand(c) + 0.5).float()
    bias = torch.randn(c).float()
    rm0 = (torch.randn(c) * 0.3).float()
    rv0 = (torch.rand(c) + 0.5).float()
    n = shape[0]
    l = 1 if len(shape) == 2 else shape[2]
    case = {
        'name': name, 'n': n, 'c': c, 'l': l, 'affine': affine, 'eps': eps, 'momentum': momentum,
        'x': flat(x), 'dy': flat(dy), 'weight': flat(weight), 'bias': flat(bias),
        'runningMean0': flat(rm0), 'runningVar0': flat(rv0),
    }
    for key, dt in DTYPES.items():
        out = {}
        for mode in ('train', 'eval'):
            bn = torch.nn.BatchNorm1d(c, eps=eps, momentum=momentum, affine=affine).to(dt)
            with torch.no_grad():
                if affine:
                    bn.weight.copy_(weight)
                    bn.bias.copy_(bias)
                bn.running_mean.copy_(rm0)
                bn.running_var.copy_(rv0)
            bn.train(mode == 'train')
            xi = x.to(dt).clone().requires_grad_(True)
            y = bn(xi)
            y.backward(dy.to(dt))
            r = {'y': flat(y), 'dx': flat(xi.grad)}
            if affine:
                r['dweight'] = flat(bn.weight.grad)
                r['dbias'] = flat(bn.bias.grad)
            if mode == 'train':
                r['runningMean'] = flat(bn.running_mean)
                r['runningVar'] = flat(bn.running_var)
                dims = [0] if l == 1 else [0, 2]
                xd = x.to(dt)
                mean = xd.mean(dim=dims)
                var = xd.var(dim=dims, unbiased=False)
                r['saveMean'] = flat(mean)
                r['saveInvstd'] = flat(1.0 / torch.sqrt(var + eps))
            out[mode] = r
        case[key] = out
    return case


# ---- optimizers --------------------------------------------------------------------------------

SHAPES = [(3, 4), (5,)]
STEPS = 20

OPTIM_CASES = [
    # name, torch class, kwargs (PyTorch names), entrena kind
    ('sgd_plain', 'SGD', {'lr': 0.1}),
    ('sgd_momentum_dampening_wd', 'SGD', {'lr': 0.05, 'momentum': 0.9, 'dampening': 0.1, 'weight_decay': 1e-2}),
    ('sgd_nesterov_wd', 'SGD', {'lr': 0.05, 'momentum': 0.9, 'nesterov': True, 'weight_decay': 1e-2}),
    ('adam_default', 'Adam', {}),
    ('adam_amsgrad_wd', 'Adam', {'lr': 1e-2, 'betas': (0.8, 0.99), 'eps': 1e-6, 'weight_decay': 0.1, 'amsgrad': True}),
    ('adamw_default', 'AdamW', {}),
    ('adamw_amsgrad', 'AdamW', {'lr': 1e-2, 'weight_decay': 0.1, 'amsgrad': True}),
    ('adagrad_default', 'Adagrad', {}),
    ('adagrad_decay_wd_init', 'Adagrad', {'lr': 0.1, 'lr_decay': 0.01, 'weight_decay': 0.05,
                                          'initial_accumulator_value': 0.1, 'eps': 1e-8}),
    ('rmsprop_default', 'RMSprop', {}),
    ('rmsprop_centered_momentum_wd', 'RMSprop', {'lr': 1e-2, 'alpha': 0.9, 'eps': 1e-6, 'weight_decay': 0.01,
                                                 'momentum': 0.8, 'centered': True}),
    ('rmsprop_momentum', 'RMSprop', {'lr': 1e-3, 'momentum': 0.5}),
    ('adamax_default', 'Adamax', {}),
    ('adamax_wd', 'Adamax', {'lr': 1e-2, 'betas': (0.8, 0.95), 'weight_decay': 0.1}),
    ('nadam_default', 'NAdam', {'foreach': True}),
    ('nadam_wd', 'NAdam', {'lr': 1e-2, 'weight_decay': 0.05, 'momentum_decay': 8e-3, 'foreach': True}),
]


def optim_case(name, cls, kwargs):
    params0 = [torch.randn(s).float() for s in SHAPES]
    grads = [[torch.randn(s).float() for s in SHAPES] for _ in range(STEPS)]
    # Some exactly-zero gradient entries (frozen-looking coordinates) exercise eps paths.
    for g in grads[3]:
        g.view(-1)[0] = 0.0
    options = {k: (list(v) if isinstance(v, tuple) else v) for k, v in kwargs.items() if k != 'foreach'}
    case = {
        'name': name, 'optimizer': cls, 'options': options, 'steps': STEPS,
        'shapes': [list(s) for s in SHAPES],
        'params0': [flat(p) for p in params0],
        'grads': [[flat(g) for g in step] for step in grads],
    }
    for key, dt in DTYPES.items():
        # mu_product and step are created with the default dtype in 1.13.
        torch.set_default_dtype(dt)
        ps = [p.to(dt).clone().requires_grad_(True) for p in params0]
        opt = getattr(torch.optim, cls)(ps, **kwargs)
        traj = []
        for s in range(STEPS):
            for p, g in zip(ps, grads[s]):
                p.grad = g.to(dt).clone()
            opt.step()
            traj.append([flat(p) for p in ps])
        torch.set_default_dtype(torch.float32)
        case[key] = traj
    return case


def main():
    fixture = {
        'generator': 'scripts/gen_native_train_fixtures.py',
        'torch': torch.__version__,
        'batchnorm': [
            batchnorm_case('bn_2d_16x8', [16, 8], True),
            batchnorm_case('bn_3d_4x3x5', [4, 3, 5], True, eps=1e-3, momentum=0.2),
            batchnorm_case('bn_2d_16x8_noaffine', [16, 8], False),
        ],
        'optim': [optim_case(*c) for c in OPTIM_CASES],
    }
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.join(root, 'test', 'fixtures', 'native_train.json')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(fixture, f, separators=(',', ':'))
        f.write('\n')
    print('wrote', path, os.path.getsize(path), 'bytes')


if __name__ == '__main__':
    main()
