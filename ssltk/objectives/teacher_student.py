"""Teacher-student contrastive loss (S3LSpeech, after SPIRAL).

For every valid output frame t of an utterance, the student's prediction p_t must
pick the teacher's projection y_t among y_t and K distractors y_t' taken from other
frames of the same utterance (sampled uniformly, never t itself):

    L = - mean_t log softmax_j( cos(p_t, y_j) / kappa )[positive]

with kappa = 0.5 and K = 100 in S3LSpeech. It reuses wav2vec 2.0's InfoNCE logits
(ssltk.objectives.contrastive.contrastive_logits), so a distractor identical to the
positive is excluded the same way. Monitoring: accuracy (positive strictly best),
the mean positive cosine, and the spread of the teacher's targets (a collapsing
teacher shows as target_std -> 0).

    >>> from ssltk.models.s3l import S3LOutput
    >>> y = torch.eye(3)
    >>> out = S3LOutput(pred=y.clone(), target=y, mask=torch.ones(1, 3, dtype=torch.bool),
    ...                 feature_pen=torch.tensor(0.0))
    >>> res = TeacherStudentObjective(temperature=0.5)(out, torch.tensor([[1, 2], [0, 2], [0, 1]]))
    >>> round(res.loss.item(), 4), res.metrics["accuracy"]   # -log(e^2 / (e^2 + 2))
    (0.2395, 1.0)
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ssltk.objectives.contrastive import ObjectiveOutput, contrastive_logits


class TeacherStudentObjective:
    """Callable: (S3LOutput, negatives (M, K) row indices) -> ObjectiveOutput."""

    def __init__(self, temperature: float = 0.5):
        self.temperature = temperature

    def __call__(self, out, negatives: torch.Tensor) -> ObjectiveOutput:
        m = out.pred.shape[0]
        logits = contrastive_logits(out.pred, out.target, negatives, self.temperature)
        labels = torch.zeros(m, dtype=torch.long, device=logits.device)
        loss = F.cross_entropy(logits, labels, reduction="mean") if m else logits.sum()
        zero = torch.zeros((), device=logits.device)
        metrics: dict[str, float] = {}
        with torch.no_grad():
            if m:
                correct = (logits.argmax(-1) == 0) & (logits[:, 0] > logits[:, 1:].max(-1).values)
                metrics["accuracy"] = correct.float().mean().item()
                metrics["positive_cos"] = (logits[:, 0] * self.temperature).mean().item()
                metrics["target_std"] = out.target.float().std(0).mean().item()
        return ObjectiveOutput(loss=loss, contrastive=loss.detach(), diversity=zero,
                               feature_pen=out.feature_pen.detach(), sample_size=m, metrics=metrics)
