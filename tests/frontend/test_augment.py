"""Augmentations of the S3LSpeech student / teacher inputs respect lengths and padding."""
import math

import pytest
import torch

from ssltk.frontend.augment import add_noise, coloured_noise, draw_shift, random_shift, spec_augment


def padded(lens, dim=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = max(lens)
    x = torch.randn(len(lens), t, *(() if dim is None else (dim,)), generator=g)
    valid = torch.arange(t)[None, :] < torch.tensor(lens)[:, None]
    return x * (valid if dim is None else valid[..., None]), torch.tensor(lens)


def test_noise_hits_the_requested_snr_and_leaves_padding_zero():
    torch.manual_seed(0)
    wav, lens = padded([16000, 9000])
    noisy = add_noise(wav, lens, prob=1.0, snr_db=(10.0, 10.0), slope=(-1.0, -1.0))
    assert torch.equal(noisy[1, 9000:], torch.zeros(7000))
    for i, n in enumerate(lens.tolist()):
        sig, noise = wav[i, :n], noisy[i, :n] - wav[i, :n]
        snr = 10 * math.log10(sig.square().mean() / noise.square().mean())
        assert snr == pytest.approx(10.0, abs=0.01)


def test_noise_probability_zero_and_per_utterance_choice():
    wav, lens = padded([8000, 8000, 8000, 8000])
    assert torch.equal(add_noise(wav, lens, prob=0.0, snr_db=(0, 0)), wav)
    many, many_lens = padded([100] * 400)
    torch.manual_seed(3)
    noisy = add_noise(many, many_lens, prob=0.5, snr_db=(0, 0))
    changed = (noisy != many).any(-1).float().mean()
    assert 0.4 < changed < 0.6
    torch.manual_seed(3)
    assert torch.equal(add_noise(many, many_lens, prob=0.5, snr_db=(0, 0)), noisy)  # seeded


def test_noise_colour_follows_the_slope():
    white = coloured_noise(4, 16384, torch.zeros(4), "cpu")
    brown = coloured_noise(4, 16384, torch.full((4,), -2.0), "cpu")
    def low_share(x):
        p = torch.fft.rfft(x).abs().square().mean(0)
        return float(p[: len(p) // 8].sum() / p.sum())
    assert low_share(white) == pytest.approx(1 / 8, abs=0.03)
    assert low_share(brown) > 0.9


def test_spec_augment_masks_only_valid_frames():
    torch.manual_seed(0)
    mel, lens = padded([200, 60], dim=40)
    out = spec_augment(mel, lens, freq_masks=2, freq_width=8, time_mask_ratio=0.05, max_time_masks=100,
                       time_width=10, std=0.0)
    assert torch.equal(out[1, 60:], mel[1, 60:])  # padding untouched
    zeroed = (out == 0) & (mel != 0)
    assert zeroed.any()
    # masks are whole time spans / frequency bands: a zeroed entry's row or column is zeroed
    assert bool(zeroed[1, :60].any())
    frac = zeroed[0].float().mean()
    assert 0.0 < frac < 0.6


def test_spec_augment_time_mask_count_follows_length():
    torch.manual_seed(0)
    mel, lens = padded([400, 40], dim=4)
    out = spec_augment(mel, lens, freq_masks=0, freq_width=0, time_mask_ratio=0.05, max_time_masks=3,
                       time_width=1, std=0.0)
    rows0 = ((out[0] == 0).all(-1)).sum()  # width <= 1: at most 3 masked frames (max_time_masks)
    rows1 = ((out[1, :40] == 0).all(-1)).sum()  # int(0.05 * 40) = 2 masks of width <= 1
    assert rows0 <= 3 and rows1 <= 2


def test_random_shift_pads_both_sides_and_keeps_content():
    x, lens = padded([10, 6], dim=3)
    y, y_lens = random_shift(x, lens, 4, 2)
    assert y.shape == (2, 16, 3) and y_lens.tolist() == [16, 12]
    assert torch.equal(y[:, :4], torch.zeros(2, 4, 3))
    assert torch.equal(y[0, 4:14], x[0]) and torch.equal(y[1, 4:10], x[1, :6])
    assert torch.equal(y[1, 10:], torch.zeros(6, 3))


def test_draw_shift_respects_the_ratio():
    g = torch.Generator().manual_seed(0)
    draws = [draw_shift(6, 16, 0.5, g) for _ in range(200)]
    assert max(max(d) for d in draws) == 3 and min(min(d) for d in draws) == 0
    assert draw_shift(1, 16, 0.5) == (0, 0)
