"""ssltk.benchmark: the timed pre-training step is the training task's step."""
import math

import pytest
import torch

from ssltk.benchmark import finetuning_step, pretraining_step, train_benchmark
from ssltk.config import ConfigError
from ssltk.models.presets import get_preset


@pytest.mark.parametrize("preset", ["w2v2-test", "s3l-test"])
def test_pretraining_step_runs_the_training_task(preset):
    torch.manual_seed(0)
    step = pretraining_step(get_preset(preset), torch.randn(2, 16000) * 0.1, torch.tensor([16000, 12000]))
    losses = [step() for _ in range(2)]
    assert all(math.isfinite(x) for x in losses) and losses[0] != losses[1]


@pytest.mark.parametrize("preset", ["w2v2-test", "s3l-test"])
def test_finetuning_step_trains_ctc_under_bf16(preset):
    torch.manual_seed(0)
    step = finetuning_step(get_preset(preset), torch.randn(2, 16000) * 0.1, torch.tensor([16000, 16000]),
                           dtype="bf16", chars_per_second=5.0)
    losses = [step() for _ in range(2)]
    assert all(math.isfinite(x) for x in losses) and losses[0] != losses[1]


def test_train_benchmark_times_each_dtype_side_by_side():
    rows = train_benchmark(["s3l-test"], batch_seconds=1.0, utterances=1, threads=1, repeats=1,
                           dtypes=("fp32", "bf16"), task="finetune")
    assert [(r["preset"], r["dtype"], r["task"]) for r in rows] == [("s3l-test", "fp32", "finetune"),
                                                                    ("s3l-test", "bf16", "finetune")]
    assert "speedup_vs_fp32" in rows[1] and "speedup_vs_fp32" not in rows[0]


def test_train_benchmark_overrides_change_every_preset():
    rows = train_benchmark(["sewd-test"], batch_seconds=1.0, utterances=1, threads=1, repeats=1, task="finetune",
                           overrides=["context.layers=3"])
    assert rows[0]["overrides"] == ["context.layers=3"] and rows[0]["step_s"] > 0
    with pytest.raises(ConfigError, match="context.layerz"):
        train_benchmark(["sewd-test"], batch_seconds=1.0, utterances=1, threads=1, repeats=1,
                        overrides=["context.layerz=3"])
