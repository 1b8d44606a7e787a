"""wav2vec 2.0-style models, composed from injected parts.

SEW and SEW-D are wav2vec 2.0 with other parts (WFE-C, a squeezed context
network, disentangled attention, MLP heads), so one composition serves all:

    Wav2Vec2Encoder(frontend, context)           inference: waveform -> (N, T, E)
    Wav2Vec2ForPretraining(encoder, quantizer, project_c, project_q, masker)

The objective lives in ssltk.objectives.contrastive; `build_*` functions turn a
ModelConfig into modules.

    >>> from ssltk.models.presets import get_preset
    >>> enc = build_encoder(get_preset("sewd-test"))
    >>> enc(torch.randn(2, 8000), torch.tensor([8000, 6000])).hidden.shape
    torch.Size([2, 24, 32])
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ssltk.context.transformer import build_context
from ssltk.frontend.conv import build_frontend
from ssltk.models.config import ModelConfig
from ssltk.objectives.heads import build_head
from ssltk.targets.config import MaskingConfig
from ssltk.targets.masking import channel_mask, span_mask
from ssltk.targets.quantizer import GumbelVectorQuantizer, QuantizerOutput


class GradMultiply(torch.autograd.Function):
    """Identity forward, gradient scaled by `scale` backward (feature_grad_mult)."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.scale, None


@dataclass
class EncoderOutput:
    hidden: torch.Tensor
    """(N, T, E) context network output; zero past hidden_lens."""
    hidden_lens: torch.Tensor
    """(N,) valid frames."""
    features: torch.Tensor
    """(N, T, C) feature-encoder output after LayerNorm (the quantizer's input)."""
    feature_pen: torch.Tensor
    """Mean squared feature-encoder output over valid frames (L2 penalty, eq. 4)."""
    layers: list[torch.Tensor] | None = None
    """Every context block's output (at the squeezed rate), when requested."""


class Masker(nn.Module):
    """Draws span masks over frames and channels (pre-training and fine-tuning regulariser)."""

    def __init__(self, cfg: MaskingConfig):
        super().__init__()
        self.cfg = cfg

    def time(self, x_lens: torch.Tensor, t: int, generator: torch.Generator | None = None) -> torch.Tensor:
        c = self.cfg
        return span_mask(x_lens, t, c.prob, c.length, c.min_masks, generator)

    def channels(self, n: int, dim: int, device, generator: torch.Generator | None = None):
        c = self.cfg
        if c.channel_prob <= 0:
            return None
        return channel_mask(n, dim, c.channel_prob, c.channel_length, generator, device)


class Wav2Vec2Encoder(nn.Module):
    """Feature encoder -> LayerNorm -> [Linear] -> (mask) -> context network."""

    def __init__(self, frontend: nn.Module, context: nn.Module, feature_dim: int, dim: int,
                 project: bool = True, feature_norm_eps: float = 1e-5, dropout_input: float = 0.0,
                 feature_grad_mult: float = 1.0):
        super().__init__()
        self.frontend = frontend
        self.feature_norm = nn.LayerNorm(feature_dim, eps=feature_norm_eps)
        self.feature_proj = nn.Linear(feature_dim, dim) if project else None
        self.mask_emb = nn.Parameter(torch.empty(dim).uniform_())
        self.context = context
        self.dropout_input = nn.Dropout(dropout_input)
        self.feature_grad_mult = feature_grad_mult

    def output_lengths(self, wav_lens: torch.Tensor) -> torch.Tensor:
        """Frames per utterance for `wav_lens` samples (the conv output-length formula)."""
        return self.frontend.output_lengths(wav_lens)

    def mask_lengths(self, wav_lens: torch.Tensor) -> torch.Tensor:
        """Frames that `mask` / `channel_mask` of forward() index (the output frames here)."""
        return self.frontend.output_lengths(wav_lens)

    @property
    def layers(self) -> list[nn.Module]:
        """The context network's Transformer layers, input to output."""
        return list(self.context.layers)

    @property
    def num_layers(self) -> int:
        return len(self.context.layers)

    def forward(self, wav: torch.Tensor, wav_lens: torch.Tensor | None = None,
                mask: torch.Tensor | None = None, channel_mask: torch.Tensor | None = None,
                return_layers: bool = False, after_layer=None) -> EncoderOutput:
        """wav: (N, S) 16 kHz; wav_lens: (N,); mask: (N, T) frames to replace by the mask
        embedding; channel_mask: (N, E) channels to zero; after_layer: ContextNetwork.forward's."""
        if self.feature_grad_mult == 0 and self.training:
            with torch.no_grad():
                feats, lens = self.frontend(wav, wav_lens)
        else:
            feats, lens = self.frontend(wav, wav_lens)
            if self.feature_grad_mult != 1.0 and self.training:
                feats = GradMultiply.apply(feats, self.feature_grad_mult)
        valid = (torch.arange(feats.shape[1], device=feats.device)[None, :] < lens[:, None])
        feature_pen = (feats.float().square().mean(-1) * valid).sum() / valid.sum().clamp(min=1)
        feats = self.feature_norm(feats)
        x = self.feature_proj(feats) if self.feature_proj is not None else feats
        x = self.dropout_input(x)
        if mask is not None:
            x = torch.where(mask.unsqueeze(-1), self.mask_emb.to(x.dtype), x)
        if channel_mask is not None:
            x = x.masked_fill(channel_mask.unsqueeze(1), 0.0)
        out = self.context(x, lens, return_layers=return_layers, after_layer=after_layer)
        hidden, layers = out if return_layers else (out, None)
        return EncoderOutput(hidden=hidden, hidden_lens=lens, features=feats, feature_pen=feature_pen,
                             layers=layers)


@dataclass
class PretrainOutput:
    c: torch.Tensor
    """(M, D) p_c(context output) at the M masked frames."""
    q: torch.Tensor
    """(M, D) p_q(quantized features) at the masked frames."""
    quant: QuantizerOutput
    mask: torch.Tensor
    """(N, T) bool, the masked frames; their row-major order is the order of c and q."""
    feature_pen: torch.Tensor
    codebooks: torch.Tensor | None = None
    """(G, V, d) for the codeword-similarity monitor."""


class Wav2Vec2ForPretraining(nn.Module):
    """Encoder + quantizer + projection heads; the loss is in ssltk.objectives."""

    def __init__(self, encoder: Wav2Vec2Encoder, quantizer: GumbelVectorQuantizer, project_c: nn.Module,
                 project_q: nn.Module, masker: Masker, dropout_features: float = 0.0):
        super().__init__()
        self.encoder = encoder
        self.quantizer = quantizer
        self.project_c = project_c
        self.project_q = project_q
        self.masker = masker
        self.dropout_features = nn.Dropout(dropout_features)

    def set_num_updates(self, num_updates: int) -> None:
        self.quantizer.set_num_updates(num_updates)

    def forward(self, wav: torch.Tensor, wav_lens: torch.Tensor, mask: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> PretrainOutput:
        if mask is None:
            lens = self.encoder.output_lengths(wav_lens)
            mask = self.masker.time(lens, int(lens.max()), generator)
        out = self.encoder(wav, wav_lens, mask=mask)
        # Targets: quantized *unmasked* features of the masked frames (gathered, no padding).
        quant = self.quantizer(self.dropout_features(out.features[mask]))
        return PretrainOutput(
            c=self.project_c(out.hidden[mask]),
            q=self.project_q(quant.q),
            quant=quant,
            mask=mask,
            feature_pen=out.feature_pen,
            codebooks=self.quantizer.codebooks(),
        )


def init_bert_params(module: nn.Module) -> None:
    """BERT / fairseq initialisation of the context network's linear and embedding layers."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)


def build_encoder(cfg: ModelConfig) -> Wav2Vec2Encoder:
    if cfg.arch != "wav2vec2":
        raise ValueError(f"arch {cfg.arch!r}: build it with ssltk.models.build.build_encoder")
    frontend = build_frontend(cfg.frontend)
    context = build_context(cfg.context)
    init_bert_params(context)
    if context.upsample is not None:
        # The upsampling layer feeds the heads with no LayerNorm after it: BERT's N(0, 0.02) makes
        # its output tiny at small widths (CTC then sat on the all-blank plateau for sewd-mini);
        # torch's fan-in-scaled default keeps unit-scale outputs at every width.
        context.upsample.proj.reset_parameters()
    feature_dim = cfg.frontend.output_dim
    project = cfg.feature_projection == "always" or feature_dim != cfg.context.dim
    return Wav2Vec2Encoder(frontend, context, feature_dim, cfg.context.dim, project=project,
                           feature_norm_eps=cfg.feature_norm_eps, dropout_input=cfg.dropout_input,
                           feature_grad_mult=cfg.feature_grad_mult)


def build_pretraining_model(cfg: ModelConfig) -> Wav2Vec2ForPretraining:
    q = cfg.quantizer
    encoder = build_encoder(cfg)
    quantizer = GumbelVectorQuantizer(cfg.frontend.output_dim, q.groups, q.entries, q.dim,
                                      (q.temp_start, q.temp_end, q.temp_decay))
    h = cfg.head
    return Wav2Vec2ForPretraining(
        encoder, quantizer,
        project_c=build_head(h.type, cfg.context.dim, h.dim, h.hidden),
        project_q=build_head(h.type, q.dim, h.dim, h.hidden),
        masker=Masker(cfg.masking),
        dropout_features=cfg.dropout_features,
    )


__all__ = ["Wav2Vec2Encoder", "Wav2Vec2ForPretraining", "EncoderOutput", "PretrainOutput", "Masker",
           "build_encoder", "build_pretraining_model"]
