import random
import subprocess
from pathlib import Path

import pytest

from ssltk.train.metrics import error_counts

jiwer = pytest.importorskip("jiwer")
ROOT = Path(__file__).resolve().parents[2]
VOCAB = "A B C D E F G HELLO WORLD THE".split()


def random_pairs(n, seed):
    r = random.Random(seed)
    refs, hyps = {}, {}
    for i in range(n):
        ref = [r.choice(VOCAB) for _ in range(r.randint(1, 12))]
        hyp = [w for w in ref if r.random() > 0.2]
        hyp = [r.choice(VOCAB) if r.random() < 0.2 else w for w in hyp]
        for _ in range(r.randint(0, 2)):
            hyp.insert(r.randint(0, len(hyp)), r.choice(VOCAB))
        refs[f"u{i}"], hyps[f"u{i}"] = " ".join(ref), " ".join(hyp)
    return refs, hyps


@pytest.mark.parametrize("seed", range(20))
def test_counts_agree_with_jiwer(seed):
    refs, hyps = random_pairs(40, seed)
    ours = error_counts(refs, hyps)
    out = jiwer.process_words(list(refs.values()), [hyps[u] for u in refs])
    assert (ours["sub"], ours["del"], ours["ins"]) == (out.substitutions, out.deletions, out.insertions)
    assert ours["wer"] == pytest.approx(100 * out.wer)


def test_edge_cases():
    s = error_counts({"a": "X Y", "b": "Z"}, {"a": ""})  # empty and missing hypotheses: deletions
    assert (s["del"], s["errors"], s["words"]) == (3, 3, 3)
    s = error_counts({"a": "", "b": "Z"}, {"a": "Q", "b": "Z"})  # empty reference: insertions
    assert (s["ins"], s["words"], s["wer"]) == (1, 1, 100.0)
    assert error_counts({"a": ""}, {"a": ""})["wer"] == 0.0
    assert error_counts({"a": "A B"}, {"a": "A B"}, cer=True)["words"] == 2


def write(path, rows):
    path.write_text("".join(f"{u} {t}\n" for u, t in rows.items()))
    return path


def test_score_sh_outputs(tmp_path):
    refs, hyps = random_pairs(10, 9)
    del hyps["u3"]
    hyps["extra"] = "A"
    ref = write(tmp_path / "ref.txt", refs)
    hyp = write(tmp_path / "hyp.txt", hyps)
    spk = write(tmp_path / "utt2spk", {u: f"s{int(u[1:]) % 2}" for u in refs})
    proc = subprocess.run(["bash", str(ROOT / "utils/score.sh"), "--utt2spk", str(spk), str(ref), str(hyp),
                           str(tmp_path / "out")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "no hypothesis" in proc.stderr and "no reference" in proc.stderr
    s = error_counts(refs, hyps)
    wer_line = (tmp_path / "out" / "wer").read_text().strip()
    assert wer_line == (f"%WER {s['wer']:.2f} [ {s['errors']} / {s['words']}, {s['ins']} ins, {s['del']} del, "
                        f"{s['sub']} sub ]")
    pra = (tmp_path / "out" / "per_utt").read_text()
    assert "id: (u0)" in pra and "REF:" in pra and "HYP:" in pra and "***" in pra
    assert len((tmp_path / "out" / "per_spk").read_text().splitlines()) == 2
    assert " -> " in (tmp_path / "out" / "substitutions").read_text()


def test_score_sh_usage_and_missing_inputs(tmp_path):
    proc = subprocess.run(["bash", str(ROOT / "utils/score.sh"), "a"], capture_output=True, text=True)
    assert proc.returncode == 1 and "Usage" in proc.stderr
    proc = subprocess.run(["bash", str(ROOT / "utils/score.sh"), "nope", "nope2", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "no such file nope" in proc.stderr
    proc = subprocess.run(["bash", str(ROOT / "utils/score.sh"), "--bogus", "1", "a", "b", "c"],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "invalid option --bogus" in proc.stderr
    proc = subprocess.run(["bash", str(ROOT / "utils/score.sh"), "--cer", "true",
                           str(write(tmp_path / "r", {"u": "AB"})), str(write(tmp_path / "h", {"u": "AC"})),
                           str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 0 and (tmp_path / "o" / "cer").read_text().startswith("%CER 50.00 [ 1 / 2")


def test_results_table_reads_scored_decode_dirs(tmp_path):
    import json

    from ssltk.bin import results

    sys_dir = tmp_path / "exp" / "ft"
    for m, wer in (("greedy", "20.00"), ("wfst", "10.00")):
        d = sys_dir / f"decode_test_{m}"
        (d / "scoring").mkdir(parents=True)
        (d / "scoring" / "wer").write_text(f"%WER {wer} [ 1 / 10, 0 ins, 0 del, 1 sub ]\n")
        (d / "stats.json").write_text(json.dumps({"lm_weight": 2.0, "word_score": -1.0, "avg_forward_s": 0.0123,
                                                  "forward_rtf": 0.00456}))
    results.main(["--systems", str(sys_dir), "--sets", "test", "dev", "--command", "./run.sh", "--out",
                  str(tmp_path / "RESULTS.md")])
    table = (tmp_path / "RESULTS.md").read_text()
    assert "| ft | test | 20.00 | 10.00 (lm 2.0, ws -1.0) | 0.012 s / 0.0046 |" in table
    assert "| ft | dev | - | - | - |" in table  # not decoded: a dash, not a crash
