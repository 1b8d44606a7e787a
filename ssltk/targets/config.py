"""Configuration of the pre-training targets: the Gumbel quantizer and span masking."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class QuantizerConfig:
    """Gumbel-softmax product quantizer (wav2vec 2.0 §2.3; batch-size paper §III-B1)."""

    groups: int = 2
    """G codebooks."""
    entries: int = 320
    """V entries per codebook."""
    dim: int = 256
    """Concatenated codeword dimension (transformers `codevector_dim`)."""
    temp_start: float = 2.0
    """Gumbel-softmax temperature at update 0."""
    temp_end: float = 0.5
    """Floor of the temperature."""
    temp_decay: float = 0.999995
    """tau = max(temp_start * temp_decay**update, temp_end)."""

    def __post_init__(self):
        if self.dim % self.groups:
            raise ValueError(f"quantizer.dim={self.dim} must be divisible by quantizer.groups={self.groups}")
        if not (self.temp_start > 0 and self.temp_end > 0 and 0 < self.temp_decay <= 1):
            raise ValueError("quantizer temperatures must be > 0 and temp_decay in (0, 1]")


@dataclass
class MaskingConfig:
    """Span masking of frames (and optionally channels) before the context network."""

    prob: float = 0.65
    """p: expected fraction of frames that start a span is prob/length (fairseq mask_prob)."""
    length: int = 10
    """M: frames per masked span."""
    min_masks: int = 2
    """Spans drawn at least, however short the utterance."""
    channel_prob: float = 0.0
    """Channel masking (fine-tuning regulariser); 0 disables."""
    channel_length: int = 10
    """Channels per masked channel span."""

    def __post_init__(self):
        if not (0.0 <= self.prob <= 1.0 and 0.0 <= self.channel_prob <= 1.0):
            raise ValueError("masking.prob and masking.channel_prob must be in [0, 1]")
        if self.length < 1 or self.channel_length < 1 or self.min_masks < 0:
            raise ValueError("masking lengths must be >= 1 and min_masks >= 0")
