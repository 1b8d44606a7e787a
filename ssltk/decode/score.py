"""Reading Kaldi-style text files for scoring (utils/score.sh, ssltk.bin.score); the WER counts
themselves are ssltk.train.metrics.error_counts (fine-tuning validates with the same routine).
"""
from __future__ import annotations

from pathlib import Path


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
