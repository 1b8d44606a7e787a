"""The shared update loop's parts: parameter groups, seeds, update bookkeeping, intervals, the lock."""
import math

import pytest
import torch

from ssltk.models.presets import get_preset
from ssltk.models.wav2vec2 import build_pretraining_model
from ssltk.train.config import load_pretrain_config
from ssltk.train.distributed import World
from ssltk.train.loop import (Interval, Progress, TrainingError, UpdateResult, claim_exp_dir, count_update,
                              micro_seed, param_groups)


def test_weight_decay_only_on_matrices_and_lr_scales_by_prefix():
    model = build_pretraining_model(get_preset("w2v2-test"))
    groups = param_groups(model, 0.01, {"encoder.context.": 0.5})
    by_id = {id(p): g for g in groups for p in g["params"]}
    for name, p in model.named_parameters():
        g = by_id[id(p)]
        assert g["weight_decay"] == (0.01 if p.ndim >= 2 else 0.0), name
        assert g["lr_scale"] == (0.5 if name.startswith("encoder.context.") else 1.0), name
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters()))


def test_micro_batch_seeds_are_pure_and_distinct():
    assert micro_seed(1, 10, 0) == micro_seed(1, 10, 0)
    seeds = {micro_seed(s, u, i) for s in (0, 1) for u in range(50) for i in range(4)}
    assert len(seeds) == 2 * 50 * 4


def test_count_update_books_hours_and_aborts_after_too_many_nonfinite_updates(tmp_path):
    cfg = load_pretrain_config(None, ["preset=w2v2-test", "train.max_consecutive_nonfinite=3"])
    p = Progress()
    run = count_update(UpdateResult(ok=True, audio_seconds=36.0), p, 0, cfg, tmp_path)
    assert run == 0 and math.isclose(p.hours, 0.01)
    run = count_update(UpdateResult(ok=False, oom=1), p, run, cfg, tmp_path)  # OOM: counted, not a NaN
    assert run == 0 and p.counters["oom_skipped"] == 1
    run = count_update(UpdateResult(ok=False), p, run, cfg, tmp_path)
    run = count_update(UpdateResult(ok=False), p, run, cfg, tmp_path)
    assert run == 2 and p.counters["nonfinite_skipped"] == 2
    assert count_update(UpdateResult(ok=True, audio_seconds=1.0), p, run, cfg, tmp_path) == 0  # a good one resets
    with pytest.raises(TrainingError, match="3 consecutive updates had NaN/inf"):
        for _ in range(3):
            run = count_update(UpdateResult(ok=False), p, run, cfg, tmp_path)


def test_interval_means_and_throughput():
    iv = Interval()
    iv.add(UpdateResult(ok=True, audio_seconds=10.0, values={"loss": 2.0}, grad_norm=1.0))
    iv.add(UpdateResult(ok=False))  # a skipped update adds nothing
    iv.add(UpdateResult(ok=True, audio_seconds=30.0, values={"loss": 4.0}, grad_norm=3.0))
    out = iv.close()
    assert out["loss"] == 3.0 and out["grad_norm"] == 2.0 and out["throughput"] > 0
    assert iv.close() == {"throughput": 0.0}  # the next interval starts empty


def test_claim_exp_dir_writes_the_holder_and_releases_it(tmp_path):
    world = World(rank=0, size=1, local_rank=0, device=torch.device("cpu"))
    with claim_exp_dir(tmp_path / "exp", world):
        holder = (tmp_path / "exp" / ".lock").read_text()
        assert holder.startswith("pid ") and " on " in holder
    with claim_exp_dir(tmp_path / "exp", world):  # released on exit
        pass
