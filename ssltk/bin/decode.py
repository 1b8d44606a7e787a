"""Decode CutSets with a CTC checkpoint: greedy or WFST (kaldi-decoder), writing hyp.txt / ref.txt.

    python -m ssltk.bin.decode --ckpt exp/ft/best.pt --cuts CUTS --method greedy --out-dir DIR
    python -m ssltk.bin.decode --ckpt exp/ft/best.pt --cuts CUTS --method wfst --graph data/lang/TLG.fst \\
        --lang-dir data/lang --lm-weight 2 --word-score -1 --beam 50 --out-dir DIR
    # grid search on a dev set: several values each
    python -m ssltk.bin.decode ... --method wfst --lm-weight 0.5 1 2 --word-score -1 0 1
    # several sets and both methods from one pass of the network (greedy reads the letter layer of
    # --lang-dir, the WFST the phone layer of --wfst-lang-dir); the grid is searched on dev and its
    # best pair decodes test; --out-dir is then a pattern with {set} and {method}
    python -m ssltk.bin.decode --ckpt exp/ft/best.pt --cuts dev=DEV_CUTS test=TEST_CUTS --method greedy wfst \\
        --lang-dir data/lang_char --graph data/lang_phone/TLG.fst --wfst-lang-dir data/lang_phone \\
        --lm-weight 1 2 --tune-on dev --out-dir 'exp/ft/decode_{set}_{method}'

Then score with utils/score.sh DIR/ref.txt DIR/hyp.txt DIR/scoring. DIR/stats.json has the
WER, the references' OOV rate, the average forward time per utterance (batch 1, fp32) and
real-time factors. One JSON line per set and method is printed.
"""
from __future__ import annotations

import argparse
import json
import string
import sys

from ssltk.data.dataset import DataError
from ssltk.data.tokens import TokenError
from ssltk.decode.run import decode_sets, set_name
from ssltk.models.checkpoint import CheckpointError


def named_sets(specs: list[str]) -> dict[str, str]:
    """NAME=PATH or PATH (named after its file: cuts_dev-clean.jsonl.gz -> dev-clean) -> {name: path}."""
    sets = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        name, path = (name, path) if sep else (set_name(spec), spec)
        if not name or not path:
            raise ValueError(f"--cuts {spec!r}: give NAME=PATH or a manifest path")
        if name in sets:
            raise ValueError(f"--cuts: two sets named {name!r}; name them NAME=PATH")
        sets[name] = path
    return sets


def out_dirs(pattern: str, sets: list[str], methods: list[str]) -> dict[tuple[str, str], str]:
    """{(set, method): directory} from --out-dir, a pattern with {set} / {method} where there are several."""
    fields = {f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None}
    if fields - {"set", "method"}:
        raise ValueError(f"--out-dir {pattern!r}: only {{set}} and {{method}} can be filled in")
    for key, values in (("set", sets), ("method", methods)):
        if len(values) > 1 and key not in fields:
            raise ValueError(f"--out-dir {pattern!r} must contain {{{key}}} to decode several {key}s "
                             f"({', '.join(values)}), e.g. exp/ft/decode_{{set}}_{{method}}")
    return {(s, m): pattern.format(set=s, method=m) for s in sets for m in methods}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", required=True)
    parser.add_argument("--cuts", required=True, nargs="+", help="manifests, each PATH or NAME=PATH")
    parser.add_argument("--method", nargs="+", choices=["greedy", "wfst"], default=["greedy"])
    parser.add_argument("--graph")
    parser.add_argument("--lang-dir", help="tokens (greedy; and the WFST's words.txt unless --wfst-lang-dir)")
    parser.add_argument("--wfst-lang-dir", help="the lang dir the graph was built from (default: --lang-dir)")
    parser.add_argument("--out-dir", required=True, help="a directory; with several sets or methods a pattern "
                        "with {set} and/or {method}")
    parser.add_argument("--lm-weight", type=float, nargs="+", default=[1.0])
    parser.add_argument("--word-score", type=float, nargs="+", default=[0.0])
    parser.add_argument("--tune-on", help="the set (name) whose WER picks the LM weight / word score for the "
                        "others (default: each set its own grid)")
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
        sets = named_sets(args.cuts)
        methods = list(dict.fromkeys(args.method))
        res = decode_sets(args.ckpt, sets, out_dirs(args.out_dir, list(sets), methods), methods, args.lang_dir,
                          args.graph, args.wfst_lang_dir, args.lm_weight, args.word_score, args.tune_on, args.beam,
                          args.max_active, args.device, args.nj, args.threads, args.downmix, args.dtype)
    except (CheckpointError, DataError, TokenError, FileNotFoundError, ValueError) as e:
        sys.exit(f"error: {e}")
    for stats in res.values():
        print(json.dumps(stats))


if __name__ == "__main__":
    main()
