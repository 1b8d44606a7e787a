"""egs/tedlium3 and egs/voxpopuli stages 0-2 offline on fake corpus trees in the real layouts
(NIST sphere + STM; OGG + asr_en.tsv.gz), including each corpus' text normalisation."""
import gzip
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from ssltk.data.config import DataConfig
from ssltk.data.dataset import AudioBatchDataset, load_cuts
from ssltk.testing import synthetic_batch

ROOT = Path(__file__).resolve().parents[2]


def audio(seconds, seed):
    return synthetic_batch([int(seconds * 16000)], seed)[0][0].numpy()


def run(recipe, corpus, tmp, stop=2):
    cmd = ["bash", str(ROOT / "egs" / recipe / "run.sh"), "--corpus-dir", str(corpus), "--stop-stage", str(stop),
           "--data-dir", str(tmp / "data"), "--exp-dir", str(tmp / "exp"), "--finetune-labels", "5"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


def test_tedlium3_sphere_and_stm(tmp_path):
    corpus = tmp_path / "TEDLIUM_release-3"
    for i, split in enumerate(("train", "dev", "test")):
        for talk in range(2):
            name = f"Talk{split}{talk}"
            (corpus / "legacy" / split / "sph").mkdir(parents=True, exist_ok=True)
            (corpus / "legacy" / split / "stm").mkdir(parents=True, exist_ok=True)
            sf.write(corpus / "legacy" / split / "sph" / f"{name}.sph", audio(8.0, i * 10 + talk), 16000,
                     format="NIST", subtype="PCM_16")
            (corpus / "legacy" / split / "stm" / f"{name}.stm").write_text(
                f"{name} 1 {name} 0.00 3.00 <o,f0,male> it 's a <unk> test {{NOISE}} today\n"
                f"{name} 1 {name} 3.00 4.00 <o,f0,male> ignore_time_segment_in_scoring\n"
                f"{name} 1 {name} 4.00 7.50 <o,f0,male> we 're here\n")
    proc = run("tedlium3", corpus, tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    cuts = list(load_cuts(tmp_path / "data" / "manifests" / "cuts_train.jsonl.gz"))
    assert sorted(c.supervisions[0].text for c in cuts)[:2] == ["IT'S A TEST TODAY", "IT'S A TEST TODAY"]
    assert len(cuts) == 4 and {round(c.duration, 2) for c in cuts} == {3.0, 3.5}
    batch = AudioBatchDataset(DataConfig(min_samples=0))[cuts]  # .sph read without sph2pipe
    assert batch["audio"].shape[0] == 4 and not batch["skipped"]
    subset = list(load_cuts(tmp_path / "data" / "manifests" / "cuts_train_5.jsonl.gz"))
    assert 1 <= len(subset) <= 3


def test_voxpopuli_ogg_and_tsv(tmp_path):
    corpus = tmp_path / "voxpopuli"
    rows = ["id|session_id|start_time|end_time|speaker_id|split|gender|normed_text|original_text"]
    for i, split in enumerate(("train", "dev", "test")):
        session = f"2019010{i}-0900-PLENARY-{i}"
        d = corpus / "raw_audios" / "en" / "2019"
        d.mkdir(parents=True, exist_ok=True)
        sf.write(d / f"{session}_original.ogg", audio(10.0, i), 16000, format="OGG", subtype="VORBIS")
        rows.append(f"{session}_0|{session}|0.5|4.0|spk{i}|{split}|female|the président said twenty-two|The Président said 22")
        rows.append(f"{session}_1|{session}|5.0|9.0|spk{i}|{split}|female|we agree|We agree.")
    with gzip.open(corpus / "asr_en.tsv.gz", "wt") as f:
        f.write("\n".join(rows) + "\n")
    proc = run("voxpopuli", corpus, tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    cuts = list(load_cuts(tmp_path / "data" / "manifests" / "cuts_train.jsonl.gz"))
    assert sorted(c.supervisions[0].text for c in cuts) == ["THE PRESIDENT SAID TWENTY TWO", "WE AGREE"]
    batch = AudioBatchDataset(DataConfig(min_samples=0))[cuts]
    assert batch["audio"].shape[0] == 2 and np.isfinite(batch["audio"].numpy()).all()


def test_missing_inputs_are_named(tmp_path):
    proc = run("voxpopuli", tmp_path, tmp_path, stop=1)
    assert proc.returncode == 1 and "raw_audios/en does not exist" in proc.stderr
    proc = run("tedlium3", tmp_path, tmp_path, stop=1)
    assert proc.returncode == 1 and "legacy does not exist" in proc.stderr
