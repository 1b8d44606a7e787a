"""The S3LSpeech filter-bank front end: lengths, padding exactness, lhotse/Kaldi features."""
import numpy as np
import pytest
import torch

from ssltk.frontend.melconv import ConvBlock, MelConvFrontend, normalize_utterances


def test_padded_batch_equals_each_utterance_alone():
    torch.manual_seed(0)
    fe = MelConvFrontend(n_mels=24, specs=((16, 5, 2), (32, 5, 2), (32, 1, 1))).eval()
    wav = torch.randn(2, 16000)
    lens = torch.tensor([16000, 10000])
    y, y_lens = fe(wav, lens)
    for i in range(2):
        alone, n = fe(wav[i: i + 1, : lens[i]], lens[i: i + 1])
        assert int(n) == int(y_lens[i]) == int(fe.output_lengths(lens[i: i + 1]))
        torch.testing.assert_close(y[i, : int(n)], alone[0], atol=1e-5, rtol=1e-5)
        assert not y[i, int(n):].any()


@pytest.mark.filterwarnings("ignore:Setting snip_edges")
def test_log_mel_is_lhotse_fbank_with_kaldi_framing():
    from lhotse import Fbank, FbankConfig

    wav = torch.randn(1, 8000) * 0.1
    fe = MelConvFrontend(n_mels=128)
    feats = fe.fbank(wav)[0].numpy()
    ref = Fbank(FbankConfig(num_mel_bins=128, frame_length=0.02, snip_edges=True)).extract(wav[0].numpy(), 16000)
    assert feats.shape == ref.shape == (int(fe.mel_lengths(torch.tensor([8000]))), 128)
    np.testing.assert_allclose(feats, ref, atol=1e-3)


def test_normalisation_uses_valid_frames_only():
    x = torch.randn(2, 30, 5) * 3 + 7
    out = normalize_utterances(x, torch.tensor([30, 12]))
    torch.testing.assert_close(out[1, :12].mean(0), torch.zeros(5), atol=1e-5, rtol=0)
    torch.testing.assert_close(out[1, :12].std(0, unbiased=False), torch.ones(5), atol=1e-3, rtol=0)
    assert not out[1, 12:].any()


def test_same_padding_predictor_keeps_frames():
    block = ConvBlock(8, ((8, 5, 1), (8, 1, 1)), same=True).eval()
    x = torch.randn(2, 11, 8)
    y, lens = block(x, torch.tensor([11, 7]))
    assert y.shape == (2, 11, 8) and lens.tolist() == [11, 7]
    alone, _ = block(x[1:, :7], torch.tensor([7]))
    torch.testing.assert_close(y[1, :7], alone[0], atol=1e-5, rtol=1e-5)


def test_too_short_audio_gives_zero_frames():
    fe = MelConvFrontend(n_mels=16, specs=((16, 5, 2),))
    assert fe.output_lengths(torch.tensor([100, 320, 16000])).tolist() == [0, 0, 48]
