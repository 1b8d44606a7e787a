"""Reading what scoring reads and writes: Kaldi-style text files (utils/score.sh, ssltk.bin.score)
and a scored decode dir (for the results tables). The WER counts themselves are
ssltk.train.metrics.error_counts (fine-tuning validates with the same routine).
"""
from __future__ import annotations

import json
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


def read_scored(decode_dir: str | Path) -> dict | None:
    """{'wer_line': utils/score.sh's `%WER ...` line, 'wer': its number, 'stats': the decoder's
    stats.json} of a decode dir, or None if it has not been scored."""
    d = Path(decode_dir)
    wer_file, stats_file = d / "scoring" / "wer", d / "stats.json"
    if not (wer_file.is_file() and stats_file.is_file()):
        return None
    line = wer_file.read_text().strip()
    return {"wer_line": line, "wer": float(line.split()[1]), "stats": json.loads(stats_file.read_text())}
