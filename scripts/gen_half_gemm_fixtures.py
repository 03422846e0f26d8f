#!/usr/bin/python3
"""Writes test/fixtures/half_gemm.json: bfloat16 and float16 GEMM results from PyTorch, which
test/gemm_half.test.ts compares against the CPU GEMM (native/cpu/gemm.cc) within one 16-bit unit.

Run: /usr/bin/python3 scripts/gen_half_gemm_fixtures.py   (Debian's python3-torch; no network)

bfloat16, layout NT (B stored N×K): torch.mm, and torch.addmm for alpha/beta, on bfloat16 CPU
tensors. The other layouts: torch 1.13's CPU bfloat16 mm (without AVX512_BF16, where oneDNN is not
used) accumulates those in bfloat16 — several units off, signs flipped near zero, which this script
prints — so, as for float16, which torch 1.13 cannot multiply on the CPU at all ("addmm_impl_cpu_"
not implemented for 'Half'), the expected value is PyTorch's float32 product of the 16-bit values,
alpha/beta applied in float32, rounded once to the 16-bit type: the rule the CPU GEMM follows. Operands are stored as the layout says (ta: A is
stored K×M, tb: B is stored N×K), row-major, as hex strings of the 16-bit patterns (4 digits each)
to keep the file small. The script prints, per case, how far PyTorch's result is from the float64
product rounded once (in 16-bit units), so a change in PyTorch's accumulation shows up here.
"""
import json
import os

import torch

torch.manual_seed(13)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "half_gemm.json")


def hexbits(t):
    return "".join("%04x" % (v & 0xFFFF) for v in t.contiguous().view(torch.int16).flatten().tolist())


def ordinal(t):
    v = t.contiguous().view(torch.int16).to(torch.int32)
    return torch.where(v < 0, -(v & 0x7FFF), v)


cases = []
shapes = [(5, 7, 3), (13, 17, 40), (12, 18, 100), (6, 9, 350), (4, 5, 700)]
layouts = [(False, False), (False, True), (True, False), (True, True)]
# The long-K shapes (K over the 320 of one K block) in one layout each, to keep the file small.
long_layouts = {"bfloat16": [(False, True), (True, False), (False, True)],
                "float16": [(False, False), (True, True), (False, True)]}
scalars = [(1.0, 0.0), (1.0, 0.0), (-0.5, 1.0), (2.0, 0.75)]
for dtype, name in [(torch.bfloat16, "bfloat16"), (torch.float16, "float16")]:
    for si, (m, n, k) in enumerate(shapes):
        for li, (ta, tb) in enumerate(layouts if k < 100 else [long_layouts[name][si - 2]]):
            alpha, beta = scalars[(si + li) % len(scalars)]
            a_st = torch.randn(k, m) if ta else torch.randn(m, k)
            b_st = torch.randn(n, k) if tb else torch.randn(k, n)
            a_st, b_st = a_st.to(dtype), b_st.to(dtype)
            c = torch.randn(m, n).to(dtype)
            a = a_st.t() if ta else a_st
            b = b_st.t() if tb else b_st
            exact = (alpha * (a.double() @ b.double()) + beta * c.double()).float().to(dtype)
            f32 = (alpha * (a.float() @ b.float()) + beta * c.float()).to(dtype)
            native = None
            if dtype == torch.bfloat16:
                native = torch.mm(a, b) if (alpha, beta) == (1.0, 0.0) else torch.addmm(c, a, b, beta=beta, alpha=alpha)
            use_native = native is not None and (ta, tb) == (False, True)
            out = native if use_native else f32
            label = "%s %s%s %dx%dx%d alpha=%g beta=%g" % (name, "T" if ta else "N", "T" if tb else "N", m, k, n, alpha, beta)
            units = lambda t: (ordinal(t) - ordinal(exact)).abs().max().item()
            print("%-38s vs round16(exact), max units: float32 product %d%s" % (
                label, units(f32), "" if native is None else ", bfloat16 %s %d%s" % (
                    "mm" if (alpha, beta) == (1.0, 0.0) else "addmm", units(native), " (used)" if use_native else "")))
            cases.append({
                "name": label, "dtype": name, "ta": ta, "tb": tb, "m": m, "n": n, "k": k,
                "alpha": alpha, "beta": beta,
                "torch": ("torch.mm" if (alpha, beta) == (1.0, 0.0) else "torch.addmm") + " on bfloat16" if use_native
                else "float32 product rounded once",
                "a": hexbits(a_st), "b": hexbits(b_st), "c": hexbits(c), "out": hexbits(out),
            })

with open(OUT, "w") as f:
    json.dump({"generator": "scripts/gen_half_gemm_fixtures.py", "torch": torch.__version__, "cases": cases}, f,
              separators=(",", ":"))
    f.write("\n")
print("wrote %s: %d cases, %d bytes" % (OUT, len(cases), os.path.getsize(OUT)))
