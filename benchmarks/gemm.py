"""The machine's GEMM rate, fp32 and bf16: a calibration to quote beside wall-clock figures.

    python3 benchmarks/gemm.py [--size 2048] [--threads 2] [--repeats 20]

The VMs these figures come from are shared: a recipe's wall time moves with them, the GEMM rate
says whether the machine or the code changed. One line per dtype.
"""
from __future__ import annotations

import argparse
import statistics

import torch

from ssltk.benchmark import time_alternating


def gemm_gflops(size: int, repeats: int) -> dict[str, float]:
    """Median rate (GFLOP/s) of a size x size matmul per dtype, fp32 and bf16 timed alternately
    (ssltk.benchmark.time_alternating, as bin.bench does) so both see the same machine."""
    mats = {name: (torch.randn(size, size, dtype=dt), torch.randn(size, size, dtype=dt))
            for name, dt in (("fp32", torch.float32), ("bf16", torch.bfloat16))}
    times = time_alternating({name: (lambda a=a, b=b: a @ b) for name, (a, b) in mats.items()}, repeats, warmup=3)
    return {name: 2 * size**3 / statistics.median(t) / 1e9 for name, t in times.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=2048)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    for name, rate in gemm_gflops(args.size, args.repeats).items():
        print(f"{name}: {rate:.0f} GFLOP/s ({args.size}^2 GEMM, {args.threads} threads)")


if __name__ == "__main__":
    main()
