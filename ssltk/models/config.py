"""Model configuration, one dataclass per architecture (Wav2Vec2Config, S3LModelConfig; ModelConfig
is their union) composing the parts' configs, which live beside the parts (frontend/config.py,
context/config.py, targets/config.py, objectives/config.py).

Names follow the papers (feature encoder, context network, quantizer, squeeze
factor). The mapping to fairseq / transformers names lives in
`ssltk.models.hf` (conversion) and is stated once per field below.

    >>> from ssltk.models.presets import get_preset
    >>> cfg = get_preset("sewd-mid")
    >>> cfg.context.squeeze, cfg.frontend.describe()
    (2, 'WFE-C-c64-l1')
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from ssltk.context.config import ContextConfig
from ssltk.frontend.config import WFE_C_MULTIPLIERS, WFE_KERNELS, WFE_STRIDES, ConvLayerSpec, FrontendConfig
from ssltk.objectives.config import HeadConfig, ObjectiveConfig
from ssltk.targets.config import MaskingConfig, QuantizerConfig

__all__ = ["ModelConfig", "Wav2Vec2Config", "S3LModelConfig", "ARCHS", "S3LConfig", "UnitsConfig",
           "FrontendConfig", "ConvLayerSpec", "ContextConfig", "QuantizerConfig", "MaskingConfig", "HeadConfig",
           "ObjectiveConfig", "WFE_KERNELS", "WFE_STRIDES", "WFE_C_MULTIPLIERS"]

ConvSpec = tuple[int, int, int]
"""(output channels, kernel, stride) of one Conv1d + LayerNorm + GELU layer."""


@dataclass
class S3LConfig:
    """S3LSpeech teacher-student model (arch: s3l; s3lspeech paper, its public code). The student's
    input augmentation is training-time data processing, not the model: frontend.augment.AugmentConfig.

    Input: 128-bin log-mel (20 ms window, 10 ms hop, per-utterance mean/variance
    normalised) -> conv block (x4 downsampling, 40 ms) -> context stage 1 -> conv block
    (x2, 80 ms) -> context stage 2 -> Linear(E, proj_dim). The student adds a conv
    predictor; the teacher is an EMA of the student's encoder and projection. The
    context stages use ModelConfig.context (dim, heads, ffn, conv positions) with
    `stage_layers` blocks each; their sum must equal context.layers.
    """

    n_mels: int = 128
    """Log-mel filter bank bins."""
    frame_length_ms: float = 20.0
    """Filter bank window (10 ms hop)."""
    conv1: tuple[ConvSpec, ...] = ((384, 5, 2), (512, 5, 2), (512, 1, 1))
    """[channels, kernel, stride] of the conv block before context stage 1 (x4: 40 ms)."""
    conv2: tuple[ConvSpec, ...] = ((1536, 5, 2), (512, 1, 1))
    """[channels, kernel, stride] of the conv block between the stages (x2: 80 ms)."""
    stage_layers: tuple[int, ...] = (2, 2)
    """Transformer blocks [before conv2, after conv2]; they sum to context.layers."""
    proj_dim: int = 256
    """Projection head output (student and teacher), the space of the contrastive loss."""
    predictor: tuple[ConvSpec, ...] = ((256, 5, 1), (256, 5, 1), (256, 1, 1))
    """Student-only predictor: 'same'-padded convs over the projected frames (stride 1)."""
    ema_start: float = 0.995
    """Teacher momentum at the first update."""
    ema_end: float = 1.0
    """Teacher momentum at the end of ema_updates."""
    ema_schedule: Literal["cosine", "linear", "constant"] = "cosine"
    """How the momentum goes from ema_start to ema_end."""
    ema_updates: int = 0
    """Updates over which the momentum goes from ema_start to ema_end; 0: train.max_updates."""
    ctc_upsample: int = 4
    """Fine-tuning: CTC frames per encoder frame (80 ms -> 20 ms, the W2V2 rate; S3LSpeech upsamples by 8)."""
    temperature: float = 0.5
    """InfoNCE temperature of the cosine logits between student predictions and teacher targets."""
    num_negatives: int = 100
    """Distractors per frame, drawn from the same utterance's frames."""
    pretext: Literal["teacher_student", "units"] = "teacher_student"
    """Pre-training task on this encoder. teacher_student: S3LSpeech (everything above); units:
    HuBERT-style masked prediction of k-means units of MFCCs (ModelConfig.units, .masking)."""

    def __post_init__(self):
        for name in ("conv1", "conv2", "predictor"):
            specs = getattr(self, name)
            if not specs or any(len(s) != 3 or min(s) < 1 for s in specs):
                raise ValueError(f"s3l.{name} must be a non-empty list of [channels, kernel, stride] >= 1")
        if self.predictor[-1][0] != self.proj_dim:
            raise ValueError("the last channels of s3l.predictor must equal s3l.proj_dim")
        if len(self.stage_layers) != 2 or min(self.stage_layers) < 1:
            raise ValueError("s3l.stage_layers is [layers before conv2, layers after conv2]")
        if any(s[2] != 1 for s in self.predictor):
            raise ValueError("s3l.predictor layers must have stride 1 (it maps frames to frames)")
        if not (0 <= self.ema_start <= self.ema_end <= 1):
            raise ValueError("s3l.ema_start <= s3l.ema_end must lie in [0, 1]")
        if self.ctc_upsample < 1:
            raise ValueError("s3l.ctc_upsample must be >= 1")

    @property
    def stride1(self) -> int:
        return math.prod(s[2] for s in self.conv1)

    @property
    def stride(self) -> int:
        """Filter-bank frames per encoder output frame."""
        return self.stride1 * math.prod(s[2] for s in self.conv2)


@dataclass
class UnitsConfig:
    """Masked prediction of acoustic units (s3l.pretext: units; HuBERT's first iteration).

    Targets: k-means over standardised MFCCs (+ deltas) of 10 ms frames, fitted before
    pre-training on `fit_seconds` of training audio. Each encoder frame predicts the units
    of the `stride` 10 ms frames at the centre of its receptive field (one classifier per
    position); masks (ModelConfig.masking) act on the 40 ms frames after the conv front end.
    """

    count: int = 100
    """K, the number of units (HuBERT: 100 for MFCC targets)."""
    ceps: int = 13
    """MFCC coefficients per 10 ms frame."""
    delta_order: int = 2
    """MFCC dimension = ceps * (delta_order + 1) (39 as in HuBERT)."""
    fit_seconds: float = 1800.0
    """Training audio the k-means codebook is fitted on (a seeded random subset of cuts)."""
    fit_iters: int = 50
    """Lloyd iterations of the k-means fit."""
    unmasked_weight: float = 0.0
    """Weight of the loss on unmasked frames (HuBERT: 0, masked frames only)."""

    def __post_init__(self):
        if self.count < 2 or self.ceps < 1 or self.delta_order < 0 or self.fit_iters < 1:
            raise ValueError("units.count >= 2, units.ceps >= 1, units.delta_order >= 0, units.fit_iters >= 1")
        if self.fit_seconds <= 0 or self.unmasked_weight < 0:
            raise ValueError("units.fit_seconds must be > 0 and units.unmasked_weight >= 0")


@dataclass
class Wav2Vec2Config:
    """A wav2vec 2.0-family model (W2V2, SEW, SEW-D): feature encoder, context network, quantizer
    targets, projection heads and the contrastive objective."""

    arch: Literal["wav2vec2"] = "wav2vec2"
    """The architecture (the key that picks this config class in checkpoints and presets)."""
    frontend: FrontendConfig = field(default_factory=FrontendConfig)
    """Feature encoder."""
    context: ContextConfig = field(default_factory=ContextConfig)
    """Context network."""
    quantizer: QuantizerConfig = field(default_factory=QuantizerConfig)
    """Gumbel product quantizer of the targets."""
    masking: MaskingConfig = field(default_factory=MaskingConfig)
    """Span masks in pre-training (and as a fine-tuning regulariser)."""
    head: HeadConfig = field(default_factory=HeadConfig)
    """Projection heads p_c and p_q."""
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    """Loss weights, negatives and temperature (batch-size paper eq. 1)."""
    feature_projection: Literal["always", "auto"] = "always"
    """always: Linear(C, E) after the feature LayerNorm (W2V2); auto: only when C != E (SEW)."""
    feature_norm_eps: float = 1e-5
    """Epsilon of the LayerNorm over the feature encoder's output."""
    dropout_input: float = 0.1
    """Dropout on projected features before masking (transformers feat_proj_dropout)."""
    dropout_features: float = 0.1
    """Dropout on the quantizer's input (transformers feat_quantizer_dropout)."""
    feature_grad_mult: float = 0.1
    """Gradient scale of the feature encoder (0 freezes it)."""


@dataclass
class S3LModelConfig:
    """An S3LSpeech model (filter banks, conv blocks, two context stages, EMA teacher targets), or
    with s3l.pretext=units masked prediction of k-means units on the same encoder. Defaults: the
    S3LSpeech base model."""

    arch: Literal["s3l"] = "s3l"
    """The architecture (the key that picks this config class in checkpoints and presets)."""
    s3l: S3LConfig = field(default_factory=S3LConfig)
    """Filter bank, conv blocks, stages, projection, predictor, EMA teacher, loss."""
    units: UnitsConfig = field(default_factory=UnitsConfig)
    """Masked unit prediction targets (s3l.pretext: units)."""
    context: ContextConfig = field(default_factory=lambda: ContextConfig(dim=512, layers=4, layerdrop=0.0))
    """The Transformer blocks of both stages (E512, 8 heads, FFN 2048 in S3LSpeech)."""
    masking: MaskingConfig = field(default_factory=MaskingConfig)
    """Span masks (units pretext; a fine-tuning regulariser)."""
    dropout_input: float = 0.0
    """Dropout on the conv front end's output."""

    def __post_init__(self):
        if sum(self.s3l.stage_layers) != self.context.layers:
            raise ValueError(f"s3l.stage_layers {list(self.s3l.stage_layers)} must sum to context.layers="
                             f"{self.context.layers}")
        if self.s3l.conv1[-1][0] != self.context.dim or self.s3l.conv2[-1][0] != self.context.dim:
            raise ValueError("the last channels of s3l.conv1 and s3l.conv2 must equal context.dim")


ModelConfig = Wav2Vec2Config | S3LModelConfig
"""Any model's config; `arch` says which."""
ARCHS: dict[str, type] = {"wav2vec2": Wav2Vec2Config, "s3l": S3LModelConfig}
"""arch -> its config class."""
