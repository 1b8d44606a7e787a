"""egs/fisher_swbd stages 0-2 offline on fake LDC trees (2-channel NIST sphere, ms98 transcripts,
Fisher calldata tables, Hub5'00 references), including the conversational-text normalisation."""
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

from ssltk.data.config import DataConfig
from ssltk.data.dataset import AudioBatchDataset, load_cuts
from ssltk.testing import synthetic_batch

ROOT = Path(__file__).resolve().parents[2]


def stereo_sph(path: Path, seconds: float, seed: int):
    path.parent.mkdir(parents=True, exist_ok=True)
    a = synthetic_batch([int(seconds * 8000)] * 2, seed)[0].numpy().T
    sf.write(path, np.ascontiguousarray(a), 8000, format="NIST", subtype="PCM_16")


def make_tree(root: Path):
    for conv in (2001, 2002, 2003, 2004):
        stereo_sph(root / "LDC97S62" / "swb1" / f"sw0{conv}.sph", 12.0, conv)
        for side in "AB":
            d = root / "swb_ms98_transcriptions" / "20" / str(conv)
            d.mkdir(parents=True, exist_ok=True)
            (d / f"sw{conv}{side}-ms98-a-trans.text").write_text(
                f"sw{conv}{side}-ms98-a-0001 0.000000 1.000000 [silence]\n"
                f"sw{conv}{side}-ms98-a-0002 1.000000 4.000000 [laughter-yeah] i think th[e]- so [noise]\n"
                f"sw{conv}{side}-ms98-a-0003 5.000000 9.000000 uh-huh i_1 know\n")
    calldata = ["CALL_ID,a,b,c,d,PIN_A,e,f,g,h,PIN_B"]
    for n in (1, 2):
        name = f"fe_03_0000{n}"
        stereo_sph(root / "fisher" / "LDC2004S13" / "fe_03_p1_sph1" / "audio" / "000" / f"{name}.sph", 10.0, n)
        t = root / "fisher" / "LDC2004T19" / "data" / "trans" / "000" / f"{name}.txt"
        t.parent.mkdir(parents=True, exist_ok=True)
        t.write_text(f"# {name}.sph\n# transcribed\n\n0.50 3.50 A: (( hello )) there [laughter]\n"
                     "4.00 8.00 B: we were (( )) talking\n")
        calldata.append(f"0000{n},x,x,x,x,{100 + n},x,x,x,x,{200 + n}")
    (root / "fisher" / "LDC2004T19" / "doc").mkdir(parents=True)
    (root / "fisher" / "LDC2004T19" / "doc" / "fe_03_p1_calldata.tbl").write_text("\n".join(calldata) + "\n")
    stereo_sph(root / "eval2000" / "LDC2002S09" / "hub5e_00" / "english" / "en_4156.sph", 10.0, 9)
    ref = root / "eval2000" / "LDC2002T43" / "reference" / "english" / "en_4156.txt"
    ref.parent.mkdir(parents=True)
    ref.write_text("#Language: eng\n#File id: 4156\n\n1.00 4.00 A: <contraction e_form=\"[we=>we]['re=>are]\">"
                   "we're starting %um {breath} now\n\n5.00 8.00 B: mhm\n")


def test_stages_0_to_2_offline(tmp_path):
    make_tree(tmp_path)
    cmd = ["bash", str(ROOT / "egs/fisher_swbd/run.sh"), "--swbd-dir", str(tmp_path / "LDC97S62"),
           "--swbd-transcripts", str(tmp_path / "swb_ms98_transcriptions"), "--fisher-dir", str(tmp_path / "fisher"),
           "--eval2000-dir", str(tmp_path / "eval2000"), "--stop-stage", "2", "--dev-seconds", "10",
           "--finetune-labels", "20", "--data-dir", str(tmp_path / "data"), "--exp-dir", str(tmp_path / "exp")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    m = tmp_path / "data" / "manifests"
    swbd = {c.supervisions[0].text for c in load_cuts(m / "cuts_swbd.jsonl.gz")}
    assert swbd == {"YEAH I THINK SO", "UH HUH I KNOW"}
    fisher = sorted(c.supervisions[0].text for c in load_cuts(m / "cuts_fisher.jsonl.gz"))
    assert fisher == ["HELLO THERE", "HELLO THERE", "WE WERE TALKING", "WE WERE TALKING"]
    ev = sorted(c.supervisions[0].text for c in load_cuts(m / "cuts_eval2000.jsonl.gz"))
    assert ev == ["MHM", "WE'RE STARTING NOW"]
    train = {c.recording_id for c in load_cuts(m / "cuts_train.jsonl.gz")}
    dev = {c.recording_id for c in load_cuts(m / "cuts_dev.jsonl.gz")}
    assert dev and train and not train & dev, "dev holds out whole conversations"
    cuts = list(load_cuts(m / "cuts_train_20.jsonl.gz"))
    batch = AudioBatchDataset(DataConfig(min_samples=0, resample=True))[cuts]  # 8 kHz two-channel sphere
    assert batch["audio"].shape[0] == len(cuts) and not batch["skipped"]


def test_missing_inputs_are_named(tmp_path):
    proc = subprocess.run(["bash", str(ROOT / "egs/fisher_swbd/run.sh"), "--stop-stage", "1"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "--swbd-dir" in proc.stderr and "offline" in proc.stderr
