"""Greedy CTC decoding: best token per frame, repeats merged, blanks dropped.

    >>> greedy_decode(torch.tensor([[[0., 5, 0], [0, 5, 0], [5, 0, 0], [0, 0, 5]]]), torch.tensor([4]))
    [[1, 2]]
"""
from __future__ import annotations

import torch


def greedy_decode(logits: torch.Tensor, lens: torch.Tensor, blank: int = 0) -> list[list[int]]:
    """logits: (N, T, V); lens: (N,). Returns token ids per utterance."""
    best = logits.argmax(-1).cpu()
    out = []
    for seq, n in zip(best, lens.cpu().tolist()):
        seq = seq[:n]
        keep = torch.ones_like(seq, dtype=torch.bool)
        keep[1:] = seq[1:] != seq[:-1]
        out.append([int(t) for t in seq[keep] if t != blank])
    return out
