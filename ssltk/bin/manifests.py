"""Write Lhotse CutSet manifests (cuts_<part>.jsonl.gz) for a corpus tree, offline.

    python -m ssltk.bin.manifests librispeech --corpus-dir /data/LibriSpeech --out-dir data/manifests \\
        --parts train-clean-100 dev-clean test-clean
"""
from __future__ import annotations

import argparse
import sys

from ssltk.data.manifests import CorpusError, prepare_cuts


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus", choices=["librispeech"])
    parser.add_argument("--corpus-dir", required=True)
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--parts", nargs="+", required=True)
    args = parser.parse_args(argv)
    try:
        for path in prepare_cuts(args.corpus, args.corpus_dir, args.out_dir, args.parts):
            print(f"wrote {path}")
    except CorpusError as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
