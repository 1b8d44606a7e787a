"""Masked prediction of units (HuBERT): cross-entropy of the unit logits at masked frames.

    L = (sum_{t in masked} ce_t + w * sum_{t in unmasked} ce_t) / (|masked| + [w > 0] |unmasked|)

where ce_t is the mean cross-entropy over the P unit positions of frame t (a UnitOutput of
ssltk.models.units) and w the unmasked weight (HuBERT: 0). `sample_size` is that
denominator, so micro-batches combine as fairseq's sum-then-normalise does. Monitors:
accuracy at masked and unmasked frames, and the perplexity of the target units in the
batch (how many units are in use: a codebook that collapsed shows as ~1).

    >>> from ssltk.models.units import UnitOutput
    >>> logits = torch.tensor([[[[4.0, 0.0]], [[0.0, 4.0]]]])        # (N=1, T=2, P=1, K=2)
    >>> out = UnitOutput(logits=logits, units=torch.tensor([[[0], [0]]]),
    ...                  masked=torch.tensor([[True, False]]), valid=torch.ones(1, 2, dtype=torch.bool),
    ...                  feature_pen=torch.tensor(0.0))
    >>> res = MaskedPredictionObjective()(out)
    >>> round(res.loss.item(), 4), res.metrics["accuracy"], res.metrics["accuracy_unmasked"]
    (0.0181, 1.0, 0.0)
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ssltk.objectives.contrastive import ObjectiveOutput


class MaskedPredictionObjective:
    """Callable: UnitOutput -> ObjectiveOutput (loss = the mean over its sample_size frames)."""

    def __init__(self, unmasked_weight: float = 0.0):
        self.unmasked_weight = unmasked_weight

    def __call__(self, out) -> ObjectiveOutput:
        k = out.logits.shape[-1]
        unmasked = out.valid & ~out.masked
        use_unmasked = self.unmasked_weight > 0

        def frame_ce(sel: torch.Tensor) -> torch.Tensor:
            logits, units = out.logits[sel], out.units[sel]  # (M, P, K), (M, P)
            return F.cross_entropy(logits.float().reshape(-1, k), units.reshape(-1),
                                   reduction="none").view(units.shape).mean(-1)

        ce_m = frame_ce(out.masked)
        total = ce_m.sum()
        size = int(out.masked.sum())
        if use_unmasked:
            total = total + self.unmasked_weight * frame_ce(unmasked).sum()
            size += int(unmasked.sum())
        loss = total / max(size, 1)
        zero = torch.zeros((), device=out.logits.device)
        metrics: dict[str, float] = {}
        with torch.no_grad():
            hit = out.logits.argmax(-1) == out.units  # (N, T, P)
            for name, sel in (("accuracy", out.masked), ("accuracy_unmasked", unmasked)):
                if sel.any():
                    metrics[name] = hit[sel].float().mean().item()
            if out.masked.any():
                metrics["unit_ce_masked"] = ce_m.mean().item()
            used = out.units[out.valid]
            if used.numel():
                p = torch.bincount(used.flatten(), minlength=k).double() / used.numel()
                metrics["unit_perplexity"] = torch.exp(-torch.xlogy(p, p).sum()).item()
        return ObjectiveOutput(loss=loss, contrastive=loss.detach(), diversity=zero,
                               feature_pen=out.feature_pen.detach(), sample_size=size, metrics=metrics)


__all__ = ["MaskedPredictionObjective"]
