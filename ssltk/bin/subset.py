"""Write a label-budget subset (10m, 30m, 1h, 10h, 100h, or seconds) of a labelled CutSet.

    python -m ssltk.bin.subset --cuts data/manifests/cuts_train.jsonl.gz --budget 10h --seed 0 --out OUT
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ssltk.data.dataset import DataError, load_cuts
from ssltk.data.subset import select_subset


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cuts", required=True)
    parser.add_argument("--budget", required=True, help="a duration (10m, 30m, 1h, 10h, ...) or seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="output manifest (.jsonl.gz)")
    args = parser.parse_args(argv)
    budget = args.budget
    try:
        subset = select_subset(load_cuts(args.cuts), budget, args.seed)
    except (DataError, ValueError) as e:
        sys.exit(f"error: {e}")
    out = Path(args.out)
    tmp = out.with_name(f".{out.name.split('.')[0]}.tmp{''.join(out.suffixes)}")  # lhotse picks the format by suffix
    subset.to_file(tmp)
    os.replace(tmp, out)
    print(f"wrote {args.out}: {len(subset)} cuts, {sum(c.duration for c in subset) / 3600:.3f} h")


if __name__ == "__main__":
    main()
