"""Configuration of a pre-training run: the model plus data, optimiser, schedule, loop.

A YAML file holds only overrides; `preset` picks the model variant first:

    # python -m ssltk.bin.pretrain --config conf/pretrain.yaml --exp-dir exp/pretrain
    preset: sewd-tiny
    model: {context: {layerdrop: 0.0}}
    data: {train_cuts: data/manifests/cuts_train.jsonl.gz, max_duration: 80}
    train: {max_updates: 20000, accum_grad: 4}

    >>> cfg = load_pretrain_config(None, ["preset=sewd-test", "train.max_updates=10"])
    >>> cfg.model.context.attention, cfg.train.max_updates
    ('disentangled', 10)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ssltk.config import ConfigError, apply_overrides, load_yaml, merge
from ssltk.data.config import DataConfig
from ssltk.frontend.augment import AugmentConfig
from ssltk.models.config import ModelConfig, Wav2Vec2Config
from ssltk.models.presets import config_from_dict, get_preset


@dataclass
class OptimConfig:
    """AdamW (fairseq wav2vec 2.0 base values)."""

    lr: float = 5e-4
    """Peak learning rate."""
    betas: tuple[float, ...] = (0.9, 0.98)
    """Adam's (beta1, beta2)."""
    eps: float = 1e-6
    """Adam's epsilon."""
    weight_decay: float = 0.01
    """Applied to matrices and conv kernels; biases, norms and embeddings of size 1-D are exempt."""
    clip_norm: float = 0.0
    """Gradient-norm clipping; 0 disables (the norm is still logged)."""
    lr_scaling: Literal["none", "linear", "sqrt"] = "none"
    """Batch-size heuristic of "The Effect of Batch Size on Contrastive Self-Supervised Speech Representation
    Learning" (arXiv:2402.13723, §IV-A1): the peak LR is lr x (B / lr_ref_batch_s)^p for the effective batch B
    in seconds of audio, p = 1 (linear) or 1/2 (sqrt); none: lr as written."""
    lr_ref_batch_s: float = 0.0
    """Seconds of audio per update at which `lr` was chosen (needed when lr_scaling is not none)."""

    def __post_init__(self):
        if self.lr <= 0 or len(self.betas) != 2:
            raise ValueError("optim: lr must be > 0 and betas a pair")
        if self.lr_scaling != "none" and self.lr_ref_batch_s <= 0:
            raise ValueError(f"optim.lr_scaling={self.lr_scaling} needs optim.lr_ref_batch_s, the effective batch "
                             "(seconds of audio per update) at which optim.lr was chosen")

    def peak_lr(self, batch_s: float) -> float:
        """The peak LR for an effective batch of `batch_s` seconds of audio per update.

        >>> OptimConfig(lr=1e-3, lr_scaling="sqrt", lr_ref_batch_s=40).peak_lr(160)
        0.002
        """
        power = {"none": 0.0, "linear": 1.0, "sqrt": 0.5}[self.lr_scaling]
        return self.lr * (batch_s / self.lr_ref_batch_s) ** power if power else self.lr


@dataclass
class ScheduleConfig:
    """Learning-rate schedule, a multiplier of optim.lr as a function of the update."""

    type: Literal["polynomial", "tri_stage", "cyclic", "constant"] = "polynomial"
    """polynomial: fairseq warmup + polynomial decay; tri_stage: warmup/hold/exponential decay
    (fine-tuning); cyclic: triangular cycles of the batch-size study (§IV-A1)."""
    warmup_updates: int = 32000
    """Polynomial: updates of linear warm-up to the peak LR."""
    power: float = 1.0
    """Polynomial: exponent of the decay after warm-up (1: linear)."""
    end_lr_ratio: float = 0.0
    """Polynomial: final LR as a fraction of the peak."""
    phase_ratio: tuple[float, ...] = (0.1, 0.4, 0.5)
    """Tri-stage: fractions of train.max_updates for warm-up, hold and decay."""
    init_lr_scale: float = 0.01
    """Tri-stage: LR at update 0 as a fraction of the peak."""
    final_lr_scale: float = 0.05
    """Tri-stage: LR at the end as a fraction of the peak."""
    cycle_up: int = 25000
    """Cyclic: updates from the base LR up to the peak."""
    cycle_down: int = 25000
    """Cyclic: updates from the peak back down to the base LR."""
    cycle_base_ratio: float = 0.01
    """Cyclic: the cycle's base learning rate is this fraction of the maximum (1/100 in the paper)."""

    def __post_init__(self):
        if self.type == "tri_stage" and (len(self.phase_ratio) != 3 or abs(sum(self.phase_ratio) - 1) > 1e-6):
            raise ValueError("schedule.phase_ratio must be three fractions summing to 1")


@dataclass
class TrainConfig:
    """The update loop, checkpoints, logging, robustness."""

    max_updates: int = 400000
    """Optimizer updates of the run (a stopped run resumes towards it)."""
    accum_grad: int = 1
    """Micro-batches per update (effective batch = max_duration x accum_grad x world size)."""
    seed: int = 1
    """Seed of data order, crops, masks, negatives, dropout (resume is bit-exact)."""
    amp: Literal["none", "auto", "bf16", "fp16"] = "none"
    """auto (bf16 where the CPU/GPU has it, else fp32), bf16 autocast, fp16 with loss scaling (CUDA only)."""
    compile: bool = False
    """torch.compile each Transformer block (static shapes per bucket)."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """auto (CUDA when present), cpu or cuda; each rank uses the GPU of its LOCAL_RANK."""
    num_threads: int = 0
    """torch intra-op threads; 0 keeps torch's default."""
    checkpoint_every: int = 5000
    """Updates between checkpoints (one is always written at the end or on a signal)."""
    keep_last: int = 5
    """Checkpoints kept in exp_dir/checkpoints (best.pt is separate)."""
    log_every: int = 100
    """Updates between metrics.jsonl / TensorBoard rows."""
    valid_every: int = 5000
    """Updates between validations (and best.pt checks)."""
    max_consecutive_nonfinite: int = 20
    """Abort after this many consecutive updates with NaN/inf loss or gradients."""
    progress_bar: bool = True
    """tqdm bar on a terminal (log lines otherwise)."""

    def __post_init__(self):
        if self.max_updates < 1 or self.accum_grad < 1 or self.checkpoint_every < 1 or self.keep_last < 1:
            raise ValueError("train: max_updates, accum_grad, checkpoint_every and keep_last must be >= 1")
        if self.log_every < 1 or self.valid_every < 1:
            raise ValueError("train: log_every and valid_every must be >= 1")


@dataclass
class PretrainConfig:
    preset: str = "w2v2-base"
    """Model preset; `model` holds the resolved ModelConfig (preset + overrides)."""
    model: ModelConfig = field(default_factory=Wav2Vec2Config)
    """The model variant: a preset (see `preset`) with overrides."""
    data: DataConfig = field(default_factory=DataConfig)
    """Unlabelled CutSets and duration batches."""
    optim: OptimConfig = field(default_factory=OptimConfig)
    """AdamW."""
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    """Learning-rate schedule."""
    train: TrainConfig = field(default_factory=TrainConfig)
    """The update loop: updates, accumulation, precision, checkpoints, logging."""
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    """S3L pre-training: the student's perturbed input and the teacher's shift (unused otherwise)."""


def pretrain_config_from_dict(data: dict) -> PretrainConfig:
    """A resolved run config (config.yaml, a checkpoint's train_config): the model section is read
    as the config class its `arch` names."""
    data = dict(data)
    model = config_from_dict(data.pop("model", {}))
    return merge(PretrainConfig(preset=data.pop("preset", PretrainConfig.preset), model=model), data)


def load_pretrain_config(path: str | Path | None, overrides: list[str] = ()) -> PretrainConfig:
    """YAML overrides, then `key.sub=value` overrides; `preset` is resolved before the rest."""
    data = load_yaml(path) if path else {}
    overrides = list(overrides)
    preset = data.pop("preset", PretrainConfig.preset)
    for item in overrides:
        if item.startswith("preset="):
            preset = item.split("=", 1)[1]
    overrides = [o for o in overrides if not o.startswith("preset=")]
    model = get_preset(preset)
    try:
        model = merge(model, data.pop("model", {}) or {}, "model")
        cfg = merge(PretrainConfig(preset=preset, model=model), data)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}" if path else str(e)) from None
    return apply_overrides(cfg, overrides)
