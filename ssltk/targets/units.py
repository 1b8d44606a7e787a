"""Acoustic units for masked prediction (HuBERT, first iteration): k-means over MFCCs.

    log-mel (N, T, n_mels), per-utterance normalised (ssltk.frontend.melconv)
      -> MFCC: orthonormal DCT-II over the mel axis, first `ceps` coefficients
      -> + deltas up to `delta_order` (Kaldi's regression over +-2 frames, edges repeated)
      -> global mean/variance standardisation (statistics of the fitting frames)
      -> nearest of K centroids: one unit id per 10 ms frame

The codebook is fitted once, before pre-training, with k-means++ seeding and
Lloyd iterations (`fit_kmeans`), and then stays fixed: its centroids are buffers
of the pre-training model, so checkpoints carry them and a resumed run predicts
the same units. HuBERT fits k-means on MFCCs of a subset of the training audio
the same way (its later iterations cluster the model's own features; not built).

Every operation respects lengths: padded frames get unit -1 and never change
the units of valid frames.

    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.cat([torch.randn(50, 2, generator=g) * 0.1 + c for c in (-5.0, 0.0, 5.0)])
    >>> centroids, _ = fit_kmeans(x, k=3, iters=20, seed=0)
    >>> sorted(round(v) for v in centroids[:, 0].tolist())
    [-5, 0, 5]
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ssltk.frontend.melconv import valid_mask


def dct_matrix(n_in: int, n_out: int) -> torch.Tensor:
    """(n_in, n_out) orthonormal DCT-II basis: x @ D gives the first n_out coefficients."""
    m = torch.arange(n_in, dtype=torch.float64)[:, None]
    k = torch.arange(n_out, dtype=torch.float64)[None, :]
    d = torch.cos(math.pi / n_in * (m + 0.5) * k) * math.sqrt(2.0 / n_in)
    d[:, 0] /= math.sqrt(2.0)
    return d.float()


def deltas(x: torch.Tensor, lens: torch.Tensor, window: int = 2) -> torch.Tensor:
    """Kaldi's delta features of (N, T, F) over +-window frames, edges repeated within each
    utterance's valid frames: d_t = sum_n n (x_{t+n} - x_{t-n}) / (2 sum_n n^2)."""
    n, t, f = x.shape
    pos = torch.arange(t, device=x.device)[None, :]
    last = (lens.to(x.device)[:, None] - 1).clamp(min=0)
    out = torch.zeros_like(x)
    for k in range(1, window + 1):
        ahead = torch.minimum(pos + k, last).expand(n, t)
        behind = torch.minimum((pos - k).clamp(min=0), last).expand(n, t)
        out = out + k * (x.gather(1, ahead[..., None].expand(n, t, f)) - x.gather(1, behind[..., None].expand(n, t, f)))
    return out / (2 * sum(k * k for k in range(1, window + 1)))


def mfcc_features(mel: torch.Tensor, lens: torch.Tensor, ceps: int = 13, delta_order: int = 2) -> torch.Tensor:
    """(N, T, n_mels) log-mel -> (N, T, ceps * (delta_order + 1)); padded frames are 0."""
    x = mel.float() @ dct_matrix(mel.shape[-1], ceps).to(mel.device)
    feats = [x]
    for _ in range(delta_order):
        feats.append(deltas(feats[-1], lens))
    valid = valid_mask(lens.to(mel.device), mel.shape[1])
    return torch.cat(feats, -1) * valid[..., None]


def _sq_dist(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    return (x.square().sum(1, keepdim=True) - 2 * x @ c.T + c.square().sum(1)[None, :]).clamp(min=0)


def fit_kmeans(x: torch.Tensor, k: int, iters: int = 50, seed: int = 0) -> tuple[torch.Tensor, float]:
    """k-means++ seeding then Lloyd iterations on (P, D) points; returns (centroids (k, D), inertia).

    An emptied cluster is re-seeded at the point farthest from its centroid. Stops early
    when no assignment changes. Deterministic for a given seed."""
    x = x.double()
    p = x.shape[0]
    if p < k:
        raise ValueError(f"k-means needs at least k={k} points, got {p}")
    g = torch.Generator().manual_seed(seed)
    centroids = x[torch.randint(p, (1,), generator=g)]
    d2 = _sq_dist(x, centroids)[:, 0]
    for _ in range(1, k):
        probs = d2 / d2.sum() if d2.sum() > 0 else torch.full_like(d2, 1.0 / p)
        nxt = x[torch.multinomial(probs, 1, generator=g)]
        centroids = torch.cat([centroids, nxt])
        d2 = torch.minimum(d2, _sq_dist(x, nxt)[:, 0])
    assign = None
    for _ in range(iters):
        dist = _sq_dist(x, centroids)
        new = dist.argmin(1)
        if assign is not None and torch.equal(new, assign):
            break
        assign = new
        counts = torch.bincount(assign, minlength=k)
        sums = torch.zeros_like(centroids).index_add_(0, assign, x)
        centroids = torch.where(counts[:, None] > 0, sums / counts.clamp(min=1)[:, None], centroids)
        for empty in torch.nonzero(counts == 0).flatten().tolist():
            far = dist.gather(1, assign[:, None])[:, 0].argmax()
            centroids[empty] = x[far]
            dist[far] = 0  # not picked twice
    inertia = _sq_dist(x, centroids).min(1).values.mean().item()
    return centroids.float(), inertia


class UnitCodebook(nn.Module):
    """log-mel -> unit ids with a fixed (fitted) k-means codebook over standardised MFCCs."""

    def __init__(self, n_mels: int, units: int = 100, ceps: int = 13, delta_order: int = 2):
        super().__init__()
        if not 1 <= ceps <= n_mels:
            raise ValueError(f"units.ceps must be in [1, n_mels={n_mels}] (got {ceps})")
        self.ceps, self.delta_order = ceps, delta_order
        dim = ceps * (delta_order + 1)
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))
        self.register_buffer("centroids", torch.zeros(units, dim))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    @property
    def num_units(self) -> int:
        return self.centroids.shape[0]

    def features(self, mel: torch.Tensor, lens: torch.Tensor) -> torch.Tensor:
        """(N, T, D) MFCC (+ deltas) before standardisation."""
        return mfcc_features(mel, lens, self.ceps, self.delta_order)

    @torch.no_grad()
    def fit(self, feats: torch.Tensor, iters: int = 50, seed: int = 0) -> float:
        """Fit on (P, D) feature rows (valid frames only); returns the k-means inertia."""
        mean, std = feats.double().mean(0), feats.double().std(0).clamp(min=1e-5)
        centroids, inertia = fit_kmeans(((feats - mean) / std).float(), self.num_units, iters, seed)
        self.mean.copy_(mean.float())
        self.std.copy_(std.float())
        self.centroids.copy_(centroids)
        self.fitted.fill_(True)
        return inertia

    @torch.no_grad()
    def forward(self, mel: torch.Tensor, lens: torch.Tensor) -> torch.Tensor:
        """(N, T) long unit ids, -1 on padded frames."""
        if not bool(self.fitted):
            raise RuntimeError("the unit codebook is not fitted (ssltk.train.pretrain fits it before training)")
        n, t, _ = mel.shape
        z = ((self.features(mel, lens) - self.mean) / self.std).reshape(n * t, -1)
        units = _sq_dist(z, self.centroids).argmin(1).reshape(n, t)
        return units.masked_fill(~valid_mask(lens.to(mel.device), t), -1)


__all__ = ["dct_matrix", "deltas", "mfcc_features", "fit_kmeans", "UnitCodebook"]
