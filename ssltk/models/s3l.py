"""S3LSpeech: EMA teacher-student pre-training on filter-bank input (s3lspeech paper).

    S3LEncoder(frontend, stage1, down, stage2)     inference: waveform -> (N, T, E), 80 ms frames (40 ms with a stride-1 conv2, s3l-mini-40ms)
    S3LForPretraining(encoder, project, predictor, cfg)
        student: noisy waveform -> log-mel -> SpecAugment -> encoder -> project -> predictor
        teacher: clean waveform -> log-mel -> random shift -> EMA encoder -> EMA project (no grad)
        loss:    ssltk.objectives.teacher_student (InfoNCE, same-utterance negatives)

The encoder has the interface of Wav2Vec2Encoder (forward -> EncoderOutput,
output_lengths, mask_emb, frontend), so CTC fine-tuning, decoding, extraction and
checkpoints treat both alike. Fine-tuning masks act on the 40 ms frames after the
conv front end (`mask_lengths`).

The teacher starts as a copy of the student (momentum 0 at update 0) and is then
updated once per optimizer update, before the forward pass, as
theta_t <- m theta_t + (1 - m) theta_s with m following ema_schedule from
ema_start to ema_end. Its parameters have requires_grad=False: no gradients, no
optimizer state; they are saved in checkpoints (exact resume). It runs in eval
mode (no dropout), like data2vec's teacher.

    >>> from ssltk.models.presets import get_preset
    >>> model = build_s3l_pretraining_model(get_preset("s3l-test"))
    >>> out = model(torch.randn(2, 16000), torch.tensor([16000, 12000]))
    >>> out.pred.shape == out.target.shape, out.mask.sum(1).tolist()
    (True, [9, 6])
"""
from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass

import torch
from torch import nn

from ssltk.context.transformer import ContextNetwork, build_context
from ssltk.frontend.augment import AugmentConfig, add_noise, draw_shift, random_shift, spec_augment
from ssltk.frontend.melconv import ConvBlock, MelConvFrontend, valid_mask
from ssltk.models.config import ModelConfig, S3LConfig
from ssltk.models.wav2vec2 import EncoderOutput, init_bert_params


class S3LEncoder(nn.Module):
    """log-mel -> conv (x4) -> Transformer stage 1 -> conv (x2) -> Transformer stage 2."""

    def __init__(self, frontend: MelConvFrontend, stage1: ContextNetwork, down: ConvBlock,
                 stage2: ContextNetwork, dim: int, dropout_input: float = 0.0):
        super().__init__()
        self.frontend = frontend
        self.mask_emb = nn.Parameter(torch.empty(dim).uniform_())
        self.dropout_input = nn.Dropout(dropout_input)
        self.stage1 = stage1
        self.down = down
        self.stage2 = stage2

    @property
    def layers(self) -> list[nn.Module]:
        """The Transformer layers of both stages, input to output."""
        return [*self.stage1.layers, *self.stage2.layers]

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def mask_lengths(self, wav_lens: torch.Tensor) -> torch.Tensor:
        """Frames where fine-tuning masks apply (after the conv front end, 40 ms)."""
        return self.frontend.output_lengths(wav_lens)

    def output_lengths(self, wav_lens: torch.Tensor) -> torch.Tensor:
        return self.down.output_lengths(self.mask_lengths(wav_lens))

    def forward_mel(self, mel: torch.Tensor, mel_lens: torch.Tensor, mask: torch.Tensor | None = None,
                    channel_mask: torch.Tensor | None = None, return_layers: bool = False) -> EncoderOutput:
        feats, lens = self.frontend.encode(mel, mel_lens)
        valid = valid_mask(lens, feats.shape[1])
        feature_pen = (feats.float().square().mean(-1) * valid).sum() / valid.sum().clamp(min=1)
        x = self.dropout_input(feats)
        if mask is not None:
            x = torch.where(mask.unsqueeze(-1), self.mask_emb.to(x.dtype), x)
        if channel_mask is not None:
            x = x.masked_fill(channel_mask.unsqueeze(1), 0.0)
        h, layers1 = self.stage1(x, lens, return_layers=True)
        h, h_lens = self.down(h, lens)
        h, layers2 = self.stage2(h, h_lens, return_layers=True)
        return EncoderOutput(hidden=h, hidden_lens=h_lens, features=feats, feature_pen=feature_pen,
                             layers=layers1 + layers2 if return_layers else None)

    def forward(self, wav: torch.Tensor, wav_lens: torch.Tensor | None = None, mask: torch.Tensor | None = None,
                channel_mask: torch.Tensor | None = None, return_layers: bool = False) -> EncoderOutput:
        mel, mel_lens = self.frontend.mel(wav, wav_lens)
        return self.forward_mel(mel, mel_lens, mask, channel_mask, return_layers)


@dataclass
class S3LOutput:
    pred: torch.Tensor
    """(M, D) student predictions at the M valid output frames (row-major order of mask)."""
    target: torch.Tensor
    """(M, D) teacher projections at the same frames (no gradient)."""
    mask: torch.Tensor
    """(N, T) valid output frames."""
    feature_pen: torch.Tensor
    shift: tuple[int, int] = (0, 0)


def momentum_at(update: int, total: int, start: float, end: float, schedule: str = "cosine") -> float:
    """EMA momentum at `update`: 0 at update 0 (teacher = student), then start -> end over `total`."""
    if update == 0:
        return 0.0
    frac = min(update / max(total, 1), 1.0)
    match schedule:
        case "cosine":
            return end - (end - start) * (math.cos(math.pi * frac) + 1) / 2
        case "linear":
            return start + (end - start) * frac
        case "constant":
            return start
        case _:
            raise ValueError(f"unknown s3l.ema_schedule {schedule!r}")


@torch.no_grad()
def ema_update(teacher: nn.Module, student: nn.Module, momentum: float) -> None:
    """teacher <- momentum * teacher + (1 - momentum) * student, parameter by parameter."""
    t_params, s_params = list(teacher.parameters()), list(student.parameters())
    if len(t_params) != len(s_params):
        raise ValueError("teacher and student have different parameters")
    for t, s in zip(t_params, s_params):
        if momentum == 0.0:
            t.copy_(s)
        else:
            t.lerp_(s.detach().to(t.dtype), 1.0 - momentum)


class S3LForPretraining(nn.Module):
    """Student (encoder, project, predictor) + EMA teacher (teacher_encoder, teacher_project)."""

    def __init__(self, encoder: S3LEncoder, project: nn.Module, predictor: ConvBlock, cfg: S3LConfig,
                 augment: AugmentConfig):
        super().__init__()
        self.encoder = encoder
        self.project = project
        self.predictor = predictor
        self.teacher_encoder = copy.deepcopy(encoder)
        self.teacher_project = copy.deepcopy(project)
        for p in self.teacher_parameters():
            p.requires_grad_(False)
        self.cfg, self.augment = cfg, augment
        self.momentum = 0.0

    def teacher_parameters(self):
        yield from self.teacher_encoder.parameters()
        yield from self.teacher_project.parameters()

    def train(self, mode: bool = True):
        super().train(mode)
        self.teacher_encoder.eval()
        self.teacher_project.eval()
        return self

    def update_teacher(self, momentum: float) -> None:
        ema_update(self.teacher_encoder, self.encoder, momentum)
        ema_update(self.teacher_project, self.project, momentum)
        self.momentum = momentum

    def forward(self, wav: torch.Tensor, wav_lens: torch.Tensor, generator: torch.Generator | None = None
                ) -> S3LOutput:
        a = self.augment
        frontend = self.encoder.frontend
        clean, mel_lens = frontend.mel(wav, wav_lens)
        if self.training:
            noisy = add_noise(wav, wav_lens, a.noise_prob, tuple(a.snr_db), tuple(a.noise_slope), generator)
            student_in, _ = frontend.mel(noisy, wav_lens) if a.noise_prob > 0 else (clean, mel_lens)
            student_in = spec_augment(student_in, mel_lens, a.freq_masks, a.freq_width, a.time_mask_ratio,
                                      a.max_time_masks, a.time_width, a.mask_std, generator)
        else:
            student_in = clean
        st = self.encoder.forward_mel(student_in, mel_lens)
        pred, _ = self.predictor(self.project(st.hidden), st.hidden_lens)
        t = st.hidden.shape[1]
        left = right = 0
        if self.training and a.shift_max > 0 and t > 0:
            left, right = draw_shift(int(st.hidden_lens.min()), a.shift_max, a.shift_max_ratio, generator)
        shifted, shifted_lens = random_shift(clean, mel_lens, left * self.cfg.stride, right * self.cfg.stride)
        with torch.no_grad():
            te = self.teacher_encoder.forward_mel(shifted, shifted_lens)
            target = self.teacher_project(te.hidden)[:, left:left + t]
        if not torch.equal(te.hidden_lens, st.hidden_lens + left + right):
            raise RuntimeError("teacher and student frames are misaligned; s3l conv strides must be exact")
        mask = valid_mask(st.hidden_lens, t)
        return S3LOutput(pred=pred[mask], target=target[mask].to(pred.dtype), mask=mask,
                         feature_pen=st.feature_pen, shift=(left, right))


def build_s3l_encoder(cfg: ModelConfig) -> S3LEncoder:
    s = cfg.s3l
    frontend = MelConvFrontend(s.n_mels, s.conv1, s.frame_length_ms)
    stage_cfgs = [dataclasses.replace(cfg.context, layers=n) for n in s.stage_layers]
    stages = [build_context(sc) for sc in stage_cfgs]
    for stage in stages:
        init_bert_params(stage)
    down = ConvBlock(cfg.context.dim, s.conv2)
    return S3LEncoder(frontend, stages[0], down, stages[1], cfg.context.dim, cfg.dropout_input)


def build_s3l_pretraining_model(cfg: ModelConfig, augment: AugmentConfig | None = None) -> S3LForPretraining:
    s = cfg.s3l
    encoder = build_s3l_encoder(cfg)
    return S3LForPretraining(encoder, nn.Linear(cfg.context.dim, s.proj_dim),
                             ConvBlock(s.proj_dim, s.predictor, same=True), s, augment or AugmentConfig())


__all__ = ["S3LEncoder", "S3LForPretraining", "S3LOutput", "momentum_at", "ema_update", "build_s3l_encoder",
           "build_s3l_pretraining_model"]
