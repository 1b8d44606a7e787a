"""Parity with transformers' independent implementations (random weights, offline)."""
import json

import pytest
import torch

from ssltk.models.checkpoint import sub_state
from ssltk.models.hf import ConversionError, config_from_hf, export_hf_dir, import_hf_dir
from ssltk.models.wav2vec2 import build_encoder
from ssltk.testing import synthetic_batch

transformers = pytest.importorskip("transformers")

SMALL = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
             conv_dim=(32,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4, mask_time_prob=0.05)
# neither WFE-O nor WFE-C: 5 layers of growing width (transformers allows any conv stack)
ODD_CONV = dict(conv_dim=(16, 24, 32, 32, 48), conv_kernel=(10, 3, 3, 2, 2), conv_stride=(5, 2, 2, 2, 2))
WFE_C = dict(conv_dim=(8, 16, 16, 16, 16, 32, 32, 32, 32, 64, 64, 64, 64),
             conv_kernel=(10, 3, 1, 3, 1, 3, 1, 3, 1, 2, 1, 2, 1), conv_stride=(5, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1))


def hf_models():
    t = transformers
    return {
        "w2v2-post-ln": lambda: t.Wav2Vec2Model(t.Wav2Vec2Config(**SMALL)),
        "w2v2-pre-ln": lambda: t.Wav2Vec2Model(t.Wav2Vec2Config(**SMALL, do_stable_layer_norm=True,
                                                                feat_extract_norm="layer", conv_bias=True)),
        "w2v2-pretraining": lambda: t.Wav2Vec2ForPreTraining(t.Wav2Vec2Config(
            **SMALL, codevector_dim=16, proj_codevector_dim=16, num_codevectors_per_group=8)),
        "w2v2-ctc": lambda: t.Wav2Vec2ForCTC(t.Wav2Vec2Config(**SMALL, vocab_size=29)),
        "w2v2-odd-conv": lambda: t.Wav2Vec2Model(t.Wav2Vec2Config(**{**SMALL, **ODD_CONV})),
        "sew-d-odd-conv": lambda: t.SEWDModel(t.SEWDConfig(**{**SMALL, **ODD_CONV}, squeeze_factor=2,
                                                           position_buckets=8, max_position_embeddings=32)),
        "sew": lambda: t.SEWModel(t.SEWConfig(**{**SMALL, **WFE_C, "num_conv_pos_embeddings": 31},
                                              squeeze_factor=2)),
        "sew-ctc": lambda: t.SEWForCTC(t.SEWConfig(**{**SMALL, **WFE_C}, squeeze_factor=2, vocab_size=29)),
        "sew-d": lambda: t.SEWDModel(t.SEWDConfig(**{**SMALL, **WFE_C}, squeeze_factor=2, position_buckets=8,
                                                  max_position_embeddings=32)),
        "sew-d-ctc": lambda: t.SEWDForCTC(t.SEWDConfig(**{**SMALL, **WFE_C, "num_conv_pos_embeddings": 31},
                                                       squeeze_factor=2, vocab_size=29, position_buckets=256,
                                                       max_position_embeddings=512)),
    }


def base_model(hf):
    for attr in ("wav2vec2", "sew", "sew_d"):
        if hasattr(hf, attr):
            return getattr(hf, attr)
    return hf


@pytest.fixture(scope="module", params=list(hf_models()))
def converted(request, tmp_path_factory):
    torch.manual_seed(0)
    hf = hf_models()[request.param]().eval()
    d = tmp_path_factory.mktemp(request.param)
    hf.save_pretrained(d)
    ckpt = import_hf_dir(d)
    enc = build_encoder(ckpt["config"]).eval()
    enc.load_state_dict(sub_state(ckpt["model"], "encoder."), strict=True)
    return request.param, hf, ckpt, enc, d


def test_hidden_states_match_each_utterance(converted):
    name, hf, _, enc, _ = converted
    # odd lengths (odd frame counts exercise the squeeze's tail) and a padded batch
    wav, lens = synthetic_batch([16001, 12345, 8003, 3517], seed=1)
    with torch.no_grad():
        ours = enc(wav, lens)
        for i, n in enumerate(lens.tolist()):
            ref = base_model(hf)(wav[i:i + 1, :n]).last_hidden_state[0]
            assert ref.shape[0] == int(ours.hidden_lens[i])
            torch.testing.assert_close(ours.hidden[i, : ref.shape[0]], ref, atol=1e-4, rtol=1e-4)


def test_padded_batch_matches_transformers_batch_for_layer_norm_models(converted):
    name, hf, _, enc, _ = converted
    if name != "w2v2-pre-ln":
        pytest.skip("group-norm models: transformers normalises over padding (see frontend/conv.py)")
    wav, lens = synthetic_batch([16000, 11000], seed=2)
    mask = (torch.arange(wav.shape[1])[None] < lens[:, None]).long()
    with torch.no_grad():
        ref = hf(wav, attention_mask=mask).last_hidden_state
        ours = enc(wav, lens)
    for i in range(2):
        n = int(ours.hidden_lens[i])
        torch.testing.assert_close(ours.hidden[i, :n], ref[i, :n], atol=1e-4, rtol=1e-4)


def test_ctc_head_and_pretraining_heads_are_imported(converted):
    name, hf, ckpt, enc, _ = converted
    if name.endswith("ctc"):
        assert ckpt["ctc"]["vocab_size"] == 29
        wav, _ = synthetic_batch([8000])
        with torch.no_grad():
            logits = torch.nn.functional.linear(enc(wav).hidden, ckpt["model"]["ctc.weight"], ckpt["model"]["ctc.bias"])
            torch.testing.assert_close(logits, hf(wav).logits, atol=1e-4, rtol=1e-4)
    if name == "w2v2-pretraining":
        assert torch.equal(ckpt["model"]["quantizer.codevectors"], hf.quantizer.codevectors.detach())
        assert torch.equal(ckpt["model"]["project_c.weight"], hf.project_hid.weight.detach())


def test_export_import_round_trip_is_exact_and_loads_in_transformers(converted, tmp_path):
    name, hf, ckpt, _, _ = converted
    arch = export_hf_dir(ckpt, tmp_path / "out")
    assert arch == type(hf).__name__
    again = import_hf_dir(tmp_path / "out")
    assert again["config"] == ckpt["config"]
    assert set(again["model"]) == set(ckpt["model"])
    assert all(torch.equal(again["model"][k], ckpt["model"][k]) for k in ckpt["model"])
    reloaded = type(hf).from_pretrained(tmp_path / "out").eval()
    wav, _ = synthetic_batch([6000])
    with torch.no_grad():
        torch.testing.assert_close(base_model(reloaded)(wav).last_hidden_state,
                                   base_model(hf)(wav).last_hidden_state)


def test_any_conv_stack_is_a_list_of_layers_and_named_stacks_keep_their_names():
    odd = config_from_hf(transformers.Wav2Vec2Config(**{**SMALL, **ODD_CONV}).to_dict())
    assert odd.frontend.type == "conv" and odd.frontend.layers == tuple(zip(*ODD_CONV.values()))
    assert odd.frontend.describe() == "conv-5x-c16..48-s80"
    sew = config_from_hf(transformers.SEWConfig(**{**SMALL, **WFE_C}).to_dict())
    assert sew.frontend.describe() == "WFE-C-c8-l1"


def test_unsupported_configs_are_clear_errors(tmp_path):
    with pytest.raises(ConversionError, match="model_type 'hubert' is not supported"):
        config_from_hf({"model_type": "hubert"})
    cfg = transformers.Wav2Vec2Config(**SMALL).to_dict()
    cfg["conv_kernel"] = [10, 3, 3]
    with pytest.raises(ConversionError, match="must be lists of one length"):
        config_from_hf(cfg)
    with pytest.raises(ConversionError, match="config.json does not exist"):
        import_hf_dir(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(transformers.Wav2Vec2Config(**SMALL).to_dict()))
    with pytest.raises(ConversionError, match="no model.safetensors"):
        import_hf_dir(tmp_path)
