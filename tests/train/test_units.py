"""Masked unit pre-training through the common loop: codebook fit and cache, exact resume, fine-tuning."""
import json

import torch

from ssltk.data.tokens import LetterTokenizer, write_tokens
from ssltk.models.checkpoint import load_checkpoint
from ssltk.testing import pretrain_overrides, state_after_resume, write_cuts
from ssltk.train.checkpoint import latest_checkpoint
from ssltk.train.config import load_pretrain_config
from ssltk.train.finetune import finetune, load_finetune_config
from ssltk.train.pretrain import pretrain

UNITS = {"preset": "s3l-test", "model.s3l.pretext": "units", "model.units.count": 8, "model.units.fit_seconds": 20,
         "model.masking.length": 2, "model.masking.min_masks": 1}


def units_config(corpus, **kw):
    return load_pretrain_config(None, pretrain_overrides(corpus, **{**UNITS, **kw}))


def test_pretrain_fits_codebook_once_logs_and_resumes_exactly(corpus, tmp_path):
    cfg = units_config(corpus, **{"data.valid_cuts": corpus["valid"], "train.valid_every": 3})
    last = pretrain(cfg, tmp_path / "a")
    for key in ("loss", "accuracy", "accuracy_unmasked", "unit_perplexity", "grad_norm", "hours_seen"):
        assert key in last, key
    rows = [json.loads(x) for x in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    assert [r["update"] for r in rows if r["split"] == "valid"] == [3, 6]
    cached = torch.load(tmp_path / "a" / "units.pt", weights_only=True)
    final = load_checkpoint(latest_checkpoint(tmp_path / "a"))["model"]
    assert torch.equal(final["codebook.centroids"], cached["centroids"]) and bool(cached["fitted"])
    # resume from the update-3 checkpoint: the same final model
    resumed = state_after_resume(pretrain, cfg, tmp_path / "b", from_update=3)
    assert resumed.keys() == final.keys()
    assert all(torch.equal(final[k], resumed[k]) for k in final)


def test_finetune_from_a_unit_checkpoint_loads_its_encoder(tmp_path):
    texts = ["HELLO WORLD", "A TEST", "THIS IS", "WORLD TEST"] * 2
    train = write_cuts(tmp_path, [2.2, 2.5, 2.8, 3.0] * 2, texts=texts, name="train.jsonl.gz")
    pretrain(units_config({"train": train}, **{"train.max_updates": 2}), tmp_path / "pt")
    (tmp_path / "lang").mkdir()
    write_tokens(LetterTokenizer(), tmp_path / "lang" / "tokens.txt")
    args = {"data.train_cuts": train, "data.valid_cuts": train, "finetune.lang_dir": tmp_path / "lang",
            "train.max_updates": 1, "train.valid_every": 1, "train.checkpoint_every": 1, "data.max_duration": 10,
            "data.num_workers": 0, "train.progress_bar": "false", "optim.lr": 1e-9}
    finetune(load_finetune_config(None, [f"{k}={v}" for k, v in args.items()]), tmp_path / "ft",
             init=latest_checkpoint(tmp_path / "pt"))
    pt = load_checkpoint(latest_checkpoint(tmp_path / "pt"))["model"]
    ft = load_checkpoint(tmp_path / "ft" / "best.pt")["model"]
    key = "stage2.layers.0.ffn.fc1.weight"
    torch.testing.assert_close(pt[f"encoder.{key}"], ft[f"encoder.{key}"], rtol=0, atol=1e-6)  # loaded, not re-initialised
