"""egs/mini_tts end to end on its CI corpus (every stage, a few updates each), and interrupt + rerun."""
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "egs" / "mini_tts"


def run(tmp, *args, **kw):
    cmd = ["bash", str(RECIPE / "run.sh"), "--size", "ci", "--data-dir", str(tmp / "data"), "--exp-dir",
           str(tmp / "exp"), "--results", str(tmp / "RESULTS.md"), *args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mini_tts")
    proc = run(tmp)
    out = proc.communicate(timeout=1800)[0]
    assert proc.returncode == 0, out[-3000:]
    return tmp, out


def test_every_stage_runs_and_writes_results(finished):
    tmp, out = finished
    for n in range(8):
        assert f"Stage {n}:" in out
    results = (tmp / "RESULTS.md").read_text()
    assert "| pre-trained + CTC fine-tuning |" in results and "| from scratch" in results
    for system in ("finetune", "finetune_scratch"):
        for m in ("greedy", "wfst"):
            for test in ("test", "test_other"):  # test-other: voice variants that no train speaker uses
                assert (tmp / "exp" / system / f"decode_{test}_{m}" / "scoring" / "wer").read_text().startswith("%WER")
    assert "| test-other greedy | test-other WFST |" in results and "| - | - |" not in results
    assert "- Stage times (min): 0: " in results and ", 6: " in results
    # the WFST decodes the phone layer: a phone lexicon from espeak-ng's G2P, its TLG; greedy reads the letters
    assert (tmp / "data" / "lang_phone" / "TLG.fst").stat().st_size > 0
    assert (tmp / "data" / "lang_char" / "tokens.txt").exists() and not (tmp / "data" / "lang_char" / "TLG.fst").exists()
    assert "(phones, LM weight" in results
    # the recorded command is the run's own options (everything not at its default), not a retyped list
    assert f"./run.sh --size ci --data-dir {tmp / 'data'}" in results and "--pt-updates 20 --ft-updates 20" in results


def test_rerun_skips_finished_stages(finished):
    tmp, _ = finished
    start = time.time()
    proc = run(tmp, "--stop-stage", "5")
    out = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, out
    assert out.count("already done") >= 5 and time.time() - start < 120
    proc = run(tmp, "--stage", "6", "--stop-stage", "6")
    out = proc.communicate(timeout=300)[0]
    # {2 systems} x {dev, test, test-other} x {greedy, wfst}
    assert proc.returncode == 0 and out.count("already done") == 12, out


def test_killed_pretraining_stage_resumes(tmp_path, finished):
    done, _ = finished
    # reuse the finished corpus and manifests; kill stage 3 mid-run, then rerun it
    os.symlink(done / "data", tmp_path / "data")
    conf = yaml.safe_load((RECIPE / "conf" / "pretrain.yaml").read_text())
    conf["train"]["checkpoint_every"] = 5  # a checkpoint well before the end (update 20), so the kill is mid-run
    (tmp_path / "pretrain.yaml").write_text(yaml.safe_dump(conf))
    args = ("--stage", "3", "--stop-stage", "3", "--pretrain-config", str(tmp_path / "pretrain.yaml"))
    proc = run(tmp_path, *args, start_new_session=True)
    ckpts = tmp_path / "exp" / "pretrain" / "checkpoints"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not any(ckpts.glob("checkpoint-*.pt")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert any(ckpts.glob("checkpoint-*.pt")), "no checkpoint within 300 s"
    assert not (tmp_path / "exp" / "pretrain" / ".done").exists()
    proc = run(tmp_path, *args)
    out = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0 and (tmp_path / "exp" / "pretrain" / ".done").exists(), out
    assert "resumed from" in out


def test_sigterm_to_the_process_group_never_marks_a_stage_done(tmp_path, finished):
    """Slurm's scancel / a shutdown sends SIGTERM to every process of the job: the trainer checkpoints
    and stops, the stage is not done, fine-tuning refuses the unfinished model, a rerun resumes."""
    done, _ = finished
    os.symlink(done / "data", tmp_path / "data")
    proc = run(tmp_path, "--stage", "3", "--stop-stage", "3", "--pt-updates", "100000", start_new_session=True)
    log = tmp_path / "exp" / "pretrain" / "log" / "pretrain.log"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None and not (log.exists() and "/100000 loss" in log.read_text()):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGTERM)
    proc.communicate(timeout=300)
    assert proc.returncode != 0
    deadline = time.time() + 120  # the trainer outlives the shell that started it by one update + a checkpoint
    while time.time() < deadline and "stopped at update" not in log.read_text():
        time.sleep(0.2)
    stopped = log.read_text()
    assert "of 100000 by SIGTERM" in stopped, stopped[-2000:]
    assert not (tmp_path / "exp" / "pretrain" / ".done").exists()
    refused = run(tmp_path, "--stage", "5", "--stop-stage", "5", "--from-scratch", "false")
    out = refused.communicate(timeout=300)[0]
    assert refused.returncode != 0 and "did not finish" in out and "re-run its stage to resume" in out, out
    update = int(stopped.split("stopped at update ")[1].split()[0])
    resumed = run(tmp_path, "--stage", "3", "--stop-stage", "3", "--pt-updates", str(update + 2))
    out = resumed.communicate(timeout=600)[0]
    assert resumed.returncode == 0 and "resumed from" in out, out
    assert (tmp_path / "exp" / "pretrain" / ".done").exists()


def test_a_failed_fine_tuning_names_its_log_and_is_not_done(tmp_path, finished):
    """Stage 5 runs both systems at once: a failure in either is reported with the end of its log, and
    neither is marked done."""
    done, _ = finished
    os.symlink(done / "data", tmp_path / "data")
    conf = yaml.safe_load((RECIPE / "conf" / "finetune_fbank.yaml").read_text())
    conf["train"]["no_such_key"] = 1
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(conf))
    ckpt = sorted((done / "exp" / "pretrain" / "checkpoints").glob("checkpoint-*.pt"))[-1]
    proc = run(tmp_path, "--stage", "5", "--stop-stage", "5", "--finetune-config", str(tmp_path / "bad.yaml"),
               "--init-ckpt", str(ckpt))
    out = proc.communicate(timeout=300)[0]
    assert proc.returncode != 0
    for system in ("finetune", "finetune_scratch"):
        assert f"fine-tuning {tmp_path / 'exp' / system} failed" in out, out
        assert not (tmp_path / "exp" / system / ".done").exists()
    assert out.count("no_such_key") >= 2 and "beside the other system" in out


def test_a_failed_decoding_names_its_log_and_is_not_done(tmp_path, finished):
    """Stage 6 decodes both systems at once, each in one process: a failure in either is reported with
    the end of its log, and no decode dir is marked done."""
    done, _ = finished
    os.symlink(done / "data", tmp_path / "data")
    for system in ("finetune", "finetune_scratch"):
        (tmp_path / "exp" / system).mkdir(parents=True)
        shutil.copy(done / "exp" / system / "best.pt", tmp_path / "exp" / system / "best.pt")
    proc = run(tmp_path, "--stage", "6", "--stop-stage", "6", "--beam", "wide")
    out = proc.communicate(timeout=300)[0]
    assert proc.returncode != 0
    for system in ("finetune", "finetune_scratch"):
        assert f"decoding {tmp_path / 'exp' / system} failed (re-run stage 6)" in out, out
        assert not list((tmp_path / "exp" / system).glob("decode_*/.done"))
    assert out.count("invalid float value: 'wide'") >= 2 and "beside the other system" in out


def test_synthesis_is_byte_reproducible(tmp_path):
    """Two stage-1 runs with the same seed give the same bytes, breathy espeak voices included."""
    corpora = []
    for name in ("a", "b"):
        subprocess.run([sys.executable, str(RECIPE / "local" / "synthesize.py"), "--out-dir", str(tmp_path / name),
                        "--size", "ci", "--seed", "0"], check=True, capture_output=True)
        corpora.append({p.relative_to(tmp_path / name): p.read_bytes() for p in sorted((tmp_path / name).rglob("*"))
                        if p.is_file()})
    assert corpora[0].keys() == corpora[1].keys() and len(corpora[0]) > 40
    assert [p for p in corpora[0] if corpora[0][p] != corpora[1][p]] == []


@pytest.mark.slow
def test_study_runs_every_stage_on_the_ci_corpus(finished):
    """run_study.sh with two batch sizes, two cycles of 2 updates: the RQ3 pair (40 s after 2 updates saw
    what 20 s saw after 4), the from-scratch baseline beside the 40 s run, one Fig. 1 preset, each fine-tuned
    with two seeds, tables (seed means with each seed's WER), PNGs."""
    tmp, _ = finished
    cmd = ["bash", str(RECIPE / "run_study.sh"), "--size", "ci", "--data-dir", str(tmp / "data"), "--exp-dir",
           str(tmp / "study"), "--results", str(tmp / "study_results" / "RESULTS.md"), "--batch-sizes", "20 40",
           "--fig1-batch", "40", "--fig1-presets", "w2v2-mini", "--updates", "4", "--cycles", "2",
           "--ft-updates", "4", "--ft-seeds", "0 1"]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    lines = (tmp / "study" / "finetunes.txt").read_text().split("\n")
    assert [line.split()[:2] for line in lines if line] == [["bs20", "4"], ["bs40", "2"], ["bs40", "4"]]
    for d in ("bs20/u4", "bs40/u2", "bs40/u4", "w2v2-mini/u4"):
        for seed in (0, 1):
            systems = ("finetune", "finetune_scratch") if d == "bs40/u4" else ("finetune",)
            for system in systems:
                wer = tmp / "study" / d / f"seed{seed}" / system / "decode_test_wfst" / "scoring" / "wer"
                assert wer.exists(), (d, seed, system)
    assert not (tmp / "study" / "bs20/u4/seed0/finetune_scratch").exists()
    out = tmp / "study_results" / "results"
    study = (out / "study.md").read_text()
    assert "| 20 |" in study and "| from scratch |" in study and "| w2v2-mini |" in study
    scratch_row = next(line for line in study.splitlines() if line.startswith("| from scratch |"))
    assert scratch_row.count("(") == 2 and scratch_row.count(" / ") == 2, scratch_row  # a mean (seed 0 / seed 1)
    assert "(8 run.sh stage 5-6 runs)" in study
    for png in ("study_fig2_updates.png", "study_fig2_hours.png", "study_fig5_wer_hours.png",
                "study_fig1_wer_time.png"):
        assert (out / png).stat().st_size > 0, png
    assert "## Study" in (tmp / "study_results" / "RESULTS.md").read_text()


def seed_table(capsys, *args) -> tuple[int, str, str]:
    """local/seed_table.py ARGS run in this process (a subprocess would spend ~2 s importing torch again):
    its exit code, stdout and stderr."""
    spec = importlib.util.spec_from_file_location("seed_table", RECIPE / "local" / "seed_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    capsys.readouterr()
    try:
        module.main([str(a) for a in args])
        code = 0
    except SystemExit as e:  # sys.exit(message): the message goes to stderr, as python prints it
        print(e.code, file=sys.stderr)
        code = 1
    out = capsys.readouterr()
    return code, out.out, out.err


def test_seed_table_pairs_pretrained_with_scratch(finished, tmp_path, capsys):
    """local/seed_table.py reads stage 6's scores of both systems and reports their difference."""
    tmp, _ = finished
    code, out, err = seed_table(capsys, tmp / "exp", "--command", "./run.sh --size ci")
    assert code == 0, err
    rows = [line for line in out.splitlines() if line.startswith("| exp (0) |")]
    assert len(rows) == 1 and rows[0].count(" / ") == 4, out
    assert "| mean of 1 |" in out and "`./run.sh --size ci`" in out
    code, out, err = seed_table(capsys, tmp / "exp", "--scratch", tmp / "exp")
    assert code == 0, err
    rows = [line for line in out.splitlines() if "checkpoint-" in line]
    assert len(rows) == 1 and "| 0 |" in rows[0] and rows[0].endswith("of 1 |"), out
    code, _, err = seed_table(capsys, tmp / "exp", "--scratch", tmp / "nowhere")
    assert code != 0 and "nowhere" in err
    (tmp_path / "pretrained").mkdir()
    (tmp_path / "pretrained" / "finetune").symlink_to(tmp / "exp" / "finetune")
    code, _, err = seed_table(capsys, tmp / "exp", "--scratch", tmp_path / "pretrained")
    assert code != 0 and "not a from-scratch run" in err
    code, _, err = seed_table(capsys, tmp / "nowhere")
    assert code != 0 and "run run.sh stages 5-6 there first" in err
