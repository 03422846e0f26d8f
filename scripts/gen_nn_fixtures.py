#!/usr/bin/python3
"""gen_nn_fixtures.py — PyTorch parity fixtures for lib/ts/nn (DESIGN principle 12).

Run with Debian's PyTorch:  /usr/bin/python3 scripts/gen_nn_fixtures.py
Writes test/fixtures/nn.json. Inputs are drawn in float32 (so both sides see the same values) and
the references computed in float64. Fixed seeds: the file is reproducible.

Contents: layers (forward + backward, train and eval, weights given through state dicts with
PyTorch's keys, running statistics after the step), losses (every reduction and option, extreme
logits), initialiser statistics over large tensors, calculate_gain values, the state-dict keys of
Sequential(Linear, BatchNorm1d, ReLU, Linear), clip_grad_norm_ and renorm results.
"""
import json
import math
import os

import torch
import torch.nn as tnn
import torch.nn.functional as F

torch.manual_seed(1234)
torch.set_default_dtype(torch.float64)


def rnd(*shape, scale=1.0):
    return (torch.randn(*shape, dtype=torch.float32) * scale).double()


def L(t):
    return t.detach().double().tolist()


# ---- layers -----------------------------------------------------------------------------------

def layer_case(name, ts_ctor, module, x, train=True, state=None, steps=1):
    """ts_ctor: [className, ...constructor args] as the TypeScript side builds it."""
    module = module.double()
    if state:
        with torch.no_grad():
            sd = module.state_dict()
            for k, v in state.items():
                sd[k].copy_(v)
    sd_in = {k: L(v) for k, v in module.state_dict().items() if not k.endswith('num_batches_tracked')}
    module.train(train)
    x = x.clone().requires_grad_(True)
    y = module(x)
    gy = rnd(*y.shape)
    (y * gy).sum().backward()
    return {
        'name': name, 'ctor': ts_ctor, 'train': train, 'state': sd_in, 'x': L(x), 'gy': L(gy), 'y': L(y),
        'dx': L(x.grad),
        'grads': {k: L(p.grad) for k, p in module.named_parameters() if p.grad is not None},
        'after': {k: (L(v) if v.dtype.is_floating_point else int(v)) for k, v in module.state_dict().items()},
    }


layers = []
x43 = rnd(4, 3)
layers.append(layer_case('Linear', ['Linear', 3, 5], tnn.Linear(3, 5), x43))
layers.append(layer_case('Linear no bias', ['Linear', 3, 2, {'bias': False}], tnn.Linear(3, 2, bias=False), x43))
layers.append(layer_case('Linear 3-D input', ['Linear', 3, 2], tnn.Linear(3, 2), rnd(2, 4, 3)))
layers.append(layer_case('Linear 1-D input', ['Linear', 3, 2], tnn.Linear(3, 2), rnd(3)))
bn_state = {'weight': rnd(3).abs() + 0.5, 'bias': rnd(3), 'running_mean': rnd(3), 'running_var': rnd(3).abs() + 0.5}
layers.append(layer_case('BatchNorm1d train [N,C]', ['BatchNorm1d', 3], tnn.BatchNorm1d(3), rnd(5, 3, scale=2) + 1, True, bn_state))
layers.append(layer_case('BatchNorm1d eval [N,C]', ['BatchNorm1d', 3], tnn.BatchNorm1d(3), rnd(5, 3, scale=2) + 1, False, bn_state))
layers.append(layer_case('BatchNorm1d train [N,C,L]', ['BatchNorm1d', 3], tnn.BatchNorm1d(3), rnd(4, 3, 2), True, bn_state))
layers.append(layer_case('BatchNorm1d eval [N,C,L]', ['BatchNorm1d', 3], tnn.BatchNorm1d(3), rnd(4, 3, 2), False, bn_state))
layers.append(layer_case('BatchNorm1d momentum 0.3 eps 1e-3', ['BatchNorm1d', 3, {'momentum': 0.3, 'eps': 1e-3}], tnn.BatchNorm1d(3, momentum=0.3, eps=1e-3), rnd(6, 3), True, bn_state))
layers.append(layer_case('BatchNorm1d momentum null', ['BatchNorm1d', 3, {'momentum': None}], tnn.BatchNorm1d(3, momentum=None), rnd(6, 3), True, bn_state))
layers.append(layer_case('BatchNorm1d affine false', ['BatchNorm1d', 3, {'affine': False}], tnn.BatchNorm1d(3, affine=False), rnd(6, 3), True))
layers.append(layer_case('BatchNorm1d no running stats (eval)', ['BatchNorm1d', 3, {'trackRunningStats': False}], tnn.BatchNorm1d(3, track_running_stats=False), rnd(6, 3), False))
ln_state = {'weight': rnd(3), 'bias': rnd(3)}
layers.append(layer_case('LayerNorm [3]', ['LayerNorm', 3], tnn.LayerNorm(3), rnd(4, 3, scale=3), True, ln_state))
layers.append(layer_case('LayerNorm [2,3]', ['LayerNorm', [2, 3], {'eps': 1e-3}], tnn.LayerNorm([2, 3], eps=1e-3), rnd(2, 2, 3), True, {'weight': rnd(2, 3), 'bias': rnd(2, 3)}))
layers.append(layer_case('LayerNorm no affine', ['LayerNorm', 3, {'elementwiseAffine': False}], tnn.LayerNorm(3, elementwise_affine=False), rnd(4, 3)))
xa = rnd(4, 3, scale=2)
acts = [
    ('ReLU', ['ReLU'], tnn.ReLU()),
    ('LeakyReLU', ['LeakyReLU', {'negativeSlope': 0.2}], tnn.LeakyReLU(0.2)),
    ('LeakyReLU default', ['LeakyReLU'], tnn.LeakyReLU()),
    ('ELU', ['ELU', {'alpha': 0.7}], tnn.ELU(alpha=0.7)),
    ('SELU', ['SELU'], tnn.SELU()),
    ('GELU', ['GELU'], tnn.GELU()),
    ('GELU tanh', ['GELU', {'approximate': 'tanh'}], tnn.GELU(approximate='tanh')),
    ('SiLU', ['SiLU'], tnn.SiLU()),
    ('Mish', ['Mish'], tnn.Mish()),
    ('Sigmoid', ['Sigmoid'], tnn.Sigmoid()),
    ('Tanh', ['Tanh'], tnn.Tanh()),
    ('Softplus', ['Softplus'], tnn.Softplus()),
    ('Softplus beta 2 threshold 1', ['Softplus', {'beta': 2, 'threshold': 1}], tnn.Softplus(beta=2, threshold=1)),
    ('Softmax', ['Softmax', 1], tnn.Softmax(dim=1)),
    ('Softmax dim 0', ['Softmax', 0], tnn.Softmax(dim=0)),
    ('LogSoftmax', ['LogSoftmax', -1], tnn.LogSoftmax(dim=-1)),
    ('Identity', ['Identity'], tnn.Identity()),
    ('RReLU eval', ['RReLU'], tnn.RReLU()),
    ('Dropout eval', ['Dropout', 0.3], tnn.Dropout(0.3)),
    ('AlphaDropout eval', ['AlphaDropout', 0.3], tnn.AlphaDropout(0.3)),
]
for name, ctor, mod in acts:
    train = not name.endswith('eval')
    layers.append(layer_case(name, ctor, mod, xa, train))
layers.append(layer_case('PReLU', ['PReLU'], tnn.PReLU(), xa, True, {'weight': torch.tensor([0.3])}))
layers.append(layer_case('PReLU per channel', ['PReLU', {'numParameters': 3}], tnn.PReLU(3), xa, True, {'weight': torch.tensor([0.1, -0.2, 0.5])}))
layers.append(layer_case('PReLU per channel 3-D', ['PReLU', {'numParameters': 3, 'init': 0.1}], tnn.PReLU(3, init=0.1), rnd(2, 3, 2), True))
layers.append(layer_case('Flatten', ['Flatten'], tnn.Flatten(), rnd(2, 3, 2)))
layers.append(layer_case('Flatten 0..1', ['Flatten', 0, 1], tnn.Flatten(0, 1), rnd(2, 3, 2)))
seq = tnn.Sequential(tnn.Linear(3, 4), tnn.BatchNorm1d(4), tnn.ReLU(), tnn.Linear(4, 2))
layers.append(layer_case('Sequential MLP', ['Sequential'], seq, rnd(5, 3), True))

# ---- losses -----------------------------------------------------------------------------------

def loss_case(name, ts_ctor, fn, x, target, target_dtype='float32'):
    x = x.clone().requires_grad_(True)
    out = fn(x, target)
    g = rnd(*out.shape) if out.dim() > 0 else torch.tensor(1.0)
    (out * g).sum().backward()
    return {'name': name, 'ctor': ts_ctor, 'x': L(x), 'target': target.tolist(), 'targetDtype': target_dtype,
            'gout': L(g), 'out': L(out), 'dx': L(x.grad)}


losses = []
p = rnd(4, 3)
t = rnd(4, 3)
tpos = rnd(4, 3).abs() + 0.1
probs = torch.sigmoid(rnd(4, 3))
labels01 = (torch.rand(4, 3) > 0.5).double()
logits = rnd(5, 4, scale=2)
cls = torch.tensor([0, 3, 1, 1, 2])
cls_ign = torch.tensor([0, -100, 1, 3, -100])
cls_ign7 = torch.tensor([0, 7, 1, 3, 2])
wcls = torch.tensor([0.2, 1.0, 2.0, 0.7])
prob_t = torch.softmax(rnd(5, 4), 1)
logits3 = rnd(2, 3, 4)
cls3 = torch.tensor([[0, 2, 1, 1], [2, 2, 0, -100]])
for red in ['mean', 'sum', 'none']:
    R = {'reduction': red}
    losses.append(loss_case(f'MSELoss {red}', ['MSELoss', R], lambda a, b: F.mse_loss(a, b, reduction=red), p, t))
    losses.append(loss_case(f'L1Loss {red}', ['L1Loss', R], lambda a, b: F.l1_loss(a, b, reduction=red), p, t))
    mape = lambda a, b: ((a - b).abs() / b.abs().clamp(min=1e-8) * 100)
    red_fn = {'mean': lambda v: v.mean(), 'sum': lambda v: v.sum(), 'none': lambda v: v}[red]
    losses.append(loss_case(f'MAPELoss {red}', ['MAPELoss', R], lambda a, b: red_fn(mape(a, b)), p, tpos))
    losses.append(loss_case(f'HuberLoss {red}', ['HuberLoss', R], lambda a, b: F.huber_loss(a, b, reduction=red), p * 2, t))
    losses.append(loss_case(f'HuberLoss delta 0.5 {red}', ['HuberLoss', {'reduction': red, 'delta': 0.5}], lambda a, b: F.huber_loss(a, b, reduction=red, delta=0.5), p * 2, t))
    losses.append(loss_case(f'BCELoss {red}', ['BCELoss', R], lambda a, b: F.binary_cross_entropy(a, b, reduction=red), probs, labels01))
    losses.append(loss_case(f'BCELoss weight {red}', ['BCELoss', {'reduction': red, 'weight': [0.5, 1.0, 2.0]}], lambda a, b: F.binary_cross_entropy(a, b, weight=torch.tensor([0.5, 1.0, 2.0]), reduction=red), probs, labels01))
    losses.append(loss_case(f'BCEWithLogitsLoss {red}', ['BCEWithLogitsLoss', R], lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=red), p * 3, labels01))
    losses.append(loss_case(f'BCEWithLogitsLoss posWeight weight {red}', ['BCEWithLogitsLoss', {'reduction': red, 'posWeight': [3.0, 0.5, 1.0], 'weight': [1.0, 2.0, 0.5]}],
                            lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=red, pos_weight=torch.tensor([3.0, 0.5, 1.0]), weight=torch.tensor([1.0, 2.0, 0.5])), p * 3, labels01))
    losses.append(loss_case(f'CrossEntropyLoss {red}', ['CrossEntropyLoss', R], lambda a, b: F.cross_entropy(a, b, reduction=red), logits, cls, 'int32'))
    losses.append(loss_case(f'CrossEntropyLoss weight {red}', ['CrossEntropyLoss', {'reduction': red, 'weight': L(wcls)}], lambda a, b: F.cross_entropy(a, b, weight=wcls, reduction=red), logits, cls, 'int32'))
    losses.append(loss_case(f'CrossEntropyLoss ignoreIndex {red}', ['CrossEntropyLoss', R], lambda a, b: F.cross_entropy(a, b, reduction=red), logits, cls_ign, 'int32'))
    losses.append(loss_case(f'CrossEntropyLoss ignoreIndex 7 {red}', ['CrossEntropyLoss', {'reduction': red, 'ignoreIndex': 7}], lambda a, b: F.cross_entropy(a, b, ignore_index=7, reduction=red), torch.cat([logits, rnd(5, 4)], 1), cls_ign7, 'int32'))
    losses.append(loss_case(f'CrossEntropyLoss labelSmoothing {red}', ['CrossEntropyLoss', {'reduction': red, 'labelSmoothing': 0.1}], lambda a, b: F.cross_entropy(a, b, label_smoothing=0.1, reduction=red), logits, cls, 'int32'))
    losses.append(loss_case(f'CrossEntropyLoss labelSmoothing weight ignore {red}', ['CrossEntropyLoss', {'reduction': red, 'labelSmoothing': 0.2, 'weight': L(wcls)}], lambda a, b: F.cross_entropy(a, b, label_smoothing=0.2, weight=wcls, reduction=red), logits, cls_ign, 'int32'))
    losses.append(loss_case(f'CrossEntropyLoss probs {red}', ['CrossEntropyLoss', R], lambda a, b: F.cross_entropy(a, b, reduction=red), logits, prob_t))
    losses.append(loss_case(f'CrossEntropyLoss probs smoothing weight {red}', ['CrossEntropyLoss', {'reduction': red, 'labelSmoothing': 0.1, 'weight': L(wcls)}], lambda a, b: F.cross_entropy(a, b, label_smoothing=0.1, weight=wcls, reduction=red), logits, prob_t))
    losses.append(loss_case(f'CrossEntropyLoss [N,C,d] {red}', ['CrossEntropyLoss', {'reduction': red, 'labelSmoothing': 0.1}], lambda a, b: F.cross_entropy(a, b, label_smoothing=0.1, reduction=red), logits3, cls3, 'int32'))
    losses.append(loss_case(f'CrossEntropyLoss unbatched {red}', ['CrossEntropyLoss', R], lambda a, b: F.cross_entropy(a, b, reduction=red), rnd(4), torch.tensor(2), 'int32'))
    losses.append(loss_case(f'NLLLoss {red}', ['NLLLoss', R], lambda a, b: F.nll_loss(a, b, reduction=red), torch.log_softmax(logits, 1), cls, 'int32'))
    losses.append(loss_case(f'NLLLoss weight ignore {red}', ['NLLLoss', {'reduction': red, 'weight': L(wcls)}], lambda a, b: F.nll_loss(a, b, weight=wcls, reduction=red), torch.log_softmax(logits, 1), cls_ign, 'int32'))
# Extreme logits: finite values and gradients.
ext = torch.tensor([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]])
losses.append(loss_case('CrossEntropyLoss extreme', ['CrossEntropyLoss', {}], lambda a, b: F.cross_entropy(a, b), ext, torch.tensor([1, 0]), 'int32'))
losses.append(loss_case('CrossEntropyLoss extreme smoothing', ['CrossEntropyLoss', {'labelSmoothing': 0.1}], lambda a, b: F.cross_entropy(a, b, label_smoothing=0.1), ext, torch.tensor([1, 0]), 'int32'))
losses.append(loss_case('BCEWithLogitsLoss extreme', ['BCEWithLogitsLoss', {}], lambda a, b: F.binary_cross_entropy_with_logits(a, b), ext, torch.tensor([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]])))
losses.append(loss_case('BCELoss saturated', ['BCELoss', {}], lambda a, b: F.binary_cross_entropy(a, b), torch.tensor([[0.0, 1.0, 0.5], [1.0, 0.0, 1e-9]]), torch.tensor([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]])))

# ---- init statistics -------------------------------------------------------------------------------

def stats(t):
    return {'mean': float(t.mean()), 'std': float(t.std()), 'min': float(t.min()), 'max': float(t.max())}


inits = []
shape = [256, 512]
def icase(name, ts, fn, shape=shape):
    t = torch.empty(*shape)
    fn(t)
    inits.append({'name': name, 'ts': ts, 'shape': shape, **stats(t)})


icase('uniform', ['uniform', -0.5, 1.5], lambda t: tnn.init.uniform_(t, -0.5, 1.5))
icase('normal', ['normal', 1, 2], lambda t: tnn.init.normal_(t, 1, 2))
icase('xavierUniform', ['xavierUniform', {'gain': 2}], lambda t: tnn.init.xavier_uniform_(t, gain=2))
icase('xavierNormal', ['xavierNormal'], lambda t: tnn.init.xavier_normal_(t))
icase('kaimingUniform', ['kaimingUniform'], lambda t: tnn.init.kaiming_uniform_(t))
icase('kaimingUniform relu fanOut', ['kaimingUniform', {'mode': 'fanOut', 'nonlinearity': 'relu'}], lambda t: tnn.init.kaiming_uniform_(t, mode='fan_out', nonlinearity='relu'))
icase('kaimingUniform a=sqrt5', ['kaimingUniform', {'a': math.sqrt(5)}], lambda t: tnn.init.kaiming_uniform_(t, a=math.sqrt(5)))
icase('kaimingNormal', ['kaimingNormal', {'nonlinearity': 'relu'}], lambda t: tnn.init.kaiming_normal_(t, nonlinearity='relu'))
icase('kaimingNormal conv', ['kaimingNormal', {'mode': 'fanOut'}], lambda t: tnn.init.kaiming_normal_(t, mode='fan_out'), [64, 32, 3, 3])
icase('truncNormal', ['truncNormal', {'mean': 0.5, 'std': 2, 'a': -1, 'b': 3}], lambda t: tnn.init.trunc_normal_(t, 0.5, 2, -1, 3))
# Keras formulas (PyTorch has no lecun/variance_scaling): expected statistics from the same formulas.
def keras_vs(t, scale, mode, dist):
    fi, fo = tnn.init._calculate_fan_in_and_fan_out(t)
    n = {'fanIn': fi, 'fanOut': fo, 'fanAvg': (fi + fo) / 2}[mode]
    if dist == 'truncatedNormal':
        std = math.sqrt(scale / n) / 0.87962566103423978
        tnn.init.trunc_normal_(t, 0, std, -2 * std, 2 * std)
    elif dist == 'normal':
        tnn.init.normal_(t, 0, math.sqrt(scale / n))
    else:
        lim = math.sqrt(3 * scale / n)
        tnn.init.uniform_(t, -lim, lim)
icase('varianceScaling', ['varianceScaling', {'scale': 2, 'mode': 'fanIn', 'distribution': 'truncatedNormal'}], lambda t: keras_vs(t, 2, 'fanIn', 'truncatedNormal'))
icase('varianceScaling fanAvg uniform', ['varianceScaling', {'scale': 1, 'mode': 'fanAvg', 'distribution': 'uniform'}], lambda t: keras_vs(t, 1, 'fanAvg', 'uniform'))
icase('varianceScaling fanOut normal', ['varianceScaling', {'scale': 0.5, 'mode': 'fanOut', 'distribution': 'normal'}], lambda t: keras_vs(t, 0.5, 'fanOut', 'normal'))
icase('lecunUniform', ['lecunUniform'], lambda t: keras_vs(t, 1, 'fanIn', 'uniform'))
icase('lecunNormal', ['lecunNormal'], lambda t: keras_vs(t, 1, 'fanIn', 'truncatedNormal'))
icase('orthogonal', ['orthogonal', {'gain': 1}], lambda t: tnn.init.orthogonal_(t), [64, 128])

gains = [{'args': ['linear'], 'value': tnn.init.calculate_gain('linear')},
         {'args': ['conv2d'], 'value': tnn.init.calculate_gain('conv2d')},
         {'args': ['sigmoid'], 'value': tnn.init.calculate_gain('sigmoid')},
         {'args': ['tanh'], 'value': tnn.init.calculate_gain('tanh')},
         {'args': ['relu'], 'value': tnn.init.calculate_gain('relu')},
         {'args': ['leaky_relu'], 'value': tnn.init.calculate_gain('leaky_relu')},
         {'args': ['leaky_relu', 0.2], 'value': tnn.init.calculate_gain('leaky_relu', 0.2)},
         {'args': ['selu'], 'value': tnn.init.calculate_gain('selu')}]

# ---- module contract, utils ------------------------------------------------------------------------

state_keys = list(tnn.Sequential(tnn.Linear(3, 4), tnn.BatchNorm1d(4), tnn.ReLU(), tnn.Linear(4, 2)).state_dict().keys())
named_params = [n for n, _ in tnn.Sequential(tnn.Linear(3, 4), tnn.BatchNorm1d(4), tnn.ReLU(), tnn.Linear(4, 2)).named_parameters()]

clip = []
for norm_type, max_norm in [(2.0, 1.0), (1.0, 0.5), (float('inf'), 0.3), (3.0, 100.0)]:
    grads = [rnd(3, 2), rnd(4)]
    ps = [torch.zeros_like(g, requires_grad=True) for g in grads]
    for q, g in zip(ps, grads):
        q.grad = g.clone()
    total = tnn.utils.clip_grad_norm_(ps, max_norm, norm_type=norm_type)
    clip.append({'normType': 'inf' if norm_type == float('inf') else norm_type, 'maxNorm': max_norm, 'grads': [L(g) for g in grads],
                 'total': float(total), 'clipped': [L(q.grad) for q in ps]})

renorm = []
for dim, maxv in [(0, 1.0), (1, 0.8)]:
    w = rnd(4, 3)
    renorm.append({'dim': dim, 'maxValue': maxv, 'w': L(w), 'out': L(torch.renorm(w, 2, dim, maxv))})

# Cases added later come last, so that the earlier ones keep their random draws.
for name, ctor, mod in [
    ('Hardtanh', ['Hardtanh'], tnn.Hardtanh()),
    ('Hardtanh ReLU6', ['Hardtanh', {'minVal': 0, 'maxVal': 6}], tnn.Hardtanh(0, 6)),
    ('LogSigmoid', ['LogSigmoid'], tnn.LogSigmoid()),
]:
    layers.append(layer_case(name, ctor, mod, rnd(4, 3, scale=4), True))

out = {'torch': torch.__version__, 'layers': layers, 'losses': losses, 'inits': inits, 'gains': gains,
       'stateKeys': state_keys, 'namedParameters': named_params, 'clipGradNorm': clip, 'renorm': renorm}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'nn.json')
os.makedirs(os.path.dirname(path), exist_ok=True)
with open(path, 'w') as f:
    json.dump(out, f, separators=(',', ':'))
print(f'wrote {path}: {len(layers)} layer cases, {len(losses)} loss cases, {len(inits)} initialisers')
