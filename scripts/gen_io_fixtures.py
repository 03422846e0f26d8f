#!/usr/bin/env python3
"""gen_io_fixtures.py — writes test/fixtures/torch_mlp.safetensors and torch_mlp.json.

Run with Debian's python3-torch:  /usr/bin/python3 scripts/gen_io_fixtures.py
The state dict of torch.nn.Sequential(Linear(4, 3), BatchNorm1d(3), ReLU(), Linear(3, 2)) (after
one training-mode forward, so the running statistics are not trivial) is written in the
safetensors format by a small writer that follows the specification (8-byte little-endian header
length, JSON header with dtype/shape/data_offsets and __metadata__, raw little-endian data), since
Debian has no python3-safetensors. The JSON holds the same values for the test to compare.
"""
import json
import os
import struct

import torch

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
model.train()
model(torch.randn(8, 4))
sd = model.state_dict()

DT = {torch.float32: "F32", torch.float64: "F64", torch.int32: "I32", torch.int64: "I64"}
header = {"__metadata__": {"format": "pt"}}
blobs = []
offset = 0
for name, t in sd.items():
    b = t.contiguous().numpy().tobytes()  # little-endian on x86
    header[name] = {"dtype": DT[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
    blobs.append(b)
    offset += len(b)
text = json.dumps(header).encode()
text += b" " * ((8 - len(text) % 8) % 8)
root = os.path.join(os.path.dirname(__file__), "..", "test", "fixtures")
with open(os.path.join(root, "torch_mlp.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
with open(os.path.join(root, "torch_mlp.json"), "w") as f:
    json.dump({k: {"shape": list(v.shape), "dtype": str(v.dtype), "values": v.flatten().tolist()} for k, v in sd.items()}, f)
print("wrote", len(sd), "tensors")
