"""Context networks: Transformer (wav2vec 2.0), squeezed (SEW) and disentangled (SEW-D).

One module covers all three; the differences are injected parts and the
squeeze factor s (SEW-D paper §3.1, Fig. 2):

    x (N, T, E) -> pos = GELU(conv_s(x)),  shortcut = avgpool_s(x)      (s = 1: shortcut = x)
                -> [LayerNorm] -> L blocks over floor(T / s) frames -> [LayerNorm]
                -> upsample by s: Linear(E, sE) + GELU + reshape (a transposed conv with
                   kernel = stride = s and a bias per output phase) -> (N, T, E)

W2V2 base: post-LN blocks, LayerNorm after the positional embedding; W2V2 large:
pre-LN blocks and a final LayerNorm; SEW: post-LN, squeeze 2; SEW-D: post-LN
disentangled-attention blocks and no input LayerNorm.

Padding: a squeezed frame is valid when all its s inputs are (floor(T_i / s)
frames), and outputs past s * floor(T_i / s) are zero, which is exactly what a
single unpadded utterance of length T_i produces.

    >>> from ssltk.context.config import ContextConfig
    >>> net = build_context(ContextConfig(dim=64, layers=2, squeeze=2, pos_conv_kernel=7))
    >>> net(torch.randn(2, 11, 64), torch.tensor([11, 7])).shape
    torch.Size([2, 11, 64])
"""
from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ssltk.context.attention import MultiHeadSelfAttention, key_padding_mask
from ssltk.context.disentangled import DisentangledSelfAttention, RelativePositionEmbedding
from ssltk.context.config import ContextConfig


class ConvPositionalEmbedding(nn.Module):
    """Weight-normalised grouped conv over time (stride = squeeze factor), then GELU."""

    def __init__(self, dim: int, kernel: int, groups: int, stride: int = 1):
        super().__init__()
        conv = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=groups, stride=stride)
        nn.init.normal_(conv.weight, mean=0.0, std=2 * (1.0 / (kernel * dim)) ** 0.5)
        nn.init.zeros_(conv.bias)
        self.conv = nn.utils.parametrizations.weight_norm(conv, name="weight", dim=2)
        self.trim = 1 if kernel % 2 == 0 else 0  # 'same' output length for even kernels
        self.narrow_groups = dim // groups < 16

    def forward(self, x_ct: torch.Tensor) -> torch.Tensor:
        """x_ct: (N, E, T) -> (N, E, ceil-ish(T / s))."""
        if self.narrow_groups and x_ct.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            # fp32 under CPU autocast: oneDNN's bf16 grouped conv1d returns wrong values for narrow groups
            # (torch 2.13: 4 or 8 channels per group with an even kernel, e.g. s3l-mini's 128/16 x 32:
            # 110 % relative error against fp32; 16 and more were right. tests/context/test_transformer.py
            # checks every preset's shape).
            with torch.autocast("cpu", enabled=False):
                y = self.conv(x_ct.float())
        else:
            y = self.conv(x_ct)
        if self.trim:
            y = y[..., :-self.trim]
        return F.gelu(y)


class FeedForward(nn.Module):
    def __init__(self, dim: int, hidden: int, activation_dropout: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.activation_dropout = activation_dropout

    def forward(self, x):
        return self.fc2(F.dropout(F.gelu(self.fc1(x)), self.activation_dropout, self.training))


class TransformerLayer(nn.Module):
    """Attention + FFN block, post-LN (base) or pre-LN (large); attention is injected."""

    def __init__(self, attn: nn.Module, dim: int, ffn: int, dropout: float, activation_dropout: float,
                 eps: float, layer_norm_first: bool):
        super().__init__()
        self.attn = attn
        self.attn_norm = nn.LayerNorm(dim, eps=eps)
        self.ffn = FeedForward(dim, ffn, activation_dropout)
        self.ffn_norm = nn.LayerNorm(dim, eps=eps)
        self.dropout = nn.Dropout(dropout)
        self.layer_norm_first = layer_norm_first

    def forward(self, x, key_padding, rel=None):
        attn_args = (key_padding,) if rel is None else (key_padding, rel)
        if self.layer_norm_first:
            x = x + self.dropout(self.attn(self.attn_norm(x), *attn_args))
            return x + self.dropout(self.ffn(self.ffn_norm(x)))
        x = self.attn_norm(x + self.dropout(self.attn(x, *attn_args)))
        return self.ffn_norm(x + self.dropout(self.ffn(x)))


class Upsample(nn.Module):
    """(N, T', E) -> (N, s T', E): Linear(E, sE), GELU, split each frame into s frames."""

    def __init__(self, dim: int, factor: int):
        super().__init__()
        self.factor = factor
        self.proj = nn.Linear(dim, dim * factor)

    def forward(self, x):
        n, t, e = x.shape
        return F.gelu(self.proj(x)).reshape(n, t * self.factor, e)


class ContextNetwork(nn.Module):
    def __init__(self, pos_conv: ConvPositionalEmbedding, layers: list[TransformerLayer], squeeze: int = 1,
                 input_norm: nn.Module | None = None, final_norm: nn.Module | None = None,
                 rel_pos: RelativePositionEmbedding | None = None, dropout: float = 0.0,
                 layerdrop: float = 0.0):
        super().__init__()
        self.pos_conv = pos_conv
        self.layers = nn.ModuleList(layers)
        self.squeeze = squeeze
        self.input_norm = input_norm
        self.final_norm = final_norm
        self.rel_pos = rel_pos
        dim = layers[0].attn_norm.normalized_shape[0] if layers else None
        self.upsample = Upsample(dim, squeeze) if squeeze > 1 else None
        self.dropout = nn.Dropout(dropout)
        self.layerdrop = layerdrop

    def output_lengths(self, x_lens: torch.Tensor) -> torch.Tensor:
        """Frames carrying context-network output (the rest are zero)."""
        return torch.div(x_lens, self.squeeze, rounding_mode="floor") * self.squeeze

    def forward(self, x: torch.Tensor, x_lens: torch.Tensor | None = None,
                return_layers: bool = False,
                after_layer: Callable[[int, torch.Tensor], torch.Tensor] | None = None):
        """x: (N, T, E) frames (masked already); x_lens: (N,). Returns (N, T, E)
        (and the list of every block's output at the squeezed rate if return_layers).
        after_layer(i, h): called after block i (1-based, also when LayerDrop skips it) with its
        output at the squeezed rate; what it returns goes on to block i + 1 (intermediate CTC)."""
        n, t, e = x.shape
        s = self.squeeze
        pad = key_padding_mask(x_lens, t)
        if pad is not None:
            x = x.masked_fill(pad.unsqueeze(-1), 0.0)
        x_ct = x.transpose(1, 2)
        pos = self.pos_conv(x_ct)
        short = F.avg_pool1d(x_ct, s, s) if s > 1 else x_ct
        tq = min(pos.shape[-1], short.shape[-1])
        h = (short[..., :tq] + pos[..., :tq]).transpose(1, 2)
        h_lens = None if x_lens is None else torch.div(x_lens, s, rounding_mode="floor")
        h_pad = key_padding_mask(h_lens, tq)
        if self.input_norm is not None:
            h = self.input_norm(h)
        h = self.dropout(h)
        rel = self.rel_pos(tq, h.device) if self.rel_pos is not None else None
        outputs = []
        for i, layer in enumerate(self.layers, 1):
            if not (self.training and self.layerdrop > 0 and float(torch.rand(())) < self.layerdrop):
                h = layer(h, h_pad, rel)
                if return_layers:
                    outputs.append(h)
            if after_layer is not None:
                h = after_layer(i, h)
        if self.final_norm is not None:
            h = self.final_norm(h)
        if self.upsample is not None:
            h = self.upsample(h)
            if h.shape[1] < t:
                h = F.pad(h, (0, 0, 0, t - h.shape[1]))
        if x_lens is not None and (pad is not None or s > 1):
            valid = torch.arange(t, device=h.device)[None, :] < self.output_lengths(x_lens)[:, None]
            h = h * valid.unsqueeze(-1).to(h.dtype)
        return (h, outputs) if return_layers else h


def build_context(cfg: ContextConfig) -> ContextNetwork:
    """Closed match over attention types; see ContextConfig for the fields."""
    dim, heads = cfg.dim, cfg.num_heads

    def attention():
        match cfg.attention:
            case "mha":
                return MultiHeadSelfAttention(dim, heads, cfg.attention_dropout)
            case "disentangled":
                return DisentangledSelfAttention(dim, heads, cfg.attention_dropout, cfg.activation_dropout,
                                                 cfg.pos_att)
            case _:
                raise ValueError(f"unknown context.attention {cfg.attention!r}")

    layers = [TransformerLayer(attention(), dim, cfg.ffn, cfg.dropout, cfg.activation_dropout,
                               cfg.layer_norm_eps, cfg.layer_norm_first) for _ in range(cfg.layers)]
    disentangled = cfg.attention == "disentangled"
    # W2V2/SEW normalise after the positional embedding (post-LN) or at the end (pre-LN);
    # SEW-D normalises inside each block only.
    norm = nn.LayerNorm(dim, eps=cfg.layer_norm_eps)
    return ContextNetwork(
        ConvPositionalEmbedding(dim, cfg.pos_conv_kernel, cfg.pos_conv_groups, cfg.squeeze),
        layers,
        squeeze=cfg.squeeze,
        input_norm=None if (disentangled or cfg.layer_norm_first) else norm,
        final_norm=norm if cfg.layer_norm_first else None,
        rel_pos=RelativePositionEmbedding(dim, cfg.position_buckets, cfg.max_relative_positions,
                                          cfg.layer_norm_eps) if disentangled else None,
        dropout=0.0 if disentangled else cfg.dropout,
        layerdrop=cfg.layerdrop,
    )
