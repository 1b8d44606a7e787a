"""Model construction by architecture: the one place that maps ModelConfig.arch to modules.

    wav2vec2: W2V2 / SEW / SEW-D (ssltk.models.wav2vec2)
    s3l:      S3LSpeech teacher-student (ssltk.models.s3l)

    >>> from ssltk.models.presets import get_preset
    >>> type(build_encoder(get_preset("s3l-test"))).__name__
    'S3LEncoder'
"""
from __future__ import annotations

import torch
from torch import nn

from ssltk.models.config import ModelConfig


def build_encoder(cfg: ModelConfig) -> nn.Module:
    """The inference encoder: waveform -> EncoderOutput (what fine-tuning and extraction use)."""
    match cfg.arch:
        case "wav2vec2":
            from ssltk.models.wav2vec2 import build_encoder as build
        case "s3l":
            from ssltk.models.s3l import build_s3l_encoder as build
        case _:
            raise ValueError(f"unknown arch {cfg.arch!r}")
    return build(cfg)


def build_pretraining_model(cfg: ModelConfig) -> nn.Module:
    match cfg.arch:
        case "wav2vec2":
            from ssltk.models.wav2vec2 import build_pretraining_model as build
        case "s3l":
            from ssltk.models.s3l import build_s3l_pretraining_model as build
        case _:
            raise ValueError(f"unknown arch {cfg.arch!r}")
    return build(cfg)


def count_parameters(module: nn.Module) -> int:
    """Trainable-kind parameters (fixed filter-bank matrices, requires_grad=False at build, excluded)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def inference_parameters(cfg: ModelConfig) -> int:
    """Feature encoder + context network parameters (the papers' '# Param.'), no heads."""
    with torch.device("meta"):
        return count_parameters(build_encoder(cfg))
