"""ssltk.benchmark: the timed pre-training step is the training task's step."""
import math

import pytest
import torch

from ssltk.benchmark import pretraining_step
from ssltk.models.presets import get_preset


@pytest.mark.parametrize("preset", ["w2v2-test", "s3l-test"])
def test_pretraining_step_runs_the_training_task(preset):
    torch.manual_seed(0)
    step = pretraining_step(get_preset(preset), torch.randn(2, 16000) * 0.1, torch.tensor([16000, 12000]))
    losses = [step() for _ in range(2)]
    assert all(math.isfinite(x) for x in losses) and losses[0] != losses[1]
