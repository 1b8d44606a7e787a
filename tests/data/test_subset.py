import subprocess
import sys

import pytest

from ssltk.data.dataset import load_cuts
from ssltk.data.subset import budget_seconds, select_subset
from ssltk.testing import write_cuts


def test_subsets_are_deterministic_nested_and_sized(tmp_path):
    path = write_cuts(tmp_path, [1.0] * 30, texts=["A B"] * 29 + [""])
    cuts = load_cuts(path)
    a = select_subset(cuts, 10.0, seed=3)
    b = select_subset(cuts, 10.0, seed=3)
    big = select_subset(cuts, 20.0, seed=3)
    assert [c.id for c in a] == [c.id for c in b] and len(a) == 10
    assert {c.id for c in a} <= {c.id for c in big}
    assert [c.id for c in select_subset(cuts, 10.0, seed=4)] != [c.id for c in a]
    with pytest.raises(ValueError, match="only 0.01 h of labelled audio"):
        select_subset(cuts, "1h")
    with pytest.raises(ValueError, match="unknown label budget"):
        select_subset(cuts, "2 hours")
    assert [budget_seconds(b) for b in ("10m", "30m", "1h", "1.5h", "90s", "45", 7)] == [600, 1800, 3600, 5400,
                                                                                          90, 45, 7]


def test_cli_writes_a_manifest(tmp_path):
    path = write_cuts(tmp_path, [1.0] * 5, texts=["A"] * 5)
    out = tmp_path / "sub.jsonl.gz"
    subprocess.run([sys.executable, "-m", "ssltk.bin.subset", "--cuts", str(path), "--budget", "3",
                    "--out", str(out)], check=True, capture_output=True)
    assert len(load_cuts(out).to_eager()) == 3


def test_cli_budget_over_the_corpus_is_an_error_or_with_allow_short_a_warning(tmp_path):
    path = write_cuts(tmp_path, [1.0] * 5, texts=["A"] * 5)
    out = tmp_path / "sub.jsonl.gz"
    cmd = [sys.executable, "-m", "ssltk.bin.subset", "--cuts", str(path), "--budget", "1h", "--out", str(out)]
    refused = subprocess.run(cmd, capture_output=True, text=True)
    assert refused.returncode == 1 and "less than the 1h budget" in refused.stderr and "--allow-short" in refused.stderr
    assert not out.exists()
    warned = subprocess.run([*cmd, "--allow-short"], capture_output=True, text=True)
    assert warned.returncode == 0 and warned.stderr.startswith("warning:") and "error" not in warned.stderr
    assert len(load_cuts(out).to_eager()) == 5
