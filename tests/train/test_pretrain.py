"""The pre-training loop: resume, interruption, robustness (tiny preset, tiny corpus)."""
import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from ssltk.data.dataset import DataError
from ssltk.models.checkpoint import load_checkpoint
from ssltk.testing import pretrain_overrides as base_overrides
from ssltk.testing import write_cuts
from ssltk.train import pretrain as pretrain_mod
from ssltk.train.checkpoint import latest_checkpoint, list_checkpoints
from ssltk.train.config import load_pretrain_config
from ssltk.train.pretrain import TrainingError, pretrain


def run_cli(args, **kw):
    return subprocess.Popen([sys.executable, "-m", "ssltk.bin.pretrain", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kw)


def final_state(exp_dir):
    return load_checkpoint(latest_checkpoint(exp_dir))["model"]


def test_runs_logs_validates_and_keeps_last_checkpoints(corpus, tmp_path):
    cfg = load_pretrain_config(None, base_overrides(corpus, **{"data.valid_cuts": corpus["valid"],
                                                               "train.valid_every": 3, "train.keep_last": 2}))
    last = pretrain(cfg, tmp_path)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    train_rows = [r for r in rows if r["split"] == "train"]
    assert [r["update"] for r in train_rows] == [2, 4, 6]
    for key in ("contrastive", "diversity", "feature_pen", "accuracy", "code_ppl_0", "prob_ppl_1",
                "codeword_sim_mean_0", "codeword_sim_min_1", "codeword_sim_max_0", "temperature", "lr",
                "grad_norm", "hours_seen", "padding_ratio", "throughput", "peak_mem_mb"):
        assert key in last, key
    assert [r["update"] for r in rows if r["split"] == "valid"] == [3, 6]
    assert [u for u, _ in list_checkpoints(tmp_path)] == [3, 6]
    ckpt = load_checkpoint(latest_checkpoint(tmp_path))
    assert ckpt["update"] == 6 and ckpt["train_config"]["preset"] == "sewd-test"
    assert (tmp_path / "config.yaml").read_text().startswith("# resolved config")
    assert any((tmp_path / "tensorboard").iterdir())
    # re-running a finished run does nothing and changes nothing
    before = final_state(tmp_path)
    pretrain(cfg, tmp_path)
    assert all(torch.equal(before[k], v) for k, v in final_state(tmp_path).items())


def test_resume_after_kill_9_is_bit_exact(corpus, tmp_path):
    args = base_overrides(corpus, **{"preset": "sew-test", "train.max_updates": 24, "train.checkpoint_every": 4,
                                     "data.max_duration": 24, "data.num_workers": 1,
                                     "train.num_threads": 1, "model.context.layerdrop": 0.2})
    full = run_cli(["--exp-dir", str(tmp_path / "full"), *args])
    assert full.wait(timeout=600) == 0, full.stdout.read()

    killed = run_cli(["--exp-dir", str(tmp_path / "resumed"), *args])
    ckpt4 = tmp_path / "resumed" / "checkpoints" / "checkpoint-00000004.pt"
    deadline = time.time() + 300
    while not ckpt4.exists() and time.time() < deadline and killed.poll() is None:
        time.sleep(0.005)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert killed.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert latest_checkpoint(tmp_path / "resumed") is not None
    assert not (tmp_path / "resumed" / "checkpoints" / "checkpoint-00000024.pt").exists()
    resumed = run_cli(["--exp-dir", str(tmp_path / "resumed"), *args])
    out = resumed.communicate(timeout=600)[0]
    assert resumed.returncode == 0 and "resumed from" in out, out

    a, b = final_state(tmp_path / "full"), final_state(tmp_path / "resumed")
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"parameters differ after resume: {different[:5]}"
    rows = [json.loads(line) for line in (tmp_path / "resumed" / "metrics.jsonl").read_text().splitlines()]
    updates = [r["update"] for r in rows]
    assert updates == sorted(set(updates)), "the killed run's log tail was replaced, not duplicated"


def test_sigterm_checkpoints_and_exits_as_stopped_not_finished(corpus, tmp_path):
    args = base_overrides(corpus, **{"train.max_updates": 100000, "train.checkpoint_every": 100000,
                                     "train.log_every": 1})
    proc = run_cli(["--exp-dir", str(tmp_path), *args])
    metrics = tmp_path / "metrics.jsonl"
    deadline = time.time() + 300
    while (not metrics.exists() or metrics.stat().st_size == 0) and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 128 + signal.SIGTERM, out  # a recipe must not mark the stage done
    assert "stopped at update" in out and "of 100000 by SIGTERM" in out and "re-run the same command" in out
    ckpt = load_checkpoint(latest_checkpoint(tmp_path))
    assert 1 <= ckpt["update"] < 100000


def test_a_second_run_on_the_same_exp_dir_says_who_holds_it(corpus, tmp_path):
    # with a loader worker: the lock must go with the trainer, not live on in its worker
    args = base_overrides(corpus, **{"train.max_updates": 100000, "train.log_every": 1, "data.num_workers": 1})
    first = run_cli(["--exp-dir", str(tmp_path), *args])
    try:
        metrics = tmp_path / "metrics.jsonl"
        deadline = time.time() + 300
        while (not metrics.exists() or metrics.stat().st_size == 0) and time.time() < deadline:
            time.sleep(0.02)
        rows_before = metrics.read_text().count("\n")
        second = run_cli(["--exp-dir", str(tmp_path), *args])
        out = second.communicate(timeout=120)[0]
        assert second.returncode == 1 and f"pid {first.pid}" in out and "is in use by" in out, out
        assert "another --exp-dir" in out and "Traceback" not in out
        assert first.poll() is None and metrics.read_text().count("\n") >= rows_before
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=120)
    # the lock goes with its holder, even one killed with SIGKILL
    killed = run_cli(["--exp-dir", str(tmp_path), *args])
    deadline = time.time() + 300
    while "pid %d" % killed.pid not in (tmp_path / ".lock").read_text() and time.time() < deadline:
        time.sleep(0.02)
    killed.kill()
    killed.wait()
    cfg = load_pretrain_config(None, base_overrides(corpus, **{"train.max_updates": 1}))
    assert pretrain(cfg, tmp_path) == {}  # free again (the stopped run is past update 1: nothing to do)


def test_an_unusable_exp_dir_is_one_clear_error(corpus, tmp_path):
    (tmp_path / "file").write_text("")
    cfg = load_pretrain_config(None, base_overrides(corpus))
    with pytest.raises(TrainingError, match=r"cannot use .*file/exp as the experiment directory .*writable --exp-dir"):
        pretrain(cfg, tmp_path / "file" / "exp")
    proc = run_cli(["--exp-dir", str(tmp_path / "file" / "exp"), *base_overrides(corpus)])
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 1 and out.count("\n") == 1 and out.startswith("error: cannot use"), out


def test_killed_checkpoint_write_leaves_previous_usable(corpus, tmp_path, monkeypatch):
    cfg = load_pretrain_config(None, base_overrides(corpus, **{"train.max_updates": 3}))
    pretrain(cfg, tmp_path)
    real_save = torch.save

    def dying_save(obj, f, *a, **k):
        with open(f, "wb") as fh:
            fh.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", dying_save)
    cfg6 = load_pretrain_config(None, base_overrides(corpus, **{"train.max_updates": 6}))
    with pytest.raises(KeyboardInterrupt):
        pretrain(cfg6, tmp_path)
    monkeypatch.setattr(torch, "save", real_save)
    assert [u for u, _ in list_checkpoints(tmp_path)] == [3]
    assert not [p for p in (tmp_path / "checkpoints").iterdir() if p.suffix != ".pt"], "temp file left behind"
    pretrain(cfg6, tmp_path)  # resumes from update 3
    assert load_checkpoint(latest_checkpoint(tmp_path))["update"] == 6


def test_nonfinite_updates_are_skipped_then_abort(corpus, tmp_path, monkeypatch):
    real = pretrain_mod.Wav2Vec2Objective.__call__
    calls = {"n": 0}

    def sometimes_nan(self, out, negatives):
        res = real(self, out, negatives)
        calls["n"] += 1
        if calls["n"] == 2:
            res.loss = res.loss * float("nan")
        return res

    monkeypatch.setattr(pretrain_mod.Wav2Vec2Objective, "__call__", sometimes_nan)
    cfg = load_pretrain_config(None, base_overrides(corpus, **{"train.max_updates": 4}))
    pretrain(cfg, tmp_path / "once")
    assert load_checkpoint(latest_checkpoint(tmp_path / "once"))["counters"]["nonfinite_skipped"] == 1

    def always_nan(self, out, negatives):
        res = real(self, out, negatives)
        res.loss = res.loss * float("nan")
        return res

    monkeypatch.setattr(pretrain_mod.Wav2Vec2Objective, "__call__", always_nan)
    cfg = load_pretrain_config(None, base_overrides(corpus, **{"train.max_consecutive_nonfinite": 3}))
    with pytest.raises(TrainingError, match="3 consecutive updates had NaN/inf.*optim.lr"):
        pretrain(cfg, tmp_path / "always")


def test_out_of_memory_batch_is_skipped_and_counted(corpus, tmp_path, monkeypatch):
    real = pretrain_mod.Wav2Vec2Objective.__call__
    calls = {"n": 0}

    def oom_once(self, out, negatives):
        calls["n"] += 1
        if calls["n"] == 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real(self, out, negatives)

    monkeypatch.setattr(pretrain_mod.Wav2Vec2Objective, "__call__", oom_once)
    cfg = load_pretrain_config(None, base_overrides(corpus, **{"train.max_updates": 4}))
    pretrain(cfg, tmp_path)
    ckpt = load_checkpoint(latest_checkpoint(tmp_path))
    assert ckpt["update"] == 4 and ckpt["counters"]["oom_skipped"] == 1


def test_bad_cuts_are_counted_and_all_bad_data_stops(tmp_path):
    d = tmp_path / "c"
    path = write_cuts(d, [2.5] * 6)
    (d / "wav" / "utt0_0002.flac").write_bytes(b"broken")
    cfg = load_pretrain_config(None, base_overrides({"train": path}, **{"train.max_updates": 2}))
    last = pretrain(cfg, tmp_path / "some")
    assert last["skipped_cuts"] >= 1
    log = (tmp_path / "some" / "log" / "pretrain.log").read_text()
    assert "skipping cut utt0_0002" in log and "utt0_0002.flac" in log
    for p in (d / "wav").iterdir():
        p.write_bytes(b"broken")
    with pytest.raises(DataError, match="no usable audio.*utt0_000"):
        pretrain(cfg, tmp_path / "none")
    with pytest.raises(DataError, match="does not exist"):
        pretrain(load_pretrain_config(None, base_overrides({"train": tmp_path / "missing.jsonl.gz"})),
                 tmp_path / "x")


def test_cli_reports_config_errors(tmp_path):
    proc = run_cli(["--exp-dir", str(tmp_path), "train.max_update=3"])
    out = proc.communicate(timeout=120)[0]
    assert proc.returncode == 1 and "unknown config key 'train.max_update'" in out
    assert os.listdir(tmp_path) == []


@pytest.mark.slow
def test_torch_compile_option_trains(corpus, tmp_path):
    cfg = load_pretrain_config(None, base_overrides(corpus, **{"preset": "w2v2-test", "train.compile": "true",
                                                               "train.max_updates": 2}))
    last = pretrain(cfg, tmp_path)
    assert math.isfinite(last["loss"])


def test_wav2vec2_objective_below_150_s_per_update_warns_with_the_fix(caplog):
    small = load_pretrain_config(None, ["preset=w2v2-mini", "data.max_duration=40", "train.accum_grad=1"])
    with caplog.at_level("WARNING", logger="ssltk.train.pretrain"):
        assert pretrain_mod.warn_small_batch(small, world_size=1)
    msg = caplog.text
    assert "40.0 s" in msg and "150 s" in msg and "arXiv:2402.13723" in msg and "train.accum_grad to 4" in msg
    enough = load_pretrain_config(None, ["preset=w2v2-mini", "data.max_duration=40", "train.accum_grad=4"])
    assert not pretrain_mod.warn_small_batch(enough, world_size=1)
    assert not pretrain_mod.warn_small_batch(small, world_size=4)  # 4 ranks x 40 s
    s3l = load_pretrain_config(None, ["preset=s3l-mini", "data.max_duration=40"])
    assert not pretrain_mod.warn_small_batch(s3l, world_size=1)  # the finding is about the contrastive objective


def test_lr_scaling_sets_the_peak_from_the_effective_batch(corpus, tmp_path):
    # optim.lr 1e-3 chosen at 10 s per update; 10 s x accum 4 = 40 s: sqrt -> 2e-3, constant after warm-up
    cfg = load_pretrain_config(None, base_overrides(corpus, **{
        "optim.lr": 1e-3, "optim.lr_scaling": "sqrt", "optim.lr_ref_batch_s": 10, "train.accum_grad": 4,
        "train.max_updates": 4, "schedule.type": "constant"}))
    pretrain(cfg, tmp_path)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [round(r["lr"], 6) for r in rows if r["split"] == "train"] == [2e-3, 2e-3]


def test_lr_scaling_needs_its_reference_batch():
    with pytest.raises(ValueError, match="lr_ref_batch_s"):
        load_pretrain_config(None, ["preset=sewd-test", "optim.lr_scaling=linear"])
    linear = load_pretrain_config(None, ["preset=sewd-test", "optim.lr_scaling=linear", "optim.lr=1e-3",
                                         "optim.lr_ref_batch_s=40"])
    assert math.isclose(linear.optim.peak_lr(160), 4e-3)
    assert load_pretrain_config(None, ["preset=sewd-test", "optim.lr=1e-3"]).optim.peak_lr(160) == 1e-3
