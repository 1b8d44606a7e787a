import pytest
import torch

from ssltk.config import ConfigError
from ssltk.models.presets import PRESETS, TABLE6_ROWS, get_preset
from ssltk.models.build import build_pretraining_model, inference_parameters
from ssltk.objectives.contrastive import Wav2Vec2Objective
from ssltk.targets.masking import sample_negatives

# Inference parameters (M): SEW-D paper Tables 1 and 4, Table 6 rows 7-8 (and row 9: FBFE).
PAPER_PARAMS = {
    "w2v2-tiny": 11.1, "w2v2-small": 24.8, "w2v2-mid": 44.1, "w2v2-base": 94.4, "w2v2-large": 315.5,
    "sewd-tiny": 24.1, "sewd-small": 41.0, "sewd-mid": 78.8, "sewd-base": 175.1, "sewd-base+": 177.0,
    "sew-tiny": 40.7, "sew-tiny-fbank": 42.2,
}
TABLE6_PARAMS = {1: 24.8, 2: 11.1, 3: 23.9, 4: 27.2, 5: 41.7, 6: 40.7, 7: 40.7, 8: 24.1, 9: 42.2}


@pytest.mark.parametrize("name", list(PAPER_PARAMS))
def test_inference_parameters_match_the_paper(name):
    ours = inference_parameters(get_preset(name)) / 1e6
    assert abs(ours - PAPER_PARAMS[name]) / PAPER_PARAMS[name] < 0.015, f"{name}: {ours:.2f}M"


@pytest.mark.parametrize("row", list(TABLE6_ROWS))
def test_every_table6_row_is_a_preset_plus_overrides(row):
    preset, overrides = TABLE6_ROWS[row]
    ours = inference_parameters(get_preset(preset, overrides)) / 1e6
    assert abs(ours - TABLE6_PARAMS[row]) / TABLE6_PARAMS[row] < 0.015, f"row {row}: {ours:.2f}M"


@pytest.mark.parametrize("name", [n for n in PRESETS if get_preset(n).arch == "wav2vec2"])
def test_every_preset_trains_one_step_on_cpu(name):
    torch.manual_seed(0)
    cfg = get_preset(name, ["context.layerdrop=0"])
    model = build_pretraining_model(cfg).train()
    wav = torch.randn(2, 6400)
    lens = torch.tensor([6400, 5000])
    out = model(wav, lens)
    res = Wav2Vec2Objective(cfg.objective)(out, sample_negatives(out.mask, cfg.objective.num_negatives))
    assert torch.isfinite(res.loss)
    res.loss.backward()
    assert model.encoder.context.layers[0].ffn.fc1.weight.grad is not None
    assert model.quantizer.weight_proj.weight.grad is not None


def test_unknown_preset_lists_valid_ones():
    with pytest.raises(ConfigError, match="valid presets: w2v2-base"):
        get_preset("w2v2-huge")


def test_presets_are_written_as_differences():
    """Every preset names an existing parent and each of its overrides changes the parent's value
    (a repeated value would hide what the variant really changes); a root preset names only its
    architecture, whose config's defaults it is."""
    from ssltk.config import to_dict
    from ssltk.models.presets import PRESETS

    def leaves(d, prefix=""):
        for k, v in d.items():
            yield from leaves(v, f"{prefix}{k}.") if isinstance(v, dict) else [(prefix + k, v)]

    for name, (parent, overrides) in PRESETS.items():
        if parent is None:
            assert set(overrides) <= {"arch"}, name
            continue
        assert parent in PRESETS, f"{name}: unknown parent {parent}"
        base = dict(leaves(to_dict(get_preset(parent))))
        for key, value in leaves(overrides):
            value = list(value) if isinstance(value, tuple) else value
            assert base[key] != value, f"{name} repeats {key}={value!r} of its parent {parent}"



@pytest.mark.parametrize("name", ["sewd-mini", "sew-test"])
def test_squeezed_output_has_unit_scale_at_init(name):
    """Regression: BERT's N(0, 0.02) init of the upsampling layer gave hidden std 0.11 (sewd-mini)
    and 0.06 (sew-test); CTC fine-tuning of sewd-mini then sat on the all-blank plateau."""
    from ssltk.models.wav2vec2 import build_encoder
    from ssltk.testing import synthetic_batch

    torch.manual_seed(0)
    enc = build_encoder(get_preset(name)).eval()
    with torch.no_grad():
        assert enc(synthetic_batch([16000], 0)[0]).hidden.std() > 0.25
