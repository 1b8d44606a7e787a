"""Filter-bank feature encoder (FBFE, SEW-D paper Table 6 row 9).

Waveform -> 80-d log-mel filter bank (25 ms window, 10 ms hop, 100 Hz) -> two
3x3 2-D convolutions with c channels (the first with stride 2 in time and
frequency, so frames come out at 50 Hz like a WFE) -> linear projection.
FBFE-c160 with 80 mels gives 42.1 M parameters for SEW-tiny (paper: 42.2 M).

The filter bank is pure torch (STFT + HTK mel matrix), differentiable and the
same on CPU and GPU; it is computed inside the model so that every front end
takes 16 kHz waveforms.

    >>> fe = FilterbankFeatureEncoder(n_mels=80, channels=16, out_dim=64)
    >>> y, y_lens = fe(torch.randn(2, 16000), torch.tensor([16000, 8000]))
    >>> y.shape, y_lens.tolist()
    (torch.Size([2, 46, 64]), [46, 21])
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ssltk.data.audio import SAMPLE_RATE

WIN_LENGTH = 400  # 25 ms
HOP_LENGTH = 160  # 10 ms
N_FFT = 512


def mel_filterbank(n_mels: int, n_fft: int = N_FFT, sample_rate: int = SAMPLE_RATE,
                   f_min: float = 20.0, f_max: float | None = None) -> torch.Tensor:
    """HTK-mel triangular filters, (n_fft // 2 + 1, n_mels)."""
    f_max = f_max or sample_rate / 2

    def mel(f):
        return 1127.0 * math.log(1.0 + f / 700.0)

    mels = torch.linspace(mel(f_min), mel(f_max), n_mels + 2, dtype=torch.float64)
    hz = 700.0 * (torch.exp(mels / 1127.0) - 1.0)
    bins = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    lower, center, upper = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    up = (bins[None, :] - lower) / (center - lower)
    down = (upper - bins[None, :]) / (upper - center)
    return torch.clamp(torch.minimum(up, down), min=0.0).T.to(torch.float32).contiguous()


class LogMelFilterbank(nn.Module):
    """(N, S) waveform -> (N, T, n_mels) log-mel energies, T = 1 + (S - 400) // 160."""

    def __init__(self, n_mels: int = 80):
        super().__init__()
        self.register_buffer("window", torch.hann_window(WIN_LENGTH, periodic=False), persistent=False)
        self.register_buffer("mel", mel_filterbank(n_mels), persistent=False)

    @staticmethod
    def output_lengths(x_lens: torch.Tensor) -> torch.Tensor:
        return (torch.div(x_lens - WIN_LENGTH, HOP_LENGTH, rounding_mode="floor") + 1).clamp(min=0)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        frames = wav.float().unfold(-1, WIN_LENGTH, HOP_LENGTH)  # (N, T, 400)
        frames = frames - frames.mean(-1, keepdim=True)  # remove DC per frame
        spec = torch.fft.rfft(frames * self.window, n=N_FFT).abs().square()
        return torch.log(spec @ self.mel + 1e-6)


class FilterbankFeatureEncoder(nn.Module):
    """FBFE: log-mel -> Conv2d(1, c, 3, stride 2) -> GELU -> Conv2d(c, c, 3) -> GELU -> Linear."""

    def __init__(self, n_mels: int = 80, channels: int = 160, out_dim: int = 512):
        super().__init__()
        self.fbank = LogMelFilterbank(n_mels)
        self.conv1 = nn.Conv2d(1, channels, 3, stride=2)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=1)
        freq = (n_mels - 3) // 2 + 1 - 2
        if freq < 1:
            raise ValueError(f"frontend.n_mels={n_mels} is too small for two 3x3 convolutions")
        self.proj = nn.Linear(channels * freq, out_dim)
        self.output_dim = out_dim

    def output_lengths(self, x_lens: torch.Tensor) -> torch.Tensor:
        t = self.fbank.output_lengths(x_lens)
        return (torch.div(t - 3, 2, rounding_mode="floor") + 1 - 2).clamp(min=0)

    def forward(self, wav: torch.Tensor, wav_lens: torch.Tensor | None = None):
        """wav: (N, S). Returns frames (N, T, out_dim) at 50 Hz and their lengths."""
        x = self.fbank(wav).unsqueeze(1)  # (N, 1, T, F)
        x = F.gelu(self.conv1(x))
        x = F.gelu(self.conv2(x))  # (N, c, T', F')
        n, c, t, f = x.shape
        x = self.proj(x.permute(0, 2, 1, 3).reshape(n, t, c * f))
        lens = self.output_lengths(wav_lens) if wav_lens is not None else torch.full(
            (n,), t, dtype=torch.long, device=wav.device)
        return x, lens
