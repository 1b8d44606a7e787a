"""Build the CTC decoding graph of a lang dir: TLG.fst with an ARPA LM, or TL.fst (lexicon only).

    python -m ssltk.bin.compile_graph --lang-dir data/lang_char --arpa data/lang_char/lm_3gram.arpa
    python -m ssltk.bin.compile_graph --lang-dir data/lang_char                  # TL.fst
"""
from __future__ import annotations

import argparse
import sys

from ssltk.decode.graph import GraphError, compile_graph


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lang-dir", required=True)
    parser.add_argument("--arpa", help="ARPA LM (official LibriSpeech 4-gram, or prepare_lang --lm-order N)")
    parser.add_argument("--topo", choices=["standard", "compact"], default="standard",
                        help="CTC topology: standard (O(V^2) arcs) or compact (O(V), k2's modified)")
    parser.add_argument("--out", help="output FST (default: LANG_DIR/TLG.fst or TL.fst)")
    args = parser.parse_args(argv)
    try:
        path = compile_graph(args.lang_dir, args.arpa, args.out, compact=args.topo == "compact")
    except (GraphError, FileNotFoundError) as e:
        sys.exit(f"error: {e}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
