"""Masked unit prediction on the S3L encoder: frame alignment, masks, padding, gradients, config."""
import pytest
import torch

from ssltk.config import ConfigError
from ssltk.models.build import build_pretraining_model
from ssltk.frontend.config import ConvLayerSpec
from ssltk.models.presets import get_preset
from ssltk.models.units import UnitPredictionModel, centre_frames, receptive_field
from ssltk.objectives.masked_prediction import MaskedPredictionObjective
from ssltk.testing import synthetic_batch


def unit_model(*overrides, seed=0):
    torch.manual_seed(seed)
    model = build_pretraining_model(get_preset("s3l-test", ["s3l.pretext=units", "units.count=6", *overrides]))
    wav, lens = synthetic_batch([16000, 11000], seed=seed)
    mel, mel_lens = model.encoder.frontend.mel(wav, lens)
    model.codebook.fit(model.codebook.features(mel, mel_lens)[0], seed=0)
    return model, wav, lens


def test_receptive_field_of_the_s3l_mini_encoder():
    cfg = get_preset("s3l-mini")
    specs = [ConvLayerSpec(0, c, k, s) for c, k, s in cfg.s3l.conv1 + cfg.s3l.conv2]
    assert receptive_field(specs) == (29, 8, 10)  # frame t reads mel [8t, 8t + 29), centre [8t + 10, 8t + 18)
    idx = centre_frames(3, torch.tensor([40, 20]), specs)
    assert idx[0, 1].tolist() == list(range(18, 26))
    assert idx[1, 2].tolist() == [19] * 8  # clamped to the last valid frame


def test_pretext_builds_the_unit_model_and_bad_values_are_errors():
    model, _, _ = unit_model()
    assert isinstance(model, UnitPredictionModel) and model.positions == 8
    assert model.head.out_features == 8 * 6
    with pytest.raises((ConfigError, ValueError)):
        get_preset("s3l-test", ["s3l.pretext=hubert"])
    with pytest.raises((ConfigError, ValueError), match="units.count"):
        get_preset("s3l-test", ["units.count=1"])


def test_targets_are_the_codebook_units_at_frame_centres():
    model, wav, lens = unit_model()
    out = model.eval()(wav, lens)
    mel, mel_lens = model.encoder.frontend.mel(wav, lens)
    units = model.codebook(mel, mel_lens)
    n, t, p, k = out.logits.shape
    assert (p, k) == (8, 6) and out.units.shape == (n, t, p)
    _, stride, offset = receptive_field(model.in_specs + model.down_specs)
    for i in range(n):
        for f in range(int(out.valid[i].sum())):
            assert out.units[i, f].tolist() == units[i, stride * f + offset: stride * f + offset + 8].tolist()
    assert (out.units[~out.valid] == -1).all() and (out.units[out.valid] >= 0).all()


def test_masked_frames_are_those_fed_by_masked_input():
    model, wav, lens = unit_model("masking.prob=0.5", "masking.length=2")
    out = model.train()(wav, lens, generator=torch.Generator().manual_seed(0))
    assert out.masked.any() and (out.valid & ~out.masked).any() and not (out.masked & ~out.valid).any()
    none, _, _ = unit_model("masking.prob=0", "masking.min_masks=0")
    assert not none(wav, lens).masked.any()


def test_padded_batch_equals_each_utterance_alone_without_masks():
    model, wav, lens = unit_model("masking.prob=0", "masking.min_masks=0")
    model.eval()
    batch = model(wav, lens)
    alone = model(wav[1:, :11000], lens[1:])
    t = int(alone.valid.sum())
    torch.testing.assert_close(batch.logits[1, :t], alone.logits[0, :t], atol=1e-5, rtol=1e-5)
    assert torch.equal(batch.units[1, :t], alone.units[0, :t])


def test_loss_trains_the_encoder_and_head_not_the_codebook():
    model, wav, lens = unit_model("masking.prob=0.5", "masking.length=2")
    out = model.train()(wav, lens)
    res = MaskedPredictionObjective(unmasked_weight=0.5)(out)
    # with an unmasked weight every valid frame counts; masked ones are a proper part of them
    assert res.sample_size == int(out.valid.sum()) and 0 < int(out.masked.sum()) < res.sample_size
    centroids = {k: v.clone() for k, v in model.codebook.state_dict().items()}
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    res.loss.backward()
    assert model.head.weight.grad.abs().sum() > 0
    assert model.encoder.stage1.layers[0].ffn.fc1.weight.grad.abs().sum() > 0
    opt.step()
    assert all(torch.equal(centroids[k], v) for k, v in model.codebook.state_dict().items())
    codebook = {id(t) for t in model.codebook.state_dict(keep_vars=True).values()}
    assert not codebook & {id(p) for p in model.parameters()}  # not something an optimizer could touch
    assert 0 <= res.metrics["accuracy"] <= 1 and 1 <= res.metrics["unit_perplexity"] <= 6