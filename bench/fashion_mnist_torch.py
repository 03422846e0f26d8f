#!/usr/bin/env python3
"""fashion_mnist_torch.py — PyTorch running the Fashion-MNIST MLP of examples/fashion_mnist_mlp.json
(784-512(BN, ReLU, Dropout 0.2)-256(BN, ReLU, Dropout 0.2)-10, He (kaiming normal) init with zero
biases, 10% validation split), to compare test accuracy, wall-clock time and peak memory with
entrena's run of the same config (`npx entrena train examples/fashion_mnist_mlp.json`).

    /usr/bin/python3 bench/fashion_mnist_torch.py [epochs] [seed] [--recipe fast|reference] [--batch N]

Recipes:
  fast (default; the config's): AdamW (lr 1e-3, weight decay 0.01) under OneCycleLR (max lr 3e-3,
      stepped per batch, PyTorch's defaults otherwise: 30 % warm-up, cosine, beta1 cycled 0.95–0.85),
      cross-entropy with label smoothing 0.1, batch 128, 10 epochs;
  reference: Adam 1e-3, plain cross-entropy, batch 128, 15 epochs (the earlier recipe).
Prints one line per epoch, then the test accuracy, the wall-clock time from the start of the script
(imports and data loading included, as the CLI's figure is) and the peak resident set size.
"""
import argparse
import gzip
import os
import resource
import struct
import time

T0 = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402

D = "/usr/share/datasets/fashion-mnist"

ap = argparse.ArgumentParser()
ap.add_argument("epochs", nargs="?", type=int)
ap.add_argument("seed", nargs="?", type=int, default=0)
ap.add_argument("--recipe", choices=["fast", "reference"], default="fast")
ap.add_argument("--batch", type=int, default=128)
args = ap.parse_args()
fast = args.recipe == "fast"
epochs = args.epochs if args.epochs is not None else (10 if fast else 15)
B = args.batch


def idx(name):
    with gzip.open(os.path.join(D, name)) as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    nd = magic & 0xFF
    dims = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


torch.manual_seed(args.seed)
torch.set_num_threads(int(os.environ.get("ENTRENA_NUM_THREADS", "2")))
xtr = torch.tensor(idx("train-images-idx3-ubyte.gz").reshape(-1, 784), dtype=torch.float32) / 255
ytr = torch.tensor(idx("train-labels-idx1-ubyte.gz"), dtype=torch.int64)
xte = torch.tensor(idx("t10k-images-idx3-ubyte.gz").reshape(-1, 784), dtype=torch.float32) / 255
yte = torch.tensor(idx("t10k-labels-idx1-ubyte.gz"), dtype=torch.int64)
perm = torch.randperm(60000)
tr, va = perm[:54000], perm[54000:]
m = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.BatchNorm1d(512), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                        torch.nn.Linear(512, 256), torch.nn.BatchNorm1d(256), torch.nn.ReLU(), torch.nn.Dropout(0.2),
                        torch.nn.Linear(256, 10))
for mod in m:
    if isinstance(mod, torch.nn.Linear):
        torch.nn.init.kaiming_normal_(mod.weight, nonlinearity="relu")
        torch.nn.init.zeros_(mod.bias)
steps = (len(tr) + B - 1) // B
if fast:
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps * epochs)
    f = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
else:
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    sched = None
    f = torch.nn.CrossEntropyLoss()
for e in range(epochs):
    m.train()
    t = time.perf_counter()
    order = tr[torch.randperm(len(tr))]
    for i in range(0, len(order), B):
        b = order[i:i + B]
        opt.zero_grad()
        l = f(m(xtr[b]), ytr[b])
        l.backward()
        opt.step()
        if sched:
            sched.step()
    dt = time.perf_counter() - t
    m.eval()
    with torch.no_grad():
        va_acc = (m(xtr[va]).argmax(1) == ytr[va]).float().mean().item()
        te_acc = (m(xte).argmax(1) == yte).float().mean().item()
    print(f"epoch {e + 1}: {dt:.1f}s ({54000 / dt:.0f} samples/s) val {va_acc:.4f} test {te_acc:.4f}", flush=True)
print(f"test accuracy {te_acc:.4f}; {time.perf_counter() - T0:.1f} s wall clock (start to end); "
      f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB "
      f"({args.recipe} recipe, {epochs} epochs, batch {B}, seed {args.seed})")
