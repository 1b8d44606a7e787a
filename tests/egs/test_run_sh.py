"""Every recipe's run.sh works from any directory: `egs/mini_tts/run.sh` from the repository
root is the README's Quick start, so `--help` (which re-reads the script after it cd's into
its own directory) must work with a relative path, an absolute path and from inside."""
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RECIPES = sorted(p.parent.name for p in (ROOT / "egs").glob("*/run.sh"))


def help_text(script: str, cwd: Path) -> str:
    res = subprocess.run(["bash", script, "--help"], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    return res.stdout + res.stderr


@pytest.mark.parametrize("recipe", RECIPES)
def test_help_from_anywhere(recipe):
    texts = [help_text(f"egs/{recipe}/run.sh", ROOT),
             help_text(str(ROOT / "egs" / recipe / "run.sh"), Path("/")),
             help_text("./run.sh", ROOT / "egs" / recipe)]
    for text in texts:
        assert "stage=0" in text and "No such file" not in text
    assert texts[0] == texts[1] == texts[2]


def test_unknown_option_is_an_error():
    res = subprocess.run(["bash", "egs/mini_tts/run.sh", "--no-such-option", "1"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode != 0 and "no-such-option" in res.stderr
