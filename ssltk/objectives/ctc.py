"""CTC loss over padded logits (blank = 0), summed over utterances.

    >>> logits = torch.randn(2, 20, 5)
    >>> loss = ctc_loss(logits, torch.tensor([20, 15]), [[1, 2, 3], [4]])
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
