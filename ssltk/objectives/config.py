"""Configuration of the wav2vec 2.0 objective and its projection heads."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass
class HeadConfig:
    """Projection heads p_c, p_q (discarded after pre-training)."""

    type: Literal["linear", "mlp"] = "linear"
    """linear: wav2vec 2.0; mlp: Linear-BN-ReLU-Linear-BN (SEW §3.3)."""
    dim: int = 256
    """Output dimension d_proj (fairseq final_dim, transformers proj_codevector_dim)."""
    hidden: int = 4096
    """MLP hidden size."""


@dataclass
class ObjectiveConfig:
    """L = L_m + alpha L_d + beta L_f (batch-size paper eq. 1)."""

    num_negatives: int = 100
    """K distractors, sampled from the same utterance's masked frames."""
    temperature: float = 0.1
    """kappa of the InfoNCE logits."""
    diversity_weight: float = 0.1
    """alpha: weight of the codebook diversity loss L_d."""
    feature_pen_weight: float = 10.0
    """beta: weight of the L2 penalty L_f on the feature encoder's output."""

    def __post_init__(self):
        if self.num_negatives < 1 or self.temperature <= 0:
            raise ValueError("objective.num_negatives must be >= 1 and temperature > 0")
