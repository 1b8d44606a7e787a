"""Convolutional wave feature encoders: WFE-O (wav2vec 2.0) and WFE-C (SEW).

The first two layers, where sequences are long (16k and 8k frames per second),
run channel-first with the native convolution so that the GroupNorm of layer 1
reduces over contiguous memory; the rest runs time-major, (N, T, C), where each
convolution is a few dense GEMMs over a reshaped view of its input (no im2col
copy), point-wise layers are plain matmuls, and the context network receives
frames without a transpose (benchmarks/frontend.md has the measurements).
Weights keep the Conv1d layout (C_out, C_in, k) so checkpoints map one-to-one
onto fairseq / transformers.

Padding is handled exactly: frame t of a layer only reads valid samples when
t < output_lengths(x_lens), and the GroupNorm of layer 1 takes its statistics
over each utterance's valid frames, so a padded batch gives the same frames as
each utterance alone.

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

from ssltk.models.config import ConvLayerSpec, FrontendConfig  # noqa: F401 (doctest)


def conv_output_lengths(x_lens: torch.Tensor, specs: Sequence[ConvLayerSpec]) -> torch.Tensor:
    """Valid output frames of a stack of unpadded convs: floor((n - k) / s) + 1 per layer."""
    for spec in specs:
        x_lens = torch.div(x_lens - spec.kernel, spec.stride, rounding_mode="floor") + 1
    return x_lens.clamp(min=0)


def conv1d_time_major(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,
                      stride: int) -> torch.Tensor:
    """Unpadded 1-D convolution on time-major input.

    x: (N, T, C_in); weight: (C_out, C_in, k). Returns (N, (T - k) // stride + 1, C_out).

    The input is viewed as (N, T/s, s*C_in): row j holds samples js..js+s-1, so kernel
    taps q*s..q*s+s-1 act on row t+q, and the convolution is ceil(k/s) GEMMs on that
    view plus shifted adds. Kernel-1 layers are a single GEMM.
    """
    n, t, c_in = x.shape
    c_out, _, k = weight.shape
    s = stride
    t_out = (t - k) // s + 1
    if t_out <= 0:
        return x.new_zeros(n, 0, c_out)
    if k == 1:
        return F.linear(x[:, ::s] if s > 1 else x, weight[:, :, 0], bias)
    if c_in == 1:
        # First layer on raw audio: frames of k samples (a cheap unfold), one GEMM.
        return F.linear(x[..., 0].unfold(1, k, s), weight[:, 0, :], bias)
    nq = -(-k // s)
    t_rows = t_out + nq - 1
    need = t_rows * s
    x = F.pad(x, (0, 0, 0, need - t)) if need > t else x[:, :need]
    rows = x.reshape(n * t_rows, s * c_in)
    out = None
    for q in range(nq):
        taps = min(s, k - q * s)
        w = weight[:, :, q * s:q * s + taps].permute(0, 2, 1).reshape(c_out, taps * c_in)
        y = F.linear(rows[:, :taps * c_in], w, bias if q == 0 else None)
        y = y.view(n, t_rows, c_out)[:, q:q + t_out]
        out = y if out is None else out + y
    return out.contiguous() if nq > 1 else out


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
    """Conv -> (GroupNorm | LayerNorm) -> GELU, channel-first or time-major."""

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

    def forward(self, x: torch.Tensor, x_lens: torch.Tensor | None, time_major: bool) -> torch.Tensor:
        """x: (N, T, C_in) if time_major else (N, C_in, T); x_lens: lengths *after* this layer."""
        if time_major:
            x = conv1d_time_major(x, self.conv.weight, self.conv.bias, self.spec.stride)
        else:
            x = self.conv(x)
        if self.norm_type == "group":
            if time_major:
                x = masked_instance_norm(x.transpose(1, 2), x_lens, self.norm.weight, self.norm.bias,
                                         self.norm.eps).transpose(1, 2)
            else:
                x = masked_instance_norm(x, x_lens, self.norm.weight, self.norm.bias, self.norm.eps)
        elif self.norm_type == "layer":
            x = self.norm(x) if time_major else self.norm(x.transpose(1, 2)).transpose(1, 2)
        return F.gelu(x)


class ConvFeatureEncoder(nn.Module):
    """WFE-O / WFE-C: waveform (N, S) -> frames (N, T, C) at 50 Hz."""

    # Layers before this index run channel-first (see the module docstring).
    channel_first_layers = 2

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
        x = wav.unsqueeze(1)
        lens = wav_lens
        for i, (spec, layer) in enumerate(zip(self.specs, self.layers)):
            if i == self.channel_first_layers:
                x = x.transpose(1, 2)
            lens = conv_output_lengths(lens, [spec]) if lens is not None else None
            x = layer(x, lens, time_major=i >= self.channel_first_layers)
        if len(self.specs) <= self.channel_first_layers:
            x = x.transpose(1, 2)
        if lens is None:
            lens = torch.full((wav.shape[0],), x.shape[1], dtype=torch.long, device=wav.device)
        return x.contiguous(), lens


def build_frontend(cfg: FrontendConfig) -> nn.Module:
    """Closed match over the feature-encoder types of FrontendConfig."""
    match cfg.type:
        case "wfe-o" | "wfe-c":
            return ConvFeatureEncoder(cfg.conv_layers(), cfg.norm, cfg.bias)
        case "fbank":
            from ssltk.frontend.fbank import FilterbankFeatureEncoder

            return FilterbankFeatureEncoder(n_mels=cfg.n_mels, channels=cfg.c, out_dim=cfg.fbank_dim)
        case _:
            raise ValueError(f"unknown frontend.type {cfg.type!r}")
