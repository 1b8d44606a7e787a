"""Every recipe config loads and validates against the dataclasses (unknown keys are errors)."""
import re
from pathlib import Path

import pytest

from ssltk.train.config import load_pretrain_config
from ssltk.train.finetune import load_finetune_config

ROOT = Path(__file__).resolve().parents[2]
CONFS = sorted((ROOT / "egs").rglob("conf/*.yaml"))


def test_recipes_have_configs():
    assert {p.parent.parent.name for p in CONFS} >= {"mini_tts", "librispeech"}


@pytest.mark.parametrize("path", CONFS, ids=lambda p: str(p.relative_to(ROOT)))
def test_conf_loads(path):
    first = path.read_text().splitlines()[0]
    assert first.startswith("# python -m ssltk.bin."), "a conf starts with the command that uses it"
    if "finetune" in path.name:
        load_finetune_config(path)
    else:  # the preset its command names (an S3L conf sets keys a wav2vec 2.0 model does not have)
        preset = re.search(r"preset=(\S+)", first)
        load_pretrain_config(path, [f"preset={preset[1]}"] if preset else [])
