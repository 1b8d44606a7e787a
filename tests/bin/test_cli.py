"""The command-line contracts (users and recipes call these)."""
import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from ssltk.bin import bench, convert, extract, presets
from ssltk.models.checkpoint import load_checkpoint, save_checkpoint
from ssltk.models.presets import PRESETS, get_preset
from ssltk.models.wav2vec2 import build_pretraining_model
from ssltk.testing import write_wav


@pytest.fixture
def ckpt(tmp_path):
    torch.manual_seed(0)
    cfg = get_preset("sewd-test")
    path = tmp_path / "model.pt"
    save_checkpoint(path, cfg, build_pretraining_model(cfg).state_dict())
    return path


def test_presets_json_lists_every_preset(capsys):
    presets.main(["--json"])
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["preset"] for r in rows] == list(PRESETS)
    assert {r["preset"]: r["params_m"] for r in rows}["sewd-mid"] == 78.8


def test_presets_table_runs_as_a_module():
    out = subprocess.run([sys.executable, "-m", "ssltk.bin.presets"], capture_output=True, text=True, check=True)
    assert "sewd-base+" in out.stdout and "WFE-C-c96-l1" in out.stdout


def test_extract_writes_last_layer_and_block_outputs(ckpt, tmp_path, capsys):
    audio = write_wav(tmp_path / "utt.wav", seconds=1.0)
    extract.main(["--ckpt", str(ckpt), "--audio", str(audio), "--out", str(tmp_path / "f.npy")])
    feats = np.load(tmp_path / "f.npy")
    assert feats.shape == (49, 32) and feats.dtype == np.float32
    extract.main(["--ckpt", str(ckpt), "--audio", str(audio), "--out", str(tmp_path / "l1.npy"), "--layer", "1"])
    assert np.load(tmp_path / "l1.npy").shape == (24, 32)  # squeezed rate


def test_extract_bad_inputs_exit_with_the_fix(ckpt, tmp_path):
    audio8k = write_wav(tmp_path / "utt8k.wav", seconds=1.0, sample_rate=8000)
    with pytest.raises(SystemExit, match="--resample"):
        extract.main(["--ckpt", str(ckpt), "--audio", str(audio8k), "--out", str(tmp_path / "f.npy")])
    extract.main(["--ckpt", str(ckpt), "--audio", str(audio8k), "--out", str(tmp_path / "f.npy"), "--resample"])
    with pytest.raises(SystemExit, match="between 1 and 2"):
        extract.main(["--ckpt", str(ckpt), "--audio", str(audio8k), "--out", str(tmp_path / "f.npy"),
                      "--resample", "--layer", "5"])
    with pytest.raises(SystemExit, match="does not exist"):
        extract.main(["--ckpt", str(tmp_path / "none.pt"), "--audio", str(audio8k), "--out", "x.npy", "--resample"])


def test_convert_round_trip_through_the_cli(tmp_path):
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    hf = transformers.SEWDModel(transformers.SEWDConfig(
        hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
        num_conv_pos_embedding_groups=4, num_conv_pos_embeddings=31))
    hf.save_pretrained(tmp_path / "hf")
    convert.main(["--from-hf", str(tmp_path / "hf"), "--out", str(tmp_path / "m.pt")])
    convert.main(["--ckpt", str(tmp_path / "m.pt"), "--to-hf", str(tmp_path / "back")])
    a = load_checkpoint(tmp_path / "m.pt")
    convert.main(["--from-hf", str(tmp_path / "back"), "--out", str(tmp_path / "m2.safetensors")])
    b = load_checkpoint(tmp_path / "m2.safetensors")
    assert a["config"] == b["config"] and all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    with pytest.raises(SystemExit, match="config.json does not exist"):
        convert.main(["--from-hf", str(tmp_path), "--out", str(tmp_path / "x.pt")])


def test_bench_prints_one_json_line(capsys):
    bench.main(["infer", "--preset", "sewd-test", "--seconds", "1", "--repeats", "2", "--threads", "1"])
    res = json.loads(capsys.readouterr().out)
    assert res["preset"] == "sewd-test" and res["ssltk_s"] > 0


def test_bench_vs_hf_has_both_times_and_the_ratio(capsys):
    pytest.importorskip("transformers")
    bench.main(["infer", "--preset", "w2v2-test", "--seconds", "1", "--repeats", "2", "--vs-hf"])
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert res["speedup_vs_transformers"] == pytest.approx(res["transformers_s"] / res["ssltk_s"], rel=0.01)


def test_bench_unknown_preset_or_key(capsys):
    with pytest.raises(SystemExit, match="valid presets"):
        bench.main(["infer", "--preset", "nope"])
    with pytest.raises(SystemExit, match="unknown config key 'context.nope'"):
        bench.main(["infer", "--preset", "w2v2-test", "context.nope=1"])


def test_scoring_does_not_import_torch():
    """utils/score.sh runs ssltk.bin.score once per decode dir: counting word errors needs no torch,
    whose import alone takes longer (1.6 s) than scoring a test set."""
    code = "import sys, ssltk.bin.score; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
