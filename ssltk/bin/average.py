"""Average the weights of a run's last checkpoints into one model to decode (icefall's --avg).

    python -m ssltk.bin.average --exp-dir exp/finetune --last 3 --out exp/finetune/avg.pt
    python -m ssltk.bin.average --inputs a.pt b.pt --out avg.pt

The average keeps the model and its tokens and drops the training state; decode it like best.pt.
Checkpoints are written every train.checkpoint_every updates and the newest train.keep_last kept,
so at most keep_last are there to average; with fewer than --last, those are averaged (a warning).
"""
from __future__ import annotations

import argparse
import json
import sys

from ssltk.models.checkpoint import CheckpointError, average_checkpoints, save_checkpoint
from ssltk.train.checkpoint import list_checkpoints


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--exp-dir", help="a training run's directory (its checkpoints/)")
    src.add_argument("--inputs", nargs="+", help="checkpoints to average")
    parser.add_argument("--last", type=int, default=2, help="with --exp-dir: how many of the newest checkpoints")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    if args.exp_dir:
        found = [p for _, p in list_checkpoints(args.exp_dir)]
        if args.last < 1 or not found:
            sys.exit(f"error: {args.exp_dir}/checkpoints has {len(found)} checkpoints and --last is {args.last}: "
                     "train first, with --last >= 1")
        if len(found) < args.last:  # a short run: what there is, said out loud
            print(f"warning: {args.exp_dir}/checkpoints has {len(found)} checkpoints, fewer than --last {args.last}; "
                  f"averaging those (train.keep_last bounds how many are kept)", file=sys.stderr)
        paths = found[-args.last:]
    else:
        paths = args.inputs
    try:
        avg = average_checkpoints(paths)
    except CheckpointError as e:
        sys.exit(f"error: {e}")
    cfg, state = avg.pop("config"), avg.pop("model")
    save_checkpoint(args.out, cfg, state, averaged=[str(p) for p in paths], **avg)
    print(json.dumps({"out": args.out, "averaged": [str(p) for p in paths]}))


if __name__ == "__main__":
    main()
