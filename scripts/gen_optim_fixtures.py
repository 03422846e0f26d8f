#!/usr/bin/env python3
"""gen_optim_fixtures.py — optimizer trajectories from torch.optim, for test/optim.test.ts.

Run with Debian's python3-torch: /usr/bin/python3 scripts/gen_optim_fixtures.py
Problem: W [3, 4], b [3] from a fixed seed; loss = mean((tanh(x Wᵀ + b) − y)²) on fixed x [8, 4],
y [8, 3]. Each case records the initial values and W, b after each of 20 steps (float32), with
real gradients of that loss. Two parameter groups (W and b with different options) where the case
says so. L-BFGS cases take 5 closure steps.

NAdam: torch 1.13 computes mu_product_next with μ_t counted twice (fixed in PyTorch 2.0,
pytorch/pytorch#92699); entrena follows the fixed rule, so the NAdam case below is produced by a
transcription of PyTorch 2.0's _single_tensor_nadam instead of 1.13's class.
"""
import json
import math
import os

import torch

torch.manual_seed(0)
X = torch.randn(8, 4)
Y = torch.randn(8, 3) * 0.5
W0 = torch.randn(3, 4) * 0.5
B0 = torch.randn(3) * 0.1


def loss_fn(W, b):
    return ((torch.tanh(X @ W.T + b) - Y) ** 2).mean()


def params():
    return torch.nn.Parameter(W0.clone()), torch.nn.Parameter(B0.clone())


class NAdam2(torch.optim.Optimizer):
    """PyTorch 2.0's NAdam update (single tensor), transcribed."""

    def __init__(self, ps, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3):
        super().__init__(ps, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay))

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            b1, b2 = g["betas"]
            for p in g["params"]:
                grad = p.grad
                st = self.state[p]
                if not st:
                    st["step"] = 0
                    st["mu_product"] = 1.0
                    st["exp_avg"] = torch.zeros_like(p)
                    st["exp_avg_sq"] = torch.zeros_like(p)
                st["step"] += 1
                step = st["step"]
                bias_correction2 = 1 - b2 ** step
                if g["weight_decay"] != 0:
                    grad = grad.add(p, alpha=g["weight_decay"])
                mu = b1 * (1.0 - 0.5 * (0.96 ** (step * g["momentum_decay"])))
                mu_next = b1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * g["momentum_decay"])))
                st["mu_product"] *= mu
                st["exp_avg"].lerp_(grad, 1 - b1)
                st["exp_avg_sq"].mul_(b2).addcmul_(grad, grad, value=1 - b2)
                denom = st["exp_avg_sq"].div(bias_correction2).sqrt().add_(g["eps"])
                mu_product_next = st["mu_product"] * mu_next
                p.addcdiv_(grad, denom, value=(-g["lr"] * (1.0 - mu) / (1.0 - st["mu_product"])))
                p.addcdiv_(st["exp_avg"], denom, value=(-g["lr"] * mu_next) / (1.0 - mu_product_next))


OPT = {
    "SGD": torch.optim.SGD, "Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW, "Adagrad": torch.optim.Adagrad,
    "RMSprop": torch.optim.RMSprop, "Adamax": torch.optim.Adamax, "NAdam": NAdam2,
}
PY = {"lr": "lr", "momentum": "momentum", "dampening": "dampening", "weightDecay": "weight_decay", "nesterov": "nesterov",
      "betas": "betas", "eps": "eps", "amsgrad": "amsgrad", "lrDecay": "lr_decay", "initialAccumulatorValue": "initial_accumulator_value",
      "alpha": "alpha", "centered": "centered", "momentumDecay": "momentum_decay"}


def py(opts):
    return {PY[k]: (tuple(v) if isinstance(v, list) else v) for k, v in opts.items()}


cases = []


def case(name, kind, opts, group_b=None, steps=20):
    W, b = params()
    if group_b is None:
        opt = OPT[kind]([W, b], **py(opts))
    else:
        opt = OPT[kind]([{"params": [W]}, {"params": [b], **py(group_b)}], **py(opts))
    traj = []
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(W, b).backward()
        opt.step()
        traj.append({"W": W.detach().flatten().tolist(), "b": b.detach().flatten().tolist()})
    cases.append({"name": name, "kind": kind, "options": opts, "groupB": group_b, "trajectory": traj})


case("SGD", "SGD", {"lr": 0.1})
case("SGD-momentum-nesterov-wd", "SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weightDecay": 0.01})
case("SGD-momentum-dampening", "SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3})
case("Adam", "Adam", {"lr": 0.01})
case("Adam-amsgrad-wd", "Adam", {"lr": 0.02, "betas": [0.8, 0.99], "eps": 1e-6, "weightDecay": 0.1, "amsgrad": True})
case("AdamW", "AdamW", {"lr": 0.01})
case("AdamW-amsgrad", "AdamW", {"lr": 0.02, "weightDecay": 0.3, "amsgrad": True})
case("Adagrad", "Adagrad", {})
case("Adagrad-options", "Adagrad", {"lr": 0.1, "lrDecay": 0.05, "weightDecay": 0.01, "initialAccumulatorValue": 0.1, "eps": 1e-8})
case("RMSprop", "RMSprop", {})
case("RMSprop-centered-momentum-wd", "RMSprop", {"lr": 0.005, "alpha": 0.9, "momentum": 0.5, "centered": True, "weightDecay": 0.01})
case("Adamax", "Adamax", {})
case("Adamax-wd", "Adamax", {"lr": 0.01, "betas": [0.8, 0.9], "weightDecay": 0.05})
case("NAdam", "NAdam", {})
case("NAdam-options", "NAdam", {"lr": 0.01, "betas": [0.85, 0.995], "weightDecay": 0.01, "momentumDecay": 0.01})
case("SGD-param-groups", "SGD", {"lr": 0.1, "momentum": 0.9}, group_b={"lr": 0.01, "momentum": 0.0})
case("Adam-param-groups", "Adam", {"lr": 0.01}, group_b={"lr": 0.05, "weightDecay": 0.1})


def lbfgs_case(name, opts, steps=5):
    W, b = params()
    kw = {"lr": opts.get("lr", 1), "history_size": opts.get("historySize", 100), "max_iter": opts.get("maxIter", 20),
          "line_search_fn": "strong_wolfe" if opts.get("lineSearchFn") else None}
    opt = torch.optim.LBFGS([W, b], **kw)
    traj, losses = [], []

    def closure():
        opt.zero_grad()
        l = loss_fn(W, b)
        l.backward()
        return l

    for _ in range(steps):
        losses.append(float(opt.step(closure)))
        traj.append({"W": W.detach().flatten().tolist(), "b": b.detach().flatten().tolist()})
    cases.append({"name": name, "kind": "LBFGS", "options": opts, "groupB": None, "trajectory": traj, "losses": losses})


lbfgs_case("LBFGS", {"lr": 0.5, "maxIter": 5})
lbfgs_case("LBFGS-strong-wolfe", {"lineSearchFn": "strongWolfe", "historySize": 5})

out = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "optim.json")
with open(out, "w") as f:
    json.dump({"torch": torch.__version__, "x": X.flatten().tolist(), "y": Y.flatten().tolist(), "W0": W0.flatten().tolist(), "b0": B0.flatten().tolist(), "cases": cases}, f)
print("wrote", len(cases), "cases")
