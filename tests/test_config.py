import ast
from pathlib import Path

import pytest

from ssltk.config import ConfigError, apply_overrides, field_paths, from_dict, load_yaml, to_dict
from ssltk.models.config import Wav2Vec2Config
from ssltk.models.presets import get_preset

SSLTK = Path(__file__).resolve().parents[1] / "ssltk"


def test_overrides_set_nested_fields_with_types():
    cfg = apply_overrides(Wav2Vec2Config(), ["context.squeeze=2", "context.dim=384", "masking.prob=0.5",
                                          "context.layer_norm_first=true", "context.pos_att=[c2p]"])
    assert cfg.context.squeeze == 2 and cfg.context.dim == 384 and cfg.masking.prob == 0.5
    assert cfg.context.layer_norm_first is True and cfg.context.pos_att == ("c2p",)


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ConfigError, match=r"unknown config key 'context.sqeeze'.*squeeze"):
        apply_overrides(Wav2Vec2Config(), ["context.sqeeze=2"])
    with pytest.raises(ConfigError, match="unknown config key 'nope'"):
        from_dict(Wav2Vec2Config, {"nope": 1})


@pytest.mark.parametrize("override, message", [
    ("context.dim=abc", "expected an integer"),
    ("context.attention=flash", "is not one of"),
    ("context.dim=100", "not divisible"),
    ("frontend.type=wfe-x", "is not one of"),
    ("context.squeeze", "key.sub=value"),
])
def test_bad_values_are_errors(override, message):
    with pytest.raises(ConfigError, match=message):
        apply_overrides(Wav2Vec2Config(), [override])


def test_dict_round_trip_and_paths(tmp_path):
    cfg = get_preset("sewd-mid")
    assert from_dict(Wav2Vec2Config, to_dict(cfg)) == cfg
    assert "context.squeeze" in field_paths(cfg)
    (tmp_path / "c.yaml").write_text("context:\n  layers: 3\n")
    assert from_dict(Wav2Vec2Config, load_yaml(tmp_path / "c.yaml")).context.layers == 3
    with pytest.raises(ConfigError, match="does not exist"):
        load_yaml(tmp_path / "missing.yaml")


def test_malformed_yaml_is_one_line_naming_file_line_and_fix(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "bad.yaml"
    bad.write_text("data:\n  max_duration: 40\n train:\n  max_updates: [1, 2\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:3:\d+: malformed YAML \(.+\); fix the syntax"):
        load_yaml(bad)
    proc = subprocess.run([sys.executable, "-m", "ssltk.bin.pretrain", "--config", str(bad), "--exp-dir",
                           str(tmp_path / "exp")], capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "bad.yaml:3:" in proc.stderr, proc.stderr
    assert not (tmp_path / "exp").exists()


def test_every_config_field_has_a_docstring():
    missing = []
    for path in sorted(SSLTK.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.ClassDef) and node.name.endswith(("Config", "Settings"))):
                continue
            for field, after in zip(node.body, node.body[1:] + [None]):
                if isinstance(field, ast.AnnAssign) and not (
                        isinstance(after, ast.Expr) and isinstance(after.value, ast.Constant)
                        and isinstance(after.value.value, str)):
                    missing.append(f"{path.relative_to(SSLTK.parent)}:{field.lineno} {node.name}.{field.target.id}")
    assert not missing, "config fields without a docstring:\n" + "\n".join(missing)
