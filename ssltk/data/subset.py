"""Label-budget subsets (10m, 30m, 1h, 10h, 100h, ...) of a labelled CutSet, deterministic by seed.

For corpora without an official split (LibriSpeech has Libri-light's, see
egs/librispeech): utterances are drawn in a seeded random order until the budget
is reached, so the same seed always gives the same subset and larger budgets of
the same seed contain the smaller ones.

    >>> select_subset(cuts, "1h", seed=0).to_file("cuts_1h.jsonl.gz")   # doctest: +SKIP
"""
from __future__ import annotations

import random

UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0}


def budget_seconds(budget: str | float) -> float:
    """Seconds of a budget: a number of seconds, or a number with s / m / h ("10m", "1.5h")."""
    if isinstance(budget, (int, float)):
        return float(budget)
    text = str(budget).strip()
    scale = UNITS.get(text[-1:], None)
    try:
        value = float(text[:-1] if scale else text) * (scale or 1.0)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ValueError(f"unknown label budget {budget!r}; use seconds or a duration such as 10m, 30m, 1h, 10h")
    return value


def shortfall(seconds: float, budget: str | float) -> str | None:
    """What is missing when `seconds` of labelled audio fall short of `budget`, else None."""
    target = budget_seconds(budget)
    if seconds >= target:
        return None
    return f"only {seconds / 3600:.2f} h of labelled audio, less than the {budget} budget ({target / 3600:.2f} h)"


def select_subset(cuts, budget: str | float, seed: int = 0, allow_short: bool = False):
    """An eager CutSet of about `budget` of labelled audio (never more than one cut over)."""
    from lhotse import CutSet

    target = budget_seconds(budget)
    labelled = sorted((c for c in cuts if any((s.text or "").strip() for s in c.supervisions)), key=lambda c: c.id)
    random.Random(seed).shuffle(labelled)
    chosen, total = [], 0.0
    for cut in labelled:
        if total >= target:
            break
        chosen.append(cut)
        total += cut.duration
    if not allow_short and (short := shortfall(total, budget)):
        raise ValueError(f"the corpus has {short}")
    return CutSet.from_cuts(chosen)
