#!/usr/bin/env python3
"""fashion_mnist_torch.py — PyTorch running the main Fashion-MNIST setup of
examples/fashion_mnist_mlp.json (784-512(BN, ReLU, Dropout 0.2)-256(BN, ReLU, Dropout 0.2)-10,
He (kaiming normal) init with zero biases, Adam 1e-3, batch 128, 10% validation split), to compare
test accuracy and time per epoch with entrena's run of the same config.

    /usr/bin/python3 bench/fashion_mnist_torch.py [epochs] [seed]
"""
import gzip
import os
import struct
import sys
import time

import numpy as np
import torch

D = "/usr/share/datasets/fashion-mnist"


def idx(name):
    with gzip.open(os.path.join(D, name)) as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    nd = magic & 0xFF
    dims = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
torch.manual_seed(seed)
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
opt = torch.optim.Adam(m.parameters(), lr=1e-3)
f = torch.nn.CrossEntropyLoss()
for e in range(epochs):
    m.train()
    t = time.perf_counter()
    order = tr[torch.randperm(len(tr))]
    for i in range(0, len(order), 128):
        b = order[i:i + 128]
        opt.zero_grad()
        l = f(m(xtr[b]), ytr[b])
        l.backward()
        opt.step()
    dt = time.perf_counter() - t
    m.eval()
    with torch.no_grad():
        va_acc = (m(xtr[va]).argmax(1) == ytr[va]).float().mean().item()
        te_acc = (m(xte).argmax(1) == yte).float().mean().item()
    print(f"epoch {e + 1}: {dt:.1f}s ({54000 / dt:.0f} samples/s) val {va_acc:.4f} test {te_acc:.4f}", flush=True)
