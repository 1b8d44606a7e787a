"""egs/librispeech stages 0-2 offline on a fake corpus tree in the real layout (tiny synthetic FLAC)."""
import subprocess
from pathlib import Path

from ssltk.data.dataset import load_cuts
from ssltk.testing import write_wav

ROOT = Path(__file__).resolve().parents[2]
PARTS = ["train-clean-100", "train-clean-360", "train-other-500", "dev-clean", "dev-other", "test-clean",
         "test-other"]


def fake_tree(root: Path, part: str, speakers=(19, 26), utts=2, seed=0):
    for spk in speakers:
        chap = root / part / str(spk) / "198"
        chap.mkdir(parents=True, exist_ok=True)
        lines = []
        for u in range(utts):
            name = f"{spk}-198-{u:04d}"
            write_wav(chap / f"{name}.flac", seconds=2.5, seed=seed + spk * 10 + u)
            lines.append(f"{name} HELLO WORLD NUMBER {u}")
        (chap / f"{spk}-198.trans.txt").write_text("\n".join(lines) + "\n")


def test_stages_0_to_2_offline(tmp_path):
    corpus = tmp_path / "LibriSpeech"
    for i, part in enumerate(PARTS):
        fake_tree(corpus, part, seed=i * 100)
    ft = corpus / "librispeech_finetuning"
    for fold in range(6):
        for kind in ("clean", "other"):
            fake_tree(ft, f"1h/{fold}/{kind}", speakers=(100 + fold,), utts=1, seed=fold)
    for kind in ("clean", "other"):
        fake_tree(ft, f"9h/{kind}", speakers=(200,), utts=2)
    cmd = ["bash", str(ROOT / "egs/librispeech/run.sh"), "--corpus-dir", str(corpus), "--stop-stage", "2",
           "--data-dir", str(tmp_path / "data"), "--exp-dir", str(tmp_path / "exp")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    m = tmp_path / "data" / "manifests"
    sizes = {name: len(load_cuts(m / f"cuts_{name}.jsonl.gz").to_eager())
             for name in ("train-960", "train_100h", "train_10m", "train_1h", "train_10h", "dev-other")}
    assert sizes == {"train-960": 12, "train_100h": 4, "train_10m": 2, "train_1h": 12, "train_10h": 16,
                     "dev-other": 4}
    cut = next(iter(load_cuts(m / "cuts_dev-other.jsonl.gz")))
    assert cut.supervisions[0].text.startswith("HELLO WORLD")
    shar = load_cuts(tmp_path / "data" / "shar")
    assert len(list(shar)) == 12
    # a rerun skips the finished stages
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and again.stdout.count("already done") == 2


def test_missing_corpus_names_the_expected_tree(tmp_path):
    proc = subprocess.run(["bash", str(ROOT / "egs/librispeech/run.sh"), "--corpus-dir", str(tmp_path / "none"),
                           "--stop-stage", "1", "--data-dir", str(tmp_path / "d")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "Expected the LibriSpeech tree" in proc.stderr and "--download" in proc.stderr
