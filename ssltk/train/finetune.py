"""CTC fine-tuning of a pre-trained encoder (wav2vec 2.0 §4; SEW-D paper §4.1).

    cfg = load_finetune_config("conf/finetune.yaml", ["finetune.lang_dir=data/lang_char"])
    finetune(cfg, "exp/finetune", init="exp/pretrain/checkpoints/checkpoint-00100000.pt")

Same loop as pre-training (ssltk.train.loop): duration batches, accumulation,
bf16, DDP, exact resume, atomic checkpoints. The task: frames and channels
masked as a regulariser, feature encoder frozen, context network frozen for the
first `finetune.freeze_updates`, CTC summed over utterances and normalised by
their number (fairseq sentence_avg), validation WER by greedy decoding selects
best.pt. Defaults follow fairseq's base_100h / base_10h.
"""
from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ssltk.config import ConfigError, UnknownKeyError, apply_overrides, deep_merge, load_yaml, merge, to_dict
from ssltk.data.config import DataConfig
from ssltk.data.dataset import SupervisedBatchDataset, load_cuts, pretrain_loader
from ssltk.data.tokens import load_tokenizer
from ssltk.models.checkpoint import load_checkpoint, sub_state
from ssltk.models.config import ARCHS, ModelConfig
from ssltk.models.ctc import CTCModel, ctc_upsample
from ssltk.models.presets import get_preset
from ssltk.models.build import build_encoder
from ssltk.models.wav2vec2 import Masker
from ssltk.models.precision import autocast
from ssltk.objectives.ctc import ctc_loss, greedy_decode, partial_ctc_loss
from ssltk.train.config import OptimConfig, ScheduleConfig, TrainConfig
from ssltk.train.loop import TrainingError, run_training, training_run, write_resolved_config
from ssltk.train.schedules import WARMUP_KEYS, warmup_updates
from ssltk.train.metrics import Averager, error_counts

log = logging.getLogger("ssltk.train")

BLANK_PHASE_EMPTY = 90.0
"""% of dev cuts decoded to nothing at the end of fine-tuning above which the run is reported as stuck in
CTC's blank-only phase (all blanks: WER 100 % by deletions)."""


BEST_METRICS = ("wer", "aux_error_rate")
"""Dev metrics best.pt can follow (FinetuneSettings.best_metric)."""

# fairseq base_100h: what fine-tuning changes in the pre-trained model (masks and dropout as regularisers)
FINETUNE_MODEL_CHANGES = {
    "masking": {"prob": 0.65, "length": 10, "channel_prob": 0.5, "channel_length": 64},
    "context": {"layerdrop": 0.1, "dropout": 0.0, "attention_dropout": 0.0, "activation_dropout": 0.1},
    "dropout_input": 0.0,
}


@dataclass
class FinetuneSettings:
    """How fine-tuning trains: tokens, freezing, re-initialised layers, learning-rate split."""

    lang_dir: str = ""
    """tokens.txt (letters), tokens.txt + bpe.model, or a lexicon's units (python -m ssltk.bin.prepare_lang)."""
    aux_lang_dir: str = ""
    """A second token set (e.g. a phone lang dir beside letters) with its own CTC output layer on the
    same encoder, trained jointly (multi-task CTC); validation and best.pt follow lang_dir's layer,
    decoding with this lang dir reads the auxiliary layer."""
    aux_weight: float = 1.0
    """Weight of the auxiliary CTC loss (loss = CTC(lang_dir) + aux_weight * CTC(aux_lang_dir))."""
    aux_layer: int = 0
    """Transformer block (1 .. layers - 1) whose output the auxiliary layer reads for decoding (intermediate
    CTC); 0: the top, beside the main layer. wav2vec 2.0-family models only."""
    condition_layer: int = 0
    """Block (1 .. layers - 1) after which the blocks above read the auxiliary layer's posteriors
    (self-conditioned CTC: the block's output + Linear(posteriors)), so lang_dir's tokens are predicted
    knowing aux_lang_dir's; where it is not aux_layer, its CTC loss joins the auxiliary one (their mean)."""
    freeze_feature_encoder: bool = True
    """Keep the feature encoder fixed (fairseq feature_grad_mult 0); false for from-scratch training."""
    freeze_updates: int = 0
    """Context network frozen (only the output layer trains) for this many updates (base_10h: 10000)."""
    reinit_layers: int = 0
    """Start the top N Transformer layers from a fresh initialisation instead of the pre-trained
    weights (the top layers specialise in the pretext task; Pasad et al. 2021 re-initialise them)."""
    encoder_lr_scale: float = 1.0
    """Pre-trained encoder weights train at this fraction of the LR, the new CTC layer (and layers
    from reinit_layers) at the full LR: a smaller step for what pre-training already learnt
    (SpeechBrain's separate wav2vec2 LR). Only with a checkpoint; a from-scratch model trains
    at one LR throughout."""
    final_dropout: float = 0.0
    """Dropout before the CTC output layer (fairseq final_dropout)."""
    best_metric: str = "wer"
    """What best.pt minimises on dev: `wer` (lang_dir's greedy WER) or `aux_error_rate` (aux_lang_dir's greedy
    unit error rate: pick it when a decoder reads that layer, e.g. a phone WFST beside letters; `wer` when no
    dev cut can be spelt in the auxiliary tokens)."""


@dataclass
class FinetuneConfig:
    """A fine-tuning run: the pre-trained model and its changes, data, optimiser, schedule, loop."""

    init: str = ""
    """Pre-trained checkpoint (ssltk pre-training, or imported with ssltk.bin.convert), or
    `preset:NAME` for a randomly initialised model (the from-scratch baseline)."""
    model: dict = field(default_factory=lambda: copy.deepcopy(FINETUNE_MODEL_CHANGES))
    """Changes to the pre-trained ModelConfig, as its keys (e.g. model.masking.prob=0.3,
    model.context.layerdrop=0); nested keys merge into these fairseq base_100h defaults."""
    finetune: FinetuneSettings = field(default_factory=FinetuneSettings)
    """How fine-tuning trains (tokens, freezing, re-initialised layers, LR split)."""
    data: DataConfig = field(default_factory=lambda: DataConfig(max_duration=200.0, max_samples=560000,
                                                                min_samples=0))
    """Labelled CutSets; whole utterances (no cropping), so max_samples bounds their length."""
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=3e-5, weight_decay=0.0))
    """AdamW, fairseq base_100h's peak LR."""
    schedule: ScheduleConfig = field(default_factory=lambda: ScheduleConfig(type="tri_stage"))
    """Tri-stage LR (warm-up, hold, decay)."""
    train: TrainConfig = field(default_factory=lambda: TrainConfig(max_updates=80000, checkpoint_every=1000,
                                                                   valid_every=1000))
    """The update loop: updates, accumulation, precision, checkpoints, validation."""

    def __post_init__(self):
        # unknown or bad keys fail here, naming the key (they must fit some architecture's config); values
        # that only clash with an architecture's defaults (s3l.conv2 vs the default context.dim) are
        # checked against the real pre-trained config by finetune_model_config
        errors = []
        for arch in ARCHS.values():
            try:
                merge(arch(), self.model, "model")
                return
            except UnknownKeyError as e:
                errors.append(str(e))
            except ConfigError:
                return
        raise ConfigError(errors[0])


def load_finetune_config(path: str | Path | None, overrides: list[str] = ()) -> FinetuneConfig:
    data = load_yaml(path) if path else {}
    try:
        cfg = merge(FinetuneConfig(), data)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}" if path else str(e)) from None
    return apply_overrides(cfg, overrides)


def top_layer_prefixes(encoder: nn.Module, n: int) -> tuple[str, ...]:
    """State-dict prefixes of the encoder's top `n` Transformer layers.

    >>> from ssltk.models.build import build_encoder
    >>> from ssltk.models.presets import get_preset
    >>> top_layer_prefixes(build_encoder(get_preset("s3l-test")), 1)
    ('stage2.layers.0.',)
    """
    layers = encoder.layers
    if not 0 <= n <= len(layers):
        raise ConfigError(f"finetune.reinit_layers={n}: the encoder has {len(layers)} Transformer layers")
    names = {id(m): name for name, m in encoder.named_modules()}
    return tuple(names[id(layer)] + "." for layer in layers[len(layers) - n:])


def finetune_model_config(base: ModelConfig, cfg: FinetuneConfig) -> ModelConfig:
    """The pre-trained config with fine-tuning's model changes (and a frozen feature encoder)."""
    changes = cfg.model
    if hasattr(base, "feature_grad_mult"):  # wav2vec2 family; S3L's CTCModel freezes its front end itself
        changes = deep_merge(changes, {"feature_grad_mult": 0.0 if cfg.finetune.freeze_feature_encoder else 1.0})
    return merge(base, changes)


class CTCTask:
    def __init__(self, cfg: FinetuneConfig, tokenizer, aux_tokenizer=None):
        self.cfg, self.tokenizer, self.aux_tokenizer = cfg, tokenizer, aux_tokenizer
        self.last_valid: dict = {}

    def before_update(self, model: CTCModel, update: int) -> None:
        model.freeze_encoder = update < self.cfg.finetune.freeze_updates

    def loss(self, model, batch: dict, device: torch.device):
        wav, wav_lens = batch["audio"].to(device, non_blocking=True), batch["audio_lens"].to(device)
        n = len(batch["targets"])
        if self.aux_tokenizer is None:
            logits, lens = model(wav, wav_lens)
            loss = ctc_loss(logits, lens, batch["targets"])
            return loss, float(n), {"loss": loss.item() / max(n, 1)}
        (logits, readouts), lens = model(wav, wav_lens, head="all")  # the auxiliary layer on each block it reads
        main = ctc_loss(logits, lens, batch["targets"])
        aux = sum(partial_ctc_loss(x, lens, batch["aux_targets"]) for x in readouts) / len(readouts)
        loss = main + self.cfg.finetune.aux_weight * aux
        return loss, float(n), {"loss": loss.item() / max(n, 1), "loss_main": main.item() / max(n, 1),
                                "loss_aux": aux.item() / max(n, 1)}

    def validate(self, model, loader, device: torch.device) -> dict:
        avg, refs, hyps, aux_refs, aux_hyps = Averager(), {}, {}, {}, {}
        for batch in loader:
            if batch["audio"].shape[0] == 0:
                continue
            with autocast(self.cfg.train.amp, device):
                logits, lens = model(batch["audio"].to(device), batch["audio_lens"].to(device),
                                     head="ctc" if self.aux_tokenizer is None else "both")
            n = len(batch["targets"])
            if self.aux_tokenizer is not None:  # the auxiliary layer's loss and unit error rate
                logits, aux_logits = logits
                n_aux = sum(t is not None for t in batch["aux_targets"])  # cuts the auxiliary tokens can spell
                if n_aux:
                    avg.add({"loss_aux": partial_ctc_loss(aux_logits, lens, batch["aux_targets"]).item() / n_aux},
                            weight=n_aux)
                for cut_id, target, ids in zip(batch["cut_ids"], batch["aux_targets"], greedy_decode(aux_logits, lens)):
                    if target is not None:
                        aux_refs[cut_id] = self.aux_tokenizer.decode(target)
                        aux_hyps[cut_id] = self.aux_tokenizer.decode(ids)
            avg.add({"loss": ctc_loss(logits, lens, batch["targets"]).item() / n}, weight=n)
            for cut_id, target, ids in zip(batch["cut_ids"], batch["targets"], greedy_decode(logits, lens)):
                # the decoded target: the normalised transcript (letters, BPE) or its units (a lexicon's phones)
                refs[cut_id], hyps[cut_id] = self.tokenizer.decode(target), self.tokenizer.decode(ids)
        stats = error_counts(refs, hyps)
        out = {**avg.mean(), "wer": stats["wer"], "words": stats["words"],
               "empty_hyps": 100.0 * sum(not h.strip() for h in hyps.values()) / max(len(hyps), 1)}
        if aux_refs:
            out["aux_error_rate"] = error_counts(aux_refs, aux_hyps)["wer"]
        elif self.aux_tokenizer is not None and self.cfg.finetune.best_metric == "aux_error_rate":
            log.warning("no dev cut can be spelt in %s's tokens (every one has a word outside its lexicon): best.pt "
                        "follows the dev WER of %s instead of finetune.best_metric=aux_error_rate",
                        self.cfg.finetune.aux_lang_dir, self.cfg.finetune.lang_dir)
        self.last_valid = out
        return out

    def is_better(self, new: dict, best: dict | None) -> bool:
        key = self.cfg.finetune.best_metric
        if key not in new and "wer" in new:  # no dev cut the auxiliary tokens can spell (validate warned)
            key = "wer"
        return key in new and (best is None or key not in best or new[key] < best[key])

    def monitor(self, model) -> dict:
        return {}


def finetune(cfg: FinetuneConfig, exp_dir: str | Path, init: str | Path | None = None) -> dict:
    """Fine-tune (or resume) in exp_dir; returns the last logged training metrics."""
    exp_dir = Path(exp_dir)
    if init:
        cfg = merge(cfg, {"init": str(init)})
    if not cfg.init:
        raise ConfigError("no pre-trained model: pass --init CKPT (or set init in the config)")
    if not cfg.finetune.lang_dir:
        raise ConfigError("finetune.lang_dir is not set: create one with python -m ssltk.bin.prepare_lang")
    if cfg.finetune.best_metric not in BEST_METRICS:
        raise ConfigError(f"finetune.best_metric={cfg.finetune.best_metric!r}: one of {', '.join(BEST_METRICS)}")
    if cfg.finetune.best_metric == "aux_error_rate" and not cfg.finetune.aux_lang_dir:
        raise ConfigError("finetune.best_metric=aux_error_rate needs finetune.aux_lang_dir (the layer it scores)")
    if (cfg.finetune.aux_layer or cfg.finetune.condition_layer) and not cfg.finetune.aux_lang_dir:
        raise ConfigError("finetune.aux_layer / finetune.condition_layer need finetune.aux_lang_dir (the auxiliary "
                          "layer's tokens)")
    if not cfg.finetune.encoder_lr_scale > 0:
        raise ConfigError(f"finetune.encoder_lr_scale={cfg.finetune.encoder_lr_scale}: must be > 0 (1.0: one LR "
                          "for the whole model; to keep the encoder fixed use finetune.freeze_updates)")
    with training_run(exp_dir, cfg, "finetune") as world:
        tokenizer = load_tokenizer(cfg.finetune.lang_dir)
        aux_tokenizer = load_tokenizer(cfg.finetune.aux_lang_dir) if cfg.finetune.aux_lang_dir else None
        scratch = cfg.init.startswith("preset:")
        base = {"config": get_preset(cfg.init.split(":", 1)[1])} if scratch else load_checkpoint(cfg.init)
        model_cfg = finetune_model_config(base["config"], cfg)
        if world.is_main:
            write_resolved_config(exp_dir, to_dict(cfg), "ssltk.bin.finetune")
        torch.manual_seed(cfg.train.seed)
        encoder = build_encoder(model_cfg)
        lr_scales = {}
        if not scratch:
            fresh = top_layer_prefixes(encoder, cfg.finetune.reinit_layers)
            lr_scales = {**{"encoder." + p: 1.0 for p in fresh}, "encoder.": cfg.finetune.encoder_lr_scale}
            state = {k: v for k, v in sub_state(base["model"], "encoder.").items() if not k.startswith(fresh)}
            missing, _ = encoder.load_state_dict(state, strict=False)
            if missing := [k for k in missing if not k.startswith(fresh)]:
                raise TrainingError(f"{cfg.init} lacks encoder weights {missing[:5]}; is it a pre-training "
                                    "checkpoint?")
        del base
        try:
            model = CTCModel(encoder, len(tokenizer.symbols), Masker(model_cfg.masking), cfg.finetune.final_dropout,
                             cfg.finetune.freeze_feature_encoder, ctc_upsample(model_cfg),
                             aux_vocab_size=len(aux_tokenizer.symbols) if aux_tokenizer else 0,
                             aux_layer=cfg.finetune.aux_layer,
                             condition_layer=cfg.finetune.condition_layer).to(world.device)
        except ValueError as e:  # aux_layer / condition_layer: not a block below the top of this encoder
            raise ConfigError(f"finetune.{e}") from None
        ds = lambda perturb: SupervisedBatchDataset(cfg.data, tokenizer, seed=cfg.train.seed, perturb=perturb,  # noqa: E731
                                                    aux_tokenizer=aux_tokenizer)
        train_loader = pretrain_loader(load_cuts(cfg.data.train_cuts), cfg.data, cfg.train.seed, world.size,
                                       world.rank, dataset=ds(perturb=True))
        valid_loader = (pretrain_loader(load_cuts(cfg.data.valid_cuts), cfg.data, cfg.train.seed, validation=True,
                                        dataset=ds(perturb=False)) if cfg.data.valid_cuts else None)
        extra = {"ctc": {"vocab_size": len(tokenizer.symbols), "aux_layer": cfg.finetune.aux_layer,
                         "condition_layer": cfg.finetune.condition_layer}, "tokens": list(tokenizer.symbols),
                 "tokenizer": tokenizer.kind, "lang_dir": str(cfg.finetune.lang_dir)}
        if aux_tokenizer is not None:
            extra.update(aux_tokens=list(aux_tokenizer.symbols), aux_tokenizer=aux_tokenizer.kind,
                         aux_lang_dir=str(cfg.finetune.aux_lang_dir))
        task = CTCTask(cfg, tokenizer, aux_tokenizer)
        last = run_training(task=task, model=model, model_cfg=model_cfg, cfg=cfg, cfg_dict=to_dict(cfg),
                            exp_dir=exp_dir, world=world, train_loader=train_loader, valid_loader=valid_loader,
                            extra_state=extra, lr_scales=lr_scales,
                            find_unused_parameters=cfg.finetune.freeze_updates > 0 or model_cfg.context.layerdrop > 0)
        warn_blank_phase(task.last_valid, cfg)
        return last


def warn_blank_phase(valid: dict, cfg: FinetuneConfig) -> None:
    """Say so when fine-tuning ended with (almost) every dev hypothesis empty: the model never left CTC's
    blank-only phase, and decoding it gives ~100 % WER by deletions."""
    if valid.get("empty_hyps", 0.0) < BLANK_PHASE_EMPTY:
        return
    log.warning("fine-tuning ended in CTC's blank-only phase: %.0f %% of dev hypotheses are empty (dev WER %.1f %%) "
                "after %d updates at peak LR %g (reached at update %d). The LR is off for this start: a start "
                "slow to leave the phase loses it when the peak comes too soon, so try a longer warm-up (%s), "
                "optim.lr at half the value, or more train.max_updates",
                valid["empty_hyps"], valid.get("wer", float("nan")), cfg.train.max_updates, cfg.optim.lr,
                warmup_updates(cfg.schedule, cfg.train.max_updates),
                WARMUP_KEYS.get(cfg.schedule.type, "a schedule.type with a warm-up"))
