"""The wav2vec 2.0 pre-training objective (batch-size paper §III-B3, eqs. 1-4).

    L = L_m + alpha * L_d + beta * L_f

computed from a PretrainOutput (ssltk.models.wav2vec2) and negatives drawn by
ssltk.targets.masking.sample_negatives. Besides the losses it returns what the
batch-size study monitors (its Figure 2): accuracy, code and probability
perplexity per codebook, and the cosine similarity between codewords.

All losses are means over masked frames (L_f: over valid frames); `sample_size`
(the number of masked frames) lets a trainer weight micro-batches exactly as
fairseq's sum-then-normalise does.

    >>> loss = Wav2Vec2Objective(ObjectiveConfig(num_negatives=5))
    >>> # stats = loss(model_output, negatives)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from ssltk.objectives.config import ObjectiveConfig


@dataclass
class ObjectiveOutput:
    loss: torch.Tensor
    contrastive: torch.Tensor
    diversity: torch.Tensor
    feature_pen: torch.Tensor
    sample_size: int
    metrics: dict[str, float] = field(default_factory=dict)


def contrastive_logits(c: torch.Tensor, q: torch.Tensor, negatives: torch.Tensor,
                       temperature: float) -> torch.Tensor:
    """(M, 1 + K) logits sim(p_c(c_t), p_q(q))/kappa: positive first, then K distractors.

    c, q: (M, D) projected context outputs and targets of the masked frames;
    negatives: (M, K) row indices into q. A distractor equal to the positive
    (same codewords, or a self-index from an utterance with one masked frame)
    gets -inf, as in fairseq.
    """
    targets = torch.cat([q.unsqueeze(1), q[negatives]], dim=1)  # (M, 1+K, D)
    logits = F.cosine_similarity(c.float().unsqueeze(1), targets.float(), dim=-1) / temperature
    own = torch.arange(q.shape[0], device=q.device)[:, None]
    neg_is_pos = (targets[:, 1:] == q.unsqueeze(1)).all(-1) | (negatives == own)
    return logits.masked_fill(F.pad(neg_is_pos, (1, 0), value=False), float("-inf"))


def perplexity(probs: torch.Tensor) -> torch.Tensor:
    """exp(entropy) of the mean distribution, per codebook. probs: (M, G, V) -> (G,)."""
    avg = probs.mean(0)
    return torch.exp(-torch.sum(torch.xlogy(avg, avg), dim=-1))


def codeword_similarity(codebooks: torch.Tensor) -> dict[str, torch.Tensor]:
    """Pairwise cosine similarity of distinct codewords within each codebook.

    codebooks: (G, V, d) -> {'mean', 'min', 'max'} each (G,)."""
    unit = F.normalize(codebooks.detach().float(), dim=-1)
    sim = unit @ unit.transpose(1, 2)  # (G, V, V)
    v = sim.shape[-1]
    off = ~torch.eye(v, dtype=torch.bool, device=sim.device)
    vals = sim[:, off].view(sim.shape[0], v * (v - 1))
    return {"mean": vals.mean(-1), "min": vals.min(-1).values, "max": vals.max(-1).values}


class Wav2Vec2Objective:
    """Callable: (PretrainOutput, negatives) -> ObjectiveOutput."""

    def __init__(self, cfg: ObjectiveConfig):
        self.cfg = cfg

    def __call__(self, out, negatives: torch.Tensor) -> ObjectiveOutput:
        cfg = self.cfg
        m = out.c.shape[0]
        # 1. InfoNCE over [positive, K distractors] with cosine similarity / kappa (eq. 2).
        logits = contrastive_logits(out.c, out.q, negatives, cfg.temperature)
        target = torch.zeros(m, dtype=torch.long, device=logits.device)
        contrastive = F.cross_entropy(logits, target, reduction="mean") if m else logits.sum()
        # 2. Diversity: (GV - sum_g exp(H(mean_t p_g))) / GV over the masked frames (eq. 3).
        groups, entries = out.quant.probs.shape[1:]
        prob_ppl = perplexity(out.quant.probs) if m else torch.zeros(groups, device=logits.device)
        diversity = (groups * entries - prob_ppl.sum()) / (groups * entries)
        # 3. L2 penalty on the feature encoder's output (eq. 4).
        feature_pen = out.feature_pen
        loss = contrastive + cfg.diversity_weight * diversity + cfg.feature_pen_weight * feature_pen

        # 4. Monitoring (batch-size paper Fig. 2).
        with torch.no_grad():
            metrics: dict[str, float] = {"diversity": diversity.item()}
            if m:
                correct = (logits.argmax(-1) == 0) & (logits[:, 0] > logits[:, 1:].max(-1).values)
                metrics["accuracy"] = correct.float().mean().item()
                codes = F.one_hot(out.quant.codes, entries).float()
                code_ppl = perplexity(codes)
                for g in range(groups):
                    metrics[f"code_ppl_{g}"] = code_ppl[g].item()
                    metrics[f"prob_ppl_{g}"] = prob_ppl[g].item()
            if out.codebooks is not None:
                sim = codeword_similarity(out.codebooks)
                for g in range(sim["mean"].shape[0]):
                    for stat in ("mean", "min", "max"):
                        metrics[f"codeword_sim_{stat}_{g}"] = sim[stat][g].item()
        return ObjectiveOutput(loss=loss, contrastive=contrastive.detach(), diversity=diversity.detach(),
                               feature_pen=feature_pen.detach(), sample_size=m, metrics=metrics)
