#!/usr/bin/env python3
"""gen_scheduler_fixtures.py — learning-rate sequences of torch.optim.lr_scheduler, step by step.

Run with Debian's python3-torch: /usr/bin/python3 scripts/gen_scheduler_fixtures.py
Writes test/fixtures/schedulers.json: for each case the options, and the lr of every parameter group
(and the momentum / beta1 for OneCycleLR) after construction and after each of `steps` steps.
"""
import json
import os

import torch
from torch.optim import lr_scheduler as S


def opt(kind="sgd"):
    p1, p2 = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    groups = [{"params": [p1], "lr": 0.1}, {"params": [p2], "lr": 0.01}]
    if kind == "adam":
        return torch.optim.Adam(groups)
    return torch.optim.SGD(groups, lr=0.1, momentum=0.9)


def run(make, steps, kind="sgd", metrics=None):
    o = opt(kind)
    s = make(o)
    lrs, moms = [], []

    def rec():
        lrs.append([g["lr"] for g in o.param_groups])
        moms.append([g["betas"][0] if "betas" in g else g.get("momentum", 0) for g in o.param_groups])

    rec()
    for i in range(steps):
        o.step()
        if metrics is not None:
            s.step(metrics[i])
        else:
            s.step()
        rec()
    return lrs, moms


cases = []


def case(name, options, make, steps, kind="sgd", metrics=None):
    lrs, moms = run(make, steps, kind, metrics)
    cases.append({"name": name, "options": options, "steps": steps, "optimizer": kind, "metrics": metrics, "lrs": lrs, "momenta": moms})


case("StepLR", {"stepSize": 3, "gamma": 0.5}, lambda o: S.StepLR(o, step_size=3, gamma=0.5), 10)
case("MultiStepLR", {"milestones": [2, 5, 6], "gamma": 0.1}, lambda o: S.MultiStepLR(o, milestones=[2, 5, 6], gamma=0.1), 9)
case("ExponentialLR", {"gamma": 0.9}, lambda o: S.ExponentialLR(o, gamma=0.9), 8)
case("CosineAnnealingLR", {"tMax": 10, "etaMin": 0.001}, lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001), 10)
case("LinearLR", {"startFactor": 0.25, "endFactor": 1.0, "totalIters": 4}, lambda o: S.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=4), 7)
case("LinearLR-defaults", {}, lambda o: S.LinearLR(o), 7)
case("LambdaLR", {"lrLambda": "0.95**e"}, lambda o: S.LambdaLR(o, lr_lambda=lambda e: 0.95 ** e), 6)
case("OneCycleLR", {"maxLr": 0.5, "totalSteps": 20}, lambda o: S.OneCycleLR(o, max_lr=0.5, total_steps=20), 20)
case("OneCycleLR-adam-linear-3phase", {"maxLr": [0.5, 0.05], "totalSteps": 20, "annealStrategy": "linear", "threePhase": True, "pctStart": 0.25},
     lambda o: S.OneCycleLR(o, max_lr=[0.5, 0.05], total_steps=20, anneal_strategy="linear", three_phase=True, pct_start=0.25), 20, kind="adam")
case("SequentialLR", {"milestones": [3]},
     lambda o: S.SequentialLR(o, schedulers=[S.LinearLR(o, start_factor=0.1, total_iters=3), S.ExponentialLR(o, gamma=0.9)], milestones=[3]), 8)
metrics = [1.0, 0.9, 0.91, 0.92, 0.93, 0.85, 0.86, 0.87, 0.88, 0.89, 0.9, 0.95]
case("ReduceLROnPlateau", {"factor": 0.5, "patience": 2, "cooldown": 1, "minLr": 0.002},
     lambda o: S.ReduceLROnPlateau(o, factor=0.5, patience=2, cooldown=1, min_lr=0.002), len(metrics), metrics=metrics)
case("ReduceLROnPlateau-max-abs", {"mode": "max", "factor": 0.1, "patience": 1, "threshold": 0.05, "thresholdMode": "abs"},
     lambda o: S.ReduceLROnPlateau(o, mode="max", factor=0.1, patience=1, threshold=0.05, threshold_mode="abs"), len(metrics), metrics=metrics)

out = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "schedulers.json")
with open(out, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f)
print("wrote", len(cases), "cases")
