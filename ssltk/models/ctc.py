"""CTC fine-tuning model: a pre-trained encoder plus a linear output layer (wav2vec 2.0 §4).

The quantizer and projection heads of pre-training are dropped. Masking of frames
and channels regularises fine-tuning; the feature encoder stays frozen and the
context network can be frozen for the first updates (the task sets `freeze_encoder`).
Encoders with coarse frames (S3LSpeech: 80 ms) get an upsampling layer before the
output layer (`upsample` CTC frames per encoder frame; ctc_upsample(cfg)), so letter
CTC has enough frames. An optional second output layer (`aux_vocab_size`) reads the same
encoder for another token set, e.g. phones beside letters (multi-task CTC: letters give greedy
words, phones feed a phone-lexicon WFST); `forward(..., head="ctc_aux")` returns its logits.
With `aux_layer` k the auxiliary layer reads Transformer block k instead of the top (intermediate
CTC, Lee & Watanabe, arXiv:2102.03216). With `condition_layer` c the auxiliary layer (the same weights)
also reads block c and the blocks above c read its predictions: block c's output plus a linear map of
its posteriors (self-conditioned CTC, Nozaki & Komatsu, arXiv:2104.02724), so the letters on top are
predicted knowing the phones below; a readout of c other than the decoded one adds its CTC loss
(`head="all"`). A squeezed context network (SEW) runs its blocks at 1/s of the frame rate; logits of a
block are repeated s times to the output frames.

    >>> from ssltk.models.presets import get_preset
    >>> model = CTCModel(build_encoder(get_preset("sewd-test")), vocab_size=30)
    >>> logits, lens = model(torch.randn(2, 8000), torch.tensor([8000, 6000]))
    >>> logits.shape, lens.tolist()
    (torch.Size([2, 24, 30]), [24, 18])
"""
from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
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
                 aux_vocab_size: int = 0, aux_layer: int = 0, condition_layer: int = 0):
        super().__init__()
        for name, k in (("aux_layer", aux_layer), ("condition_layer", condition_layer)):
            if k and not aux_vocab_size:
                raise ValueError(f"{name} needs an auxiliary output layer (aux_vocab_size)")
            if k and not (isinstance(encoder, Wav2Vec2Encoder) and 1 <= k < encoder.num_layers):
                top = encoder.num_layers if isinstance(encoder, Wav2Vec2Encoder) else None
                raise ValueError(f"{name}={k}: the auxiliary layer reads a block below the top of a wav2vec 2.0 "
                                 f"family context network, 1 .. {top - 1 if top else '(none for this encoder)'} "
                                 "(0: the top)")
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
        self.aux_layer, self.condition_layer = aux_layer, condition_layer
        self.aux_cond = nn.Linear(aux_vocab_size, dim) if condition_layer else None
        self.freeze_encoder = False
        if freeze_feature_encoder:  # frozen throughout (fairseq feature_grad_mult 0)
            for p in encoder.frontend.parameters():
                p.requires_grad_(False)

    def forward(self, wav: torch.Tensor, wav_lens: torch.Tensor, head: str = "ctc"):
        """wav: (N, S); returns logits (N, T, V) of output layer `head` and frame lengths (N,); head "ctc",
        "ctc_aux" or "both" (returns ((ctc logits, ctc_aux logits), lengths): one encoder pass, two losses);
        "all": ((ctc logits, [ctc_aux logits of each block it reads, the decoded one first]), lengths)."""
        mask = cmask = None
        if self.training and self.masker is not None:
            lens = self.encoder.mask_lengths(wav_lens)
            t = int(lens.max())
            if self.masker.cfg.prob > 0:
                mask = self.masker.time(lens, t)
            cmask = self.masker.channels(wav.shape[0], self.ctc.in_features, wav.device)
        if head not in ("ctc", "ctc_aux", "both", "all"):
            raise ValueError(f"head must be ctc, ctc_aux, both or all, not {head!r}")
        if head != "ctc" and self.ctc_aux is None:
            raise ValueError("this CTC model has no auxiliary output layer (finetune.aux_lang_dir)")
        frozen = self.freeze_encoder and self.training
        inner = {}
        reads = {self.aux_layer, self.condition_layer} - {0}
        hook = {"after_layer": self._aux_hook(reads, inner, frozen)} if reads else {}  # wav2vec 2.0 family only
        with torch.no_grad() if frozen else contextlib.nullcontext():
            out = self.encoder(wav, wav_lens, mask=mask, channel_mask=cmask, **hook)
        hidden, lens = out.hidden, out.hidden_lens
        if self.upsample is not None:
            hidden, lens = self.upsample(hidden), lens * self.upsample.factor
        hidden = self.dropout(hidden)
        if head == "ctc":
            return self.ctc(hidden), lens
        t = hidden.shape[1]
        aux = self._to_output_rate(inner[self.aux_layer], t) if self.aux_layer else self.ctc_aux(hidden)
        if head == "all":
            others = [self._to_output_rate(inner[k], t) for k in sorted(reads - {self.aux_layer})]
            return (self.ctc(hidden), [aux, *others]), lens
        return ((self.ctc(hidden), aux) if head == "both" else aux), lens

    def _aux_hook(self, reads: set[int], inner: dict, frozen: bool):
        """ContextNetwork's after_layer: the output of each block in `reads` -> auxiliary logits (kept in
        `inner` by block), and after condition_layer the output plus a linear map of their posteriors."""
        def after_layer(i: int, h: torch.Tensor) -> torch.Tensor:
            if i not in reads:
                return h
            with torch.enable_grad() if frozen else contextlib.nullcontext():  # output layers train under a freeze
                inner[i] = self.ctc_aux(self.dropout(h))
            return h + self.aux_cond(inner[i].softmax(-1).to(h.dtype)) if i == self.condition_layer else h
        return after_layer

    def _to_output_rate(self, logits: torch.Tensor, t: int) -> torch.Tensor:
        """Logits of a block at the squeezed rate (N, T', V) -> (N, t, V): each repeated s times, zero-padded;
        frames past the output lengths (s * floor(T_i / s)) are padding either way."""
        s = self.encoder.context.squeeze
        logits = logits.repeat_interleave(s, dim=1) if s > 1 else logits
        return F.pad(logits, (0, 0, 0, t - logits.shape[1])) if logits.shape[1] < t else logits[:, :t]


def load_ctc_model(path, device="cpu", head: str = "ctc") -> tuple[CTCModel, list[str] | None]:
    """(CTCModel in eval mode with the checkpoint's output layer `head` ("ctc", or "ctc_aux": the auxiliary
    one; call it with `model(..., head=head)`), the token symbols of that layer if the checkpoint carries
    them) from a fine-tuned ssltk checkpoint or a transformers *ForCTC import. head "both" keeps both
    layers (`model(..., head="both")` gives both from one encoder pass) and returns the "ctc" tokens. The
    main layer is always there; the auxiliary one too when the main layer reads its predictions
    (intermediate, self-conditioned CTC)."""
    from ssltk.models.checkpoint import CheckpointError, load_checkpoint

    if head not in ("ctc", "ctc_aux", "both"):
        raise ValueError(f"head must be ctc, ctc_aux or both, not {head!r}")
    ckpt = load_checkpoint(path)
    cfg, state = ckpt["config"], ckpt["model"]
    meta = ckpt.get("ctc") or {}
    aux_layer, condition_layer = int(meta.get("aux_layer", 0)), int(meta.get("condition_layer", 0))
    layers = ("ctc", "ctc_aux") if head != "ctc" or condition_layer else ("ctc",)
    for layer in layers:
        if f"{layer}.weight" not in state:
            what = "auxiliary CTC output layer (finetune.aux_lang_dir)" if layer == "ctc_aux" else "CTC output layer"
            raise CheckpointError(f"{path} has no {what}; fine-tune it first (python -m ssltk.bin.finetune)")
    model = CTCModel(build_encoder(cfg), int(state["ctc.weight"].shape[0]), upsample=ctc_upsample(cfg),
                     aux_vocab_size=int(state["ctc_aux.weight"].shape[0]) if "ctc_aux" in layers else 0,
                     aux_layer=aux_layer if "ctc_aux" in layers else 0, condition_layer=condition_layer)
    model.load_state_dict({k: v for k, v in state.items() if k.split(".", 1)[0] in model._modules})
    return model.to(device).eval(), ckpt.get("aux_tokens" if head == "ctc_aux" else "tokens")
