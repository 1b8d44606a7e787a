"""Lhotse manifests for the recipes, offline: CutSets (cuts_<part>.jsonl.gz), label splits, Shar.

    python -m ssltk.bin.manifests librispeech --corpus-dir /data/LibriSpeech --out-dir data/manifests \\
        --parts train-clean-100 dev-clean test-clean
    python -m ssltk.bin.manifests tedlium --corpus-dir /data/TEDLIUM_release-3 --out-dir M --parts train dev test
    python -m ssltk.bin.manifests voxpopuli --corpus-dir /data/voxpopuli --out-dir M --parts train dev test
    python -m ssltk.bin.manifests switchboard --corpus-dir LDC97S62 --transcripts-dir swb_ms98_transcriptions --out-dir M
    python -m ssltk.bin.manifests fisher --corpus-dir /data/fisher --out-dir M       # LDC2004S13/T19, LDC2005S13/T19
    python -m ssltk.bin.manifests eval2000 --corpus-dir /data/eval2000 --out-dir M   # LDC2002S09 + LDC2002T43
    python -m ssltk.bin.manifests librispeech-960 --out-dir data/manifests          # + cuts_train_{100h,960h}
    python -m ssltk.bin.manifests librilight-splits --corpus-dir .../librispeech_finetuning --out-dir data/manifests
    python -m ssltk.bin.manifests shar --cuts data/manifests/cuts_train-960.jsonl.gz --out-dir data/shar \\
        --min-seconds 2 --max-seconds 30

Unusable entries (empty transcript line, missing / empty / non-audio file) are skipped with a
warning naming each file (and line), and listed in OUT_DIR/skipped_<part>.txt.
"""
from __future__ import annotations

import argparse
import logging
import sys

from ssltk.data.manifests import (CorpusError, export_shar, librilight_splits, librispeech_label_budgets,
                                  prepare_cuts)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["librispeech", "tedlium", "voxpopuli", "switchboard", "fisher", "eval2000",
                                         "librispeech-960", "librilight-splits", "shar"])
    parser.add_argument("--transcripts-dir", help="switchboard: the unpacked swb_ms98_transcriptions")
    parser.add_argument("--corpus-dir")
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--parts", nargs="+")
    parser.add_argument("--cuts")
    parser.add_argument("--min-seconds", type=float, default=0.0)
    parser.add_argument("--max-seconds", type=float, default=float("inf"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")  # skipped corpus entries
    try:
        match args.what:
            case "librispeech" | "tedlium" | "voxpopuli":
                if not (args.corpus_dir and args.parts):
                    parser.error(f"{args.what} needs --corpus-dir and --parts")
                paths = prepare_cuts(args.what, args.corpus_dir, args.out_dir, args.parts)
            case "switchboard" | "fisher" | "eval2000":
                if not args.corpus_dir:
                    parser.error(f"{args.what} needs --corpus-dir")
                paths = prepare_cuts(args.what, args.corpus_dir, args.out_dir,
                                     [args.transcripts_dir] if args.transcripts_dir else [])
            case "librispeech-960":
                paths = librispeech_label_budgets(args.out_dir)
            case "librilight-splits":
                if not args.corpus_dir:
                    parser.error("librilight-splits needs --corpus-dir (librispeech_finetuning)")
                paths = librilight_splits(args.corpus_dir, args.out_dir)
            case "shar":
                if not args.cuts:
                    parser.error("shar needs --cuts")
                paths = [export_shar(args.cuts, args.out_dir, args.min_seconds, args.max_seconds)]
        for p in paths:
            print(f"wrote {p}")
    except CorpusError as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
