import json

import pytest

from ssltk.bin import grad_variance, plot
from ssltk.testing import pretrain_overrides
from ssltk.train.checkpoint import latest_checkpoint
from ssltk.train.config import load_pretrain_config
from ssltk.train.pretrain import pretrain


@pytest.fixture(scope="module")
def two_runs(corpus, tmp_path_factory):
    dirs = []
    for name, dur in (("bs_10s", 10), ("bs_20s", 20)):
        d = tmp_path_factory.mktemp(name)
        pretrain(load_pretrain_config(None, pretrain_overrides(corpus, **{
            "data.max_duration": dur, "data.valid_cuts": corpus["valid"], "train.valid_every": 3})), d)
        dirs.append(d)
    return dirs


@pytest.mark.parametrize("x", ["update", "hours"])
def test_plot_writes_valid_pngs(two_runs, tmp_path, x, capsys):
    plot.main([*map(str, two_runs), "--out", str(tmp_path), "--x", x])
    pngs = sorted(tmp_path.glob("*.png"))
    assert len(pngs) >= 10 and (tmp_path / "figure2.png") in pngs
    for p in pngs:
        data = p.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    with pytest.raises(SystemExit, match="metrics.jsonl does not exist"):
        plot.main([str(tmp_path), "--out", str(tmp_path / "x")])


def test_gradient_variance_is_positive_and_shrinks_with_bigger_batches(two_runs, capsys):
    ckpt = latest_checkpoint(two_runs[0])
    grad_variance.main(["--ckpt", str(ckpt), "--batches", "4", "--micro-batches", "1"])
    small = json.loads(capsys.readouterr().out)
    grad_variance.main(["--ckpt", str(ckpt), "--batches", "4", "--micro-batches", "4"])
    large = json.loads(capsys.readouterr().out)
    assert small["mean_std"] > 0 and small["batches"] == 4
    assert large["mean_std"] < small["mean_std"]  # averaging over more audio reduces gradient noise
    with pytest.raises(SystemExit):
        grad_variance.main(["--ckpt", str(ckpt), "--batches", "1"])
