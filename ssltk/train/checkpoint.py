"""Training checkpoints: exp_dir/checkpoints/checkpoint-<update>.pt, last K kept.

A training checkpoint is a model checkpoint (ssltk.models.checkpoint: `config`
is the ModelConfig, `model` the Wav2Vec2ForPretraining state, so extract /
convert / fine-tuning read it directly) plus everything needed to continue
bit-exactly: optimizer, scheduler position, grad scaler, data position (epoch,
batches consumed), all RNG states, counters and the resolved run config.
Writes are atomic; if the newest file is unreadable, the previous one is used.

    >>> path = latest_checkpoint("exp/pretrain")      # doctest: +SKIP
"""
from __future__ import annotations

import logging
import random
import re
from pathlib import Path

import numpy as np
import torch

from ssltk.models.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

log = logging.getLogger(__name__)
PATTERN = re.compile(r"checkpoint-(\d+)\.pt")


def checkpoint_dir(exp_dir: str | Path) -> Path:
    return Path(exp_dir) / "checkpoints"


def list_checkpoints(exp_dir: str | Path) -> list[tuple[int, Path]]:
    d = checkpoint_dir(exp_dir)
    found = [(int(m[1]), p) for p in d.glob("checkpoint-*.pt") if (m := PATTERN.fullmatch(p.name))]
    return sorted(found)


def latest_checkpoint(exp_dir: str | Path) -> Path | None:
    found = list_checkpoints(exp_dir)
    return found[-1][1] if found else None


def rng_state() -> dict:
    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached_gaussian": float(np_state[4])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(_tuples(state["python"]))
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuples(x):
    return tuple(_tuples(v) for v in x) if isinstance(x, (list, tuple)) else x


def save_training_checkpoint(exp_dir: str | Path, update: int, model_cfg, model_state: dict, extra: dict,
                             keep_last: int) -> Path:
    path = checkpoint_dir(exp_dir) / f"checkpoint-{update:08d}.pt"
    save_checkpoint(path, model_cfg, model_state, **extra)
    for _, old in list_checkpoints(exp_dir)[:-keep_last]:
        old.unlink(missing_ok=True)
    return path


def load_latest(exp_dir: str | Path) -> dict | None:
    """The newest readable checkpoint of exp_dir (falling back past unreadable ones), or None."""
    for update, path in reversed(list_checkpoints(exp_dir)):
        try:
            ckpt = load_checkpoint(path)
        except CheckpointError as e:
            log.warning("skipping unreadable checkpoint %s: %s", path, e)
            continue
        ckpt["path"] = path
        return ckpt
    return None
