"""Write a label-budget subset (10m, 30m, 1h, 10h, 100h, or seconds) of a labelled CutSet.

    python -m ssltk.bin.subset --cuts data/manifests/cuts_train.jsonl.gz --budget 10h --seed 0 --out OUT
    python -m ssltk.bin.subset --cuts tiny.jsonl.gz --budget 1h --allow-short --out OUT   # all, with a warning

A corpus with less labelled audio than the budget is an error, or with --allow-short a warning
and every labelled cut.
"""
from __future__ import annotations

import argparse
import sys

from ssltk.data.atomic import atomic_write
from ssltk.data.dataset import DataError, load_cuts
from ssltk.data.subset import select_subset, shortfall


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cuts", required=True)
    parser.add_argument("--budget", required=True, help="a duration (10m, 30m, 1h, 10h, ...) or seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="output manifest (.jsonl.gz)")
    parser.add_argument("--allow-short", action="store_true",
                        help="a corpus smaller than the budget gives all its labelled cuts and a warning")
    args = parser.parse_args(argv)
    try:
        subset = select_subset(load_cuts(args.cuts), args.budget, args.seed, allow_short=True)
    except (DataError, ValueError) as e:
        sys.exit(f"error: {e}")
    if short := shortfall(sum(c.duration for c in subset), args.budget):
        if not args.allow_short:
            sys.exit(f"error: {args.cuts} has {short}; use a smaller --budget, or --allow-short to take all of it")
        print(f"warning: {args.cuts} has {short}: using all of it", file=sys.stderr)
    atomic_write(args.out, subset.to_file)
    print(f"wrote {args.out}: {len(subset)} cuts, {sum(c.duration for c in subset) / 3600:.3f} h")


if __name__ == "__main__":
    main()
