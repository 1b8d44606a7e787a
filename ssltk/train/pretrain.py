"""Self-supervised pre-training: wav2vec 2.0 (batch-size paper §III) and S3LSpeech.

    cfg = load_pretrain_config("conf/pretrain.yaml")
    pretrain(cfg, "exp/pretrain")       # re-running resumes from the newest checkpoint

The loop itself (accumulation, DDP, exact resume, robustness) is ssltk.train.loop;
this module says what a pre-training micro-batch is, per model.arch:

- PretrainTask (wav2vec2): masked frames, quantized targets, same-utterance
  negatives and L_m + alpha L_d + beta L_f, normalised by the number of masked frames.
- S3LTask (s3l): EMA teacher update once per optimizer update (before its first
  micro-batch), teacher-student InfoNCE over all valid frames with same-utterance
  negatives, normalised by the number of frames.
- UnitsTask (s3l, s3l.pretext=units): HuBERT-style masked prediction of k-means units of
  MFCCs; the codebook is fitted once before training (`fit_unit_codebook`, cached in
  exp_dir/units.pt, then carried by every checkpoint).
"""
from __future__ import annotations

import logging
import random
from pathlib import Path

import torch

from ssltk.config import to_dict
from ssltk.context.transformer import TransformerLayer
from ssltk.data.dataset import AudioBatchDataset, UnusableAudio, load_cuts, pretrain_loader
from ssltk.frontend.melconv import FRAMES_PER_SECOND
from ssltk.data.atomic import atomic_write
from ssltk.models.build import build_pretraining_model
from ssltk.models.precision import autocast
from ssltk.models.s3l import momentum_at
from ssltk.objectives.contrastive import Wav2Vec2Objective
from ssltk.objectives.masked_prediction import MaskedPredictionObjective
from ssltk.objectives.teacher_student import TeacherStudentObjective
from ssltk.targets.masking import sample_negatives
from ssltk.train.config import PretrainConfig
from ssltk.train.distributed import World, barrier
from ssltk.train.loop import (TrainingError, backward_micro_batches, effective_batch_s, run_training, training_run,
                              train_update, unwrap, write_resolved_config)
from ssltk.train.metrics import Averager

__all__ = ["PretrainTask", "S3LTask", "UnitsTask", "pretrain_task", "pretrain", "fit_unit_codebook", "TrainingError",
           "train_update", "backward_micro_batches"]
log = logging.getLogger("ssltk.train")


class PretrainTask:
    def __init__(self, cfg: PretrainConfig):
        self.cfg = cfg
        self.objective = Wav2Vec2Objective(cfg.model.objective)
        self.num_negatives = cfg.model.objective.num_negatives

    def prepare(self, model, exp_dir: Path, world: World) -> None:
        """Once before training (and on every resume), with the model still on the CPU."""

    def before_update(self, model, update: int) -> None:
        model.set_num_updates(update)

    def loss(self, model, batch: dict, device: torch.device):
        out = model(batch["audio"].to(device, non_blocking=True), batch["audio_lens"].to(device))
        res = self.objective(out, sample_negatives(out.mask, self.num_negatives))
        metrics = {"loss": res.loss.item(), "contrastive": res.contrastive.item(),
                   "feature_pen": res.feature_pen.item(), **res.metrics}  # + objective-specific monitors
        # fairseq: sum over masked frames now, divide by the total after accumulation
        return res.loss * res.sample_size, float(res.sample_size), metrics

    def validate(self, model, loader, device: torch.device) -> dict:
        avg = Averager()
        for batch in loader:
            if batch["audio"].shape[0] == 0:
                continue
            with autocast(self.cfg.train.amp, device):
                loss, size, metrics = self.loss(model, batch, device)
            avg.add(metrics, weight=max(size, 1))
        return avg.mean()

    def is_better(self, new: dict, best: dict | None) -> bool:
        return "loss" in new and (best is None or new["loss"] < best["loss"])

    def monitor(self, model) -> dict:
        return {"temperature": unwrap(model).quantizer.temperature}


class S3LTask(PretrainTask):
    """S3LSpeech: the teacher follows the student by EMA; loss (PretrainTask.loss with the
    teacher-student objective) on all valid output frames."""

    def __init__(self, cfg: PretrainConfig):
        self.cfg = cfg
        self.objective = TeacherStudentObjective(cfg.model.s3l.temperature)
        self.num_negatives = cfg.model.s3l.num_negatives

    def momentum(self, update: int) -> float:
        s = self.cfg.model.s3l
        return momentum_at(update, s.ema_updates or self.cfg.train.max_updates, s.ema_start, s.ema_end,
                           s.ema_schedule)

    def before_update(self, model, update: int) -> None:
        model.update_teacher(self.momentum(update))

    def monitor(self, model) -> dict:
        return {"ema_momentum": unwrap(model).momentum}


class UnitsTask(PretrainTask):
    """HuBERT's first iteration on the S3L encoder: cross-entropy of k-means units at masked frames."""

    def __init__(self, cfg: PretrainConfig):
        self.cfg = cfg
        self.objective = MaskedPredictionObjective(cfg.model.units.unmasked_weight)

    def prepare(self, model, exp_dir: Path, world: World) -> None:
        fit_unit_codebook(model, self.cfg, exp_dir / "units.pt", world)

    def before_update(self, model, update: int) -> None:
        pass

    def loss(self, model, batch: dict, device: torch.device):
        out = model(batch["audio"].to(device, non_blocking=True), batch["audio_lens"].to(device))
        res = self.objective(out)
        metrics = {"loss": res.loss.item(), "feature_pen": res.feature_pen.item(), **res.metrics}
        return res.loss * res.sample_size, float(res.sample_size), metrics

    def monitor(self, model) -> dict:
        return {}


MIN_CONVERGENT_BATCH_S = 150.0
"""Audio per update below which wav2vec 2.0 pre-training did not converge in "The Effect of Batch Size on
Contrastive Self-Supervised Speech Representation Learning" (arXiv:2402.13723, §V: 87.5 s diverged,
150 s was the smallest that converged)."""


def warn_small_batch(cfg: PretrainConfig, world_size: int) -> bool:
    """Log a warning (and return True) when a wav2vec 2.0-objective run updates on less than
    MIN_CONVERGENT_BATCH_S seconds of audio; other objectives have no such finding."""
    eff = effective_batch_s(cfg, world_size)
    if cfg.model.arch != "wav2vec2" or eff >= MIN_CONVERGENT_BATCH_S:
        return False
    need = -(-MIN_CONVERGENT_BATCH_S // (cfg.data.max_duration * world_size))
    log.warning("effective batch %.1f s of audio per update (data.max_duration %.1f x train.accum_grad %d x %d "
                "ranks) is below the %.0f s that wav2vec 2.0 pre-training needed to converge in the batch-size "
                "paper (arXiv:2402.13723, §V; 87.5 s diverged): expect contrastive accuracy near chance. "
                "Raise train.accum_grad to %d (or data.max_duration).", eff, cfg.data.max_duration,
                cfg.train.accum_grad, world_size, MIN_CONVERGENT_BATCH_S, need)
    return True


def pretrain_task(cfg: PretrainConfig) -> PretrainTask:
    match cfg.model.arch:
        case "wav2vec2":
            return PretrainTask(cfg)
        case "s3l":
            return UnitsTask(cfg) if cfg.model.s3l.pretext == "units" else S3LTask(cfg)
        case _:
            raise ValueError(f"unknown model.arch {cfg.model.arch!r}")


@torch.no_grad()
def fit_unit_codebook(model, cfg: PretrainConfig, path: Path, world: World) -> None:
    """Fit the k-means unit codebook of a UnitPredictionModel on a seeded subset of the training
    cuts (rank 0), cache it at `path`, and load it on every rank. An existing cache is reused."""
    u, codebook = cfg.model.units, model.codebook
    if world.is_main and not path.exists():
        cuts = list(load_cuts(cfg.data.train_cuts))
        random.Random(cfg.train.seed).shuffle(cuts)
        reader = AudioBatchDataset(cfg.data, cfg.train.seed, crop=False)
        feats, frames, skipped = [], 0, 0
        for cut in cuts:
            if frames >= u.fit_seconds * FRAMES_PER_SECOND:
                break
            try:
                wav = torch.from_numpy(reader.load(cut))[None]
            except UnusableAudio as e:  # skipped here as in training
                skipped += 1
                log.warning("units: skipping cut %s (%s): %s", cut.id, e.kind, str(e)[:200])
                continue
            mel, lens = model.encoder.frontend.mel(wav)
            feats.append(codebook.features(mel, lens)[0, : int(lens[0])])
            frames += int(lens[0])
        if frames < codebook.num_units:
            raise TrainingError(f"only {frames} frames of readable audio in {cfg.data.train_cuts} to fit "
                                f"{codebook.num_units} units; check the manifest or lower units.count")
        inertia = codebook.fit(torch.cat(feats), u.fit_iters, cfg.train.seed)
        log.info("units: k-means with %d units on %.0f s of audio (%d cuts, %d skipped), inertia %.3f per frame",
                 codebook.num_units, frames / FRAMES_PER_SECOND, len(feats), skipped, inertia)
        state = {k: v.cpu() for k, v in codebook.state_dict().items()}
        atomic_write(path, lambda tmp: torch.save(state, tmp))
    barrier(world)
    codebook.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))


def pretrain(cfg: PretrainConfig, exp_dir: str | Path) -> dict:
    """Run (or resume) pre-training in exp_dir; returns the last logged training metrics."""
    exp_dir = Path(exp_dir)
    with training_run(exp_dir, cfg, "pretrain") as world:
        if world.is_main:
            write_resolved_config(exp_dir, to_dict(cfg), "ssltk.bin.pretrain")
            warn_small_batch(cfg, world.size)
        torch.manual_seed(cfg.train.seed)
        model, task = build_pretraining_model(cfg.model, cfg.augment), pretrain_task(cfg)
        task.prepare(model, exp_dir, world)
        model = model.to(world.device)
        if cfg.train.compile:
            for module in model.modules():
                if isinstance(module, TransformerLayer):
                    module.compile(dynamic=False)
        train_loader = pretrain_loader(load_cuts(cfg.data.train_cuts), cfg.data, cfg.train.seed,
                                       world.size, world.rank)
        valid_loader = (pretrain_loader(load_cuts(cfg.data.valid_cuts), cfg.data, cfg.train.seed, validation=True)
                        if cfg.data.valid_cuts else None)
        return run_training(task=task, model=model, model_cfg=cfg.model, cfg=cfg,
                            cfg_dict=to_dict(cfg), exp_dir=exp_dir, world=world, train_loader=train_loader,
                            valid_loader=valid_loader,
                            find_unused_parameters=cfg.model.context.layerdrop > 0)
