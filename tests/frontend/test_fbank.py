import torch

from ssltk.frontend.fbank import FilterbankFeatureEncoder, LogMelFilterbank, mel_filterbank
from ssltk.testing import synthetic_batch


def test_mel_filterbank_is_a_partition_of_triangles():
    fb = mel_filterbank(80)
    assert fb.shape == (257, 80) and (fb >= 0).all() and fb.max() <= 1.0 + 1e-6
    assert ((fb > 0).sum(0) > 0).all(), "every mel bin covers at least one FFT bin"


def test_fbank_peaks_at_the_tone_frequency():
    t = torch.arange(16000) / 16000
    tone = torch.sin(2 * torch.pi * 1000 * t)[None]
    low = torch.sin(2 * torch.pi * 200 * t)[None]
    fb = LogMelFilterbank(80)
    assert fb(tone).mean(1).argmax() > fb(low).mean(1).argmax()


def test_output_lengths_and_padding():
    torch.manual_seed(0)
    fe = FilterbankFeatureEncoder(n_mels=40, channels=4, out_dim=16).eval()
    wav, lens = synthetic_batch([16000, 9999, 1700])
    y, y_lens = fe(wav, lens)
    for i, n in enumerate(lens.tolist()):
        alone, alone_lens = fe(wav[i:i + 1, :n], torch.tensor([n]))
        assert alone.shape[1] == int(alone_lens[0]) == int(y_lens[i])
        torch.testing.assert_close(y[i, : y_lens[i]], alone[0], atol=1e-4, rtol=1e-4)
    # ~50 frames per second, like a WFE (49 for one second): 98 fbank frames -> 48 -> 46
    assert int(y_lens[0]) == 46
