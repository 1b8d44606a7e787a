"""Disentangled self-attention (DeBERTa; SEW-D paper §3.4) on top of SDPA.

Scores are content-to-content plus content-to-position and position-to-content
terms over log-bucketed relative distances:

    A[i, j] = (q_i . k_j + q_i . Pk[d(i,j)] + k_j . Pq[d(i,j)]) / sqrt(3 d_head)

with d(i, j) = bucket(i - j) + span and Pq, Pk the query/key projections of
the (layer-normed) relative position embeddings, shared with the content
projections as in SEW-D. The two position terms are computed as one dense
(T, R) matmul each plus a gather, added into one additive float bias, and SDPA
does the rest; only the R buckets that a length-T sequence can reach are
projected. At inference (autograd off) the normalised table and its
projections depend on the weights only, so they are computed once and reused
until a weight changes.

    >>> rel = RelativePositionEmbedding(dim=64, buckets=16, max_positions=64)
    >>> attn = DisentangledSelfAttention(dim=64, heads=4)
    >>> y = attn(torch.randn(2, 10, 64), None, rel(10, torch.device("cpu")))
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _weights_key(*params: torch.Tensor) -> tuple:
    """Identity of parameters' current values: storage, in-place version, dtype, autocast state."""
    return (torch.is_autocast_enabled(),) + tuple((p.data_ptr(), p._version, p.dtype, p.device) for p in params)


class _InferenceCache:
    """One (key, value) slot, used only in eval mode with autograd off."""

    def __init__(self):
        self.key, self.value = None, None

    def get(self, module: nn.Module, key: tuple, compute):
        if torch.is_grad_enabled() or module.training:
            return compute()
        if self.key != key:
            self.key, self.value = key, compute()
        return self.value


def log_bucket_position(rel: torch.Tensor, buckets: int, max_position: int) -> torch.Tensor:
    """Map relative distances to buckets: exact within +-buckets/2, logarithmic beyond.

    rel: integer tensor. Returns a float tensor of bucket ids (odd in rel), as DeBERTa-v2.
    """
    sign = torch.sign(rel)
    mid = buckets // 2
    near = (rel < mid) & (rel > -mid)
    abs_pos = torch.where(near, torch.tensor(mid - 1).type_as(rel), torch.abs(rel))
    log_pos = torch.ceil(
        torch.log(abs_pos / mid) / torch.log(torch.tensor((max_position - 1) / mid)) * (mid - 1)
    ) + mid
    return torch.where(abs_pos <= mid, rel.type_as(log_pos), log_pos * sign)


class RelativePositionEmbedding(nn.Module):
    """Shared relative position table of a disentangled context network.

    Returns, for a sequence length T, the index matrix idx (T, T) and the rows of
    the normalised table it refers to, emb (R, E), so that the relative embedding
    of the pair (i, j) is emb[idx[i, j]].
    """

    def __init__(self, dim: int, buckets: int = 256, max_positions: int = 512, eps: float = 1e-7,
                 norm: bool = True):
        super().__init__()
        self.buckets, self.max_positions = buckets, max_positions
        self.span = buckets if buckets > 0 else max_positions
        self.embedding = nn.Embedding(2 * self.span, dim)
        self.norm = nn.LayerNorm(dim, eps=eps) if norm else None
        self._idx_cache: dict = {}
        self._emb_cache = _InferenceCache()

    def index(self, t: int, device: torch.device) -> tuple[torch.Tensor, int, int]:
        key = (t, str(device))
        if key not in self._idx_cache:
            pos = torch.arange(t, device=device)
            rel = pos[:, None] - pos[None, :]
            if self.buckets > 0 and self.max_positions > 0:
                rel = log_bucket_position(rel, self.buckets, self.max_positions)
            idx = torch.clamp(rel.long() + self.span, 0, 2 * self.span - 1)
            lo, hi = int(idx.min()), int(idx.max())  # idx is monotone in i - j
            self._idx_cache = {key: (idx - lo, lo, hi)}  # keep one length: the common case
        return self._idx_cache[key]

    def forward(self, t: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, tuple]:
        """Returns (idx, emb, key); key identifies emb's value for the attention's cache."""
        idx, lo, hi = self.index(t, device)

        def table():
            emb = self.embedding.weight[lo:hi + 1]
            return self.norm(emb) if self.norm is not None else emb  # row-wise: slicing first is exact

        params = [self.embedding.weight] + ([self.norm.weight, self.norm.bias] if self.norm is not None else [])
        key = (lo, hi) + _weights_key(*params)
        return idx, self._emb_cache.get(self, key, table), key


class DisentangledSelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int, dropout: float = 0.0, pos_dropout: float = 0.0,
                 pos_att: tuple[str, ...] = ("c2p", "p2c")):
        super().__init__()
        self.dim, self.heads, self.head_dim = dim, heads, dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.dropout, self.pos_dropout = dropout, pos_dropout
        self.pos_att = tuple(pos_att)
        self.scale = 1.0 / math.sqrt(self.head_dim * (1 + len(self.pos_att)))
        self._pos_cache = _InferenceCache()

    def _project(self, emb: torch.Tensor, which: int) -> torch.Tensor:
        """Shared-key projection of the position table: which=0 query, 1 key. -> (H, R, d)."""
        w = self.qkv.weight[which * self.dim:(which + 1) * self.dim]
        b = self.qkv.bias[which * self.dim:(which + 1) * self.dim]
        return F.linear(emb, w, b).view(-1, self.heads, self.head_dim).transpose(0, 1)

    def position_bias(self, q: torch.Tensor, k: torch.Tensor, idx: torch.Tensor, emb: torch.Tensor,
                      emb_key: tuple = ()) -> torch.Tensor | None:
        """(N, H, T, T) c2p + p2c scores, already divided by sqrt(d (1 + #terms)); q, k: (N, H, T, d)."""
        n, h, t, _ = q.shape
        if self.training and self.pos_dropout > 0:
            emb = F.dropout(emb, self.pos_dropout)

        def projections():  # (H, d, R) each, ready for q @ Pk^T and k @ Pq^T, pre-scaled
            return (self._project(emb, 1).transpose(-1, -2) * self.scale if "c2p" in self.pos_att else None,
                    self._project(emb, 0).transpose(-1, -2) * self.scale if "p2c" in self.pos_att else None)

        pk_t, pq_t = self._pos_cache.get(self, emb_key + _weights_key(self.qkv.weight, self.qkv.bias), projections)
        bias = None
        if pk_t is not None:  # c2p: q_i . Pk[idx[i, j]]
            bias = torch.gather(q @ pk_t, -1, idx.expand(n, h, t, t))
        if pq_t is not None:  # p2c: k_j . Pq[idx[i, j]]; rows are keys, so gather with idx^T
            p2c = torch.gather(k @ pq_t, -1, idx.t().expand(n, h, t, t)).transpose(-1, -2)
            bias = p2c if bias is None else bias + p2c
        return bias

    def forward(self, x: torch.Tensor, key_padding: torch.Tensor | None,
                rel: tuple) -> torch.Tensor:
        """x: (N, T, E); key_padding: (N, T) True at padded frames; rel: RelativePositionEmbedding output."""
        n, t, _ = x.shape
        q, k, v = self.qkv(x).view(n, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4).unbind(0)
        bias = self.position_bias(q, k, *rel)
        if key_padding is not None:
            neg = torch.tensor(torch.finfo(q.dtype).min, dtype=q.dtype, device=q.device)
            bias = torch.where(key_padding[:, None, None, :], neg, 0.0 if bias is None else bias)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias,
                                           dropout_p=self.dropout if self.training else 0.0,
                                           scale=self.scale)
        return self.out(y.transpose(1, 2).reshape(n, t, self.dim))
