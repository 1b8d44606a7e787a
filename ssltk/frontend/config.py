"""Feature-encoder configuration (the frontend's part of ModelConfig).

    >>> FrontendConfig(type="wfe-c", c=64, l=1).describe()
    'WFE-C-c64-l1'
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# WFE-O kernel sizes / strides (wav2vec 2.0); WFE-C keeps them (SEW-D paper §3.2).
# The paper's text lists 7 for the first kernel; the released asapp checkpoints use 10.
WFE_KERNELS = (10, 3, 3, 3, 3, 2, 2)
WFE_STRIDES = (5, 2, 2, 2, 2, 2, 2)
WFE_C_MULTIPLIERS = (1, 2, 2, 4, 4, 8, 8)


@dataclass(frozen=True)
class ConvLayerSpec:
    """One Conv1d of a waveform feature encoder."""

    in_channels: int
    out_channels: int
    kernel: int
    stride: int


@dataclass
class FrontendConfig:
    """Feature encoder: waveform (16 kHz) -> frames. A waveform encoder is a list of conv layers;
    WFE-O and WFE-C are named constructors of that list (`conv_layers`), `conv` gives it explicitly
    (any transformers Wav2Vec2 / SEW / SEW-D conv_dim / conv_kernel / conv_stride)."""

    type: Literal["wfe-o", "wfe-c", "conv", "fbank"] = "wfe-o"
    """wfe-o: 7 conv layers of c channels (wav2vec 2.0); wfe-c: channels c,2c,2c,4c,4c,8c,8c
    (SEW, paper §3.2); conv: the layers in `layers`; fbank: 80-d log-mel + two 2-D convs +
    linear (FBFE, Table 6 row 9)."""
    c: int = 512
    """Base channel count (WFE-O: all layers; WFE-C: first layer; FBFE: 2-D conv channels)."""
    l: int = 0
    """Extra point-wise (kernel 1) layers after every original layer but the first (WFE-C-c64-l1)."""
    layers: tuple[tuple[int, ...], ...] = ()
    """conv only: [out_channels, kernel, stride] of each layer, input first."""
    norm: Literal["group", "layer"] = "group"
    """group: GroupNorm on layer 1 only (base models); layer: LayerNorm after every conv (large)."""
    bias: bool = False
    """Conv bias (fairseq `conv_bias`; True for the layer-norm large models)."""
    n_mels: int = 80
    """FBFE only: filter bank bins."""
    fbank_dim: int = 512
    """FBFE only: output dimension of the linear layer after the 2-D convs."""

    def __post_init__(self):
        if self.c < 1 or self.l < 0:
            raise ValueError(f"frontend.c must be >= 1 and frontend.l >= 0 (got c={self.c}, l={self.l})")
        if self.type == "conv" and (not self.layers or any(len(x) != 3 or min(x) < 1 for x in self.layers)):
            raise ValueError("frontend.type=conv needs frontend.layers: a non-empty list of "
                             "[out_channels, kernel, stride], each >= 1")
        self.layers = tuple(tuple(int(v) for v in x) for x in self.layers)

    def conv_layers(self) -> list[ConvLayerSpec]:
        """The 1-D conv stack of a waveform encoder (empty for FBFE)."""
        if self.type == "fbank":
            return []
        if self.type == "conv":
            shape = list(self.layers)
        else:
            mult = (1,) * 7 if self.type == "wfe-o" else WFE_C_MULTIPLIERS
            shape = []
            for i, (m, k, s) in enumerate(zip(mult, WFE_KERNELS, WFE_STRIDES)):
                shape.append((self.c * m, k, s))
                if i > 0:
                    shape.extend((self.c * m, 1, 1) for _ in range(self.l))
        layers, cin = [], 1
        for cout, k, s in shape:
            layers.append(ConvLayerSpec(cin, cout, k, s))
            cin = cout
        return layers

    @property
    def output_dim(self) -> int:
        return self.fbank_dim if self.type == "fbank" else self.conv_layers()[-1].out_channels

    def describe(self) -> str:
        if self.type == "fbank":
            return f"FBFE-c{self.c}"
        if self.type == "conv":
            stride = 1
            for x in self.layers:
                stride *= x[2]
            return f"conv-{len(self.layers)}x-c{self.layers[0][0]}..{self.layers[-1][0]}-s{stride}"
        name = f"WFE-{'O' if self.type == 'wfe-o' else 'C'}-c{self.c}"
        return name + (f"-l{self.l}" if self.l else "")
