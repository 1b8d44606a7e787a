import pytest
import torch

from ssltk.models.build import build_encoder
from ssltk.models.ctc import CTCModel
from ssltk.models.presets import get_preset


def two_layer_models(**kw):
    """sewd-test (2 blocks, squeeze 2) with letters on top and a 7-unit auxiliary layer at `kw`, and the
    same weights with the auxiliary layer beside the letters."""
    torch.manual_seed(0)
    cfg = get_preset("sewd-test")
    model = CTCModel(build_encoder(cfg), 11, aux_vocab_size=7, **kw).eval()
    top = CTCModel(build_encoder(cfg), 11, aux_vocab_size=7).eval()
    top.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("aux_cond.")})
    return model, top


def test_an_intermediate_auxiliary_layer_reads_its_block_repeated_to_the_output_rate():
    model, top = two_layer_models(aux_layer=1)
    wav, lens = torch.randn(2, 16000), torch.tensor([16000, 11000])
    with torch.no_grad():
        (letters, aux), out_lens = model(wav, lens, head="both")
        (letters_top, _), _ = top(wav, lens, head="both")
        block1 = top.encoder(wav, lens, return_layers=True).layers[0]  # (N, T / 2, E)
    assert torch.allclose(letters, letters_top, atol=1e-6), "without self-conditioning the top is unchanged"
    expected = model.ctc_aux(block1).repeat_interleave(2, dim=1)
    assert aux.shape[:2] == letters.shape[:2] and torch.allclose(aux[:, : expected.shape[1]], expected, atol=1e-6)
    # padding-aware like the rest of the encoder: the short utterance alone gives its padded-batch frames
    with torch.no_grad():
        (_, aux1), lens1 = model(wav[1:, :11000], lens[1:], head="both")
    assert lens1.tolist() == out_lens[1:].tolist()
    assert torch.allclose(aux1[0, : lens1[0]], aux[1, : lens1[0]], atol=1e-5)
    assert torch.allclose(model(wav, lens, head="ctc_aux")[0], aux)


@pytest.mark.parametrize("aux_layer", [1, 0])
def test_self_conditioning_makes_the_letters_depend_on_the_auxiliary_predictions(aux_layer):
    """condition_layer 1: the blocks above read the phones of block 1, which are decoded (aux_layer 1) or
    only trained (aux_layer 0: decoding reads the phones on top, the same weights on both blocks)."""
    model, top = two_layer_models(aux_layer=aux_layer, condition_layer=1)
    wav, lens = torch.randn(2, 16000), torch.tensor([16000, 11000])
    (letters, readouts), _ = model(wav, lens, head="all")
    assert not torch.allclose(letters, top(wav, lens)[0], atol=1e-4)
    assert len(readouts) == (1 if aux_layer else 2) and torch.equal(readouts[0], model(wav, lens, head="ctc_aux")[0])
    letters.square().sum().backward()  # the letters' loss reaches the auxiliary layer through the blocks above
    assert model.ctc_aux.weight.grad.abs().sum() > 0 and model.aux_cond.weight.grad.abs().sum() > 0


def test_the_auxiliary_layer_trains_while_the_encoder_is_frozen():
    model, _ = two_layer_models(aux_layer=1, condition_layer=1)
    model.train().freeze_encoder = True
    (_, aux), _ = model(torch.randn(2, 16000), torch.tensor([16000, 11000]), head="both")
    aux.square().sum().backward()
    assert model.ctc_aux.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.encoder.parameters())


def test_bad_auxiliary_layer_settings_are_clear_errors():
    enc = build_encoder(get_preset("sewd-test"))
    with pytest.raises(ValueError, match="aux_layer=2: .* 1 .. 1"):
        CTCModel(enc, 11, aux_vocab_size=7, aux_layer=2)
    with pytest.raises(ValueError, match="needs an auxiliary output layer"):
        CTCModel(enc, 11, aux_layer=1)
    with pytest.raises(ValueError, match="condition_layer needs an auxiliary output layer"):
        CTCModel(enc, 11, condition_layer=1)
    with pytest.raises(ValueError, match="none for this encoder"):
        CTCModel(build_encoder(get_preset("s3l-test")), 11, aux_vocab_size=7, aux_layer=1)
