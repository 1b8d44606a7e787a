"""Decode a CutSet with a CTC checkpoint: greedy or WFST (kaldi-decoder), writing hyp.txt / ref.txt.

    python -m ssltk.bin.decode --ckpt exp/ft/best.pt --cuts CUTS --method greedy --out-dir DIR
    python -m ssltk.bin.decode --ckpt exp/ft/best.pt --cuts CUTS --method wfst --graph data/lang/TLG.fst \\
        --lang-dir data/lang --lm-weight 2 --word-score -1 --beam 50 --out-dir DIR
    # grid search on a dev set: several values each
    python -m ssltk.bin.decode ... --method wfst --lm-weight 0.5 1 2 --word-score -1 0 1

Then score with utils/score.sh DIR/ref.txt DIR/hyp.txt DIR/scoring. DIR/stats.json has the
WER, the references' OOV rate, the average forward time per utterance (batch 1, fp32) and
real-time factors.
"""
from __future__ import annotations

import argparse
import json
import sys

from ssltk.data.dataset import DataError
from ssltk.data.tokens import TokenError
from ssltk.decode.run import decode_cuts
from ssltk.models.checkpoint import CheckpointError


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", required=True)
    parser.add_argument("--cuts", required=True)
    parser.add_argument("--method", choices=["greedy", "wfst"], default="greedy")
    parser.add_argument("--graph")
    parser.add_argument("--lang-dir")
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--lm-weight", type=float, nargs="+", default=[1.0])
    parser.add_argument("--word-score", type=float, nargs="+", default=[0.0])
    parser.add_argument("--beam", type=float, default=16.0)
    parser.add_argument("--max-active", type=int, default=7000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--nj", type=int, default=1, help="parallel processes")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--downmix", action="store_true", help="average the channels of multi-channel audio "
                        "(refused otherwise, as everywhere in ssltk)")
    parser.add_argument("--dtype", choices=["fp32", "bf16", "auto"], default="fp32",
                        help="network precision: bf16 autocast, or auto (bf16 where the CPU/GPU has it; a CPU "
                             "without bf16 instructions runs fp32 and says so)")
    args = parser.parse_args(argv)
    try:
        res = decode_cuts(args.ckpt, args.cuts, args.out_dir, args.method, args.lang_dir, args.graph,
                          args.lm_weight, args.word_score, args.beam, args.max_active, args.device, args.nj,
                          args.threads, args.downmix, args.dtype)
    except (CheckpointError, DataError, TokenError, FileNotFoundError, ValueError) as e:
        sys.exit(f"error: {e}")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
