"""Input augmentation for teacher-student pre-training (S3LSpeech, after SPIRAL).

The student sees a perturbed view and the teacher the clean one:

- `add_noise`: additive coloured noise at a random SNR on the waveform (the
  student's); power spectrum ~ f^slope with a random slope (0 white, -1 pink,
  -2 brown). S3LSpeech mixes recorded noise (DNS challenge); no noise corpus is
  available offline, so the noise is synthesised.
- `spec_augment`: SpecAugment frequency and time masks on the normalised log-mel
  (the student's), filled with N(0, std^2) like S3LSpeech's gauss_mask_std.
- `random_shift`: zero frames before and after each utterance of the teacher's
  input, a whole number of encoder frames, so its outputs stay aligned with the
  student's once trimmed; the teacher cannot match positions by absolute position.

All three only touch valid samples/frames: padding stays zero and lengths are
respected (tests/frontend/test_augment.py).

    >>> mel = torch.randn(2, 50, 8)
    >>> out = spec_augment(mel, torch.tensor([50, 20]), freq_masks=1, freq_width=2, time_mask_ratio=0.1,
    ...                    max_time_masks=5, time_width=3)
    >>> torch.equal(out[1, 20:], mel[1, 20:])  # padding untouched
    True
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ssltk.frontend.melconv import valid_mask


@dataclass
class AugmentConfig:
    """The student's perturbed view and the teacher's shift in S3L pre-training (a part of the run
    config, not of the model: fine-tuning and extraction never see it)."""

    noise_prob: float = 0.5
    """Probability that an utterance of the student's input gets additive noise."""
    snr_db: tuple[float, ...] = (0.0, 30.0)
    """Uniform range of the noise's signal-to-noise ratio."""
    noise_slope: tuple[float, ...] = (-2.0, 0.0)
    """Uniform range of the noise's spectral slope (power ~ f^slope: 0 white, -1 pink, -2 brown)."""
    freq_masks: int = 2
    """SpecAugment frequency masks per utterance (S3LSpeech: int(0.02 * n_mels))."""
    freq_width: int = 20
    """Maximum width (bins) of a frequency mask."""
    time_mask_ratio: float = 0.025
    """SpecAugment time masks per utterance: int(ratio * frames), at most max_time_masks."""
    max_time_masks: int = 100
    """Cap on the number of time masks per utterance."""
    time_width: int = 20
    """Maximum width (frames) of a time mask."""
    mask_std: float = 1.0
    """Masked regions are filled with N(0, mask_std^2) (0: zeros)."""
    shift_max: int = 16
    """Random positional shift of the teacher's input: 0..shift_max output frames of padding on each side."""
    shift_max_ratio: float = 0.5
    """...at most this fraction of the shortest utterance."""

    def __post_init__(self):
        if len(self.snr_db) != 2 or len(self.noise_slope) != 2:
            raise ValueError("augment.snr_db and augment.noise_slope are [low, high] ranges")
        if not 0 <= self.noise_prob <= 1 or self.shift_max < 0:
            raise ValueError("augment.noise_prob must be in [0, 1] and augment.shift_max >= 0")


def _uniform(n: int, low: float, high: float, device, generator=None) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, device=device, generator=generator)


def coloured_noise(n: int, s: int, slope: torch.Tensor, device, generator=None) -> torch.Tensor:
    """(n, s) Gaussian noise whose power spectrum goes as f^slope[i] (unit RMS per row)."""
    white = torch.randn(n, s, device=device, generator=generator)
    spec = torch.fft.rfft(white)
    f = torch.arange(spec.shape[-1], device=device).clamp(min=1).float()
    spec = spec * f[None, :].pow(slope[:, None] / 2)
    noise = torch.fft.irfft(spec, n=s)
    return noise / noise.square().mean(-1, keepdim=True).sqrt().clamp(min=1e-8)


def add_noise(wav: torch.Tensor, wav_lens: torch.Tensor, prob: float, snr_db: tuple[float, float],
              slope: tuple[float, float] = (0.0, 0.0), generator=None) -> torch.Tensor:
    """Add noise at SNR ~ U(snr_db) to each utterance with probability `prob` (valid samples only)."""
    n, s = wav.shape
    if prob <= 0 or n == 0:
        return wav
    dev = wav.device
    chosen = torch.rand(n, device=dev, generator=generator) < prob
    snr = _uniform(n, *snr_db, device=dev, generator=generator)
    slopes = _uniform(n, *slope, device=dev, generator=generator)
    noise = coloured_noise(n, s, slopes, dev, generator)
    valid = valid_mask(wav_lens, s).to(torch.float32)
    x = wav.float()
    power = (x.square() * valid).sum(-1) / wav_lens.clamp(min=1)
    noise_power = (noise.square() * valid).sum(-1) / wav_lens.clamp(min=1)
    gain = torch.sqrt(power / (10 ** (snr / 10)) / noise_power.clamp(min=1e-12))
    gain = gain * chosen
    return (x + gain[:, None] * noise * valid).to(wav.dtype)


def spec_augment(mel: torch.Tensor, lens: torch.Tensor, freq_masks: int, freq_width: int,
                 time_mask_ratio: float, max_time_masks: int, time_width: int, std: float = 0.0,
                 generator=None) -> torch.Tensor:
    """SpecAugment on (N, T, F) with valid lengths `lens`.

    Per utterance: `freq_masks` bands of width U{0..freq_width}; min(int(ratio * len),
    max_time_masks) time spans of width U{0..time_width} inside the valid frames.
    """
    n, t, f = mel.shape
    dev = mel.device
    masked = torch.zeros(n, t, f, dtype=torch.bool, device=dev)
    if freq_masks > 0 and freq_width > 0:
        fw = min(freq_width, f)
        start = (torch.rand(n, freq_masks, device=dev, generator=generator) * (f - fw + 1)).floor()
        width = (torch.rand(n, freq_masks, device=dev, generator=generator) * (fw + 1)).floor()
        bins = torch.arange(f, device=dev)[None, None, :]
        band = ((bins >= start[..., None]) & (bins < (start + width)[..., None])).any(1)  # (N, F)
        masked |= band[:, None, :]
    if time_mask_ratio > 0 and max_time_masks > 0 and time_width > 0 and t > 0:
        counts = torch.clamp((lens.float() * time_mask_ratio).floor(), max=max_time_masks).long()
        m = int(counts.max()) if n else 0
        if m > 0:
            tw = torch.clamp(lens, max=time_width).float()
            room = (lens.float() - tw + 1).clamp(min=1)
            start = (torch.rand(n, m, device=dev, generator=generator) * room[:, None]).floor()
            width = (torch.rand(n, m, device=dev, generator=generator) * (tw[:, None] + 1)).floor()
            active = torch.arange(m, device=dev)[None, :] < counts[:, None]
            frames = torch.arange(t, device=dev)[None, None, :]
            span = (frames >= start[..., None]) & (frames < (start + width)[..., None]) & active[..., None]
            masked |= span.any(1)[:, :, None]
    masked &= valid_mask(lens, t)[:, :, None]
    fill = torch.randn(mel.shape, device=dev, generator=generator, dtype=mel.dtype) * std if std > 0 else 0.0
    return torch.where(masked, fill, mel)


def draw_shift(min_frames: int, max_shift: int, max_ratio: float, generator=None) -> tuple[int, int]:
    """(left, right) shifts in encoder frames, each U{0..min(max_shift, max_ratio * min_frames)}."""
    limit = max(0, min(max_shift, math.floor(min_frames * max_ratio)))
    left, right = torch.randint(0, limit + 1, (2,), generator=generator).tolist()
    return left, right


def random_shift(x: torch.Tensor, lens: torch.Tensor, left: int, right: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Put `left` zero frames before every utterance of (N, T, F) and `right` after its valid end
    (padding is zero already, so the tensor grows by left + right frames); returns new lengths."""
    x = torch.nn.functional.pad(x * valid_mask(lens, x.shape[1])[:, :, None].to(x.dtype), (0, 0, left, right))
    return x, lens + left + right
