"""Multi-head self-attention through torch's scaled_dot_product_attention.

One fused QKV projection; SDPA picks the flash / memory-efficient kernel on
CUDA and the flash CPU kernel on CPU. Padding is a boolean key mask, or no
mask at all when nothing is padded (the fastest path). With flash-attn
installed and a CUDA half-precision input, padded batches can instead run its
variable-length kernel (`use_flash_attn_varlen`), which skips padded frames.

    >>> attn = MultiHeadSelfAttention(dim=64, heads=4)
    >>> y = attn(torch.randn(2, 10, 64), key_padding=None)
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

try:  # optional CUDA extra: pip install -e '.[gpu]'
    from flash_attn import flash_attn_varlen_func  # type: ignore
except ImportError:  # pragma: no cover - depends on the machine
    flash_attn_varlen_func = None


def key_padding_mask(x_lens: torch.Tensor | None, t: int) -> torch.Tensor | None:
    """(N, T) True at padded frames, or None when no frame is padded."""
    if x_lens is None or bool((x_lens >= t).all()):
        return None
    return torch.arange(t, device=x_lens.device)[None, :] >= x_lens[:, None]


class MultiHeadSelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.dim, self.heads, self.head_dim = dim, heads, dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.dropout = dropout
        self.use_flash_attn_varlen = flash_attn_varlen_func is not None

    def forward(self, x: torch.Tensor, key_padding: torch.Tensor | None) -> torch.Tensor:
        """x: (N, T, E); key_padding: (N, T) True at padded frames, or None."""
        n, t, _ = x.shape
        q, k, v = self.qkv(x).view(n, t, 3, self.heads, self.head_dim).unbind(2)
        p = self.dropout if self.training else 0.0
        if (key_padding is not None and self.use_flash_attn_varlen and x.is_cuda
                and x.dtype in (torch.float16, torch.bfloat16)):
            y = self._flash_varlen(q, k, v, key_padding, p)
        else:
            mask = None if key_padding is None else ~key_padding[:, None, None, :]
            y = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                               attn_mask=mask, dropout_p=p).transpose(1, 2)
        return self.out(y.reshape(n, t, self.dim))

    def _flash_varlen(self, q, k, v, key_padding, p):  # pragma: no cover - CUDA only
        n, t = key_padding.shape
        valid = ~key_padding
        lens = valid.sum(1, dtype=torch.int32)
        cu = F.pad(lens.cumsum(0, dtype=torch.int32), (1, 0))
        pack = lambda z: z[valid]  # noqa: E731  (total, H, D)
        y = flash_attn_varlen_func(pack(q), pack(k), pack(v), cu, cu, int(lens.max()), int(lens.max()),
                                   dropout_p=p)
        out = q.new_zeros(n, t, self.heads, self.head_dim)
        out[valid] = y
        return out
