#!/usr/bin/env python3
"""gen_half_fixtures.py — PyTorch's numbers for the 16-bit dtypes and autocast (test/half.test.ts).

Run with Debian's python3-torch: /usr/bin/python3 scripts/gen_half_fixtures.py
Writes test/fixtures/half.json:
  casts       float32 (and float64) values → bfloat16 / float16 bits (round to nearest even, NaN,
              ±Inf, subnormals, overflow to Inf for float16, double rounding through float32)
  elementwise ops on bf16 / f16 tensors (computed in float32, rounded once), output bits
  reductions  sum / mean over bf16 / f16 tensors (float32 accumulation), output bits
  autocast    linear and a small MLP (Linear-ReLU-Linear, cross-entropy) forward and backward
              under torch.autocast('cpu', dtype=torch.bfloat16): output values, loss, float32
              parameter gradients
  scaler      GradScaler's scale sequence over steps with planted inf gradients. PyTorch's
              GradScaler class drives it; its two CUDA-only kernels (_amp_foreach_non_finite_
              check_and_unscale_, _amp_update_scale_) are replaced by their CPU equivalents
              written from their CUDA sources (aten/src/ATen/native/cuda/AmpKernels.cu).
"""
import json, math, os
import torch
import torch.nn.functional as F

torch.manual_seed(0)
out = {}

def bits(t):
    return t.contiguous().reshape(-1).view(torch.int16).to(torch.int32).bitwise_and(0xFFFF).tolist()

def f32list(t):
    return [None if math.isnan(v) else (v if math.isfinite(v) else ('Infinity' if v > 0 else '-Infinity')) for v in t.float().tolist()]

specials = [0.0, -0.0, 1.0, -1.0, 1/3, 2/3, 0.1, 65504.0, 65519.0, 65520.0, 65536.0, 1e5, -1e5, 3.0e38, 3.4e38,
            2**-14, 2**-15, 2**-24, 2**-25, 1.5 * 2**-25, 2**-26, 6.0e-8, 1e-8, 1e-30, 1e-40, 1e-45,
            1 + 2**-8, 1 + 2**-8 + 2**-20, 1 + 3 * 2**-8, 1 + 2**-11, 1 + 3 * 2**-11, 255.5, 256.5, 1234.5678,
            float('inf'), float('-inf'), float('nan')]
rnd = (torch.randn(64) * torch.tensor([10.0]).pow(torch.randint(-6, 6, (64,)).float())).tolist()
vals = specials + rnd
x32 = torch.tensor(vals, dtype=torch.float32)
x64 = torch.tensor([1 + 2**-9 + 2**-30, 1/3, 0.1, 65519.999, 1e-7, 2**-25 + 2**-60], dtype=torch.float64)
out['casts'] = {
    'f32': f32list(x32), 'f32_bits': x32.view(torch.int32).tolist(),
    'bf16': bits(x32.to(torch.bfloat16)), 'f16': bits(x32.to(torch.float16)),
    'f64': x64.tolist(), 'f64_bf16': bits(x64.to(torch.bfloat16)), 'f64_f16': bits(x64.to(torch.float16)),
}

names = {torch.float32: 'float32', torch.float64: 'float64', torch.int32: 'int32', torch.bfloat16: 'bfloat16', torch.float16: 'float16'}
out['promote'] = [[names[a], names[b], names[torch.promote_types(a, b)]] for a in names for b in names]

# Elementwise and reductions on 16-bit tensors: inputs are given as bits.
cases = []
a32 = torch.randn(5, 7) * 3
b32 = torch.randn(5, 7) * 3
for dt, name in ((torch.bfloat16, 'bfloat16'), (torch.float16, 'float16')):
    a, b = a32.to(dt), b32.to(dt)
    fns = {
        'add': lambda: a + b, 'sub': lambda: a - b, 'mul': lambda: a * b, 'div': lambda: a / b,
        'add_scalar': lambda: a + 0.1, 'mul_scalar': lambda: a * 3.7,
        'exp': lambda: torch.exp(a / 4), 'tanh': lambda: torch.tanh(a), 'sigmoid': lambda: torch.sigmoid(a),
        'relu': lambda: torch.relu(a), 'gelu': lambda: F.gelu(a), 'sqrt_abs': lambda: torch.sqrt(a.abs()), 'neg': lambda: -a,
        'sum': lambda: a.sum(), 'sum_dim1': lambda: a.sum(1), 'mean_dim0': lambda: a.mean(0), 'max_dim1': lambda: a.max(1).values,
        'matmul': lambda: a @ b.t(),
    }
    ops = {}
    for k, fn in fns.items():
        try:
            ops[k] = fn()
        except RuntimeError:
            pass  # PyTorch 1.13 lacks some float16 CPU kernels (exp, tanh, ...): those cases are left out
    cases.append({'dtype': name, 'a': bits(a), 'b': bits(b), 'shape': [5, 7],
                  'ops': {k: {'shape': list(v.shape), 'bits': bits(v.reshape(-1))} for k, v in ops.items()}})
out['ops'] = cases

# Autocast: linear, then a small MLP step.
x = torch.randn(8, 16)
w = torch.randn(12, 16, requires_grad=True)
bias = torch.randn(12, requires_grad=True)
with torch.autocast('cpu', dtype=torch.bfloat16):
    y = F.linear(x, w, bias)
y.float().sum().backward()
out['autocast_linear'] = {'x': x.flatten().tolist(), 'w': w.detach().flatten().tolist(), 'b': bias.detach().tolist(),
                          'dtype': str(y.dtype).replace('torch.', ''), 'y': y.float().flatten().tolist(),
                          'gw': w.grad.flatten().tolist(), 'gb': bias.grad.tolist(), 'gw_dtype': str(w.grad.dtype).replace('torch.', '')}

torch.manual_seed(1)
mlp = torch.nn.Sequential(torch.nn.Linear(20, 32), torch.nn.ReLU(), torch.nn.Linear(32, 5))
xin = torch.randn(16, 20)
target = torch.randint(0, 5, (16,))
with torch.autocast('cpu', dtype=torch.bfloat16):
    logits = mlp(xin)
    loss = F.cross_entropy(logits, target)
loss.backward()
out['autocast_mlp'] = {
    'params': {k: v.detach().flatten().tolist() for k, v in mlp.state_dict().items()},
    'x': xin.flatten().tolist(), 'target': target.tolist(),
    'logits_dtype': str(logits.dtype).replace('torch.', ''), 'logits': logits.float().flatten().tolist(),
    'loss': loss.item(), 'loss_dtype': str(loss.dtype).replace('torch.', ''),
    'grads': {k: p.grad.flatten().tolist() for k, p in mlp.named_parameters()},
}

# GradScaler: PyTorch's class, its CUDA kernels replaced by CPU equivalents (see the docstring).
def non_finite_check_and_unscale_(grads, found_inf, inv_scale):
    for g in grads:
        if not torch.isfinite(g).all():
            found_inf.fill_(1.0)
        g.mul_(inv_scale)

def update_scale_(scale, growth_tracker, found_inf, growth_factor, backoff_factor, growth_interval):
    if found_inf.item():
        scale.mul_(backoff_factor)
        growth_tracker.fill_(0)
    else:
        successful = growth_tracker.item() + 1
        if successful == growth_interval:
            new_scale = scale * growth_factor
            if torch.isfinite(new_scale).all():
                scale.copy_(new_scale)
            growth_tracker.fill_(0)
        else:
            growth_tracker.fill_(successful)
    return scale

torch._amp_foreach_non_finite_check_and_unscale_ = non_finite_check_and_unscale_
torch._amp_update_scale_ = update_scale_
from torch.cuda.amp import grad_scaler as gs
class CpuReplicator(gs._MultiDeviceReplicator):
    # PyTorch's replicator less its `is_cuda` assertion.
    def __init__(self, master_tensor):
        self.master = master_tensor
        self._per_device_tensors = {}
gs._MultiDeviceReplicator = CpuReplicator

class CpuGradScaler(gs.GradScaler):
    # PyTorch's scale() less its `outputs.is_cuda` assertion.
    def scale(self, outputs):
        if self._scale is None:
            self._lazy_init_scale_growth_tracker(outputs.device)
        return outputs * self._scale.to(device=outputs.device, non_blocking=True)

scaler = CpuGradScaler.__new__(CpuGradScaler)
scaler._enabled = True
scaler._init_scale, scaler._scale, scaler._growth_factor, scaler._backoff_factor = 1024.0, None, 2.0, 0.5
scaler._growth_interval, scaler._init_growth_tracker, scaler._growth_tracker = 3, 0, None
from collections import defaultdict
scaler._per_optimizer_states = defaultdict(gs._refresh_per_optimizer_state)
p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0]))
opt = torch.optim.SGD([p], lr=0.1)
plant = [False, False, True, False, False, False, False, True, True, False, False, False, False]
seq = []
for step, bad in enumerate(plant):
    opt.zero_grad()
    loss = (p * torch.tensor([0.5, 0.25, 2.0])).sum()
    scaler.scale(loss).backward()
    if bad:
        p.grad[1] = float('inf') if step != 8 else float('nan')
    scaler.step(opt)
    scaler.update()
    seq.append({'bad': bad, 'scale': scaler.get_scale(), 'param': p.detach().tolist()})
out['scaler'] = {'init_scale': 1024.0, 'growth_factor': 2.0, 'backoff_factor': 0.5, 'growth_interval': 3,
                 'param0': [1.0, -2.0, 3.0], 'coef': [0.5, 0.25, 2.0], 'lr': 0.1, 'steps': seq}

path = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'half.json')
with open(path, 'w') as f:
    json.dump(out, f, allow_nan=False, separators=(',', ':'))
print('wrote', path, os.path.getsize(path), 'bytes')
