"""The machine's GEMM rate, fp32 and bf16: a calibration to quote beside wall-clock figures.

    python3 benchmarks/gemm.py [--size 2048] [--threads 2] [--repeats 20]

The VMs these figures come from are shared: a recipe's wall time moves with them, the GEMM rate
says whether the machine or the code changed. One line per dtype.
"""
from __future__ import annotations

import argparse
import time

import torch


def gemm_gflops(size: int, dtype: torch.dtype, repeats: int) -> float:
    """Mean rate (GFLOP/s) of `repeats` size x size matmuls after a warm-up of 3."""
    a = torch.randn(size, size, dtype=dtype)
    b = torch.randn(size, size, dtype=dtype)
    for _ in range(3):
        a @ b
    t = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * size**3 * repeats / (time.perf_counter() - t) / 1e9


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        print(f"{name}: {gemm_gflops(args.size, dtype, args.repeats):.0f} GFLOP/s "
              f"({args.size}^2 GEMM, {args.threads} threads)")


if __name__ == "__main__":
    main()
