"""Score hypotheses against references (Kaldi text files); called by utils/score.sh.

    python -m ssltk.bin.score REF HYP OUT_DIR [--cer] [--utt2spk FILE] [--top 20]

Writes OUT_DIR/wer (or cer): `%WER x.xx [ errs / words, N ins, N del, N sub ]`,
OUT_DIR/per_utt: sclite-pra-like alignments (correct words lower case, errors
upper case, *** for gaps), OUT_DIR/per_spk with --utt2spk, and
OUT_DIR/substitutions: the most frequent `ref -> hyp` substitutions.
Utterances missing from HYP count as deletions (warned); HYP utterances absent
from REF are reported and ignored.
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

from ssltk.decode.score import read_kaldi_text
from ssltk.train.metrics import EPS, error_counts


def summary(name: str, s: dict) -> str:
    return (f"%{name} {s['wer']:.2f} [ {s['errors']} / {s['words']}, {s['ins']} ins, {s['del']} del, "
            f"{s['sub']} sub ]")


def pra(utt: str, u: dict) -> str:
    ref, hyp = [], []
    for r, h in u["pairs"]:
        ok = r == h
        r_s = "***" if r == EPS else (r.lower() if ok else r.upper())
        h_s = "***" if h == EPS else (h.lower() if ok else h.upper())
        width = max(len(r_s), len(h_s))
        ref.append(r_s.ljust(width))
        hyp.append(h_s.ljust(width))
    correct = u["words"] - u["sub"] - u["del"]
    return (f"id: ({utt})\nScores: (#C #S #D #I) {correct} {u['sub']} {u['del']} {u['ins']}\n"
            f"REF:  {' '.join(ref)}\nHYP:  {' '.join(hyp)}\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ref")
    parser.add_argument("hyp")
    parser.add_argument("out_dir")
    parser.add_argument("--cer", action="store_true", help="character error rate (spaces ignored)")
    parser.add_argument("--utt2spk", help="Kaldi utt2spk for a per-speaker summary")
    parser.add_argument("--top", type=int, default=20, help="most frequent substitutions to list")
    args = parser.parse_args(argv)
    try:
        refs, hyps = read_kaldi_text(args.ref), read_kaldi_text(args.hyp)
        spk = read_kaldi_text(args.utt2spk) if args.utt2spk else None
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"error: {e}")
    missing = [u for u in refs if u not in hyps]
    extra = [u for u in hyps if u not in refs]
    if missing:
        print(f"warning: {len(missing)} utterances of {args.ref} have no hypothesis (counted as deletions), "
              f"e.g. {missing[:3]}", file=sys.stderr)
    if extra:
        print(f"warning: {len(extra)} hypotheses have no reference in {args.ref} (ignored), e.g. {extra[:3]}",
              file=sys.stderr)
    name = "CER" if args.cer else "WER"
    stats = error_counts(refs, hyps, cer=args.cer)
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / name.lower()).write_text(summary(name, stats) + "\n")
    (out / "per_utt").write_text("\n".join(pra(u, stats["per_utt"][u]) for u in sorted(refs)))
    subs = stats["substitutions"].most_common(args.top)
    (out / "substitutions").write_text("".join(f"{n} {r} -> {h}\n" for (r, h), n in subs))
    if spk is not None:
        groups = defaultdict(list)
        for utt in refs:
            groups[spk.get(utt, "<unknown>")].append(utt)
        lines = []
        for s, utts in sorted(groups.items()):
            st = error_counts({u: refs[u] for u in utts}, hyps, cer=args.cer)
            lines.append(f"{s} {summary(name, st)} utts {len(utts)}")
        (out / "per_spk").write_text("\n".join(lines) + "\n")
    print(summary(name, stats))


if __name__ == "__main__":
    main()
