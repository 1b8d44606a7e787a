"""PNG panels of pre-training metrics like the batch-size study's Figure 2, one line per run.

    python -m ssltk.bin.plot exp/bs_5min exp/bs_10min --out plots [--x hours]

--x hours plots against hours of audio seen instead of updates (RQ3: is it the
amount of data or the number of updates?).
"""
from __future__ import annotations

import argparse
import sys

from ssltk.train.analysis import plot_runs


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("exp_dirs", nargs="+", help="pre-training exp dirs (with metrics.jsonl)")
    parser.add_argument("--out", required=True, help="output directory for the PNG files")
    parser.add_argument("--x", choices=["update", "hours"], default="update")
    args = parser.parse_args(argv)
    try:
        paths = plot_runs(args.exp_dirs, args.out, args.x)
    except FileNotFoundError as e:
        sys.exit(f"error: {e}")
    print(f"wrote {len(paths)} PNG files to {args.out} (grid: {paths[0]})")


if __name__ == "__main__":
    main()
