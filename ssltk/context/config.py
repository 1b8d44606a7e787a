"""Context-network configuration (the context's part of ModelConfig)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass
class ContextConfig:
    """Context network: Transformer over frames, optionally squeezed (SEW) and with
    disentangled attention (SEW-D)."""

    dim: int = 768
    """E: model width (transformers `hidden_size`, fairseq `encoder_embed_dim`)."""
    layers: int = 12
    """L: number of Transformer blocks."""
    heads: int = 0
    """Attention heads; 0 means E/64 (the papers' choice)."""
    ffn_dim: int = 0
    """Feed-forward width; 0 means 4E."""
    pos_conv_kernel: int = 128
    """Kernel of the convolutional relative positional embedding (128 W2V2, 31 SEW)."""
    pos_conv_groups: int = 16
    """Groups of the positional convolution (transformers num_conv_pos_embedding_groups)."""
    squeeze: int = 1
    """Squeeze factor s (SEW §3.1): pos-conv stride s, avg-pooled shortcut, upsampling by s."""
    layer_norm_first: bool = False
    """Pre-LN blocks (wav2vec 2.0 large); post-LN otherwise."""
    attention: Literal["mha", "disentangled"] = "mha"
    """mha: scaled dot-product attention; disentangled: DeBERTa c2c + c2p + p2c (SEW-D)."""
    position_buckets: int = 256
    """Disentangled only: log-bucketed relative positions, 2*buckets embeddings."""
    max_relative_positions: int = 512
    """Disentangled only: the maximum distance of the log buckets."""
    pos_att: tuple[str, ...] = ("c2p", "p2c")
    """Disentangled only: which position terms to add to content-to-content attention."""
    layer_norm_eps: float = 1e-5
    """1e-5 for W2V2/SEW; SEW-D uses 1e-7 (DeBERTa)."""
    dropout: float = 0.1
    """Dropout after attention and feed-forward blocks (transformers hidden_dropout)."""
    attention_dropout: float = 0.1
    """Dropout on the attention probabilities."""
    activation_dropout: float = 0.0
    """Dropout after the feed-forward activation."""
    layerdrop: float = 0.05
    """Probability of skipping a whole Transformer block in training (LayerDrop)."""

    def __post_init__(self):
        if self.dim < 1 or self.layers < 0:
            raise ValueError(f"context.dim must be >= 1, context.layers >= 0 (got {self.dim}, {self.layers})")
        if self.dim % self.num_heads:
            raise ValueError(f"context.dim={self.dim} is not divisible by context.heads={self.num_heads}")
        if self.squeeze < 1:
            raise ValueError(f"context.squeeze must be >= 1 (got {self.squeeze})")
        if self.dim % self.pos_conv_groups:
            raise ValueError(f"context.dim={self.dim} is not divisible by pos_conv_groups={self.pos_conv_groups}")
        bad = set(self.pos_att) - {"c2p", "p2c"}
        if bad:
            raise ValueError(f"context.pos_att may only contain c2p, p2c (got {sorted(bad)})")
        for name in ("dropout", "attention_dropout", "activation_dropout", "layerdrop"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ValueError(f"context.{name} must be in [0, 1)")

    @property
    def num_heads(self) -> int:
        return self.heads or max(1, self.dim // 64)

    @property
    def ffn(self) -> int:
        return self.ffn_dim or 4 * self.dim
