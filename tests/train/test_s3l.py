"""S3LSpeech pre-training through the common loop, exact resume, CTC fine-tuning and decoding."""
import json
import random

import torch

from ssltk.data.tokens import LetterTokenizer, write_tokens
from ssltk.models.checkpoint import load_checkpoint
from ssltk.models.ctc import load_ctc_model
from ssltk.testing import pretrain_overrides, state_after_resume, write_cuts
from ssltk.train.checkpoint import latest_checkpoint
from ssltk.train.config import load_pretrain_config
from ssltk.train.finetune import finetune, load_finetune_config
from ssltk.train.pretrain import pretrain


def s3l_config(corpus, **kw):
    return load_pretrain_config(None, pretrain_overrides(corpus, **{"preset": "s3l-test", **kw}))


def test_pretrain_updates_teacher_logs_and_resumes_exactly(corpus, tmp_path):
    cfg = s3l_config(corpus, **{"data.valid_cuts": corpus["valid"], "train.valid_every": 3})
    last = pretrain(cfg, tmp_path / "a")
    for key in ("loss", "accuracy", "positive_cos", "target_std", "ema_momentum", "grad_norm", "hours_seen"):
        assert key in last, key
    rows = [json.loads(x) for x in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    assert [r["update"] for r in rows if r["split"] == "valid"] == [3, 6]
    final = load_checkpoint(latest_checkpoint(tmp_path / "a"))["model"]
    key = "stage1.layers.0.ffn.fc1.weight"
    assert not torch.equal(final[f"encoder.{key}"], final[f"teacher_encoder.{key}"])  # EMA lags the student
    # resume from the update-3 checkpoint: the same final student *and* teacher
    resumed = state_after_resume(pretrain, cfg, tmp_path / "b", from_update=3)
    assert resumed.keys() == final.keys()
    assert all(torch.equal(final[k], resumed[k]) for k in final)


def test_finetune_and_decode_an_s3l_checkpoint(tmp_path):
    r = random.Random(0)
    words = "HELLO WORLD THIS IS A TEST".split()
    texts = [" ".join(r.choice(words) for _ in range(3)) for _ in range(8)]
    train = write_cuts(tmp_path, [r.uniform(2.1, 3.0) for _ in range(8)], texts=texts, name="train.jsonl.gz")
    pretrain(s3l_config({"train": train}, **{"train.max_updates": 2}), tmp_path / "pt")
    (tmp_path / "lang").mkdir()
    write_tokens(LetterTokenizer(), tmp_path / "lang" / "tokens.txt")
    args = {"data.train_cuts": train, "data.valid_cuts": train, "finetune.lang_dir": tmp_path / "lang",
            "train.max_updates": 2, "train.valid_every": 2, "train.checkpoint_every": 2, "data.max_duration": 10,
            "data.num_workers": 0, "train.progress_bar": "false"}
    cfg = load_finetune_config(None, [f"{k}={v}" for k, v in args.items()])
    finetune(cfg, tmp_path / "ft", init=latest_checkpoint(tmp_path / "pt"))
    model, tokens = load_ctc_model(tmp_path / "ft" / "best.pt")
    assert model.upsample is not None and model.upsample.factor == 4
    wav = torch.randn(1, 24000) * 0.1
    logits, lens = model(wav, torch.tensor([24000]))
    assert logits.shape[1] == int(lens[0]) == 4 * int(model.encoder.output_lengths(torch.tensor([24000]))[0])
    assert tokens[0] == "<blk>"
