"""Manifest preparation: bad corpus entries are skipped, counted, named and listed, never fatal."""
import subprocess
import sys

from ssltk.data.dataset import load_cuts
from ssltk.testing import write_wav


def librispeech_part(root, part="train-clean", utts=5):
    chap = root / part / "19" / "198"
    chap.mkdir(parents=True)
    for u in range(utts):
        write_wav(chap / f"19-198-{u:04d}.flac", seconds=1.0, seed=u)
    (chap / "19-198.trans.txt").write_text("".join(f"19-198-{u:04d} HELLO NUMBER {u}\n" for u in range(utts)))
    return chap


def test_bad_entries_are_skipped_named_and_listed(tmp_path):
    chap = librispeech_part(tmp_path / "corpus")
    (chap / "19-198-0000.flac").write_bytes(b"")                        # zero bytes
    (chap / "19-198-0001.flac").write_text("this is text, not FLAC\n")  # a non-audio file named .flac
    (chap / "19-198-0002.flac").unlink()                                # transcript line without audio
    trans = chap / "19-198.trans.txt"
    trans.write_text(trans.read_text() + "19-198-0005\n")               # a line with no text
    write_wav(chap / "19-198-0005.flac", seconds=1.0)
    out = tmp_path / "manifests"
    proc = subprocess.run([sys.executable, "-m", "ssltk.bin.manifests", "librispeech", "--corpus-dir",
                           str(tmp_path / "corpus"), "--out-dir", str(out), "--parts", "train-clean"],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    cuts = load_cuts(out / "cuts_train-clean.jsonl.gz").to_eager()
    assert sorted(c.recording_id for c in cuts) == ["19-198-0003", "19-198-0004"]
    assert cuts[0].supervisions[0].speaker == "19" and cuts[0].supervisions[0].text.startswith("HELLO NUMBER")
    assert f"skipped {chap / '19-198-0000.flac'}: the file is empty (0 bytes)" in proc.stderr
    assert f"skipped {chap / '19-198-0001.flac'}: not an audio file" in proc.stderr
    assert f"skipped {trans}:3: the audio of 19-198-0002" in proc.stderr and "does not exist" in proc.stderr
    assert f"skipped {trans}:6: 19-198-0005 has no transcript text" in proc.stderr
    assert "skipped 4 corpus entries (1 empty, 1 empty_transcript, 1 missing, 1 not_audio)" in proc.stderr
    listing = (out / "skipped_train-clean.txt").read_text().splitlines()
    assert len(listing) == 4 and f"{trans}\t6\tempty_transcript\t19-198-0005 has no transcript text" in listing


def test_a_part_with_nothing_usable_is_an_error(tmp_path):
    chap = librispeech_part(tmp_path / "corpus", utts=1)
    (chap / "19-198-0000.flac").write_bytes(b"")
    proc = subprocess.run([sys.executable, "-m", "ssltk.bin.manifests", "librispeech", "--corpus-dir",
                           str(tmp_path / "corpus"), "--out-dir", str(tmp_path / "m"), "--parts", "train-clean"],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "error: no usable audio for cuts_train-clean.jsonl.gz" in proc.stderr
    assert "skipped_train-clean.txt" in proc.stderr and "Traceback" not in proc.stderr
