# bench/gpu_peer.py — the PyTorch side of bench/gpu.mjs: a long-lived python3 that times one batch
# of one PyTorch workload per request, so that batches of ours and of PyTorch's alternate on the
# same GPU in the same run (a neighbour's load, or the clocks ramping, then slows both sides).
#
#   python3 bench/gpu_peer.py cuda      (the GPU check)      python3 bench/gpu_peer.py cpu  (dry run)
#
# Protocol: one JSON object per line on stdin, one per line on stdout. The first line out says who
# we are ({"torch", "device", "name"}). Each request names a workload ("op") and a repetition count;
# the answer is {"ms": milliseconds per repetition} for the batch, timed on the host between two
# device synchronisations, exactly as bench/gpu.mjs times its own side. Workloads are set up on
# their first request and kept, so later batches time only the work.
#
#   sgemm {n}            torch.mm of two n×n float32 matrices, TF32 off (cuBLAS's FP32 path)
#   bf16gemm {n}         torch.mm of two n×n bfloat16 matrices (cuBLAS's bf16 tensor-core path)
#   tf32gemm {n}         torch.mm of two n×n float32 matrices with allow_tf32 = True (set for this
#                        call only, so that the sgemm rows stay FP32)
#   copy  {bytes}        device-to-device copy of a float32 buffer (dst.copy_(src))
#   adam  {sizes}        torch.optim.Adam(fused=True) step over float32 parameters of these sizes
#   mlp   {batch}        the reference MLP's training step (784-512-256-10, BatchNorm, ReLU,
#                        Dropout 0.2, cross-entropy, Adam 1e-3) in eager mode
#   bn    {n, c}         BatchNorm1d(c) forward + backward on an [n, c] input
#   alloc {sizes, cycles} torch.empty(size) then free, cycling through the sizes (the caching allocator)
import json
import sys
import time

import torch

device = sys.argv[1] if len(sys.argv) > 1 else "cuda"
dev = torch.device(device)
if device == "cuda":
    # cuBLAS FP32, not TF32: the comparison is with our FP32 GEMM.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
torch.manual_seed(0)


def sync():
    if device == "cuda":
        torch.cuda.synchronize()


def setup_sgemm(c):
    n = c["n"]
    a = torch.rand(n, n, device=dev)
    b = torch.rand(n, n, device=dev)
    o = torch.empty(n, n, device=dev)
    return lambda: torch.mm(a, b, out=o)


def setup_bf16gemm(c):
    n = c["n"]
    a = torch.rand(n, n, device=dev).to(torch.bfloat16)
    b = torch.rand(n, n, device=dev).to(torch.bfloat16)
    o = torch.empty(n, n, device=dev, dtype=torch.bfloat16)
    return lambda: torch.mm(a, b, out=o)


def setup_tf32gemm(c):
    n = c["n"]
    a = torch.rand(n, n, device=dev)
    b = torch.rand(n, n, device=dev)
    o = torch.empty(n, n, device=dev)

    def step():
        torch.backends.cuda.matmul.allow_tf32 = True
        try:
            torch.mm(a, b, out=o)
        finally:
            torch.backends.cuda.matmul.allow_tf32 = False
    return step


def setup_copy(c):
    n = c["bytes"] // 4
    src = torch.rand(n, device=dev)
    dst = torch.empty(n, device=dev)
    return lambda: dst.copy_(src)


def setup_adam(c):
    params = [torch.nn.Parameter(torch.randn(s, device=dev)) for s in c["sizes"]]
    for p in params:
        p.grad = torch.randn_like(p)
    fused = device == "cuda"
    opt = torch.optim.Adam(params, lr=1e-3, fused=fused)
    return opt.step


def mlp_model():
    return torch.nn.Sequential(
        torch.nn.Linear(784, 512), torch.nn.BatchNorm1d(512), torch.nn.ReLU(), torch.nn.Dropout(0.2),
        torch.nn.Linear(512, 256), torch.nn.BatchNorm1d(256), torch.nn.ReLU(), torch.nn.Dropout(0.2),
        torch.nn.Linear(256, 10)).to(dev)


def setup_mlp(c):
    model = mlp_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    x = torch.rand(c["batch"], 784, device=dev)
    y = torch.randint(0, 10, (c["batch"],), device=dev)

    amp = c.get("amp")

    def step():
        opt.zero_grad(set_to_none=True)
        if amp:
            with torch.autocast(dev.type, dtype=getattr(torch, amp)):
                loss = loss_fn(model(x), y)
        else:
            loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    return step


def setup_bn(c):
    bn = torch.nn.BatchNorm1d(c["c"]).to(dev)
    x = torch.randn(c["n"], c["c"], device=dev, requires_grad=True)
    g = torch.randn(c["n"], c["c"], device=dev)

    def step():
        x.grad = None
        bn.weight.grad = None
        bn.bias.grad = None
        bn(x).backward(g)
    return step


def setup_alloc(c):
    sizes = c["sizes"]
    cycles = c["cycles"]

    def step():
        for i in range(cycles):
            t = torch.empty(sizes[i % len(sizes)], dtype=torch.uint8, device=dev)
            del t
    return step


SETUP = {"sgemm": setup_sgemm, "bf16gemm": setup_bf16gemm, "tf32gemm": setup_tf32gemm, "copy": setup_copy, "adam": setup_adam, "mlp": setup_mlp,
         "bn": setup_bn, "alloc": setup_alloc}

name = torch.cuda.get_device_name(0) if device == "cuda" else "cpu"
print(json.dumps({"torch": torch.__version__, "device": device, "name": name}), flush=True)

workloads = {}
for line in sys.stdin:
    req = json.loads(line)
    try:
        key = json.dumps({k: v for k, v in req.items() if k != "reps"}, sort_keys=True)
        if key not in workloads:
            fn = SETUP[req["op"]](req)
            fn()  # warm-up: kernels loaded, allocator primed, autotuning done
            sync()
            workloads[key] = fn
        fn = workloads[key]
        reps = int(req.get("reps", 1))
        sync()
        t = time.perf_counter()
        for _ in range(reps):
            fn()
        sync()
        print(json.dumps({"ms": (time.perf_counter() - t) * 1e3 / reps}), flush=True)
    except Exception as e:  # the bench prints the error and marks the PyTorch column as failed
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
