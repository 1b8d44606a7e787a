"""Masked unit prediction on the S3L encoder (HuBERT's first iteration; s3l.pretext: units).

    UnitPredictionModel(encoder, codebook, head, masking)
      clean log-mel -> codebook (fixed k-means over MFCCs) -> one unit per 10 ms frame (targets)
      log-mel -> conv (x4, 40 ms) -> span masks (mask_emb) -> stage 1 -> conv (x2, 80 ms) -> stage 2
              -> head Linear(E, P * K): logits of the P = 8 units under each 80 ms frame
      loss:    ssltk.objectives.masked_prediction (cross-entropy on frames fed by masked input)

HuBERT predicts one unit per 20 ms frame; the S3L encoder's frames are 80 ms, so each
frame predicts the units of the 8 10-ms frames at the centre of its receptive field,
one classifier per position. That asks the frame to say what happens inside it and in
which order: what CTC needs from it after upsampling to 20 ms. The encoder is the S3L
encoder unchanged (`encoder.*` in checkpoints), so CTC fine-tuning, decoding and
extraction take it as they take a teacher-student one.

    >>> from ssltk.models.presets import get_preset
    >>> cfg = get_preset("s3l-test", ["s3l.pretext=units", "units.count=4"])
    >>> model = build_unit_model(cfg)
    >>> _ = model.codebook.fit(torch.randn(100, model.codebook.mean.shape[0]))
    >>> out = model(torch.randn(2, 16000), torch.tensor([16000, 12000]))
    >>> out.logits.shape[2:], out.units.shape == out.logits.shape[:3]
    (torch.Size([8, 4]), True)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from ssltk.frontend.config import ConvLayerSpec
from ssltk.frontend.conv import conv_output_lengths
from ssltk.frontend.melconv import valid_mask
from ssltk.models.config import ModelConfig
from ssltk.models.s3l import S3LEncoder, build_s3l_encoder
from ssltk.targets.config import MaskingConfig
from ssltk.targets.masking import span_mask
from ssltk.targets.units import UnitCodebook


def receptive_field(specs: Sequence[ConvLayerSpec]) -> tuple[int, int, int]:
    """(receptive field, stride, offset) of unpadded convs: output frame t reads input frames
    [stride t, stride t + field); the `stride` frames at its centre start at stride t + offset."""
    field, stride = 1, 1
    for spec in specs:
        field += (spec.kernel - 1) * stride
        stride *= spec.stride
    return field, stride, (field - stride) // 2


def centre_frames(out_len: int, in_lens: torch.Tensor, specs: Sequence[ConvLayerSpec]) -> torch.Tensor:
    """(N, out_len, stride) indices of the input frames at the centre of each output frame,
    clamped to each utterance's last valid input frame."""
    _, stride, offset = receptive_field(specs)
    t = torch.arange(out_len, device=in_lens.device)[:, None] * stride + offset
    idx = t + torch.arange(stride, device=in_lens.device)[None, :]
    return torch.minimum(idx[None], (in_lens - 1).clamp(min=0)[:, None, None])


@dataclass
class UnitOutput:
    logits: torch.Tensor
    """(N, T, P, K) unit logits, P positions per encoder frame."""
    units: torch.Tensor
    """(N, T, P) target unit ids (-1 where the frame is padding)."""
    masked: torch.Tensor
    """(N, T) valid frames fed by masked input (the loss frames)."""
    valid: torch.Tensor
    """(N, T) valid frames."""
    feature_pen: torch.Tensor


class UnitPredictionModel(nn.Module):
    def __init__(self, encoder: S3LEncoder, codebook: UnitCodebook, masking: MaskingConfig):
        super().__init__()
        self.encoder = encoder
        self.codebook = codebook
        self.masking = masking
        self.in_specs = list(encoder.frontend.conv.specs)  # mel -> masked (40 ms) frames
        self.down_specs = list(encoder.down.specs)  # 40 ms -> output (80 ms) frames
        self.positions = receptive_field(self.in_specs + self.down_specs)[1]
        dim = encoder.mask_emb.shape[0]
        self.head = nn.Linear(dim, self.positions * codebook.num_units)

    def forward(self, wav: torch.Tensor, wav_lens: torch.Tensor, generator: torch.Generator | None = None
                ) -> UnitOutput:
        m = self.masking
        mel, mel_lens = self.encoder.frontend.mel(wav, wav_lens)
        units = self.codebook(mel, mel_lens)  # (N, T_mel)
        lens40 = conv_output_lengths(mel_lens, self.in_specs)
        t40 = int(conv_output_lengths(torch.tensor([mel.shape[1]]), self.in_specs)[0])
        mask40 = span_mask(lens40, t40, m.prob, m.length, m.min_masks, generator)
        out = self.encoder.forward_mel(mel, mel_lens, mask=mask40)
        n, t, _ = out.hidden.shape
        logits = self.head(out.hidden).view(n, t, self.positions, self.codebook.num_units)
        targets = units.gather(1, centre_frames(t, mel_lens, self.in_specs + self.down_specs).view(n, -1))
        valid = valid_mask(out.hidden_lens, t)
        fed = mask40.gather(1, centre_frames(t, lens40, self.down_specs).view(n, -1)).view(n, t, -1).any(-1)
        return UnitOutput(logits=logits, units=targets.view(n, t, -1).masked_fill(~valid[..., None], -1),
                          masked=fed & valid, valid=valid, feature_pen=out.feature_pen)


def build_unit_model(cfg: ModelConfig) -> UnitPredictionModel:
    encoder = build_s3l_encoder(cfg)
    u = cfg.units
    return UnitPredictionModel(encoder, UnitCodebook(cfg.s3l.n_mels, u.count, u.ceps, u.delta_order), cfg.masking)


__all__ = ["UnitPredictionModel", "UnitOutput", "build_unit_model", "receptive_field", "centre_frames"]
