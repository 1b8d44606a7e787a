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


def test_beside_reports_each_group_of_jobs_with_its_own_logs(tmp_path):
    """utils/recipe_lib.sh's beside / beside_wait (stages 5 and 6 of mini_tts run both systems with them):
    exit statuses and logs belong to the jobs since the last wait, shell functions included."""
    script = f"""set -euo pipefail
. utils/recipe_lib.sh
beside {tmp_path}/a.log bash -c 'echo a; exit 0'; beside {tmp_path}/b.log bash -c 'echo b; exit 3'
beside_wait; echo "${{beside_rc[*]}} | ${{beside_logs[*]}}"
f() {{ echo "f says $1"; return "$1"; }}
beside {tmp_path}/c.log f 5; beside_wait; echo "${{beside_rc[*]}} | ${{beside_logs[*]}}"
"""
    res = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [f"0 3 | {tmp_path}/a.log {tmp_path}/b.log", f"5 | {tmp_path}/c.log"]
    assert (tmp_path / "b.log").read_text() == "b\n" and (tmp_path / "c.log").read_text() == "f says 5\n"
