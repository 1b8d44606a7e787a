"""Model construction by architecture: the one place that maps ModelConfig.arch to modules.

    wav2vec2: W2V2 / SEW / SEW-D (ssltk.models.wav2vec2)
    s3l:      S3LSpeech teacher-student (ssltk.models.s3l), or with s3l.pretext=units masked
              prediction of k-means units on the same encoder (ssltk.models.units)

    >>> from ssltk.models.presets import get_preset
    >>> type(build_encoder(get_preset("s3l-test"))).__name__
    'S3LEncoder'
"""
from __future__ import annotations

import torch
from torch import nn

from ssltk.frontend.augment import AugmentConfig
from ssltk.models.config import ModelConfig


def build_encoder(cfg: ModelConfig) -> nn.Module:
    """The inference encoder: waveform -> EncoderOutput (what fine-tuning and extraction use)."""
    match cfg.arch:
        case "wav2vec2":
            from ssltk.models import wav2vec2

            return wav2vec2.build_encoder(cfg)
        case "s3l":
            from ssltk.models import s3l

            return s3l.build_s3l_encoder(cfg)
        case _:
            raise ValueError(f"unknown arch {cfg.arch!r}")


def build_pretraining_model(cfg: ModelConfig, augment: AugmentConfig | None = None) -> nn.Module:
    """The model pre-training trains; `augment` is the S3L student's input augmentation (defaults
    when None; the other pre-training models take none)."""
    match cfg.arch:
        case "wav2vec2":
            from ssltk.models import wav2vec2

            return wav2vec2.build_pretraining_model(cfg)
        case "s3l" if cfg.s3l.pretext == "units":  # masks instead of a perturbed view
            from ssltk.models import units

            return units.build_unit_model(cfg)
        case "s3l":
            from ssltk.models import s3l

            return s3l.build_s3l_pretraining_model(cfg, augment)
        case _:
            raise ValueError(f"unknown arch {cfg.arch!r}")


def count_parameters(module: nn.Module) -> int:
    """Trainable-kind parameters (fixed filter-bank matrices, requires_grad=False at build, excluded)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def inference_parameters(cfg: ModelConfig) -> int:
    """Feature encoder + context network parameters (the papers' '# Param.'), no heads."""
    with torch.device("meta"):
        return count_parameters(build_encoder(cfg))
