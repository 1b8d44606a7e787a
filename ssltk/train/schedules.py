"""Learning-rate schedules as pure functions of the update number (so resuming is exact).

    >>> f = lr_multiplier(ScheduleConfig(type="cyclic", cycle_up=10, cycle_down=10), total_updates=100)
    >>> round(f(0), 3), f(10), round(f(20), 3)
    (0.01, 1.0, 0.01)
"""
from __future__ import annotations

import math
from typing import Callable

from ssltk.train.config import ScheduleConfig


def lr_multiplier(cfg: ScheduleConfig, total_updates: int) -> Callable[[int], float]:
    """update -> factor on optim.lr. Closed match over ScheduleConfig.type."""
    match cfg.type:
        case "constant":
            return lambda update: 1.0
        case "polynomial":
            return lambda update: _polynomial(update, cfg, total_updates)
        case "tri_stage":
            return lambda update: _tri_stage(update, cfg, total_updates)
        case "cyclic":
            return lambda update: _cyclic(update, cfg)
        case _:
            raise ValueError(f"unknown schedule.type {cfg.type!r}")


def warmup_updates(cfg: ScheduleConfig, total_updates: int) -> int:
    """Update at which the LR first reaches its peak (optim.lr).

    >>> warmup_updates(ScheduleConfig(type="tri_stage", phase_ratio=(0.5, 0.1, 0.4)), 1800)
    900
    """
    match cfg.type:
        case "constant":
            return 0
        case "polynomial":
            return cfg.warmup_updates
        case "tri_stage":
            return int(cfg.phase_ratio[0] * total_updates)
        case "cyclic":
            return cfg.cycle_up
        case _:
            raise ValueError(f"unknown schedule.type {cfg.type!r}")


WARMUP_KEYS = {"polynomial": "schedule.warmup_updates", "tri_stage": "schedule.phase_ratio, e.g. [0.5, 0.1, 0.4]",
               "cyclic": "schedule.cycle_up"}
"""The key that lengthens each schedule type's warm-up (constant has none)."""


def _polynomial(update: int, cfg: ScheduleConfig, total: int) -> float:
    """fairseq polynomial_decay: linear warmup from 0, then (1 - progress)^power down to end_lr."""
    if cfg.warmup_updates > 0 and update < cfg.warmup_updates:
        return (update + 1) / cfg.warmup_updates
    if update >= total:
        return cfg.end_lr_ratio
    remaining = 1.0 - (update - cfg.warmup_updates) / max(1, total - cfg.warmup_updates)
    return (1.0 - cfg.end_lr_ratio) * remaining ** cfg.power + cfg.end_lr_ratio


def _tri_stage(update: int, cfg: ScheduleConfig, total: int) -> float:
    """fairseq tri_stage: linear warmup from init_lr_scale, hold at 1, exponential decay to final."""
    warm = warmup_updates(cfg, total)
    hold, decay = (int(r * total) for r in cfg.phase_ratio[1:])
    if update < warm:
        return cfg.init_lr_scale + (1.0 - cfg.init_lr_scale) * update / max(1, warm)
    if update < warm + hold:
        return 1.0
    t = min(update - warm - hold, decay)
    return math.exp(math.log(cfg.final_lr_scale) * t / max(1, decay))


def _cyclic(update: int, cfg: ScheduleConfig) -> float:
    """Triangular cycles: base -> max in cycle_up updates, back to base in cycle_down (§IV-A1)."""
    base = cfg.cycle_base_ratio
    pos = update % (cfg.cycle_up + cfg.cycle_down)
    if pos < cfg.cycle_up:
        return base + (1.0 - base) * pos / cfg.cycle_up
    return 1.0 - (1.0 - base) * (pos - cfg.cycle_up) / cfg.cycle_down
