"""Average standard deviation of gradients over independently sampled batches (§IV-C1).

    python -m ssltk.bin.grad_variance --ckpt exp/pt/checkpoints/checkpoint-00005000.pt --batches 10

Each of the --batches gradients is one full update at the checkpoint (the run's
accumulation x ranks micro-batches, or --micro-batches), without optimizer state or
learning rate. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import sys

from ssltk.data.dataset import DataError
from ssltk.models.checkpoint import CheckpointError
from ssltk.train.analysis import gradient_variance


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", required=True, help="a pre-training checkpoint")
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--micro-batches", type=int, default=None)
    parser.add_argument("--cuts", default=None, help="CutSet to sample from (default: the run's train_cuts)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.batches < 2:
        parser.error("--batches must be at least 2 to estimate a variance")
    try:
        res = gradient_variance(args.ckpt, args.batches, args.micro_batches, args.cuts, args.seed)
    except (CheckpointError, DataError, ValueError) as e:
        sys.exit(f"error: {e}")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
