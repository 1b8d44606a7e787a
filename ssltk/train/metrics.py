"""Monitoring: JSONL + TensorBoard + console, written by rank 0 only; word error rates (the
fine-tuning validation metric, and the counts behind utils/score.sh's reports).

exp_dir/metrics.jsonl has one object per logged update, e.g.
{"update": 100, "split": "train", "contrastive": 3.1, "accuracy": 0.42, "lr": 1e-4, ...};
`ssltk.bin.plot` reads it back.

    >>> avg = Averager(); avg.add({"loss": 2.0}, weight=1); avg.add({"loss": 4.0}, weight=3)
    >>> avg.mean()["loss"]
    3.5
    >>> s = error_counts({"u1": "A B C"}, {"u1": "A X C D"})
    >>> s["errors"], s["words"], s["ins"], s["del"], s["sub"]
    (2, 3, 1, 0, 1)

WER alignments come from rapidfuzz's Levenshtein opcodes, the same routine jiwer uses, so
substitution / deletion / insertion counts agree with jiwer exactly (not only their sum:
equal-cost alignments are broken the same way).
"""
from __future__ import annotations

import json
import logging
import resource
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from ssltk.data.atomic import atomic_write

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)
EPS = "*"
"""The empty side of an insertion or deletion in an alignment."""


class Averager:
    """Weighted means of scalar metrics over a logging interval."""

    def __init__(self):
        self.sums: dict[str, float] = defaultdict(float)
        self.weights: dict[str, float] = defaultdict(float)

    def add(self, values: dict[str, float], weight: float = 1.0) -> None:
        for k, v in values.items():
            self.sums[k] += float(v) * weight
            self.weights[k] += weight

    def mean(self) -> dict[str, float]:
        return {k: self.sums[k] / self.weights[k] for k in self.sums if self.weights[k] > 0}

    def reset(self) -> None:
        self.sums.clear()
        self.weights.clear()


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        import torch  # here, not at the top: utils/score.sh's WER counts need no torch (1.6 s an import)

        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


class MetricsWriter:
    def __init__(self, exp_dir: str | Path, enabled: bool = True, resume_update: int | None = None):
        self.enabled = enabled
        self.path = Path(exp_dir) / "metrics.jsonl"
        self.tb = None
        if not enabled:
            return
        if resume_update is not None and self.path.exists():
            self._truncate(resume_update)
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(Path(exp_dir) / "tensorboard"), purge_step=resume_update)
        except ImportError:
            log.warning("tensorboard is not installed: metrics go to %s only", self.path)

    def _truncate(self, update: int) -> None:
        """Drop lines logged after the checkpoint we resume from (the killed run's tail), and a line
        torn by a crash mid-write (disk full, power loss)."""
        keep = [json.dumps(row) for row in parse_rows(self.path) if row.get("update", 0) <= update]
        atomic_write(self.path, lambda tmp: Path(tmp).write_text("".join(line + "\n" for line in keep)))

    def write(self, update: int, values: dict[str, float], split: str = "train") -> None:
        if not self.enabled:
            return
        row = {"update": update, "split": split, **{k: _num(v) for k, v in values.items()}}
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")
        if self.tb is not None:
            for k, v in values.items():
                self.tb.add_scalar(f"{split}/{k}", v, update)

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def _num(v):
    v = float(v)
    return round(v, 6) if abs(v) < 1e6 else v


def parse_rows(path: Path) -> list[dict]:
    """The JSON objects of a metrics.jsonl; a line that does not parse (torn by a crash while it
    was written) is dropped with a warning naming the file and line."""
    rows = []
    for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            row = None
        if not isinstance(row, dict):
            log.warning("%s:%d: dropping a line that is not a JSON object (torn by an interrupted write?): %.80s",
                        path, n, line)
            continue
        rows.append(row)
    return rows


def read_metrics(exp_dir: str | Path) -> list[dict]:
    path = Path(exp_dir) / "metrics.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist (is {exp_dir} a pre-training exp dir?)")
    return parse_rows(path)


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
