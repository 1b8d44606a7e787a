"""Convolutional wave feature encoders: WFE-O (wav2vec 2.0) and WFE-C (SEW).

The stack runs time-major, (N, T, C), each convolution as one GEMM over its
k-frame windows (`unfold`, then a Linear with the conv weight): under bf16 that
runs at the matrix units' rate while oneDNN's bf16 conv1d reaches well under half
of it and reorders layouts between layers (benchmarks/README.md); in fp32 the two
are on par. The context network receives the time-major frames as they are.

Padding is handled exactly: frame t of a layer only reads valid samples when
t < output_lengths(x_lens), and the GroupNorm of layer 1 takes its statistics
over each utterance's valid frames, so a padded batch gives the same frames as
each utterance alone. (fairseq and transformers normalise over the padding too,
which is why their base models must not be given padded batches.)

    >>> enc = ConvFeatureEncoder(FrontendConfig(type="wfe-c", c=64, l=1).conv_layers())
    >>> y, y_lens = enc(torch.randn(2, 16000), torch.tensor([16000, 12000]))
    >>> y.shape, y_lens.tolist()
    (torch.Size([2, 49, 512]), [49, 37])
"""
from __future__ import annotations

from typing import Literal, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ssltk.frontend.config import ConvLayerSpec, FrontendConfig  # noqa: F401 (doctest)


def conv_output_lengths(x_lens: torch.Tensor, specs: Sequence[ConvLayerSpec]) -> torch.Tensor:
    """Valid output frames of a stack of unpadded convs: floor((n - k) / s) + 1 per layer."""
    for spec in specs:
        x_lens = torch.div(x_lens - spec.kernel, spec.stride, rounding_mode="floor") + 1
    return x_lens.clamp(min=0)


def masked_instance_norm(x: torch.Tensor, x_lens: torch.Tensor | None, weight: torch.Tensor,
                         bias: torch.Tensor, eps: float) -> torch.Tensor:
    """GroupNorm with one group per channel over the valid frames of each utterance.

    x: (N, C, T), channel-first. Equals nn.GroupNorm(C, C) on an unpadded utterance.
    """
    if x_lens is None or bool((x_lens == x.shape[-1]).all()):
        return F.group_norm(x, x.shape[1], weight, bias, eps)
    m = (torch.arange(x.shape[-1], device=x.device)[None, :] < x_lens[:, None]).to(x.dtype)
    m = m.unsqueeze(1)
    count = m.sum(-1, keepdim=True).clamp(min=1)
    mean = (x * m).sum(-1, keepdim=True) / count
    var = ((x - mean).square() * m).sum(-1, keepdim=True) / count
    scale = weight[:, None] * torch.rsqrt(var + eps)
    return torch.addcmul(bias[:, None] - mean * scale, x, scale)


class ConvLayer(nn.Module):
    """Conv -> (GroupNorm | LayerNorm) -> GELU on time-major (N, T, C) frames (views allowed)."""

    def __init__(self, spec: ConvLayerSpec, norm: Literal["group", "layer"] | None, bias: bool):
        super().__init__()
        self.spec = spec
        self.conv = nn.Conv1d(spec.in_channels, spec.out_channels, spec.kernel, spec.stride, bias=bias)
        nn.init.kaiming_normal_(self.conv.weight)
        self.norm_type = norm
        if norm == "group":
            self.norm = nn.GroupNorm(spec.out_channels, spec.out_channels, affine=True)
        elif norm == "layer":
            self.norm = nn.LayerNorm(spec.out_channels)
        else:
            self.norm = None

    def forward(self, x: torch.Tensor, x_lens: torch.Tensor | None) -> torch.Tensor:
        """x: (N, T, C_in) -> (N, T', C_out); x_lens: valid lengths *after* this layer."""
        k, s = self.spec.kernel, self.spec.stride
        w, b = self.conv.weight, self.conv.bias
        if self.spec.in_channels == 1:
            # Layer 1 on raw audio (C_out x 50 Hz frames, the widest tensor of the model) runs
            # channel-first, where GroupNorm's statistics are contiguous reductions: bmm writes
            # (N, C, T) directly and the result is returned as a time-major view.
            frames = x[..., 0].unfold(-1, k, s)  # (N, T, k), a view
            x = torch.bmm(w[:, 0].expand(frames.shape[0], -1, -1), frames.transpose(1, 2))
            x = x + b[:, None].float() if b is not None else x  # (fp32 bias: bf16-stored weights round alike)
            if self.norm_type == "group":
                x = masked_instance_norm(x, x_lens, self.norm.weight, self.norm.bias, self.norm.eps)
            x = x.transpose(1, 2)
        else:
            if k > 1 or s > 1:  # (N, T', C_in, k) view -> (N, T', C_in * k): one im2col copy
                x = x.unfold(1, k, s).flatten(2)
            x = F.linear(x, w.flatten(1), b)  # (C_out, C_in * k): the order of the unfolded windows
            if self.norm_type == "group":
                x = masked_instance_norm(x.transpose(1, 2), x_lens, self.norm.weight, self.norm.bias,
                                         self.norm.eps).transpose(1, 2)
        if self.norm_type == "layer":
            x = self.norm(x)
        return F.gelu(x)


class ConvFeatureEncoder(nn.Module):
    """WFE-O / WFE-C: waveform (N, S) -> frames (N, T, C) at 50 Hz."""

    def __init__(self, specs: Sequence[ConvLayerSpec], norm: Literal["group", "layer"] = "group",
                 bias: bool = False):
        super().__init__()
        self.specs = list(specs)
        self.layers = nn.ModuleList(
            ConvLayer(spec, norm if (norm == "layer" or i == 0) else None, bias)
            for i, spec in enumerate(self.specs)
        )
        self.output_dim = self.specs[-1].out_channels

    def output_lengths(self, x_lens: torch.Tensor) -> torch.Tensor:
        return conv_output_lengths(x_lens, self.specs)

    def forward(self, wav: torch.Tensor, wav_lens: torch.Tensor | None = None):
        """wav: (N, S) float; wav_lens: (N,) samples. Returns frames (N, T, C) and frame lengths."""
        x = wav.unsqueeze(-1)  # (N, S, 1)
        lens = wav_lens
        for spec, layer in zip(self.specs, self.layers):
            lens = conv_output_lengths(lens, [spec]) if lens is not None else None
            x = layer(x, lens)
        if lens is None:
            lens = torch.full((wav.shape[0],), x.shape[1], dtype=torch.long, device=wav.device)
        return x, lens


def build_frontend(cfg: FrontendConfig) -> nn.Module:
    """Closed match over the feature-encoder types of FrontendConfig."""
    match cfg.type:
        case "wfe-o" | "wfe-c" | "conv":
            return ConvFeatureEncoder(cfg.conv_layers(), cfg.norm, cfg.bias)
        case "fbank":
            from ssltk.frontend.fbank import FilterbankFeatureEncoder

            return FilterbankFeatureEncoder(n_mels=cfg.n_mels, channels=cfg.c, out_dim=cfg.fbank_dim)
        case _:
            raise ValueError(f"unknown frontend.type {cfg.type!r}")
