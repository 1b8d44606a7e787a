import pytest

from ssltk.config import ConfigError
from ssltk.train.config import load_pretrain_config


def test_yaml_preset_then_overrides(tmp_path):
    (tmp_path / "c.yaml").write_text("preset: sewd-tiny\nmodel:\n  context: {layers: 3}\ntrain: {accum_grad: 4}\n")
    cfg = load_pretrain_config(tmp_path / "c.yaml", ["train.max_updates=7", "model.masking.prob=0.5"])
    assert cfg.preset == "sewd-tiny" and cfg.model.context.dim == 384 and cfg.model.context.layers == 3
    assert cfg.train.accum_grad == 4 and cfg.train.max_updates == 7 and cfg.model.masking.prob == 0.5


def test_unknown_keys_name_the_file_and_valid_keys(tmp_path):
    (tmp_path / "bad.yaml").write_text("train: {max_update: 7}\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: unknown config key 'train.max_update'.*max_updates"):
        load_pretrain_config(tmp_path / "bad.yaml")
    with pytest.raises(ConfigError, match="unknown config key 'optim.learning_rate'"):
        load_pretrain_config(None, ["optim.learning_rate=1"])
    with pytest.raises(ConfigError, match="unknown preset"):
        load_pretrain_config(None, ["preset=nope"])


@pytest.mark.parametrize("preset", ["sewd-test", "s3l-test"])
def test_a_resolved_run_config_reads_back_as_its_architecture(preset):
    from ssltk.config import to_dict
    from ssltk.train.config import pretrain_config_from_dict

    cfg = load_pretrain_config(None, [f"preset={preset}", "train.max_updates=7"])
    assert pretrain_config_from_dict(to_dict(cfg)) == cfg
