"""Data configuration: Lhotse CutSets, duration batches, the audio policy (a part of every run config)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class DataConfig:
    """Lhotse CutSets in duration-bucketed batches (batch-size paper §III-C)."""

    train_cuts: str = ""
    """CutSet manifest (.jsonl / .jsonl.gz) or a Lhotse Shar directory."""
    valid_cuts: str = ""
    """Held-out CutSet for validation loss; empty disables validation."""
    max_duration: float = 87.5
    """Seconds of audio per device batch (fairseq: 1.4M samples = 87.5 s)."""
    num_buckets: int = 30
    """Duration buckets of the sampler (fewer for small corpora, at least 10 cuts each)."""
    max_samples: int = 250000
    """Longer utterances are randomly cropped to this many samples."""
    min_samples: int = 32000
    """Shorter utterances are skipped (counted)."""
    resample: bool = False
    """Resample cuts that are not 16 kHz instead of skipping them."""
    downmix: bool = False
    """Average the channels of multi-channel cuts instead of skipping them (the policy of
    ssltk.data.audio, the same as extract/decode's --downmix)."""
    speed_perturb: tuple[float, ...] = ()
    """Speed factors drawn per cut and epoch (Kaldi/sox `speed`: tempo and pitch together, e.g.
    [0.9, 1.0, 1.1]); empty = off. Training only: validation and decoding read audio as it is."""
    num_workers: int = 2
    """DataLoader worker processes reading audio."""
    shuffle: bool = True
    """Shuffle within buckets each epoch (seeded); off for validation."""

    def __post_init__(self):
        if self.max_duration <= 0 or self.min_samples < 0 or self.max_samples < max(self.min_samples, 1):
            raise ValueError("data: need max_duration > 0 and 0 <= min_samples <= max_samples")
        self.speed_perturb = tuple(float(f) for f in self.speed_perturb)
        if any(not 0.5 <= f <= 2.0 for f in self.speed_perturb):
            raise ValueError(f"data.speed_perturb: factors must lie in [0.5, 2.0], got {list(self.speed_perturb)}")
