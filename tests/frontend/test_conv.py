import pytest
import torch

from ssltk.frontend.config import FrontendConfig
from ssltk.frontend.conv import ConvFeatureEncoder, conv_output_lengths, masked_instance_norm
from ssltk.testing import synthetic_batch


@pytest.mark.parametrize("cfg", [FrontendConfig(c=16), FrontendConfig(type="wfe-c", c=4, l=1),
                                 FrontendConfig(type="wfe-c", c=4, l=2, norm="layer", bias=True)])
@pytest.mark.parametrize("samples", [400, 401, 719, 720, 16000, 16037])
def test_output_length_formula_matches_actual(cfg, samples):
    enc = ConvFeatureEncoder(cfg.conv_layers(), cfg.norm, cfg.bias)
    y, lens = enc(torch.randn(1, samples), torch.tensor([samples]))
    assert y.shape[1] == int(conv_output_lengths(torch.tensor(samples), enc.specs)) == int(lens[0])
    # 400-sample receptive field and 320-sample hop: T = (S - 400) // 320 + 1 (paper §2.1).
    assert y.shape[1] == (samples - 400) // 320 + 1


def test_wfe_c_layout_matches_paper():
    specs = FrontendConfig(type="wfe-c", c=64, l=1).conv_layers()
    assert len(specs) == 13
    assert [s.kernel for s in specs] == [10, 3, 1, 3, 1, 3, 1, 3, 1, 2, 1, 2, 1]
    assert [s.stride for s in specs] == [5, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]
    assert [s.out_channels for s in specs] == [64, 128, 128, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512]


def test_masked_instance_norm_equals_group_norm_on_valid_frames():
    x = torch.randn(2, 8, 50)
    w, b = torch.randn(8), torch.randn(8)
    out = masked_instance_norm(x, torch.tensor([50, 31]), w, b, 1e-5)
    ref0 = torch.nn.functional.group_norm(x[:1], 8, w, b, 1e-5)
    ref1 = torch.nn.functional.group_norm(x[1:, :, :31], 8, w, b, 1e-5)
    torch.testing.assert_close(out[:1], ref0, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out[1:, :, :31], ref1, atol=1e-5, rtol=1e-5)


def test_each_layer_equals_the_native_convolution():
    torch.manual_seed(0)
    enc = ConvFeatureEncoder(FrontendConfig(type="wfe-c", c=16, l=1).conv_layers(), norm="layer", bias=True)
    x = torch.randn(2, 16000).unsqueeze(-1)
    for layer in enc.layers:
        ref = torch.nn.functional.conv1d(x.transpose(1, 2), layer.conv.weight, layer.conv.bias,
                                         stride=layer.spec.stride)
        ref = torch.nn.functional.gelu(layer.norm(ref.transpose(1, 2)))
        x = layer(x, None)
        torch.testing.assert_close(x, ref, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("norm", ["group", "layer"])
def test_padded_batch_equals_each_utterance_alone(norm):
    torch.manual_seed(0)
    cfg = FrontendConfig(type="wfe-c", c=4, l=1, norm=norm)
    enc = ConvFeatureEncoder(cfg.conv_layers(), cfg.norm, cfg.bias).eval()
    wav, lens = synthetic_batch([8000, 5003, 1200])
    y, y_lens = enc(wav, lens)
    for i, n in enumerate(lens.tolist()):
        alone, _ = enc(wav[i:i + 1, :n])
        assert alone.shape[1] == int(y_lens[i])
        torch.testing.assert_close(y[i, : y_lens[i]], alone[0], atol=1e-5, rtol=1e-4)
