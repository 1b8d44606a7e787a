"""Span masking and negative sampling (batch-size paper §III-B2, §III-B3).

Span masks: each utterance of T valid frames gets M = max(min_masks,
floor(p T / l + u)) spans of l frames (u ~ U[0, 1) rounds probabilistically),
with distinct start frames drawn uniformly from [0, T - l]; spans may overlap.
Padded frames are never masked. Everything is batched tensor code.

Negatives: for each masked frame, K distinct-from-itself frames drawn
uniformly (with replacement) from the masked frames of the same utterance,
as indices into the flat list of masked frames (the order of mask.nonzero()).

    >>> g = torch.Generator().manual_seed(0)
    >>> mask = span_mask(torch.tensor([50, 30]), 50, prob=0.65, length=10, min_masks=2, generator=g)
    >>> neg = sample_negatives(mask, num=5, generator=g)
    >>> neg.shape[0] == int(mask.sum())
    True
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def span_mask(x_lens: torch.Tensor, t: int, prob: float, length: int, min_masks: int = 0,
              generator: torch.Generator | None = None) -> torch.Tensor:
    """(N, T) bool mask of spans; x_lens: (N,) valid frames per utterance."""
    device = x_lens.device
    n = x_lens.shape[0]
    lens = x_lens.clamp(max=t).to(torch.long)
    if prob <= 0 and min_masks <= 0:
        return torch.zeros(n, t, dtype=torch.bool, device=device)
    u = torch.rand(n, generator=generator, device="cpu").to(device)
    num = torch.floor(prob * lens / length + u).long().clamp(min=min_masks)
    starts_avail = (lens - length + 1).clamp(min=0)
    num = torch.minimum(num, starts_avail)
    if int(num.max()) == 0:
        return torch.zeros(n, t, dtype=torch.bool, device=device)
    # Distinct starts: the num_i smallest of i.i.d. uniform keys over the valid starts.
    keys = torch.rand(n, t, generator=generator, device="cpu").to(device)
    keys = keys.masked_fill(torch.arange(t, device=device)[None, :] >= starts_avail[:, None], 2.0)
    rank = keys.argsort(dim=1).argsort(dim=1)
    starts = (rank < num[:, None]).float()
    # A frame is masked when a span starts at one of the `length` frames ending at it.
    mask = F.max_pool1d(F.pad(starts.unsqueeze(1), (length - 1, 0)), length, stride=1).squeeze(1) > 0
    return mask


def channel_mask(n: int, channels: int, prob: float, length: int,
                 generator: torch.Generator | None = None, device=None) -> torch.Tensor:
    """(N, C) bool mask of channel spans (fine-tuning regulariser, no minimum)."""
    lens = torch.full((n,), channels, dtype=torch.long)
    return span_mask(lens, channels, prob, min(length, channels), 0, generator).to(device)


def sample_negatives(mask: torch.Tensor, num: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """(M, num) indices into the M masked frames (row-major order of `mask`).

    Negatives of a frame come from the masked frames of its own utterance and never
    include the frame itself. Rows of an utterance with a single masked frame point
    at the frame itself; the objective treats such negatives as invalid.
    """
    counts = mask.sum(1)  # (N,)
    offsets = counts.cumsum(0) - counts
    utt = torch.repeat_interleave(torch.arange(mask.shape[0], device=mask.device), counts)
    m = counts[utt]  # masked frames in this row's utterance
    own = torch.arange(utt.shape[0], device=mask.device) - offsets[utt]  # rank within the utterance
    r = torch.rand(utt.shape[0], num, generator=generator, device="cpu").to(mask.device)
    draw = torch.floor(r * (m - 1).clamp(min=1)[:, None]).long()
    draw = draw + (draw >= own[:, None]).long()  # skip the positive, keep the draw uniform
    draw = torch.where((m > 1)[:, None], draw, own[:, None].expand_as(draw))
    return draw + offsets[utt][:, None]
