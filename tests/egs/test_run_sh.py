"""Every recipe's run.sh works from any directory: `egs/mini_tts/run.sh` from the repository
root is the README's Quick start, so `--help` (which re-reads the script after it cd's into
its own directory) must work with a relative path, an absolute path and from inside."""
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECIPES = sorted(p.parent.name for p in (ROOT / "egs").glob("*/run.sh"))
SCRIPTS = [f"{r}/run.sh" for r in RECIPES] + ["mini_tts/run_study.sh"]


def help_text(script: str, cwd: Path) -> str:
    res = subprocess.run(["bash", script, "--help"], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return res.stdout + res.stderr


@pytest.mark.parametrize("script", SCRIPTS)
def test_help_from_anywhere(script):
    recipe, name = script.split("/")
    texts = [help_text(f"egs/{script}", ROOT),
             help_text(str(ROOT / "egs" / script), Path("/")),
             help_text(f"./{name}", ROOT / "egs" / recipe)]
    for text in texts:
        assert "stage=0" in text and "No such file" not in text
    assert texts[0] == texts[1] == texts[2]


@pytest.mark.parametrize("script", ["run.sh", "run_study.sh"])
def test_unknown_option_is_an_error(script):
    res = subprocess.run(["bash", f"egs/mini_tts/{script}", "--no-such-option", "1"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode != 0 and "no-such-option" in res.stderr


def test_study_checks_its_options():
    for args in (["--batch-sizes", "20 60"], ["--fig1-batch", "640"], ["--updates", "801"], ["--ft-seeds", "0 x"],
                 ["--ft-seeds", " "]):
        res = subprocess.run(["bash", "egs/mini_tts/run_study.sh", *args], cwd=ROOT, capture_output=True,
                             text=True, timeout=60)
        assert res.returncode != 0 and "run_study.sh: --" in res.stderr, args


def test_mini_tts_checks_its_choices():
    for args in (["--wfst-tokens", "bpe"], ["--parallel-ft", "yes"]):
        res = subprocess.run(["bash", "egs/mini_tts/run.sh", *args], cwd=ROOT, capture_output=True, text=True,
                             timeout=60)
        assert res.returncode != 0 and f"run.sh: {args[0]} must be" in res.stderr, args
