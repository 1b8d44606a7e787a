"""CTC fine-tuning model: a pre-trained encoder plus a linear output layer (wav2vec 2.0 §4).

The quantizer and projection heads of pre-training are dropped. Masking of frames
and channels regularises fine-tuning; the feature encoder stays frozen and the
context network can be frozen for the first updates (the task sets `freeze_encoder`).
Encoders with coarse frames (S3LSpeech: 80 ms) get an upsampling layer before the
output layer (`upsample` CTC frames per encoder frame; ctc_upsample(cfg)), so letter
CTC has enough frames. An optional second output layer (`aux_vocab_size`) reads the same
encoder for another token set, e.g. phones beside letters (multi-task CTC: letters give greedy
words, phones feed a phone-lexicon WFST); `forward(..., head="ctc_aux")` returns its logits.

    >>> from ssltk.models.presets import get_preset
    >>> model = CTCModel(build_encoder(get_preset("sewd-test")), vocab_size=30)
    >>> logits, lens = model(torch.randn(2, 8000), torch.tensor([8000, 6000]))
    >>> logits.shape, lens.tolist()
    (torch.Size([2, 24, 30]), [24, 18])
"""
from __future__ import annotations

import contextlib

import torch
from torch import nn

from ssltk.context.transformer import Upsample
from ssltk.models.build import build_encoder
from ssltk.models.config import ModelConfig
from ssltk.models.wav2vec2 import Masker, Wav2Vec2Encoder


def ctc_upsample(cfg: ModelConfig) -> int:
    """CTC output frames per encoder frame for this architecture."""
    return cfg.s3l.ctc_upsample if cfg.arch == "s3l" else 1


class CTCModel(nn.Module):
    def __init__(self, encoder: Wav2Vec2Encoder, vocab_size: int, masker: Masker | None = None,
                 final_dropout: float = 0.0, freeze_feature_encoder: bool = True, upsample: int = 1,
                 aux_vocab_size: int = 0):
        super().__init__()
        self.encoder = encoder
        self.masker = masker
        self.dropout = nn.Dropout(final_dropout)
        dim = encoder.mask_emb.shape[0]
        self.upsample = Upsample(dim, upsample) if upsample > 1 else None
        self.ctc = nn.Linear(dim, vocab_size)
        nn.init.xavier_uniform_(self.ctc.weight)
        nn.init.zeros_(self.ctc.bias)
        self.ctc_aux = nn.Linear(dim, aux_vocab_size) if aux_vocab_size else None
        if self.ctc_aux is not None:
            nn.init.xavier_uniform_(self.ctc_aux.weight)
            nn.init.zeros_(self.ctc_aux.bias)
        self.freeze_encoder = False
        if freeze_feature_encoder:  # frozen throughout (fairseq feature_grad_mult 0)
            for p in encoder.frontend.parameters():
                p.requires_grad_(False)

    def forward(self, wav: torch.Tensor, wav_lens: torch.Tensor, head: str = "ctc"):
        """wav: (N, S); returns logits (N, T, V) of output layer `head` and frame lengths (N,); head "ctc",
        "ctc_aux" or "both" (returns ((ctc logits, ctc_aux logits), lengths): one encoder pass, two losses)."""
        mask = cmask = None
        if self.training and self.masker is not None:
            lens = self.encoder.mask_lengths(wav_lens)
            t = int(lens.max())
            if self.masker.cfg.prob > 0:
                mask = self.masker.time(lens, t)
            cmask = self.masker.channels(wav.shape[0], self.ctc.in_features, wav.device)
        frozen = self.freeze_encoder and self.training
        with torch.no_grad() if frozen else contextlib.nullcontext():
            out = self.encoder(wav, wav_lens, mask=mask, channel_mask=cmask)
        hidden, lens = out.hidden, out.hidden_lens
        if self.upsample is not None:
            hidden, lens = self.upsample(hidden), lens * self.upsample.factor
        hidden = self.dropout(hidden)
        if head == "ctc":
            return self.ctc(hidden), lens
        if self.ctc_aux is None:
            raise ValueError("this CTC model has no auxiliary output layer (finetune.aux_lang_dir)")
        if head not in ("ctc_aux", "both"):
            raise ValueError(f"head must be ctc, ctc_aux or both, not {head!r}")
        return ((self.ctc(hidden), self.ctc_aux(hidden)) if head == "both" else self.ctc_aux(hidden)), lens


def load_ctc_model(path, device="cpu", head: str = "ctc") -> tuple[CTCModel, list[str] | None]:
    """(CTCModel in eval mode whose output layer is the checkpoint's `head` ("ctc", or "ctc_aux": the
    auxiliary one), its token symbols if the checkpoint carries them) from a fine-tuned ssltk
    checkpoint or a transformers *ForCTC import. head "both" keeps both layers as they were trained
    (`model(..., head="both")` then gives both from one encoder pass) and returns the "ctc" tokens."""
    from ssltk.models.checkpoint import CheckpointError, load_checkpoint, sub_state

    if head not in ("ctc", "ctc_aux", "both"):
        raise ValueError(f"head must be ctc, ctc_aux or both, not {head!r}")
    ckpt = load_checkpoint(path)
    for layer in ("ctc", "ctc_aux") if head == "both" else (head,):
        if f"{layer}.weight" not in ckpt["model"]:
            what = "auxiliary CTC output layer (finetune.aux_lang_dir)" if layer == "ctc_aux" else "CTC output layer"
            raise CheckpointError(f"{path} has no {what}; fine-tune it first (python -m ssltk.bin.finetune)")
    cfg, state = ckpt["config"], ckpt["model"]
    first = "ctc_aux" if head == "ctc_aux" else "ctc"
    model = CTCModel(build_encoder(cfg), int(state[f"{first}.weight"].shape[0]), upsample=ctc_upsample(cfg),
                     aux_vocab_size=int(state["ctc_aux.weight"].shape[0]) if head == "both" else 0)
    model.encoder.load_state_dict(sub_state(state, "encoder."))
    model.ctc.load_state_dict(sub_state(state, f"{first}."))
    if head == "both":
        model.ctc_aux.load_state_dict(sub_state(state, "ctc_aux."))
    if model.upsample is not None:
        model.upsample.load_state_dict(sub_state(state, "upsample."))
    return model.to(device).eval(), ckpt.get("aux_tokens" if head == "ctc_aux" else "tokens")
