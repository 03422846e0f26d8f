#!/usr/bin/env python3
"""gen_e2e_fixture.py — the end-to-end fixture (DESIGN principle 12, as llm.c's debug state):
Sequential(Linear(20, 16), BatchNorm1d(16), ReLU(), Linear(16, 5)) with CrossEntropyLoss on a fixed
batch: the initial state dict, the loss, every gradient, and the loss and parameters after each of
10 Adam steps (lr 1e-2). Run with Debian's python3-torch: /usr/bin/python3 scripts/gen_e2e_fixture.py
"""
import json
import os

import torch

torch.manual_seed(1)
model = torch.nn.Sequential(torch.nn.Linear(20, 16), torch.nn.BatchNorm1d(16), torch.nn.ReLU(), torch.nn.Linear(16, 5))
x = torch.randn(32, 20)
y = torch.randint(0, 5, (32,))
sd0 = {k: v.flatten().tolist() for k, v in model.state_dict().items()}
shapes = {k: list(v.shape) for k, v in model.state_dict().items()}
loss_fn = torch.nn.CrossEntropyLoss()
model.train()
loss = loss_fn(model(x), y)
loss.backward()
grads = {k: p.grad.flatten().tolist() for k, p in model.named_parameters()}
model.load_state_dict({k: torch.tensor(v).reshape(shapes[k]) for k, v in sd0.items()})
model.zero_grad()
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
steps = []
for _ in range(10):
    opt.zero_grad()
    l = loss_fn(model(x), y)
    l.backward()
    opt.step()
    steps.append({"loss": float(l), "params": {k: v.flatten().tolist() for k, v in model.state_dict().items()}})
out = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "e2e_mlp.json")
with open(out, "w") as f:
    json.dump({"x": x.flatten().tolist(), "y": y.tolist(), "shapes": shapes, "state": sd0, "loss": float(loss), "grads": grads, "steps": steps}, f)
print("loss", float(loss), "after 10 Adam steps", steps[-1]["loss"])
