"""Gumbel-softmax product quantizer (wav2vec 2.0; batch-size paper §III-B1).

G codebooks of V entries each; a linear layer gives G x V logits per frame;
training selects one entry per codebook with the straight-through Gumbel
softmax at temperature tau, inference takes the argmax. The selected entries
are concatenated into q (dim = G * dim/G).

    >>> quant = GumbelVectorQuantizer(input_dim=32, groups=2, entries=8, dim=16)
    >>> out = quant(torch.randn(5, 32))
    >>> out.q.shape, out.codes.shape, out.probs.shape
    (torch.Size([5, 16]), torch.Size([5, 2]), torch.Size([5, 2, 8]))
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class QuantizerOutput:
    q: torch.Tensor
    """(N, dim) quantized vectors."""
    codes: torch.Tensor
    """(N, G) selected entry per codebook."""
    probs: torch.Tensor
    """(N, G, V) softmax (no Gumbel noise) probabilities, for the diversity loss."""


def temperature_at(update: int, start: float, end: float, decay: float) -> float:
    """tau(update) = max(start * decay**update, end)."""
    return max(start * decay ** update, end)


class GumbelVectorQuantizer(nn.Module):
    def __init__(self, input_dim: int, groups: int = 2, entries: int = 320, dim: int = 256,
                 temp: tuple[float, float, float] = (2.0, 0.5, 0.999995)):
        super().__init__()
        if dim % groups:
            raise ValueError(f"quantizer dim {dim} must be divisible by groups {groups}")
        self.groups, self.entries, self.dim = groups, entries, dim
        self.weight_proj = nn.Linear(input_dim, groups * entries)
        nn.init.normal_(self.weight_proj.weight, mean=0.0, std=1.0)
        nn.init.zeros_(self.weight_proj.bias)
        # (1, G*V, dim/G) as fairseq / transformers, so checkpoints convert verbatim.
        self.codevectors = nn.Parameter(torch.rand(1, groups * entries, dim // groups))
        self.temp_start, self.temp_end, self.temp_decay = temp
        self.temperature = self.temp_start

    def set_num_updates(self, num_updates: int) -> None:
        """Gumbel temperature schedule; the trainer calls this before every update."""
        self.temperature = temperature_at(num_updates, self.temp_start, self.temp_end, self.temp_decay)

    def codebooks(self) -> torch.Tensor:
        """(G, V, dim/G) codewords."""
        return self.codevectors.view(self.groups, self.entries, -1)

    def forward(self, x: torch.Tensor) -> QuantizerOutput:
        """x: (N, C) features (masked frames only). Returns quantized (N, dim)."""
        n = x.shape[0]
        logits = self.weight_proj(x).view(n, self.groups, self.entries).float()
        probs = torch.softmax(logits, dim=-1)
        codes = logits.argmax(-1)
        if self.training:
            onehot = F.gumbel_softmax(logits, tau=self.temperature, hard=True, dim=-1)
        else:
            onehot = F.one_hot(codes, self.entries).to(logits.dtype)
        onehot = onehot.to(self.codevectors.dtype)
        # (N, G, V) x (G, V, d) -> (N, G, d): straight-through selection per codebook.
        q = torch.einsum("ngv,gvd->ngd", onehot, self.codebooks()).reshape(n, self.dim)
        if self.training:
            codes = onehot.argmax(-1)
        return QuantizerOutput(q=q, codes=codes, probs=probs)
