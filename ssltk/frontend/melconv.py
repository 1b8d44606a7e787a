"""Filter-bank front end of S3LSpeech: log-mel on the fly -> conv block (x4 in time).

    waveform (N, S) 16 kHz
      -> 128-bin log-mel, 20 ms window, 10 ms hop (lhotse's Kaldi-compatible
         Wav2LogFilterBank, a torch module: batched, on any device)
      -> per-utterance mean/variance normalisation over its valid frames
      -> Conv1d + LayerNorm + GELU layers (S3LSpeech: 384-5-2, 512-5-2, 512-1-1): 40 ms frames

Frames use `snip_edges` (frame t reads samples [160 t, 160 t + 320)), and every
statistic is taken over valid frames only, so a padded batch gives each
utterance exactly what it gets alone.

    >>> fe = MelConvFrontend(n_mels=16, specs=((24, 5, 2), (32, 5, 2)))
    >>> mel, mel_lens = fe.mel(torch.randn(2, 16000), torch.tensor([16000, 8000]))
    >>> mel.shape, mel_lens.tolist()
    (torch.Size([2, 99, 16]), [99, 49])
    >>> y, y_lens = fe.encode(mel, mel_lens)
    >>> y.shape, y_lens.tolist()
    (torch.Size([2, 22, 32]), [22, 10])
"""
from __future__ import annotations

import warnings
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ssltk.data.audio import SAMPLE_RATE
from ssltk.frontend.config import ConvLayerSpec
from ssltk.frontend.conv import ConvLayer, conv_output_lengths

HOP = 160
FRAMES_PER_SECOND = SAMPLE_RATE // HOP
"""Log-mel frames per second (10 ms hop)."""


def valid_mask(lens: torch.Tensor, t: int) -> torch.Tensor:
    """(N, T) bool, True on the first lens[i] frames."""
    return torch.arange(t, device=lens.device)[None, :] < lens[:, None]


def normalize_utterances(x: torch.Tensor, lens: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Per-utterance, per-bin mean/variance normalisation over valid frames; padding -> 0. x: (N, T, F)."""
    m = valid_mask(lens, x.shape[1]).unsqueeze(-1).to(x.dtype)
    count = m.sum(1, keepdim=True).clamp(min=1)
    mean = (x * m).sum(1, keepdim=True) / count
    var = ((x - mean).square() * m).sum(1, keepdim=True) / count
    return (x - mean) * torch.rsqrt(var + eps) * m


class ConvBlock(nn.Module):
    """Conv1d -> LayerNorm -> GELU layers on time-major frames (N, T, C) with lengths.

    `same=True` pads each layer by kernel // 2 on both sides (stride-1 predictor);
    otherwise convolutions are unpadded and shorten the sequence (conv_output_lengths).
    Padded frames are zeroed before every layer, so they never reach valid outputs.
    """

    def __init__(self, in_dim: int, specs: Sequence[tuple[int, int, int]], same: bool = False):
        super().__init__()
        self.specs, cin = [], in_dim
        for cout, k, s in specs:
            self.specs.append(ConvLayerSpec(cin, cout, k, s))
            cin = cout
        self.same = same
        self.layers = nn.ModuleList(ConvLayer(spec, "layer", bias=False) for spec in self.specs)
        self.output_dim = cin

    @property
    def stride(self) -> int:
        out = 1
        for spec in self.specs:
            out *= spec.stride
        return out

    def output_lengths(self, lens: torch.Tensor) -> torch.Tensor:
        return lens if self.same else conv_output_lengths(lens, self.specs)

    def forward(self, x: torch.Tensor, lens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for spec, layer in zip(self.specs, self.layers):  # time-major (N, T, C) throughout
            x = x * valid_mask(lens, x.shape[1]).unsqueeze(-1).to(x.dtype)
            if self.same:
                x = F.pad(x, (0, 0, spec.kernel // 2, (spec.kernel - 1) // 2))
            else:
                lens = conv_output_lengths(lens, [spec])
            x = layer(x, lens)
        x = x * valid_mask(lens, x.shape[1]).unsqueeze(-1).to(x.dtype)
        return x, lens


class MelConvFrontend(nn.Module):
    """Log-mel filter bank + normalisation (`mel`), then the conv block (`encode`)."""

    def __init__(self, n_mels: int = 128, specs: Sequence[tuple[int, int, int]] = ((384, 5, 2), (512, 5, 2)),
                 frame_length_ms: float = 20.0):
        super().__init__()
        from lhotse.features.kaldi.layers import Wav2LogFilterBank

        # snip_edges=True is what we want (exact padding, see above); lhotse builds its mel matrix with
        # numpy, so on the CPU even when the model is built on the meta device (parameter counts).
        with warnings.catch_warnings(), torch.device("cpu"):
            warnings.simplefilter("ignore", UserWarning)
            self.fbank = Wav2LogFilterBank(sampling_rate=SAMPLE_RATE, frame_length=frame_length_ms / 1000,
                                           frame_shift=HOP / SAMPLE_RATE, num_filters=n_mels, snip_edges=True)
        self.win = int(round(frame_length_ms / 1000 * SAMPLE_RATE))
        self.n_mels = n_mels
        self.conv = ConvBlock(n_mels, specs)
        self.output_dim = self.conv.output_dim

    def mel_lengths(self, wav_lens: torch.Tensor) -> torch.Tensor:
        return (torch.div(wav_lens - self.win, HOP, rounding_mode="floor") + 1).clamp(min=0)

    def output_lengths(self, wav_lens: torch.Tensor) -> torch.Tensor:
        return self.conv.output_lengths(self.mel_lengths(wav_lens))

    def mel(self, wav: torch.Tensor, wav_lens: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, S) -> normalised log-mel (N, T, n_mels) with zero padding, and lengths."""
        if wav_lens is None:
            wav_lens = torch.full((wav.shape[0],), wav.shape[1], dtype=torch.long, device=wav.device)
        with torch.autocast(wav.device.type, enabled=False):
            feats = self.fbank(wav.float())
        lens = self.mel_lengths(wav_lens)
        return normalize_utterances(feats, lens), lens

    def encode(self, mel: torch.Tensor, mel_lens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.conv(mel, mel_lens)

    def forward(self, wav: torch.Tensor, wav_lens: torch.Tensor | None = None):
        return self.encode(*self.mel(wav, wav_lens))
