"""CTC loss over padded logits (blank = 0), summed over utterances, and its greedy best path:
best token per frame, repeats merged, blanks dropped (fine-tuning's validation, decoding).

    >>> logits = torch.randn(2, 20, 5)
    >>> loss = ctc_loss(logits, torch.tensor([20, 15]), [[1, 2, 3], [4]])
    >>> greedy_decode(torch.tensor([[[0., 5, 0], [0, 5, 0], [5, 0, 0], [0, 0, 5]]]), torch.tensor([4]))
    [[1, 2]]
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def ctc_loss(logits: torch.Tensor, lens: torch.Tensor, targets: list[list[int]],
             zero_infinity: bool = True) -> torch.Tensor:
    """Sum over the batch of -log p(targets | audio). logits: (N, T, V); lens: (N,)."""
    log_probs = F.log_softmax(logits.float(), dim=-1).transpose(0, 1)  # (T, N, V)
    flat = torch.tensor([t for seq in targets for t in seq], dtype=torch.long, device=logits.device)
    target_lens = torch.tensor([len(seq) for seq in targets], dtype=torch.long, device=logits.device)
    return F.ctc_loss(log_probs, flat, lens.to(torch.long), target_lens, blank=0, reduction="sum",
                      zero_infinity=zero_infinity)


def partial_ctc_loss(logits: torch.Tensor, lens: torch.Tensor, targets: list[list[int] | None]) -> torch.Tensor:
    """ctc_loss over the utterances that have targets (None: no targets in this token set; 0 if none has)."""
    rows = [i for i, t in enumerate(targets) if t is not None]
    if not rows:
        return logits.sum() * 0.0
    if len(rows) == len(targets):
        return ctc_loss(logits, lens, targets)
    idx = torch.tensor(rows, device=logits.device)
    return ctc_loss(logits[idx], lens[idx], [targets[i] for i in rows])


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
