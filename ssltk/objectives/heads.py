"""Projection heads p_c and p_q (SEW-D paper §2.4, §3.3); discarded after pre-training.

Heads act on the gathered masked frames, (M, D), so BatchNorm statistics are
over real frames only, never padding.

    >>> build_head("mlp", 64, 16, hidden=128)(torch.randn(10, 64)).shape
    torch.Size([10, 16])
"""
from __future__ import annotations

from torch import nn


class MLPHead(nn.Sequential):
    """Linear -> BN -> ReLU -> Linear -> BN (SimCLR-style predictor, SEW §3.3)."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 4096):
        super().__init__(
            nn.Linear(in_dim, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, out_dim), nn.BatchNorm1d(out_dim),
        )


def build_head(kind: str, in_dim: int, out_dim: int, hidden: int = 4096) -> nn.Module:
    match kind:
        case "linear":
            return nn.Linear(in_dim, out_dim)
        case "mlp":
            return MLPHead(in_dim, out_dim, hidden)
        case _:
            raise ValueError(f"unknown head.type {kind!r}; valid: linear, mlp")
