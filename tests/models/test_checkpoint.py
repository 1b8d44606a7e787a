import pytest
import torch

from ssltk.data.atomic import atomic_write
from ssltk.models.checkpoint import CheckpointError, load_checkpoint, load_encoder, save_checkpoint
from ssltk.models.presets import get_preset
from ssltk.models.wav2vec2 import build_pretraining_model


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_save_load_round_trip(tmp_path, suffix):
    cfg = get_preset("sewd-test")
    model = build_pretraining_model(cfg)
    path = tmp_path / f"model{suffix}"
    save_checkpoint(path, cfg, model.state_dict(), step=3)
    ckpt = load_checkpoint(path)
    assert ckpt["config"] == cfg and ckpt["step"] == 3
    assert all(torch.equal(ckpt["model"][k], v) for k, v in model.state_dict().items())
    enc, _ = load_encoder(path)
    assert not enc.training
    if suffix == ".pt":  # plain data: loads without unpickling code
        torch.load(path, weights_only=True)


def test_interrupted_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "ckpt.pt"
    cfg = get_preset("w2v2-test")
    save_checkpoint(path, cfg, {"encoder.x": torch.ones(2)})

    def crash(tmp):
        with open(tmp, "wb") as f:
            f.write(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, crash)
    assert torch.equal(load_checkpoint(path)["model"]["encoder.x"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"], "no temp file left behind"


def test_bad_files_name_the_problem(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read checkpoint .*junk.pt"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"weights": torch.ones(1)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not an ssltk checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_average_is_the_mean_of_the_models_and_drops_training_state(tmp_path):
    from ssltk.bin import average

    cfg = get_preset("s3l-test")
    states = [{"w": torch.full((2, 3), float(i)), "steps": torch.tensor(i)} for i in (1, 2, 6)]
    paths = []
    for i, state in enumerate(states):
        paths.append(tmp_path / f"checkpoint-{i:08d}.pt")
        save_checkpoint(paths[-1], cfg, state, tokens=["<blk>", "A"], optimizer={"lr": 1.0})
    average.main(["--inputs", *map(str, paths), "--out", str(tmp_path / "avg.pt")])
    avg = load_checkpoint(tmp_path / "avg.pt")
    assert torch.equal(avg["model"]["w"], torch.full((2, 3), 3.0)) and int(avg["model"]["steps"]) == 6
    assert avg["tokens"] == ["<blk>", "A"] and "optimizer" not in avg and len(avg["averaged"]) == 3
    save_checkpoint(tmp_path / "other.pt", get_preset("sewd-test"), states[0])
    with pytest.raises(SystemExit, match="not a checkpoint of the same model"):
        average.main(["--inputs", str(paths[0]), str(tmp_path / "other.pt"), "--out", str(tmp_path / "x.pt")])
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    with pytest.raises(SystemExit, match="has 0 checkpoints and --last is 2"):
        average.main(["--exp-dir", str(tmp_path / "run"), "--out", str(tmp_path / "x.pt")])
    paths[2].rename(tmp_path / "run" / "checkpoints" / paths[2].name)  # one checkpoint: averaged alone
    average.main(["--exp-dir", str(tmp_path / "run"), "--last", "3", "--out", str(tmp_path / "one.pt")])
    assert torch.equal(load_checkpoint(tmp_path / "one.pt")["model"]["w"], torch.full((2, 3), 6.0))
