"""Word error rates with Kaldi-style reports, used by utils/score.sh.

Alignments come from rapidfuzz's Levenshtein opcodes, the same routine jiwer uses,
so substitution / deletion / insertion counts agree with jiwer exactly (not only
their sum: equal-cost alignments are broken the same way).

    >>> s = error_counts({"u1": "A B C"}, {"u1": "A X C D"})
    >>> s["errors"], s["words"], s["ins"], s["del"], s["sub"]
    (2, 3, 1, 0, 1)
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

EPS = "*"


def read_kaldi_text(path: str | Path) -> dict[str, str]:
    """`utt-id WORD WORD ...` per line -> {utt: 'WORD WORD'} (empty transcripts allowed)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    out = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if parts[0] in out:
            raise ValueError(f"{path}:{n}: utterance {parts[0]} appears twice")
        out[parts[0]] = parts[1].strip() if len(parts) > 1 else ""
    return out


def align(ref: list[str], hyp: list[str]) -> list[tuple[str, str]]:
    """[(ref word or EPS, hyp word or EPS)] of a minimum edit-distance alignment."""
    from rapidfuzz.distance import Levenshtein

    pairs = []
    for op in Levenshtein.opcodes(ref, hyp):
        r, h = ref[op.src_start:op.src_end], hyp[op.dest_start:op.dest_end]
        if op.tag in ("equal", "replace"):
            pairs.extend(zip(r, h))
        elif op.tag == "delete":
            pairs.extend((w, EPS) for w in r)
        else:
            pairs.extend((EPS, w) for w in h)
    return pairs


def error_counts(refs: dict[str, str], hyps: dict[str, str], cer: bool = False) -> dict:
    """Totals over the utterances of refs; an utterance missing from hyps counts as deleted."""
    ins = dele = sub = words = 0
    per_utt = {}
    subs: Counter = Counter()
    for utt, ref_text in refs.items():
        ref = list(ref_text.replace(" ", "")) if cer else ref_text.split()
        hyp_text = hyps.get(utt, "")
        hyp = list(hyp_text.replace(" ", "")) if cer else hyp_text.split()
        pairs = align(ref, hyp)
        i = sum(1 for r, h in pairs if r == EPS)
        d = sum(1 for r, h in pairs if h == EPS)
        s = sum(1 for r, h in pairs if r != EPS and h != EPS and r != h)
        subs.update((r, h) for r, h in pairs if r != EPS and h != EPS and r != h)
        ins, dele, sub, words = ins + i, dele + d, sub + s, words + len(ref)
        per_utt[utt] = {"pairs": pairs, "ins": i, "del": d, "sub": s, "words": len(ref)}
    errors = ins + dele + sub
    return {"errors": errors, "words": words, "ins": ins, "del": dele, "sub": sub,
            "wer": 100.0 * errors / words if words else (0.0 if errors == 0 else float("inf")),
            "per_utt": per_utt, "substitutions": subs}
